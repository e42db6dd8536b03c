#!/usr/bin/env bash
# t_rewrite: a peer offering a rewritten feed is refused and the evidence
# is kept (issue #5; docs/ledger-format.md section 8, docs/protocol.md
# section 5). Real daemons on loopback: the facilitator is the relay and
# listens; the patient (the owner) and the clinic (a contributor) connect
# only to it. Once its first events have spread, the clinic turns
# dishonest: offline, it rolls its own feed back one event with plain git
# and writes two new events on top, so its feed forks and is longer than
# the copies the others hold. Back online, the relay sees a feed that does
# not extend its own: it refuses it, keeps the clinic's signed rewrite as
# evidence (checked with git verify-commit), and goes on serving the case.
. "$MRX_SRCDIR/tests/lib/tap.sh"
plan 20

port=$(t_port)
fac=$(t_node facilitator facilitator --listen "tcp://127.0.0.1:$port") || exit 1
pat=$(t_node patient patient) || exit 1
clinic=$(t_node clinic clinic) || exit 1
t_debug "$fac" "$pat" "$clinic"
introduce "$fac" "$pat" && introduce "$fac" "$clinic" && introduce "$pat" "$clinic" || {
    echo "Bail out! cannot introduce the nodes"
    exit 1
}
ffpr=$(fpr_of "$fac") pfpr=$(fpr_of "$pat") cfpr=$(fpr_of "$clinic")
fac_pid=$(cat "$fac/mrxd.pid")

# feed HOME FPR: the head of FPR's feed in HOME's copy of the case (empty
# if it holds none)
feed() { git --git-dir="$1/cases/$id/ledger.git" rev-parse -q --verify "refs/feeds/$2" 2>/dev/null; }
is_member() {
    mrx --home "$1" --json case show "$id" | jq -e --arg f "$2" '.members[] | select(.fingerprint == $f and .active)'
}
has_ev() { # HOME TYPE AUTHOR PEER: the case shows that event
    mrx --home "$1" --json case show "$id" |
        jq -e --arg t "$2" --arg a "$3" --arg p "$4" '.events[] | select(.type == $t and .author == $a and .peer == $p)'
}
same_feed() { [[ -n $(feed "$1" "$3") && $(feed "$1" "$3") == $(feed "$2" "$3") ]]; }

id=$(mrx --home "$pat" --json case new --title "rewrite test" | jq -r .id)
mrx --home "$pat" grant "$id" "$ffpr" relay >/dev/null
mrx --home "$pat" grant "$id" "$cfpr" contributor >/dev/null
wait_for 90 is_member "$clinic" "$cfpr" || {
    echo "Bail out! the case did not reach the clinic"
    tail -5 "$clinic.log" | sed 's/^/# /'
    exit 1
}

# 1. the honest part: the clinic's bundle-added, and its bundle-served once
# the relay has fetched the bundle, reach the relay and the patient
mrx --home "$clinic" add "$id" --kind records "$MRX_TESTDATA/docs/Diagnostic_Imaging_Report.xml" >/dev/null
settled() {
    has_ev "$clinic" bundle-served "$cfpr" "$ffpr" && same_feed "$clinic" "$fac" "$cfpr" &&
        same_feed "$clinic" "$pat" "$cfpr"
}
wait_for 90 settled && ok "the clinic's events reach the relay, and through it the patient" ||
    not_ok "the clinic's feed did not settle" "clinic $(feed "$clinic" "$cfpr")" \
        "relay $(feed "$fac" "$cfpr")" "patient $(feed "$pat" "$cfpr")" "$(tail -5 "$fac.log")"
orig=$(feed "$fac" "$cfpr")
orig_n=$(git --git-dir="$fac/cases/$id/ledger.git" rev-list --count "$orig")

# 2. the dishonest part, offline. Rolled back, the clinic holds one event
# less than the relay: were it online, it would take its original feed back
# from the relay before writing on the rolled-back one. So the relay's
# certificate, the only one naming an endpoint, is put aside, and a folder
# takes its name: the peer counts as known, so mrx add does not bring the
# certificate back from the relay's member-added (it would for a member's
# key it lacks), and the daemon, failing to list its peers, dials nobody.
t_stop "$clinic"
mv "$clinic/peers/$ffpr.cert" "$t_root/relay.cert" && mkdir "$clinic/peers/$ffpr.cert"
cgit=$clinic/cases/$id/ledger.git
parent=$(git --git-dir="$cgit" rev-parse "$orig^")
# compare-and-swap on the old head, as mrx itself moves a feed; no mrx
# process holds the lock, and the verified cache stays right: commits are
# immutable
git --git-dir="$cgit" update-ref "refs/feeds/$cfpr" "$parent" "$orig"
t_start "$clinic" || exit 1
mrx --home "$clinic" add "$id" --kind records "$MRX_TESTDATA/docs/Bundle-father.json" >/dev/null &&
    mrx --home "$clinic" add "$id" --kind records "$MRX_TESTDATA/docs/UD_sample.pdf" >/dev/null
