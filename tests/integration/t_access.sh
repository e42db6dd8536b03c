#!/usr/bin/env bash
# t_access: grant, revoke, add and get on a patient's case: who reads what,
# checked with stock gpg, git and sha256sum; refusals leave the ledger as
# it was.
. "$MRX_SRCDIR/tests/lib/tap.sh"
plan 21

patient=$(t_node patient patient) || exit 1
reviewer=$(t_node reviewer reviewer) || exit 1
relay=$(t_node relay facilitator) || exit 1
stranger=$(t_node stranger clinic) || exit 1
introduce "$patient" "$reviewer" && introduce "$patient" "$relay" || exit 1
rfpr=$(fpr_of "$reviewer")
ffpr=$(fpr_of "$relay")
sfpr=$(fpr_of "$stranger")
pfpr=$(fpr_of "$patient")
id=$(mrx --home "$patient" --json case new --title "Abdominoplasty" | jq -r .id)
git_dir=$patient/cases/$id/ledger.git
events() { git --git-dir="$git_dir" rev-list --all | wc -l; }

check "the owner grants a reviewer" mrx --home "$patient" grant "$id" "$rfpr" reviewer
check "the owner grants a relay" mrx --home "$patient" grant "${id:0:8}" "$ffpr" relay
before=$(events)
refuses 4 "already a reviewer" "granting the same role twice is refused" \
    mrx --home "$patient" grant "$id" "$rfpr" reviewer
refuses 3 "peer $sfpr: not imported" "a key that is not a peer cannot be granted" \
    mrx --home "$patient" grant "$id" "$sfpr" reviewer
refuses 2 "not a member of its own case" "the owner cannot grant itself" \
    mrx --home "$patient" grant "$id" "$pfpr" relay
refuses 2 "unknown member role" "an unknown role is a usage error" \
    mrx --home "$patient" grant "$id" "$rfpr" surgeon
refuses 3 "not a member" "revoking a non-member is refused" \
    mrx --home "$patient" revoke "$id" "$sfpr"
[[ $(events) == "$before" ]] && ok "refusals leave the ledger as it was" || not_ok "ledger changed"
git --git-dir="$git_dir" show "refs/feeds/$pfpr~1:certificate" | grep -q "^fingerprint: $rfpr$" &&
    ok "member-added carries the member's certificate" || not_ok "member-added certificate"

# --- add: readers are the owner and the reviewer, never the relay -----------------
json=$(mrx --home "$patient" --json add "$id" --kind photos "$MRX_TESTDATA/photos/retina.jpg")
b1=$(jq -r .bundle <<<"$json")
store=$patient/cases/$id/bundles
[[ $(jq -r '.readers | sort | join(",")' <<<"$json") == "$(printf '%s\n' "$pfpr" "$rfpr" | sort | paste -sd,)" ]] &&
    ok "a bundle is for the owner and the reviewer" || not_ok "readers" "$json"
[[ $(sha256sum "$store/$b1.mrx" | cut -d' ' -f1) == "$b1" ]] &&
    ok "the bundle is stored under its SHA-256" || not_ok "bundle store" "$(ls "$store")"
gpg --homedir "$relay/gnupg" --batch -q -d -o /dev/null "$store/$b1.mrx" 2>/dev/null &&
    not_ok "the relay's key cannot decrypt the bundle" || ok "the relay's key cannot decrypt the bundle"
gpg --homedir "$reviewer/gnupg" --batch -q -d "$store/$b1.mrx" 2>/dev/null | tar -t 2>/dev/null | grep -q '^photos/retina.jpg$' &&
    ok "the reviewer's key decrypts it with stock gpg" || not_ok "reviewer decrypts with gpg"

# --- get ----------------------------------------------------------------------------
out=$(mrx --home "$patient" get "$id" "${b1:0:10}" --out "$t_root/got")
cmp -s "$t_root/got/photos/retina.jpg" "$MRX_TESTDATA/photos/retina.jpg" &&
    mrx --home "$patient" case show "$id" | grep -q "opened bundle ${b1:0:12}" &&
    ok "get extracts the bundle and records bundle-opened" || not_ok "get" "$out"
cp "$store/$b1.mrx" "$t_root/b1.bak"
size=$(stat -c %s "$store/$b1.mrx")
printf '\x01' | dd of="$store/$b1.mrx" bs=1 seek=$((size / 2)) conv=notrunc status=none
before=$(events)
code=0
mrx --home "$patient" get "$id" "$b1" --out "$t_root/got2" 2>/dev/null >/dev/null || code=$?
[[ $code != 0 && ! -e $t_root/got2 && $(events) == "$before" ]] &&
    ok "a damaged stored bundle is refused and nothing is recorded" || not_ok "damaged bundle" "exit $code"
cp "$t_root/b1.bak" "$store/$b1.mrx"
refuses 3 "no such bundle in this case" "an unknown bundle is named" \
    mrx --home "$patient" get "$id" 0000000000 --out "$t_root/got3"

# --- revoke: later bundles exclude the reviewer; earlier ones it keeps ----------------
check "the owner revokes the reviewer" mrx --home "$patient" revoke "$id" "$rfpr"
b2=$(mrx --home "$patient" --json add "$id" --kind records "$MRX_TESTDATA/docs/Bundle-father.json" | jq -r .bundle)
refuses 5 "not encrypted to this node" "a revoked reviewer cannot open later bundles" \
    mrx --home "$reviewer" bundle open "$store/$b2.mrx" --out "$t_root/rev2"
mrx --home "$patient" case show "$id" | grep -q "relay (facilitator), relay$" &&
    mrx --home "$patient" --json case show "$id" | jq -e '.members[] | select(.role == "reviewer") | .active == false' >/dev/null &&
    ok "case show lists the members, the revoked one as removed" || not_ok "case show members" "$(mrx --home "$patient" case show "$id")"
check "a revoked reviewer still opens what it was given" \
    mrx --home "$reviewer" bundle open "$store/$b1.mrx" --out "$t_root/rev1" --signer "$pfpr"

# --- plain git on the whole ledger ----------------------------------------------------
export GNUPGHOME=$patient/gnupg
bad=0
for c in $(git --git-dir="$git_dir" rev-list --all); do
    git --git-dir="$git_dir" verify-commit "$c" 2>/dev/null || bad=$((bad + 1))
done
[[ $bad == 0 && $(events) == 7 ]] && git --git-dir="$git_dir" fsck --strict --no-dangling >/dev/null 2>&1 &&
    ok "every event verifies with git verify-commit; fsck --strict passes" ||
    not_ok "git checks" "$bad commits failed verify-commit"
unset GNUPGHOME
done_testing
