#!/usr/bin/env bash
# bench.sh - make bench: throughput and peak RSS of mrx bundle create and
# open, each beside its baseline measured in the same run. See
# tests/bench/README. Exits 0 when everything ran (whatever the verdicts),
# 1 when something failed to run.
#
# From make: MRX, PEAKRSS, GPGME_ENCRYPT, MRX_TESTDATA, GPG.
# Knobs (environment): MRX_BENCH_SIZE (512M), MRX_BENCH_RSS_SIZES
# ("64M 1G"), MRX_BENCH_ROUNDS (4; the slow default gpg pipeline runs at
# most 2), MRX_BENCH_LOG (copy the full log, every run's figures, there),
# TMPDIR.

set -uo pipefail

: "${MRX:?}" "${PEAKRSS:?}" "${GPGME_ENCRYPT:?}" "${MRX_TESTDATA:?}"
GPG=${GPG:-gpg}
SIZE=${MRX_BENCH_SIZE:-512M}
RSS_SIZES=${MRX_BENCH_RSS_SIZES:-64M 1G}
ROUNDS=${MRX_BENCH_ROUNDS:-4}
RSS_LIMIT_KIB=$((64 * 1024))
export LC_ALL=C

die() {
    printf 'bench: %s\n' "$*" >&2
    exit 1
}

for tool in "$MRX" "$PEAKRSS" "$GPGME_ENCRYPT" "$MRX_TESTDATA/make-large.sh"; do
    [[ -x $tool ]] || die "$tool: missing or not executable"
done
command -v "$GPG" >/dev/null || die "gpg not found"
command -v jq >/dev/null || die "jq not found (Debian package jq)"

W=$(mktemp -d "${TMPDIR:-/tmp}/mrx-bench.XXXXXX") || die "cannot make a temp dir"
C=$W/clinic
P=$W/patient
LOG=$W/log