rewritten=$(feed "$clinic" "$cfpr")
[[ $(git --git-dir="$cgit" rev-parse "$rewritten~2") == "$parent" &&
    $(git --git-dir="$cgit" rev-list --count "$rewritten") == $((orig_n + 1)) ]] &&
    ok "the clinic forks its feed: two new events on the rolled-back one, one more than the others hold" ||
    not_ok "the clinic did not rewrite its feed" "orig $orig, parent $parent, now $rewritten" \
        "$(tail -5 "$clinic.log")"
[[ $(feed "$fac" "$cfpr") == "$orig" && $(feed "$pat" "$cfpr") == "$orig" ]] &&
    ok "while it is offline, the relay and the patient hold the original feed" ||
    not_ok "the rewrite spread while the clinic was offline"

# 3. back online: the relay's certificate back in place, the daemon
# connects on its next tick and the relay, pulling the longer feed,
# refuses it
rmdir "$clinic/peers/$ffpr.cert" && mrx --home "$clinic" peer add "$t_root/relay.cert" >/dev/null
evidence=$fac/cases/$id/evidence/$cfpr-$rewritten
refused_logged() {
    grep -qF "feed $cfpr: refused: feed $cfpr: their history does not extend ours at $orig (rewritten); refused and kept as evidence" "$fac.log"
}
wait_for 120 refused_logged &&
    ok "the relay logs the clinic's feed refused as rewritten, naming the feed and its head there" ||
    not_ok "no refusal in the relay's log" "$(grep -i "$cfpr" "$fac.log" | tail -5)"
[[ $(feed "$fac" "$cfpr") == "$orig" ]] &&
    ok "the relay's copy of the clinic's feed keeps the original head" ||
    not_ok "the relay's copy moved" "orig $orig, now $(feed "$fac" "$cfpr")"
[[ -d $evidence ]] && ok "the relay keeps evidence/<clinic>-<rewritten head>/" ||
    not_ok "no evidence kept" "$(ls -la "$fac/cases/$id" "$fac/cases/$id/evidence" 2>&1)"
note=$evidence/REFUSED
[[ $(sed -n 1p "$note" 2>/dev/null) == "feed: $cfpr" && $(sed -n 2p "$note") == "head: $rewritten" ]] &&
    grep -q "^reason: .*does not extend ours at $orig (rewritten)" "$note" &&
    grep -qx "kind: rewritten" "$note" && grep -qx "from: $cfpr" "$note" &&
    ok "its REFUSED note names the feed, the rewritten head, why, and the peer that offered it" ||
    not_ok "the note is not right" "$(cat "$note" 2>&1)"

# the evidence folder is a loose object store (the ingest's quarantine)
# holding what the relay did not have: on its own, as the only object store
# of an empty repository, it lets git check the clinic's signature on the
# rewritten head
ev_git=$t_root/evidence.git
git init -q --bare "$ev_git" && echo "$evidence" >"$ev_git/objects/info/alternates"
sig=$(GNUPGHOME=$fac/gnupg git --git-dir="$ev_git" verify-commit --raw "$rewritten" 2>&1)
[[ $? == 0 ]] && printf '%s\n' "$sig" | grep -q "VALIDSIG .* $cfpr\$" &&
    ok "git verify-commit on the evidence alone: the rewritten head is signed by the clinic" ||
    not_ok "the rewritten head does not verify from the evidence" "$sig" "$(find "$evidence" | head)"
GNUPGHOME=$fac/gnupg git --git-dir="$fac/cases/$id/ledger.git" verify-commit --raw "$orig" 2>&1 |
    grep -q "VALIDSIG .* $cfpr\$" && ok "and so is the original head, in the relay's ledger" ||
    not_ok "the original head does not verify"
# with the ledger's objects too, git sees two histories forking at one event
echo "$fac/cases/$id/ledger.git/objects" >>"$ev_git/objects/info/alternates"
bad=0
for c in $(git --git-dir="$ev_git" rev-list "$rewritten"); do
    GNUPGHOME=$fac/gnupg git --git-dir="$ev_git" verify-commit "$c" 2>/dev/null || bad=$((bad + 1))
