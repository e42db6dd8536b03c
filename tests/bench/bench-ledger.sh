#!/usr/bin/env bash
# bench-ledger.sh - make bench, the ledger part: appends per second beside
# gpg --detach-sign calls per second, the first read of a whole case beside
# gpg --verify calls per second, and a read once verified; then the
# patient's audit of a case of five feeds, first beside gpg --verify calls
# per second and once verified beside git log of the same feeds; all in
# one run. Knob: MRX_BENCH_EVENTS (10000).
set -uo pipefail
: "${LEDGER_BENCH:?}"
GPG=${GPG:-gpg}
GIT=${GIT:-git}
EVENTS=${MRX_BENCH_EVENTS:-10000}
CALLS=200
ROUNDS=3
export LC_ALL=C

W=$(mktemp -d "${TMPDIR:-/tmp}/mrx-bench-ledger.XXXXXX") || exit 1
cleanup() {
    local k
    while IFS= read -r k; do gpgconf --homedir "$k" --kill all >/dev/null 2>&1; done \
        < <(find "$W" -name pubring.kbx -printf '%h\n' 2>/dev/null)
    rm -rf "$W"
}
trap cleanup EXIT

secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
rate() { awk -v n="$1" -v t="$2" 'BEGIN { printf "%.1f", n / t }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
fail() { echo "bench: $*" >&2; exit 1; }
# the value fields of the line of out starting with key, or fail
field() { grep -m1 "^$2 " <<<"$1" | cut -d' ' -f2- | grep . || fail "ledger_bench printed no $2 line"; }
verdict() { awk -v v="$1" -v t="$2" -v dir="$3" 'BEGIN { print ((dir == "min" ? v >= t : v < t) ? "PASS" : "MISS") }'; }

echo "mrx bench (ledger): a case of $EVENTS events over 4 feeds (membership, bundles, access)"
out=$("$LEDGER_BENCH" "$W" "$EVENTS") || fail "ledger_bench failed"
v=$(field "$out" keyring) || exit 1
read -r keyring fpr <<<"$v"
v=$(field "$out" append) || exit 1
read -r n_append t_append <<<"$v"
v=$(field "$out" verify) || exit 1
read -r n_verify t_verify <<<"$v"
v=$(field "$out" cached) || exit 1
read -r n_cached t_cached <<<"$v"

# the audit (issue 6): a new case of five feeds, audited in a new process
out=$("$LEDGER_BENCH" --audit-case "$W/audit" "$EVENTS") || fail "ledger_bench --audit-case failed"
home=$(field "$out" audit-home) || exit 1
gitdir=$(field "$out" audit-git) || exit 1
v=$(field "$out" audit-built) || exit 1
read -r n_events n_access n_bundles _ n_views <<<"$v"
out=$("$LEDGER_BENCH" --audit "$home" "$ROUNDS") || fail "ledger_bench --audit failed"
v=$(field "$out" audit-first) || exit 1
read -r n_afirst t_afirst flagged n_requests <<<"$v"
v=$(field "$out" audit-cached) || exit 1
read -r _ t_acached _ <<<"$v"
v=$(field "$out" audit-read) || exit 1
read -r _ t_aread <<<"$v"
flagged_lines=$(grep '^audit-flagged ' <<<"$out" | cut -d' ' -f2-)
[ "$n_afirst" = "$n_events" ] || fail "the audit saw $n_afirst events of $n_events"
# baseline: git reading every event of the same feeds in full, unverified
n_git=$("$GIT" --git-dir "$gitdir" log --glob=refs/feeds --format=%H | wc -l)
[ "$n_git" = "$n_events" ] || fail "git log shows $n_git events of $n_events"
t_git=
for ((i = 0; i < ROUNDS; i++)); do
    t0=$(date +%s.%N)
    "$GIT" --git-dir "$gitdir" log --glob=refs/feeds --format=raw >/dev/null || fail "git log failed"
    t=$(secs "$t0" "$(date +%s.%N)")
    t_git=$(awk -v a="$t" -v b="${t_git:-$t}" 'BEGIN { print (a < b ? a : b) }')
done

# baselines with the same key: one gpg process per signature, as GPGME runs it
echo "bench data" >"$W/data"
t0=$(date +%s.%N)
for ((i = 0; i < CALLS; i++)); do
    "$GPG" --homedir "$keyring" --batch -q -u "$fpr" --armor --detach-sign -o - "$W/data" >/dev/null 2>&1 ||
        fail "gpg --detach-sign failed"
done
t_sign=$(secs "$t0" "$(date +%s.%N)")
"$GPG" --homedir "$keyring" --batch -q -u "$fpr" --armor --detach-sign -o "$W/data.sig" "$W/data" 2>/dev/null ||
    fail "gpg --detach-sign failed"
t0=$(date +%s.%N)
for ((i = 0; i < CALLS; i++)); do
    "$GPG" --homedir "$keyring" --batch -q --verify "$W/data.sig" "$W/data" >/dev/null 2>&1 ||
        fail "gpg --verify failed"
done
t_gverify=$(secs "$t0" "$(date +%s.%N)")

append_rate=$(rate "$n_append" "$t_append")
sign_rate=$(rate "$CALLS" "$t_sign")
verify_rate=$(rate "$n_verify" "$t_verify")
gverify_rate=$(rate "$CALLS" "$t_gverify")
r_verify=$(ratio "$verify_rate" "$gverify_rate")
printf 'append     mrx ledger append   %8s events/s | gpg --detach-sign  %8s calls/s | ratio %5s | target >= 150 events/s %s\n' \
    "$append_rate" "$sign_rate" "$(ratio "$append_rate" "$sign_rate")" "$(verdict "$append_rate" 150 min)"
printf 'verify     mrx first read      %8s events/s | gpg --verify       %8s calls/s | ratio %5s | target >= 0.70 %s\n' \
    "$verify_rate" "$gverify_rate" "$r_verify" "$(verdict "$r_verify" 0.70 min)"
printf 'read       mrx read, verified  %8s s for %s events                                | target < 1 s %s\n' \
    "$t_cached" "$n_cached" "$(verdict "$t_cached" 1 max)"

afirst_rate=$(rate "$n_afirst" "$t_afirst")
r_afirst=$(ratio "$afirst_rate" "$gverify_rate")
sig_rate=$(rate "$((n_afirst + n_requests + n_views))" "$t_afirst")
echo "mrx bench (ledger, audit): a case of $n_access access events ($n_events events, $n_bundles bundles) over 5 feeds; $flagged lines flagged"
r_sig=$(ratio "$sig_rate" "$gverify_rate")
printf 'audit      mrx audit, first    %8s sigs/s   | gpg --verify       %8s calls/s | ratio %5s | target >= 0.70 %s\n' \
    "$sig_rate" "$gverify_rate" "$r_sig" "$(verdict "$r_sig" 0.70 min)"
printf 'audit      mrx audit, first    %8s events/s | gpg --verify       %8s calls/s | ratio %5s | info: %s events, %s requests, %s views\n' \
    "$afirst_rate" "$gverify_rate" "$r_afirst" "$n_afirst" "$n_requests" "$n_views"
printf 'audit      mrx audit, verified %8s s        | git log, same feeds %7s s       | ratio %5s | target < 1 s %s\n' \
    "$t_acached" "$t_git" "$(ratio "$t_git" "$t_acached")" "$(verdict "$t_acached" 1 max)"
printf 'audit      mrx audit, verified %8s s        | mrx read, verified %8s s       | ratio %5s | info\n' \
    "$t_acached" "$t_aread" "$(ratio "$t_aread" "$t_acached")"
[ -z "$flagged_lines" ] || sed 's/^/flagged    /' <<<"$flagged_lines"
