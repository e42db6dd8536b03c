#!/usr/bin/env bash
# t_sync: real daemons on loopback sync a case's ledger over CURVE
# ZeroMQ, then its bundles. The facilitator listens; the patient, the clinic and the
# reviewer connect only to it. The clinic's events reach the reviewer
# through the facilitator, checked with git itself on arrival.
. "$MRX_SRCDIR/tests/lib/tap.sh"
plan 28

port=$(t_port)
fac=$(t_node facilitator facilitator --listen "tcp://127.0.0.1:$port") || exit 1
pat=$(t_node patient patient) || exit 1
clinic=$(t_node clinic clinic) || exit 1
rev=$(t_node reviewer reviewer) || exit 1
t_debug "$fac" "$pat" "$clinic" "$rev"
for n in "$pat" "$clinic" "$rev"; do introduce "$fac" "$n"; done
introduce "$pat" "$clinic"
introduce "$pat" "$rev"
ffpr=$(fpr_of "$fac") cfpr=$(fpr_of "$clinic") rfpr=$(fpr_of "$rev")

has_ev_type() { mrx --home "$1" --json case show "$id" | jq -e --arg t "$2" '.events[] | select(.type == $t)'; }
has_case() { mrx --home "$1" --json case list | jq -e --arg id "$2" '.cases[] | select(.id == $id)'; }
events_of() { mrx --home "$1" --json case show "$2" | jq '.events | length'; }
has_events() { [[ $(events_of "$1" "$2") -ge $3 ]]; }

id=$(mrx --home "$pat" --json case new --title "sync test" | jq -r .id)
mrx --home "$pat" grant "$id" "$ffpr" relay >/dev/null
mrx --home "$pat" grant "$id" "$cfpr" contributor >/dev/null
mrx --home "$pat" grant "$id" "$rfpr" reviewer >/dev/null
wait_for 90 has_case "$fac" "$id" && ok "the relay takes up the patient's case" ||
    not_ok "the case did not reach the relay" "$(tail -5 "$fac.log")"
is_member() {
    mrx --home "$1" --json case show "$2" | jq -e --arg f "$3" '.members[] | select(.fingerprint == $f and .active)'
}
wait_for 90 is_member "$clinic" "$id" "$cfpr" && ok "the clinic gets it through the relay, itself a member" ||
    not_ok "the case did not reach the clinic" "$(tail -5 "$clinic.log")"
# a bundle is encrypted to the readers its author knows of when adding it
wait_for 90 is_member "$clinic" "$id" "$rfpr" || not_ok "the clinic never learnt of the reviewer"
mrx --home "$clinic" add "$id" --kind records "$MRX_TESTDATA/docs" >/dev/null
wait_for 90 has_events "$rev" "$id" 5 &&
    ok "the clinic's bundle-added reaches the reviewer, who never talks to the clinic" ||
    not_ok "the reviewer lacks events" "$(mrx --home "$rev" case show "$id" 2>&1 | tail -3)"
wait_for 90 has_events "$pat" "$id" 5 && ok "and the patient" || not_ok "the patient lacks events"
git_dir=$rev/cases/$id/ledger.git
check "git fsck --strict accepts the reviewer's copy" git --git-dir="$git_dir" fsck --strict --no-dangling
bad=0
for c in $(git --git-dir="$git_dir" rev-list --all); do
    GNUPGHOME=$rev/gnupg git --git-dir="$git_dir" verify-commit "$c" 2>/dev/null || bad=$((bad + 1))
done
((bad == 0)) && ok "git verify-commit accepts every event the reviewer received" ||
    not_ok "$bad events do not verify"
[[ $(mrx --home "$rev" --json case show "$id" | jq '.problems | length') == 0 ]] &&
    ok "every feed verifies on the reviewer" || not_ok "feeds refused on the reviewer"

# the bundle follows the ledger: to the relay (ciphertext it cannot read),
# and from the relay to the reviewer and the patient, its readers
bid=$(mrx --home "$clinic" --json case show "$id" | jq -r '[.events[] | select(.type == "bundle-added")][0].bundle')
held() { [[ -f $1/cases/$id/bundles/$bid.mrx ]]; }
wait_for 90 held "$fac" && ok "the relay stores the clinic's bundle" ||
    not_ok "the relay lacks the bundle" "$(grep -i bundle "$fac.log" | tail -5)"
wait_for 90 held "$rev" && ok "the reviewer gets it through the relay" ||
    not_ok "the reviewer lacks the bundle" "$(grep -i bundle "$rev.log" | tail -5)"