done
[[ $(git --git-dir="$ev_git" merge-base "$orig" "$rewritten") == "$parent" ]] && ((bad == 0)) &&
    ! git --git-dir="$ev_git" merge-base --is-ancestor "$orig" "$rewritten" &&
    ok "every event of the rewritten history verifies, and it forks from the original at its parent: the clinic signed two histories" ||
    not_ok "the two histories are not a signed fork" "$bad events do not verify" \
        "merge-base $(git --git-dir="$ev_git" merge-base "$orig" "$rewritten" 2>&1), parent $parent"
check "git fsck --strict accepts the relay's ledger" \
    git --git-dir="$fac/cases/$id/ledger.git" fsck --strict --no-dangling
[[ $(mrx --home "$fac" --json case show "$id" | jq '.problems | length') == 0 ]] &&
    ok "every feed the relay holds still verifies" ||
    not_ok "problems on the relay" "$(mrx --home "$fac" --json case show "$id" | jq -c .problems)"

# 4. the rest of the case goes on: a new event by the patient reaches the
# relay and, through it, the clinic; the patient, who gets the clinic's
# feed only through the relay, never sees the rewrite
mrx --home "$pat" add "$id" --kind intake "$MRX_TESTDATA/docs/Diagnostic_Imaging_Report.xml" >/dev/null
phead=$(feed "$pat" "$pfpr")
# HOME holds the patient's new event (the patient's feed may have grown on
# since: its bundle-served once the relay fetches the bundle)
has_phead() {
    local head
    head=$(feed "$1" "$pfpr") && git --git-dir="$1/cases/$id/ledger.git" merge-base --is-ancestor "$phead" "$head"
}
relay_has() { has_phead "$fac"; }
clinic_has() { has_phead "$clinic"; }
wait_for 90 relay_has && ok "the patient's new event reaches the relay" ||
    not_ok "the relay lacks the patient's event" "$(tail -5 "$fac.log")"
wait_for 90 clinic_has && ok "and, through the relay, the clinic" ||
    not_ok "the clinic lacks the patient's event" "$(tail -5 "$clinic.log")"
[[ $(feed "$pat" "$cfpr") == "$orig" ]] && ok "the patient still holds the clinic's original feed" ||
    not_ok "the patient's copy moved" "orig $orig, now $(feed "$pat" "$cfpr")"
[[ $(feed "$fac" "$cfpr") == "$orig" && $(feed "$clinic" "$cfpr") == "$rewritten" ]] &&
    ok "after more rounds the relay still holds the original, the clinic its rewrite" ||
    not_ok "feeds moved" "relay $(feed "$fac" "$cfpr"), clinic $(feed "$clinic" "$cfpr")"

# 5. the same rewrite offered again (the clinic restarts: a new session,
# and the relay pulls again) is refused again and kept once
t_stop "$clinic"
t_start "$clinic" || exit 1
refusals() {
    grep -F 'mrxd[warning]: ' "$fac.log" |
        grep -cF "feed $cfpr: refused: feed $cfpr: their history does not extend ours at $orig (rewritten)"
}
twice() { (($(refusals) >= 2)); }
wait_for 120 twice && ok "offered again, the rewrite is refused again" ||
    not_ok "no second refusal" "$(refusals) refusals" "$(tail -5 "$fac.log")"
[[ $(find "$fac/cases/$id/evidence" -mindepth 1 -maxdepth 1 | wc -l) == 1 &&
    $(feed "$fac" "$cfpr") == "$orig" ]] &&
    ok "and kept once; the relay's copy still has the original head" ||
    not_ok "evidence kept more than once, or the feed moved" "$(ls "$fac/cases/$id/evidence")" \
        "relay $(feed "$fac" "$cfpr")"
# a pack being taken in lives in .incoming-*, its feeds' objects in
# .quarantine-*: once the syncing is over, neither is left
no_leftovers() { [[ -z $(find "$fac/cases/$id" -maxdepth 1 \( -name '.quarantine-*' -o -name '.incoming-*' \)) ]]; }
wait_for 30 no_leftovers && ok "nothing is left in quarantine" ||
    not_ok "leftovers on the relay" "$(ls -a "$fac/cases/$id")"

# 6. the relay's daemon served throughout
[[ $(cat "$fac/mrxd.pid") == "$fac_pid" ]] && kill -0 "$fac_pid" 2>/dev/null &&
    mrx --home "$fac" status >/dev/null &&
    ok "the relay's daemon kept running and serving (mrx status)" ||
    not_ok "the relay's daemon is not the one started" "$(tail -5 "$fac.log")"
done_testing
