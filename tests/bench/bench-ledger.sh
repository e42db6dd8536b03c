#!/usr/bin/env bash
# bench-ledger.sh - make bench, the ledger part: appends per second beside
# gpg --detach-sign calls per second, the first read of a whole case beside
# gpg --verify calls per second, and a read once verified; all in one run.
# Knob: MRX_BENCH_EVENTS (10000).
set -uo pipefail
: "${LEDGER_BENCH:?}"
GPG=${GPG:-gpg}
EVENTS=${MRX_BENCH_EVENTS:-10000}
CALLS=200
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
verdict() { awk -v v="$1" -v t="$2" -v dir="$3" 'BEGIN { print ((dir == "min" ? v >= t : v < t) ? "PASS" : "MISS") }'; }

echo "mrx bench (ledger): a case of $EVENTS events over 4 feeds (membership, bundles, access)"
out=$("$LEDGER_BENCH" "$W" "$EVENTS") || { echo "bench: ledger_bench failed" >&2; exit 1; }
read -r _ keyring fpr <<<"$(grep '^keyring ' <<<"$out")"
read -r _ n_append t_append <<<"$(grep '^append ' <<<"$out")"
read -r _ n_verify t_verify <<<"$(grep '^verify ' <<<"$out")"
read -r _ n_cached t_cached <<<"$(grep '^cached ' <<<"$out")"

# baselines with the same key: one gpg process per signature, as GPGME runs it
echo "bench data" >"$W/data"
t0=$(date +%s.%N)
for ((i = 0; i < CALLS; i++)); do
    "$GPG" --homedir "$keyring" --batch -q -u "$fpr" --armor --detach-sign -o - "$W/data" >/dev/null 2>&1
done
t_sign=$(secs "$t0" "$(date +%s.%N)")
"$GPG" --homedir "$keyring" --batch -q -u "$fpr" --armor --detach-sign -o "$W/data.sig" "$W/data" 2>/dev/null
t0=$(date +%s.%N)
for ((i = 0; i < CALLS; i++)); do
    "$GPG" --homedir "$keyring" --batch -q --verify "$W/data.sig" "$W/data" >/dev/null 2>&1
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