cleanup() {
    local home
    [[ -n ${MRX_BENCH_LOG:-} && -f $LOG ]] && cp "$LOG" "$MRX_BENCH_LOG"
    for home in "$C" "$P"; do
        [[ -d $home/gnupg ]] && gpgconf --homedir "$home/gnupg" --kill all >/dev/null 2>&1
    done
    rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The log of the failed step, then exit 1.
fail() {
    printf 'bench: %s\n' "$*" >&2
    if [[ -s $LOG ]]; then
        printf -- '--- last lines of the log ---\n' >&2
        tail -n 20 "$LOG" >&2
    fi
    exit 1
}

# --- measuring ------------------------------------------------------------

declare -A BEST RSS
WALL=$SECONDS
LOAD_START=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')

# Read every file under the paths once, so that each contender starts from
# the same (warm) page cache; dropping it is not possible here.
warm() {
    find "$@" -type f -exec cat {} + >/dev/null
}

# measure LABEL own|tree CMD... : run CMD under peakrss, keep the best
# (lowest) time and the highest peak RSS seen for LABEL. "own" is the
# process's own peak (gpg, which GPGME runs, is a separate process);
# "tree" the largest process of a pipeline. Stdout goes to $W/stdout.
measure() {
    local label=$1 mode=$2 line elapsed kib flag=
    shift 2
    [[ $mode == own ]] && flag=-s
    sync
    rm -f "$W/peak"
    printf '+ %s:' "$label" >>"$LOG"
    printf ' %q' "$@" >>"$LOG"
    printf '\n' >>"$LOG"
    "$PEAKRSS" -o "$W/peak" -l "$label" ${flag:+"$flag"} -- "$@" \
        >"$W/stdout" 2>>"$LOG" || fail "$label failed"
    line=$(<"$W/peak")
    printf '%s\n' "$line" >>"$LOG"
    elapsed=$(sed -n 's/.* elapsed=\([0-9.]*\).*/\1/p' <<<"$line")
    if [[ $mode == own ]]; then
        kib=$(sed -n 's/.* hwm_kib=\([0-9]*\).*/\1/p' <<<"$line")
    else
        kib=$(sed -n 's/.* maxrss_kib=\([0-9]*\).*/\1/p' <<<"$line")
    fi
    [[ -n $elapsed && -n $kib ]] || fail "$label: unreadable peakrss line: $line"
    if [[ -z ${BEST[$label]:-} ]] || awk -v a="$elapsed" -v b="${BEST[$label]}" 'BEGIN { exit !(a < b) }'; then
        BEST[$label]=$elapsed
    fi
    if ((kib > ${RSS[$label]:-0})); then
        RSS[$label]=$kib
    fi
}

# Bytes in the regular files under a folder.
tree_bytes() {
    find "$1" -type f -printf '%s\n' | awk '{ s += $1 } END { printf "%d\n", s }'
}

mbps() { awk -v b="$1" -v t="$2" 'BEGIN { printf "%.1f", b / t / 1e6 }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# --- two nodes ------------------------------------------------------------

"$MRX" --home "$C" init --role clinic --name Clinic >>"$LOG" 2>&1 || fail "mrx init (clinic)"
"$MRX" --home "$P" init --role patient --name Patient >>"$LOG" 2>&1 || fail "mrx init (patient)"
"$MRX" --home "$C" id >"$W/clinic.cert" 2>>"$LOG" || fail "mrx id (clinic)"
"$MRX" --home "$P" id >"$W/patient.cert" 2>>"$LOG" || fail "mrx id (patient)"
"$MRX" --home "$C" peer add "$W/patient.cert" >>"$LOG" 2>&1 || fail "mrx peer add (clinic)"
"$MRX" --home "$P" peer add "$W/clinic.cert" >>"$LOG" 2>&1 || fail "mrx peer add (patient)"
CF=$("$MRX" --home "$C" --json id | jq -r .fingerprint) || fail "mrx --json id (clinic)"
PF=$("$MRX" --home "$P" --json id | jq -r .fingerprint) || fail "mrx --json id (patient)"
[[ $CF =~ ^[0-9A-F]{40}$ && $PF =~ ^[0-9A-F]{40}$ ]] || fail "no fingerprints from mrx --json id"

# The gpg baselines work in the patient's keyring: the same keys as mrx
# (the patient's ed25519 key signs, both cv25519 subkeys are recipients,
# as in an mrx bundle from the clinic to the patient). --trust-model
# always is what GPGME's ALWAYS_TRUST (used by mrx) means; --batch only
# stops gpg from asking. Nothing else departs from gpg's defaults.
GNUPGHOME_P=$P/gnupg
GPG_ARGS=(--homedir "$GNUPGHOME_P" --batch --yes --trust-model always)

# --- the study ------------------------------------------------------------

make_study() {
    local dir=$1 size=$2
    "$MRX_TESTDATA/make-large.sh" "$dir" "$size" >>"$LOG" 2>&1 || fail "make-large.sh $size"
}

STUDY=$W/data/study
mkdir -p "$W/data" "$W/out"
make_study "$STUDY" "$SIZE"
BYTES=$(tree_bytes "$STUDY")
FILES=$(find "$STUDY" -type f | wc -l)
tar cf "$W/data/study.tar" -C "$W/data" study 2>>"$LOG" || fail "tar cf of the study"

printf 'mrx bench: %s imaging study, %d files, %s bytes (MB = 10^6 bytes), best of %d runs\n' \
    "$SIZE" "$FILES" "$BYTES" "$ROUNDS"
printf '  (of %d for the default gpg pipeline, the slowest)\n' $((ROUNDS < 2 ? ROUNDS : 2))
printf '  %s, %s, %s CPUs; warm page cache; rss = own peak of mrx and gpgme_encrypt\n' \
    "$("$GPG" --version | head -n 1)" "$("$GPG" --version | sed -n 2p)" "$(nproc)"
printf '  (gpg runs as a separate process), largest process of a shell pipeline\n\n'

# --- packaging ------------------------------------------------------------

BUNDLE=$W/data/study.mrx
COMPRESSED=false

pack_mrx() {
    rm -f "$W/out/b.mrx"
    warm "$STUDY"
    measure pack_mrx own "$MRX" --home "$C" --json bundle create --kind imaging --to "$PF" \
        --out "$W/out/b.mrx" "$STUDY"
    COMPRESSED=$(jq -r .compressed "$W/stdout") || fail "mrx bundle create: no JSON"
    mv -f "$W/out/b.mrx" "$BUNDLE"
}

pack_gpgme() {
    rm -f "$W/out/g.gpg"
    warm "$W/data/study.tar"
    measure pack_gpgme own "$GPGME_ENCRYPT" --homedir "$GNUPGHOME_P" -r "$CF" -r "$PF" \
        "$W/data/study.tar" "$W/out/g.gpg"
    rm -f "$W/out/g.gpg"
}

pack_gpgme_64k() {
    rm -f "$W/out/g.gpg"
    warm "$W/data/study.tar"
    measure pack_gpgme_64k own "$GPGME_ENCRYPT" --homedir "$GNUPGHOME_P" --io-buffer-size 65536 \
        -r "$CF" -r "$PF" "$W/data/study.tar" "$W/out/g.gpg"
    rm -f "$W/out/g.gpg"
}

# pack_gpg LABEL [GPG OPTIONS...]: what a user would type.
pack_gpg() {
    local label=$1
    shift
    rm -f "$W/out/p.gpg"
    warm "$STUDY"
    measure "$label" tree bash -c 'set -o pipefail; d=$1 out=$2; shift 2
        tar cf - -C "$d" study | "$@" >"$out"' bench "$W/data" "$W/out/p.gpg" \
        "$GPG" "${GPG_ARGS[@]}" "$@" -u "$PF" -r "$CF" -r "$PF" --sign --encrypt
    rm -f "$W/out/p.gpg"
}

# --- opening --------------------------------------------------------------

open_mrx() {
    rm -rf "$W/out/open"
    warm "$BUNDLE"
    measure open_mrx own "$MRX" --home "$P" --json bundle open "$BUNDLE" --out "$W/out/open"
    rm -rf "$W/out/open"
}

# gpg -d | tar -x of the same bundle: its plaintext is a plain tar when
# the study did not compress (zstd -dcf in between otherwise). Only tar's
# status counts: mrx hides the recipients' key ids (GPGME's THROW_KEYIDS),
# so gpg first tries the patient's key on the clinic's session key packet
# and, although it then decrypts, exits 2. The extracted study is checked
# instead: file count each time, SHA256SUMS in the first round.
open_gpg() {
    local filter=
    rm -rf "$W/out/x"
    mkdir "$W/out/x"
    warm "$BUNDLE"
    [[ $COMPRESSED == true ]] && filter='| zstd -dcf'
    measure open_gpg tree bash -c '"${@:3}" -d "$1" '"$filter"' | tar -x -C "$2"' \
        bench "$BUNDLE" "$W/out/x" "$GPG" "${GPG_ARGS[@]}"
    [[ $(find "$W/out/x/imaging/study" -type f | wc -l) == "$FILES" ]] ||
        fail "gpg -d | tar -x did not extract the $FILES files of the study"
    if [[ ${1:-} == check ]]; then
        (cd "$W/out/x/imaging/study" && sha256sum -c --quiet SHA256SUMS) >>"$LOG" 2>&1 ||
            fail "gpg -d | tar -x did not extract the study intact"
    fi
    rm -rf "$W/out/x"
}

# GPGME decrypt-only of the same bundle to a file: the engine's limit for
# an opener (no fsync: neither mrx nor tar syncs extracted files).
open_gpgme() {
    local label=$1
    shift
    rm -f "$W/out/d.tar"
    warm "$BUNDLE"
    measure "$label" own "$GPGME_ENCRYPT" --homedir "$GNUPGHOME_P" --no-fsync "$@" --decrypt \
        "$BUNDLE" "$W/out/d.tar"
    rm -f "$W/out/d.tar"
}

# Interleaved rounds, so that a slow spell of the machine hits every
# contender alike.
for ((round = 1; round <= ROUNDS; round++)); do
    pack_mrx
    pack_gpgme
    pack_gpgme_64k
    pack_gpg pack_gpg_z0 -z0
    ((round <= 2)) && pack_gpg pack_gpg
    open_mrx
    if ((round == 1)); then open_gpg check; else open_gpg; fi
    open_gpgme open_gpgme
    open_gpgme open_gpgme_64k --io-buffer-size 65536
done
[[ $COMPRESSED == false ]] ||
    printf 'note: mrx compressed this study (zstd); the opening baseline adds zstd -dcf\n\n'

# --- report ---------------------------------------------------------------

PASS=0
MISS=0

# judge VALUE OP TARGET: VERDICT=PASS or MISS, counted
judge() {
    if awk -v v="$1" -v t="$3" -v op="$2" 'BEGIN { exit !(op == ">=" ? v >= t : v < t) }'; then
        PASS=$((PASS + 1))
        VERDICT=PASS
    else
        MISS=$((MISS + 1))
        VERDICT=MISS
    fi
}

# figure LABEL: "NNN.N MB/s  rss NN.N MiB" for the measured label
figure() {
    printf '%7s MB/s  rss %5s MiB' "$(mbps "$BYTES" "${BEST[$1]}")" "$(mib "${RSS[$1]}")"
}

# compare WHAT MRX_LABEL MRX_NAME BASE_LABEL BASE_NAME TARGET: one line,
# ratio = mrx MB/s / baseline MB/s; TARGET empty: shown, not judged
compare() {
    local what=$1 ml=$2 mname=$3 bl=$4 bname=$5 target=$6 ratio
    ratio=$(awk -v m="${BEST[$ml]}" -v b="${BEST[$bl]}" 'BEGIN { printf "%.2f", b / m }')
    printf '%-9s  %-18s %s | %-30s %s | ratio %5s ' "$what" "$mname" "$(figure "$ml")" \
        "$bname" "$(figure "$bl")" "$ratio"
    if [[ -n $target ]]; then
        judge "$ratio" '>=' "$target"
        printf '(target >= %.2f) %s\n' "$target" "$VERDICT"
    else
        printf '(no target)       info\n'
    fi
}

# The engine's limit is the faster of GPGME's two buffer sizes (its 4 KiB
# default, or the 64 KiB its io-buffer-size flag allows): either is
# open to mrx, and the slower one is shown.
if awk -v a="${BEST[pack_gpgme_64k]}" -v b="${BEST[pack_gpgme]}" 'BEGIN { exit !(a < b) }'; then
    limit=(pack_gpgme_64k "gpgme encrypt-only, 64K bufs") other=(pack_gpgme "gpgme encrypt-only, 4K bufs")
else
    limit=(pack_gpgme "gpgme encrypt-only, 4K bufs") other=(pack_gpgme_64k "gpgme encrypt-only, 64K bufs")
fi
compare packaging pack_mrx "mrx bundle create" "${limit[0]}" "${limit[1]}" 0.80
compare packaging pack_mrx "mrx bundle create" pack_gpg "tar | gpg --sign --encrypt" 4.00
compare packaging pack_mrx "mrx bundle create" pack_gpg_z0 "tar | gpg -z0 --sign --encrypt" ""
compare packaging pack_mrx "mrx bundle create" "${other[0]}" "${other[1]}" ""
compare opening open_mrx "mrx bundle open" open_gpg "gpg -d | tar -x" 0.80
compare opening open_mrx "mrx bundle open" open_gpgme "gpgme decrypt-only, 4K bufs" ""
compare opening open_mrx "mrx bundle open" open_gpgme_64k "gpgme decrypt-only, 64K bufs" ""
# how far any opener built on GPGME can get against the opening baseline
if awk -v a="${BEST[open_gpgme_64k]}" -v b="${BEST[open_gpgme]}" 'BEGIN { exit !(a < b) }'; then
    compare ceiling open_gpgme_64k "gpgme decrypt 64K" open_gpg "gpg -d | tar -x" ""
else
    compare ceiling open_gpgme "gpgme decrypt 4K" open_gpg "gpg -d | tar -x" ""
fi

# --- peak RSS whatever the size -------------------------------------------

# rss_line WHAT SIZE BYTES LABEL
rss_line() {
    judge "${RSS[$4]}" '<' "$RSS_LIMIT_KIB"
    printf '%-9s  %-18s %5s study %7s MB/s  rss %5s MiB | target < 64 MiB %s\n' "peak rss" "$1" \
        "$2" "$(mbps "$3" "${BEST[$4]}")" "$(mib "${RSS[$4]}")" "$VERDICT"
}

RSS_REPORT=()
for size in $RSS_SIZES; do
    dir=$W/data/rss-$size
    make_study "$dir/study" "$size"
    bytes=$(tree_bytes "$dir/study")
    rm -f "$W/out/r.mrx"
    warm "$dir/study"
    measure "create_$size" own "$MRX" --home "$C" --json bundle create --kind imaging --to "$PF" \
        --out "$W/out/r.mrx" "$dir/study"
    rm -rf "$dir/study" "$W/out/open"
    warm "$W/out/r.mrx"
    measure "open_$size" own "$MRX" --home "$P" --json bundle open "$W/out/r.mrx" --out "$W/out/open"
    rm -rf "$W/out/r.mrx" "$W/out/open" "$dir"
    RSS_REPORT+=("$bytes|1|mrx bundle create|$size|create_$size" "$bytes|2|mrx bundle open|$size|open_$size")
done
RSS_REPORT+=("$BYTES|1|mrx bundle create|$SIZE|pack_mrx" "$BYTES|2|mrx bundle open|$SIZE|open_mrx")
echo
while IFS='|' read -r bytes _ what size label; do
    rss_line "$what" "$size" "$bytes" "$label"
done < <(printf '%s\n' "${RSS_REPORT[@]}" | sort -t'|' -k1,1n -k2,2n)

echo
printf 'load average (1 min) at start %s, at end %s: other work on the machine slows\n' \
    "$LOAD_START" "$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')"
printf 'contenders at random; the best of %d rounds damps it, compare runs if it is high\n' "$ROUNDS"
printf 'summary: %d PASS, %d MISS of %d targets (%d s)\n' "$PASS" "$MISS" $((PASS + MISS)) \
    $((SECONDS - WALL))
exit 0
