#!/usr/bin/env bash
# bench-sync.sh - make bench, the sync part (issue 5): a bundle replicated
# between two daemons on loopback beside raw CURVE ZeroMQ (curve_raw, same
# run, same bytes), the bytes on the wire for a 1 MiB bundle added to a
# synced case, the daemons' peak RSS, and t_wire.sh with 10,000 keys that
# are not a peer's. See tests/bench/README. Exits 0 when everything ran
# (whatever the verdicts), 1 when something failed to run.
#
# From make: MRX, MRXD, CURVE_RAW, MRX_BUILDDIR, MRX_SRCDIR, MRX_TESTDATA.
# Knobs (environment): MRX_BENCH_SYNC_SIZE (1G; the bundle's content, as
# head -c takes it: 64M, 1G), MRX_BENCH_SYNC_TIMEOUT (seconds to wait for
# the replicated bundle; 60 + 1 s per 2 MB by default),
# MRX_BENCH_WIRE_ATTEMPTS (10000; 0 skips t_wire.sh), MRX_BENCH_LOG (copy
# the full log there), TMPDIR.

set -uo pipefail

: "${MRX:?}" "${MRXD:?}" "${CURVE_RAW:?}" "${MRX_BUILDDIR:?}" "${MRX_SRCDIR:?}"
SIZE=${MRX_BENCH_SYNC_SIZE:-1G}
ATTEMPTS=${MRX_BENCH_WIRE_ATTEMPTS:-10000}
RSS_LIMIT_KIB=$((64 * 1024))
# 1.1 MiB + 64 KiB
WIRE_LIMIT=$(awk 'BEGIN { printf "%d", 1.1 * 1048576 + 65536 }')
export LC_ALL=C

die() {
    printf 'bench-sync: %s\n' "$*" >&2
    exit 1
}

for tool in "$MRX" "$MRXD" "$CURVE_RAW"; do
    [[ -x $tool ]] || die "$tool: missing or not executable"
done
for tool in jq ss sha256sum /usr/bin/python3; do
    command -v "$tool" >/dev/null || die "$tool not found"
done
BYTES_IN=$(head -c "$SIZE" /dev/zero 2>/dev/null | wc -c)
((BYTES_IN > 0)) || die "MRX_BENCH_SYNC_SIZE=$SIZE: not a size head -c takes (64M, 1G)"
TIMEOUT=${MRX_BENCH_SYNC_TIMEOUT:-$((60 + BYTES_IN / 2000000))}

# short homes: gpg-agent sockets live in them
W=$(mktemp -d "${TMPDIR:-/tmp}/mrx-bs.XXXXXX") || die "cannot make a temp dir"
A=$W/a
B=$W/b
LOG=$W/log
declare -A PID

