#!/usr/bin/env bash
# t_case: mrx case new, list and show on the local node, the ledger checked
# with plain git, and a tampered feed flagged.
. "$MRX_SRCDIR/tests/lib/tap.sh"
plan 13

patient=$(t_node patient patient) || exit 1
clinic=$(t_node clinic clinic) || exit 1
pfpr=$(fpr_of "$patient")

refuses 5 "owned by its patient: this node is a clinic" "only a patient starts a case" \
    mrx --home "$clinic" case new --title "x"
refuses 2 "--title is required" "case new needs a title" mrx --home "$patient" case new
refuses 2 "bad case title" "a title on two lines is refused" \
    mrx --home "$patient" case new --title $'two\nlines'
json=$(mrx --home "$patient" --json case new --title "Rhinoplasty, Istanbul")
id=$(jq -r .id <<<"$json")
[[ $id =~ ^[0-9a-f]{64}$ && -d $patient/cases/$id/ledger.git ]] &&
    ok "case new prints the case id and makes the ledger" || not_ok "case new" "$json"
ls -A "$patient/cases" | grep -q '^\.new-' && not_ok "no half-made case is left" || ok "no half-made case is left"

git_dir=$patient/cases/$id/ledger.git
export GNUPGHOME=$patient/gnupg
check "git verify-commit accepts the case-created event" \
    git --git-dir="$git_dir" verify-commit "refs/feeds/$pfpr"
check "git fsck --strict accepts the ledger" git --git-dir="$git_dir" fsck --strict --no-dangling
unset GNUPGHOME
git --git-dir="$git_dir" log --format=%B "refs/feeds/$pfpr" | grep -q '^type: case-created$' &&
    ok "git log shows the event as text" || not_ok "git log shows the event as text"
! git --git-dir="$git_dir" log --format=%B --all | grep -q Rhinoplasty &&
    ok "the title stays out of the shared ledger" || not_ok "the title leaked into the ledger"

out=$(mrx --home "$patient" case list)
grep -q "^${id:0:16}  1 .*patient (this node) .*Rhinoplasty, Istanbul$" <<<"$out" &&
    ok "case list shows the case" || not_ok "case list" "$out"
out=$(mrx --home "$patient" case show "${id:0:10}")
grep -q "patient (this node) .* created the case$" <<<"$out" &&
    ok "case show resolves a prefix and shows the history" || not_ok "case show" "$out"
refuses 3 "not on this node" "an unknown case is named" mrx --home "$patient" case show 000000

# an event in another feed that claims to be the patient's but is unsigned
tree=$(git --git-dir="$git_dir" hash-object -t tree -w /dev/null)
forged=$(printf 'mrx-event: 1\ntype: bundle-opened\n' |
    git --git-dir="$git_dir" -c user.name=x -c user.email=x@x commit-tree "$tree")
git --git-dir="$git_dir" update-ref "refs/feeds/0000000000000000000000000000000000000000" "$forged"
refuses 5 "did not verify" "case show flags a feed that does not verify" \
    mrx --home "$patient" case show "$id"
done_testing
