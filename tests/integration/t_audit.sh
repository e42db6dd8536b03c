#!/usr/bin/env bash
# t_audit: the patient's audit (docs/audit.md) of a case synced by real
# daemons on loopback. The facilitator is the relay and listens; the
# patient and the reviewer connect only to it. Honest first: every access
# line verifies. Then the reviewer turns dishonest twice: it fetches a
# bundle with its own keys but software that reports nothing
# (t_audit.py), and later rewrites its feed; the patient's audit marks
# the serving nobody reported fetching, and the relay's audit the
# rewritten history it refused and kept. (The patient learns of a fork
# only from signed views that show it: one its author has already
# extended is not caught there yet.) Then the relay forges an event (a
# withdrawal only the patient may make): the patient refuses and keeps
# it, and its audit marks it forged. Last, the patient's audit as a page
# (--html), opened in headless Chromium; the case's title, markup and
# all, must show as text.
. "$MRX_SRCDIR/tests/lib/tap.sh"
. "$MRX_SRCDIR/tests/lib/html_check.sh"
t_need_pyzmq
plan $((28 + HTML_CHECKS))

port=$(t_port)
fac=$(t_node facilitator facilitator --listen "tcp://127.0.0.1:$port") || exit 1
pat=$(t_node patient patient) || exit 1
rev=$(t_node reviewer reviewer) || exit 1
t_debug "$fac" "$pat" "$rev"
introduce "$fac" "$pat" && introduce "$fac" "$rev" && introduce "$pat" "$rev" || {
    echo "Bail out! cannot introduce the nodes"
    exit 1
}
ffpr=$(fpr_of "$fac") pfpr=$(fpr_of "$pat") rfpr=$(fpr_of "$rev")

audit() { mrx --home "$1" --json audit "$id"; }
# has_ev HOME TYPE AUTHOR PEER BUNDLE: the case shows that event
has_ev() {
    mrx --home "$1" --json case show "$id" | jq -e --arg t "$2" --arg a "$3" --arg p "$4" \
        --arg b "$5" '.events[] | select(.type == $t and .author == $a and (.peer // "") == $p and .bundle == $b)'
}
held() { [[ -f $1/cases/$id/bundles/$2.mrx ]]; }
feed() { git --git-dir="$1/cases/$id/ledger.git" rev-parse -q --verify "refs/feeds/$2" 2>/dev/null; }

title="audit test <script>alert(\"t\")</script> & 'co'"
id=$(mrx --home "$pat" --json case new --title "$title" | jq -r .id)
mrx --home "$pat" grant "$id" "$ffpr" relay >/dev/null
mrx --home "$pat" grant "$id" "$rfpr" reviewer >/dev/null

# 1. honest: the patient's records reach the reviewer through the relay,
# and the reviewer opens them
b1=$(mrx --home "$pat" --json add "$id" --kind records "$MRX_TESTDATA/docs" | jq -r .bundle)
wait_for 120 held "$rev" "$b1" || {
    echo "Bail out! the bundle did not reach the reviewer"
    grep -i bundle "$rev.log" | tail -5 | sed 's/^/# /'
    exit 1
}
mrx --home "$rev" get "$id" "$b1" --out "$t_root/rev-out" >/dev/null
reported() {
    has_ev "$pat" bundle-served "$pfpr" "$ffpr" "$b1" && has_ev "$pat" bundle-fetched "$ffpr" "$pfpr" "$b1" &&
        has_ev "$pat" bundle-served "$ffpr" "$rfpr" "$b1" && has_ev "$pat" bundle-fetched "$rfpr" "$ffpr" "$b1" &&
        has_ev "$pat" bundle-opened "$rfpr" "" "$b1"
}
wait_for 120 reported && ok "every serving, fetching and opening reaches the patient" ||
    not_ok "the reports did not reach the patient" "$(mrx --home "$pat" case show "$id" 2>&1 | tail -8)"
out=$(mrx --home "$pat" audit "$id" 2>&1)
rc=$?
((rc == 0)) && grep -q '^.*0 lines flagged$' <<<"$out" &&
    ok "mrx audit: exit 0, every line verified" || not_ok "the honest audit is not clean (exit $rc)" "$out"