wait_for 90 held "$pat" && ok "and the patient, the case's owner" ||
    not_ok "the patient lacks the bundle" "$(grep -i bundle "$pat.log" | tail -5)"
[[ $(sha256sum <"$rev/cases/$id/bundles/$bid.mrx" | cut -d' ' -f1) == "$bid" ]] &&
    ok "what arrived hashes to its id (sha256sum)" || not_ok "the reviewer's copy is not the bundle"
if GNUPGHOME=$fac/gnupg gpg --batch --decrypt "$fac/cases/$id/bundles/$bid.mrx" >/dev/null 2>&1; then
    not_ok "the relay's key decrypts the bundle"
else
    ok "the relay holds the bundle yet gpg with its key cannot decrypt it"
fi
mrx --home "$rev" get "$id" "$bid" --out "$t_root/rev-out" >/dev/null &&
    cmp "$(find "$t_root/rev-out/records" -name UD_sample.pdf)" "$MRX_TESTDATA/docs/UD_sample.pdf" &&
    ok "the reviewer opens it: the clinic's files, byte for byte" ||
    not_ok "the reviewer cannot open the bundle" "$(ls -R "$t_root/rev-out" 2>&1 | head -5)"
has_ev() { # HOME TYPE AUTHOR PEER: the case shows that event
    mrx --home "$1" --json case show "$id" |
        jq -e --arg t "$2" --arg a "$3" --arg p "$4" '.events[] | select(.type == $t and .author == $a and .peer == $p)'
}
wait_for 60 has_ev "$pat" bundle-served "$ffpr" "$rfpr" && wait_for 60 has_ev "$pat" bundle-fetched "$rfpr" "$ffpr" &&
    ok "the patient sees the relay's bundle-served to the reviewer and the reviewer's bundle-fetched" ||
    not_ok "served/fetched not seen by the patient" "$(mrx --home "$pat" case show "$id" | tail -8)"
wait_for 60 has_ev "$pat" bundle-served "$cfpr" "$ffpr" && wait_for 60 has_ev "$pat" bundle-fetched "$ffpr" "$cfpr" &&
    ok "and the clinic's serving to the relay, and the relay's fetching" ||
    not_ok "clinic->relay transfer not recorded" "$(mrx --home "$pat" case show "$id" | tail -8)"
# the sender's receipts: the clinic sees who fetched its bundle, from
# whom, and who opened it, though it never talks to the reviewer
receipted() {
    mrx --home "$clinic" --json case show "$id" | jq -e --arg b "$bid" --arg f "$ffpr" --arg c "$cfpr" --arg r "$rfpr" '
        .receipts[] | select(.bundle == $b and .sent == "added" and .kind == "records") |
        (.fetched | map(.fingerprint + ">" + .from)) as $got |
        ($got | index($f + ">" + $c)) != null and ($got | index($r + ">" + $f)) != null and
        (.opened | map(.fingerprint)) == [$r]' >/dev/null
}
wait_for 60 receipted && mrx --home "$clinic" case show "$id" | grep -q "opened by reviewer" &&
    ok "the clinic's receipts: fetched by the relay and by the reviewer (from the relay), opened by the reviewer" ||
    not_ok "no receipts at the clinic" "$(mrx --home "$clinic" case show "$id" | tail -8)"
# witnessed: the relay keeps the reviewer's signed request with its
# serving, and gpg checks it straight from the relay's git ledger
served=$(git --git-dir="$fac/cases/$id/ledger.git" log --format=%H --grep="^to: $rfpr" "refs/feeds/$ffpr" | head -1)
[[ -n $served ]] && git --git-dir="$fac/cases/$id/ledger.git" show "$served:request" |
    GNUPGHOME=$fac/gnupg gpg --batch --status-fd 1 --verify 2>/dev/null | grep -q "VALIDSIG.* $rfpr\$" &&
    git --git-dir="$fac/cases/$id/ledger.git" show "$served:request" | grep -q "^by: $rfpr\$" &&
    ok "the relay's bundle-served keeps the reviewer's request: gpg --verify checks it, signed by the reviewer" ||
    not_ok "no verifiable request with the relay's serving" "commit ${served:-none}"

# views: each node signs what it holds and passes on the others'
pfpr=$(fpr_of "$pat")
has_view() { [[ -f $rev/cases/$id/views/$1.view ]]; }
wait_for 60 has_view "$pfpr" && wait_for 60 has_view "$ffpr" && wait_for 60 has_view "$rfpr" &&
    ok "the reviewer keeps its own signed view, the relay's, and the patient's, passed on by the relay" ||
    not_ok "views missing" "$(ls "$rev/cases/$id/views" 2>&1)"