cleanup() {
    local home
    for home in "$A" "$B"; do stop_daemon "$home"; done
    if [[ -n ${MRX_BENCH_LOG:-} && -f $LOG ]]; then
        for home in "$A" "$B"; do
            [[ -f $home.log ]] && printf -- '--- mrxd %s ---\n' "${home##*/}" >>"$LOG" &&
                cat "$home.log" >>"$LOG"
        done
        cp "$LOG" "$MRX_BENCH_LOG"
    fi
    for home in "$A" "$B"; do
        [[ -d $home/gnupg ]] && gpgconf --homedir "$home/gnupg" --kill all >/dev/null 2>&1
    done
    rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The log and the daemons' last lines, then exit 1.
fail() {
    local home
    printf 'bench-sync: %s\n' "$*" >&2
    if [[ -s $LOG ]]; then
        printf -- '--- last lines of the log ---\n' >&2
        tail -n 15 "$LOG" >&2
    fi
    for home in "$A" "$B"; do
        if [[ -s $home.log ]]; then
            printf -- '--- last lines of mrxd %s ---\n' "${home##*/}" >&2
            tail -n 10 "$home.log" >&2
        fi
    done
    exit 1
}

note() { printf '%s\n' "$*" >>"$LOG"; }
now() { printf '%s\n' "$EPOCHREALTIME"; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
mbps() { awk -v b="$1" -v t="$2" 'BEGIN { printf "%.1f", b / t / 1e6 }'; }
mib() { awk -v b="$1" 'BEGIN { printf "%.2f", b / 1048576 }'; }
file_size() { stat -c %s "$1"; }

# --- daemons --------------------------------------------------------------

# start_daemon HOME: mrxd in the foreground, in the background, logging to
# HOME.log; returns once mrx status gets an answer. Its pid is PID[HOME].
start_daemon() {
    local home=$1 pid i
    ("$MRXD" --home "$home" --foreground) >>"$home.log" 2>&1 </dev/null &
    pid=$!
    PID[$home]=$pid
    for ((i = 0; i < 600; i++)); do
        if [[ $(cat "$home/mrxd.pid" 2>/dev/null) == "$pid" && -S $home/mrxd.sock ]] &&
            "$MRX" --home "$home" status >/dev/null 2>&1; then
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    fail "mrxd for ${home##*/} did not start"
}

# stop_daemon HOME: SIGTERM, SIGKILL if it has not gone in 20 s
stop_daemon() {
    local pid=${PID[$1]:-} i
    [[ -n $pid ]] || return 0
    unset "PID[$1]"
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 200; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

# vmhwm HOME: the running daemon's own peak RSS in KiB
vmhwm() {
    awk '$1 == "VmHWM:" { print $2 }' "/proc/${PID[$1]}/status" 2>/dev/null
}

# wait_bundle HOME CASE BUNDLE SECONDS: poll every 0.05 s until the
# bundle is in HOME's store; fails if the time runs out or a daemon died.
# FIRST_CHUNK is when its partial file (docs/protocol.md, section 6;
# proto/mrx_store.h) was first seen, or empty.
wait_bundle() {
    local home=$1 file=$1/cases/$2/bundles/$3.mrx limit=$4 t0 t home_
    local partial=$1/cases/$2/bundles/.partial-$3
    t0=$(now)
    FIRST_CHUNK=
    while [[ ! -e $file ]]; do
        t=$(now)
        [[ -z $FIRST_CHUNK && -e $partial ]] && FIRST_CHUNK=$t
        for home_ in "$A" "$B"; do
            kill -0 "${PID[$home_]}" 2>/dev/null || fail "mrxd for ${home_##*/} died"
        done
        if awk -v a="$t0" -v b="$t" -v l="$limit" 'BEGIN { exit !(b - a > l) }'; then
            fail "bundle ${3:0:16} did not reach ${home##*/} in $limit s" \
                "(MRX_BENCH_SYNC_TIMEOUT; the daemons' last lines follow)"
        fi
        sleep 0.05
    done
}

# --- the connection's bytes -----------------------------------------------

# conn_bytes: one line per TCP connection on A's listen port, "PEER
# BYTES", BYTES being bytes_sent + bytes_received of A's socket (both
# directions; on loopback nothing is lost, so nothing is sent twice)
conn_bytes() {
    ss -tinH state established "( sport = :$PORT )" | awk '
        /^[0-9]/ { peer = $4; next }
        peer != "" {
            sent = 0; received = 0
            for (i = 1; i <= NF; i++) {
                if ($i ~ /^bytes_sent:/) sent = substr($i, 12)
                if ($i ~ /^bytes_received:/) received = substr($i, 16)
            }
            print peer, sent + received
            peer = ""
        }'
}

# wait_quiet: until the connection's counters stay still for 1 s (30 s at
# most: heartbeats every 5 s may move them); QUIET holds the last reading
wait_quiet() {
    local i prev cur
    prev=$(conn_bytes)
    for ((i = 0; i < 30; i++)); do
        sleep 1
        cur=$(conn_bytes)
        [[ $cur == "$prev" ]] && break
        prev=$cur
    done
    QUIET=$cur
}

# --- two nodes ------------------------------------------------------------

PORT=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') ||
    die "no free port"
"$MRX" --home "$A" init --role patient --name Patient --listen "tcp://127.0.0.1:$PORT" >>"$LOG" 2>&1 ||
    fail "mrx init (patient)"
"$MRX" --home "$B" init --role facilitator --name Relay >>"$LOG" 2>&1 || fail "mrx init (relay)"
start_daemon "$A"
start_daemon "$B"
"$MRX" --home "$A" id >"$W/a.cert" 2>>"$LOG" || fail "mrx id (patient)"
"$MRX" --home "$B" id >"$W/b.cert" 2>>"$LOG" || fail "mrx id (relay)"
"$MRX" --home "$A" peer add "$W/b.cert" >>"$LOG" 2>&1 || fail "mrx peer add (patient)"
"$MRX" --home "$B" peer add "$W/a.cert" >>"$LOG" 2>&1 || fail "mrx peer add (relay)"
BF=$("$MRX" --home "$B" --json id | jq -r .fingerprint) || fail "mrx --json id (relay)"
[[ $BF =~ ^[0-9A-F]{40}$ ]] || fail "no fingerprint from mrx --json id"

# the case is made, and its bundle added, before the relay is in it:
# replication is timed alone, from the grant that makes it a member (a
# relay holds every bundle of a case, as ciphertext)
CASE=$("$MRX" --home "$A" --json case new --title "sync bench" 2>>"$LOG" | jq -r .id) ||
    fail "mrx case new"
[[ $CASE =~ ^[0-9a-f]{64}$ ]] || fail "no case id from mrx case new"

# add_bundle NAME SIZE: a file of SIZE random bytes (incompressible, so
# zstd leaves it as it is) added to the case on A; BUNDLE is its id
add_bundle() {
    local dir=$W/data/$1 t0
    mkdir -p "$dir"
    head -c "$2" /dev/urandom >"$dir/$1.bin" || fail "head -c $2 /dev/urandom"
    t0=$(now)
    BUNDLE=$("$MRX" --home "$A" --json add "$CASE" --kind imaging "$dir/$1.bin" 2>>"$LOG" |
        jq -r .bundle) || fail "mrx add ($1, $2)"
    [[ $BUNDLE =~ ^[0-9a-f]{64}$ ]] || fail "no bundle id from mrx add ($1)"
    note "mrx add $1 ($2): $(secs "$t0" "$(now)") s, bundle $BUNDLE"
    rm -rf "$dir"
    [[ -f $A/cases/$CASE/bundles/$BUNDLE.mrx ]] || fail "bundle $BUNDLE is not in the patient's store"
}

WALL=$SECONDS
LOAD_START=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')
add_bundle study "$SIZE"
BIG=$BUNDLE
BYTES=$(file_size "$A/cases/$CASE/bundles/$BIG.mrx")
printf 'mrx bench (sync): one %s imaging bundle (%s bytes, MB = 10^6 bytes) from a patient\n' \
    "$SIZE" "$BYTES"
printf '  to a relay, two mrxd in session on loopback over CURVE ZeroMQ; %s CPUs\n\n' "$(nproc)"

# raw_run: curve_raw with the bundle's bytes; RAW is the best time
RAW=
raw_run() {
    local out t
    out=$("$CURVE_RAW" "$BYTES" 2>>"$LOG") || fail "curve_raw $BYTES failed"
    note "$out"
    read -r _ _ t <<<"$out"
    [[ -n $t ]] || fail "curve_raw: unreadable output: $out"
    if [[ -z $RAW ]] || awk -v a="$t" -v b="$RAW" 'BEGIN { exit !(a < b) }'; then RAW=$t; fi
}

sync
raw_run
sync
# timed from the grant: the relay hears of it, pulls the ledger, then the
# bundle, until it is in the relay's store
out=$("$MRX" --home "$B" sync --wait 2>>"$LOG") || fail "mrx sync --wait (relay)"
grep -q "in step with 1 of 1" <<<"$out" || fail "the relay is not in session with the patient: $out"
t_start=$(now)
"$MRX" --home "$A" grant "$CASE" "$BF" relay >>"$LOG" 2>&1 || fail "mrx grant"
wait_bundle "$B" "$CASE" "$BIG" "$TIMEOUT"
t_end=$(now)
REPL=$(secs "$t_start" "$t_end")
BIG_FIRST=$FIRST_CHUNK
SETUP=
[[ -n $BIG_FIRST ]] && SETUP=$(secs "$t_start" "$BIG_FIRST")
GOT=$(file_size "$B/cases/$CASE/bundles/$BIG.mrx")
note "replicated $GOT bytes in $REPL s"
((GOT == BYTES)) || fail "the relay's copy has $GOT bytes, the patient's $BYTES"
raw_run
[[ $(sha256sum <"$B/cases/$CASE/bundles/$BIG.mrx" | cut -d' ' -f1) == "$BIG" ]] ||
    fail "the relay's copy of bundle $BIG does not hash to its id (sha256sum)"

# --- a 1 MiB bundle added to the synced case -------------------------------

wait_quiet
BEFORE=$QUIET
note "connections before: ${BEFORE//$'\n'/; }"
[[ -n $BEFORE ]] || fail "no connection on the patient's port $PORT (ss -tin)"
add_bundle small 1M
SMALL=$BUNDLE
SMALL_BYTES=$(file_size "$A/cases/$CASE/bundles/$SMALL.mrx")
wait_bundle "$B" "$CASE" "$SMALL" 120
sleep 1
wait_quiet
AFTER=$QUIET
note "connections after: ${AFTER//$'\n'/; }"
# the bytes of every connection now open, less what those already open
# before had carried; a connection gone meanwhile took its bytes with it
WIRE=$(awk 'NR == FNR { before[$1] = $2; next } { s += $2 - before[$1]; seen[$1] = 1 }
    END { for (p in before) if (!(p in seen)) gone++; printf "%d %d\n", s, gone }' \
    <(printf '%s\n' "$BEFORE") <(printf '%s\n' "$AFTER"))
read -r WIRE GONE <<<"$WIRE"
HWM_A=$(vmhwm "$A")
HWM_B=$(vmhwm "$B")
[[ -n $HWM_A && -n $HWM_B ]] || fail "cannot read VmHWM of the daemons"
stop_daemon "$B"
stop_daemon "$A"

# --- strangers ------------------------------------------------------------

WIRE_LINE=
WIRE_OK=
if ((ATTEMPTS > 0)); then
    t0=$SECONDS
    MRX_WIRE_ATTEMPTS=$ATTEMPTS bash "$MRX_SRCDIR/tests/run" \
        "$MRX_SRCDIR/tests/integration/t_wire.sh" >"$W/t_wire.out" 2>&1
    cat "$W/t_wire.out" >>"$LOG"
    WIRE_LINE=$(grep -E '^(PASS|FAIL) +t_wire\.sh' "$W/t_wire.out" | sed 's/  */ /g')
    summary=$(tail -n 1 "$W/t_wire.out")
    [[ -n $WIRE_LINE && $summary =~ ^[0-9]+\ passed,\ [0-9]+\ failed$ ]] ||
        fail "tests/run t_wire.sh did not run (see the log)"
    [[ $WIRE_LINE == PASS* ]] && WIRE_OK=1
    note "t_wire.sh with $ATTEMPTS attempts: $((SECONDS - t0)) s"
fi

# --- report ---------------------------------------------------------------

PASS=0
MISS=0
# judge VALUE OP TARGET: VERDICT=PASS or MISS, counted
judge() {
    if awk -v v="$1" -v t="$3" -v op="$2" 'BEGIN { exit !(op == ">=" ? v >= t : op == "<=" ? v <= t : v < t) }'; then
        PASS=$((PASS + 1))
        VERDICT=PASS
    else
        MISS=$((MISS + 1))
        VERDICT=MISS
    fi
}

ratio=$(awk -v m="$REPL" -v b="$RAW" 'BEGIN { printf "%.2f", b / m }')
judge "$ratio" '>=' 0.5
printf '%-10s %-26s %8s MB/s %7s s | %-17s %8s MB/s %7s s | ratio %5s (target >= 0.50) %s\n' \
    replicate "mrx sync, case to a relay" "$(mbps "$BYTES" "$REPL")" "$REPL" "raw CURVE ZeroMQ" \
    "$(mbps "$BYTES" "$RAW")" "$(printf '%.3f' "$RAW")" "$ratio" "$VERDICT"
if [[ -n $SETUP ]]; then
    printf '  of which: %s s from the grant to its first chunk on disk (notify, ledger),\n' "$SETUP"
    printf '  then %s s for the bundle (%s MB/s; info)\n' "$(secs "$BIG_FIRST" "$t_end")" \
        "$(mbps "$BYTES" "$(secs "$BIG_FIRST" "$t_end")")"
fi
judge "$WIRE" '<=' "$WIRE_LIMIT"
printf '%-10s %-26s %8s MiB on the wire (bundle %s MiB, %d bytes)      | target <= %s MiB (1.1 MiB + 64 KiB) %s\n' \
    wire "1 MiB bundle added" "$(mib "$WIRE")" "$(mib "$SMALL_BYTES")" "$WIRE" "$(mib "$WIRE_LIMIT")" "$VERDICT"
((GONE > 0)) && printf '  note: %d connection(s) closed meanwhile; their bytes are not counted\n' "$GONE"
judge "$HWM_A" '<' "$RSS_LIMIT_KIB"
printf '%-10s %-26s %8s MiB (VmHWM, after both steps)                 | target < 64 MiB %s\n' \
    "peak rss" "mrxd of the patient (sends)" "$(mib "$((HWM_A * 1024))")" "$VERDICT"
judge "$HWM_B" '<' "$RSS_LIMIT_KIB"
printf '%-10s %-26s %8s MiB (VmHWM, after both steps)                 | target < 64 MiB %s\n' \
    "peak rss" "mrxd of the relay (gets)" "$(mib "$((HWM_B * 1024))")" "$VERDICT"
if ((ATTEMPTS > 0)); then
    if [[ -n $WIRE_OK ]]; then
        PASS=$((PASS + 1)) VERDICT=PASS
    else
        MISS=$((MISS + 1)) VERDICT=MISS
    fi
    printf '%-10s %-26s %s | target: nothing reaches mrxd %s\n' strangers \
        "$ATTEMPTS keys not a peer's" "tests/run: $WIRE_LINE" "$VERDICT"
    [[ -n $WIRE_OK ]] || sed -n '/^    | not ok/,+3p' "$W/t_wire.out"
fi

echo
printf 'load average (1 min) at start %s, at end %s: other work on the machine slows\n' \
    "$LOAD_START" "$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')"
printf 'the replication (one run) more than curve_raw (best of 2); compare runs if it is high\n'
printf 'summary: %d PASS, %d MISS of %d targets (%d s)\n' "$PASS" "$MISS" $((PASS + MISS)) \
    $((SECONDS - WALL))
exit 0