audit "$pat" >"$t_root/a1.json"
n_events=$(mrx --home "$pat" --json case show "$id" | jq '.events | length')
n_served=$(mrx --home "$pat" --json case show "$id" | jq '[.events[] | select(.type == "bundle-served")] | length')
jq -e --argjson n "$n_events" --argjson s "$n_served" '.events == $n and .flagged == 0 and .verified and
    ([.lines[] | select(.kind == "event")] | length) == $n and
    ([.lines[] | select(.kind == "request")] | length) == $s and (.lines | length) == $n + $s' \
    "$t_root/a1.json" >/dev/null &&
    ok "--json: one verified line per event of the case ($n_events), and per serving its receiver's signed request ($n_served)" ||
    not_ok "--json does not match case show" "$(jq -c '{events, flagged, n: (.lines|length)}' "$t_root/a1.json")"
jq -e --arg r "$rfpr" --arg f "$ffpr" --arg b "$b1" '
    [.lines[] | select(.kind == "event" and .bundle.id == $b and .who.fingerprint == $r)] as $mine |
    ($mine | map(.type) | sort) == ["bundle-fetched", "bundle-opened"] and
    ($mine | all(.standing == "member" and .role == "reviewer" and .bundle.kind == "records" and .bundle.size > 0)) and
    ([.lines[] | select(.type == "bundle-served" and .who.fingerprint == $f and .peer.fingerprint == $r)] | length) == 1
    ' "$t_root/a1.json" >/dev/null &&
    ok "the reviewer's fetching and opening, and the relay's serving to it: who, role, bundle kind and size" ||
    not_ok "the access lines are not right" "$(jq -c '.lines[] | select(.bundle) | {type, who: .who.name, standing, role, bundle}' "$t_root/a1.json")"

# 2. the reviewer hides its reports: its daemon is stopped, and with its
# own keys it fetches the next bundle from the relay and tells nobody
t_stop "$rev"
b2=$(mrx --home "$pat" --json add "$id" --kind photos "$MRX_TESTDATA/photos" | jq -r .bundle)
size2=$(mrx --home "$pat" --json case show "$id" | jq --arg b "$b2" '.events[] | select(.bundle == $b and .type == "bundle-added") | .size')
wait_for 120 held "$fac" "$b2" && ok "the relay holds the new bundle" ||
    not_ok "the relay lacks the new bundle" "$(grep -i bundle "$fac.log" | tail -5)"
key=$(mrx --home "$fac" --json id | jq -r .curve)
t_python "$MRX_SRCDIR/tests/integration/t_audit.py" "tcp://127.0.0.1:$port" "$key" "$rev" "$id" "$b2" "$size2" \
    "$rfpr" "$ffpr" "$pat/gnupg" "$pfpr"
wait_for 120 has_ev "$pat" bundle-served "$ffpr" "$rfpr" "$b2" &&
    ok "the relay's serving of it to the reviewer reaches the patient" ||
    not_ok "no serving of the new bundle at the patient" "$(grep -i "$b2" "$fac.log" | tail -3)"
out=$(mrx --home "$pat" audit "$id" 2>"$t_root/err")
rc=$?
((rc == 5)) && grep -q "1 line of the audit flagged" "$t_root/err" &&
    ok "mrx audit exits 5 and says one line is flagged" || not_ok "exit $rc" "$out" "$(cat "$t_root/err")"
audit "$pat" >"$t_root/a2.json"
jq -e --arg r "$rfpr" --arg f "$ffpr" --arg b "$b2" '
    [.lines[] | select(.verified | not)] as $bad | ($bad | length) == 1 and
    $bad[0].type == "bundle-served" and $bad[0].who.fingerprint == $f and $bad[0].peer.fingerprint == $r and
    $bad[0].bundle.id == $b and $bad[0].bundle.kind == "photos" and $bad[0].flags == ["served-not-fetched"] and
    ($bad[0].problem | test("not reported fetching"))' "$t_root/a2.json" >/dev/null &&
    ok "the flagged line: the relay served the photos to the reviewer, who never reported fetching them" ||
    not_ok "not flagged as it should be" "$(jq -c '.lines[] | select(.verified | not)' "$t_root/a2.json")"
grep -q "FLAGGED" <<<"$out" && grep -q "its receiver has not reported fetching it" <<<"$out" &&
    ok "the table marks it FLAGGED, with the reason below" || not_ok "the table hides it" "$out"
# witnessed: the relay kept the request the reviewer signed, so the
# patient sees the reviewer's access in the reviewer's own signature
jq -e --arg r "$rfpr" --arg f "$ffpr" --arg b "$b2" '
    [.lines[] | select(.kind == "request" and .bundle.id == $b and .who.fingerprint == $r)] as $req |
    ($req | length) == 1 and
    $req[0].verified and $req[0].who.fingerprint == $r and $req[0].peer.fingerprint == $f and
    $req[0].standing == "member" and $req[0].role == "reviewer" and ($req[0].summary | test("asked"))' \
    "$t_root/a2.json" >/dev/null &&
    ok "the reviewer that hid its fetching shows by the request it signed, kept by the relay (verified)" ||
    not_ok "no witnessed request" "$(jq -c '.lines[] | select(.kind == "request")' "$t_root/a2.json")"