GNUPGHOME=$rev/gnupg gpg --batch --status-fd 1 --verify "$rev/cases/$id/views/$pfpr.view" 2>/dev/null |
    grep -q "VALIDSIG.* $pfpr\$" && grep -q "^node: $pfpr\$" "$rev/cases/$id/views/$pfpr.view" &&
    ok "gpg --verify checks the patient's view: signed by the patient, about the patient" ||
    not_ok "the patient's view does not verify with gpg"

[[ $(mrx --home "$rev" --json status | jq -r --arg f "$ffpr" '.peers[] | select(.fingerprint == $f) | .last_contact') == 20* ]] &&
    mrx --home "$rev" status | grep -q "facilitator .*last contact 20" &&
    ok "mrx status shows when the relay was last heard from" ||
    not_ok "no last contact" "$(mrx --home "$rev" status)"

# mrx sync --wait: once it returns, what the peer holds is here
photo=$(mrx --home "$clinic" --json add "$id" --kind photos "$MRX_TESTDATA/photos" | jq -r .bundle)
mrx --home "$clinic" sync --wait >/dev/null && mrx --home "$fac" sync --wait >/dev/null &&
    out=$(mrx --home "$rev" sync --wait) && [[ -f $rev/cases/$id/bundles/$photo.mrx ]] &&
    grep -q "in step with 1 of 1 peer; [01] bundle" <<<"$out" &&
    ok "mrx sync --wait returns with the new bundle in the store (fetched then, or just before)" ||
    not_ok "sync --wait returned early" "$out"
t_stop "$fac"
out=$(mrx --home "$rev" sync --wait) && grep -q "in step with 0 of 1 peer" <<<"$out" &&
    grep -q "facilitator.*not reached" <<<"$out" &&
    ok "mrx sync --wait names the peer it could not reach, and returns" ||
    not_ok "sync --wait with the relay down" "$out"
t_start "$fac" >/dev/null
refuses 2 "unknown option --now" "mrx sync refuses an unknown option" mrx --home "$rev" sync --now

# a member revoked gets nothing more of the case
mrx --home "$pat" revoke "$id" "$rfpr" >/dev/null
wait_for 60 has_ev_type "$fac" member-removed || not_ok "the revocation never reached the relay"
before=$(events_of "$rev" "$id")
mrx --home "$pat" add "$id" --kind plan "$MRX_TESTDATA/docs/UD_sample.pdf" >/dev/null
mrx --home "$fac" sync --wait >/dev/null; mrx --home "$rev" sync --wait >/dev/null
after=$(events_of "$rev" "$id")
[[ $(events_of "$fac" "$id") -gt $after ]] &&
    ok "a revoked reviewer gets no new events through the relay ($before, then $after)" ||
    not_ok "the revoked reviewer still syncs" "$before -> $after, relay $(events_of "$fac" "$id")"

# a peer removed: its live sessions end, and it is not admitted again
mrx --home "$fac" peer remove "$rfpr" >/dev/null
closed() { grep -q "sync: peer ${rfpr:0:16} removed: session closed" "$fac.log"; }
wait_for 30 closed && ok "removing a peer closes its live session at once" ||
    not_ok "no session closed" "$(tail -3 "$fac.log")"
out=$(mrx --home "$rev" sync --wait) && grep -q "facilitator.*not reached" <<<"$out" &&
    ok "the removed peer is no longer answered: its sync says the relay is not reached" ||
    not_ok "the removed peer still syncs" "$out"
mrx --home "$rev" id >"$t_root/rev.cert" && mrx --home "$fac" peer add "$t_root/rev.cert" >/dev/null

# a peer of the relay that is not in the case gets nothing of it: once it
# has had the relay's answer to CASES, it still holds no case
out=$(t_node outsider clinic) || exit 1
jq '. + {"log_level": "debug"}' "$out/mrxd.conf" >"$t_root/conf" && cp "$t_root/conf" "$out/mrxd.conf"
kill -HUP "$(cat "$out/mrxd.pid")"
introduce "$fac" "$out"
got_cases() { grep -q "sync: peer ${ffpr:0:16}: CASES-OK" "$out.log"; }
wait_for 120 got_cases && ok "the outsider has a session with the relay and asked for its cases" ||
    not_ok "no session for the outsider" "$(tail -5 "$out.log")"
sleep 1
has_case "$out" "$id" && not_ok "an outsider took up the case" ||
    ok "a peer that is not a member does not get the case"
done_testing