# 3. the reviewer rewrites its feed: offline (the relay's certificate put
# aside, so its daemon dials nobody), it rolls its feed back one event with
# git and writes another in its place: one feed, two histories of one
# length, both signed by it
orig=$(feed "$rev" "$rfpr")
mv "$rev/peers/$ffpr.cert" "$t_root/relay.cert" && mkdir "$rev/peers/$ffpr.cert"
rgit=$rev/cases/$id/ledger.git
git --git-dir="$rgit" update-ref "refs/feeds/$rfpr" "$(git --git-dir="$rgit" rev-parse "$orig^")" "$orig"
t_start "$rev" || exit 1
mrx --home "$rev" get "$id" "$b1" --out "$t_root/rev-out2" >/dev/null
forked=$(feed "$rev" "$rfpr")
[[ -n $forked && $forked != "$orig" && $(git --git-dir="$rgit" rev-list --count "$forked") == \
    $(git --git-dir="$fac/cases/$id/ledger.git" rev-list --count "$orig") ]] &&
    ok "the reviewer forks its feed: as many events as the others hold, another head" ||
    not_ok "no fork" "orig $orig forked $forked"
rmdir "$rev/peers/$ffpr.cert" && mrx --home "$rev" peer add "$t_root/relay.cert" >/dev/null
evidence=$fac/cases/$id/evidence/$rfpr-$forked
wait_for 120 test -d "$evidence" && ok "the relay pulls the fork, refuses it and keeps it as evidence" ||
    not_ok "no evidence at the relay" "$(grep -i "$rfpr\|refused" "$fac.log" | tail -5)"
# the relay, and through it the patient, keep the reviewer's first history
[[ $(feed "$fac" "$rfpr") == "$orig" ]] && ok "the relay's copy of the reviewer's feed keeps its first head" ||
    not_ok "the relay's copy moved" "orig $orig, now $(feed "$fac" "$rfpr")"
[[ $(feed "$pat" "$rfpr") == "$orig" ]] && ok "and so does the patient's" ||
    not_ok "the patient's copy moved" "orig $orig, now $(feed "$pat" "$rfpr")"
audit "$pat" >"$t_root/a3.json"
audit "$fac" >"$t_root/f3.json"
# (the reviewer, back online, goes on writing on its fork: each longer
# fork it offers is refused and kept too)
jq -e --arg r "$rfpr" --arg h "$forked" '[.lines[] | select(.kind == "refused-history")] |
    length >= 1 and all(.who.fingerprint == $r and .flags == ["rewritten"] and (.problem | test("rewritten"))) and
    any(.commit == $h)' "$t_root/f3.json" >/dev/null &&
    ok "the relay's audit shows the refused history: the reviewer's feed, its forked head, rewritten" ||
    not_ok "no refused history in the relay's audit" "$(jq -c '.lines[] | select(.verified | not)' "$t_root/f3.json")"
# the honest lines stay verified through all this: the only event lines
# marked are the relay's servings to the reviewer (the one it hid, and any
# it reported since only on its refused fork)
jq -e --arg r "$rfpr" --arg f "$ffpr" '[.lines[] | select(.kind == "event" and (.verified | not))] |
    length >= 1 and all(.type == "bundle-served" and .who.fingerprint == $f and .peer.fingerprint == $r and
    .flags == ["served-not-fetched"])' "$t_root/a3.json" >/dev/null &&
    ok "the patient's other event lines stay verified" ||
    not_ok "honest lines marked" "$(jq -c '.lines[] | select(.kind == "event" and (.verified | not))' "$t_root/a3.json")"
# and the case still syncs: the patient's next bundle reaches the relay
b3=$(mrx --home "$pat" --json add "$id" --kind records "$MRX_TESTDATA/docs/UD_sample.pdf" | jq -r .bundle)
wait_for 120 held "$fac" "$b3" && ok "the case still syncs" || not_ok "sync stopped"

# 4. the relay forges an event: with its own keys and mrx's own ledger
# code (tests/lib/forge_event), its daemon stopped, it withdraws the
# patient's records, which only the patient or their author may do. The
# patient refuses the relay's feed from that event on, keeps it as
# evidence of the relay's own doing, and its audit marks it forged
t_stop "$fac"
forged=$("$MRX_BUILDDIR/tests/lib/forge_event" "$fac" "$id" bundle-withdrawn "$b1") &&
    ok "the relay signs a bundle-withdrawn of the patient's records" || not_ok "cannot forge" "$forged"
t_start "$fac" || exit 1
kept_forged() { [[ -f $pat/cases/$id/evidence/$ffpr-$forged/REFUSED ]]; }
wait_for 120 kept_forged && ok "the patient refuses the relay's feed with it, and keeps it as evidence" ||
    not_ok "no evidence of the forged event at the patient" "$(grep -i "refused" "$pat.log" | tail -3)"
audit "$pat" >"$t_root/a4.json"
jq -e --arg f "$ffpr" --arg h "$forged" --arg b "$b1" '
    [.lines[] | select(.kind == "refused-history" and .who.fingerprint == $f)] as $r | ($r | length) == 1 and
    $r[0].flags == ["forged"] and $r[0].commit == $h and $r[0].peer.fingerprint == $f and
    ($r[0].problem | test("bundle-withdrawn")) and
    ([.lines[] | select(.kind == "event" and .type == "bundle-withdrawn")] | length) == 0' \
    "$t_root/a4.json" >/dev/null &&
    ok "the patient's audit marks the relay's history forged: its withdrawal, refused, named" ||
    not_ok "the forged event is not marked" "$(jq -c '.lines[] | select(.kind == "refused-history")' "$t_root/a4.json")"

# 5. the patient's audit as a page: written beside the table, and with
# --json beside the JSON, whose lines it must show one for one (the same
# run: the case may grow between two). An existing page is replaced.
page=$t_root/audit.html
out=$(mrx --home "$pat" audit "$id" --html "$page" 2>"$t_root/err")
rc=$?
((rc == 5)) && grep -q "^the audit as a page: $page\$" <<<"$out" && grep -q FLAGGED <<<"$out" &&
    [[ -s $page && $(stat -c %a "$page") == 600 ]] &&
    ok "mrx audit --html: the table printed, the page written (mode 600), still exit 5" ||
    not_ok "--html did not write the page (exit $rc)" "$out" "$(cat "$t_root/err")"
mrx --home "$pat" audit "$id" --json --html "$page" >"$t_root/a4.json" 2>"$t_root/err"
rc=$?
n_lines=$(jq '.lines | length' "$t_root/a4.json")
n_flagged=$(jq '[.lines[] | select(.verified | not)] | length' "$t_root/a4.json")
((rc == 5 && n_lines > 0 && n_flagged > 0)) && jq -e --argjson f "$n_flagged" '.flagged == $f' \
    "$t_root/a4.json" >/dev/null && grep -q "$n_flagged of $n_lines lines flagged" "$page" &&
    [[ -z $(find "$t_root" -maxdepth 1 -name 'audit.html.tmp-*') ]] &&
    ok "--json --html: the JSON on stdout, the page replaced, its verdict $n_flagged of $n_lines flagged" ||
    not_ok "--json with --html (exit $rc)" "$(head -c 300 "$t_root/a4.json")" "$(cat "$t_root/err")"
html_check "$page" "$n_lines" "$n_flagged" "$MRX_BUILDDIR/tests/artifacts/audit.png" "$t_root/dom.html"
# the browser made text of the title's markup: no script element
esc_title="audit test &lt;script&gt;alert(\"t\")&lt;/script&gt; &amp; 'co'"
if ! html_browser >/dev/null; then
    ok "the title's markup shows as text # SKIP chromium is not installed"
elif grep -qF "<h1>Who accessed your case: $esc_title</h1>" "$t_root/dom.html" &&
    ! grep -qi '<script' "$t_root/dom.html"; then
    ok "the case's title, markup and all, shows as text in the browser"
else
    not_ok "the title's markup was not escaped" "$(grep -o '<h1>.*</h1>' "$t_root/dom.html")"
fi
# a folder that does not exist: one line, exit 3, nothing made
err=$(mrx --home "$pat" audit "$id" --html "$t_root/none/audit.html" 2>&1 >/dev/null)
rc=$?
((rc == 3)) && [[ $(wc -l <<<"$err") == 1 && $err == "mrx: $t_root/none/audit.html: no such folder"* &&
    ! -e $t_root/none ]] && ok "--html into a folder that does not exist: one line, exit 3, nothing written" ||
    not_ok "--html into a missing folder (exit $rc)" "$err"
done_testing
