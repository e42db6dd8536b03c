# tests/lib/tap.sh: what the integration scripts share. Source it, call
# plan N, then the checks; every node made with t_node is torn down (its
# mrxd and gpg-agent stopped, its home removed) when the script exits.
set -u

t_count=0
t_failed=0
t_root=$(mktemp -d "${TMPDIR:-/tmp}/mrx-it.XXXXXX")

# every keyring under t_root (node homes, keyrings made by hand) may have
# started a gpg-agent: stop them all, then remove everything
t_teardown() {
    local k pid
    # daemons first: they hold the homes and talk to the agents
    for pid in $(cat "$t_root/daemons" 2>/dev/null); do t_stop_pid "$pid"; done
    while IFS= read -r k; do
        gpgconf --homedir "$k" --kill all >/dev/null 2>&1
    done < <(find "$t_root" -name pubring.kbx -printf '%h\n' 2>/dev/null)
    # MRX_TEST_KEEP=1 keeps the homes and logs for a look after a failure
    if [[ ${MRX_TEST_KEEP:-} == 1 ]]; then echo "# kept $t_root"; else rm -rf "$t_root"; fi
}
trap t_teardown EXIT

plan() { echo "1..$1"; }

# mrx ARGS...: the client under test (under valgrind with tests/run --valgrind)
mrx() { ${MRX_WRAP:-} "$MRX_BIN" "$@"; }

ok() {
    t_count=$((t_count + 1))
    echo "ok $t_count - $1"
}

not_ok() {
    t_count=$((t_count + 1))
    t_failed=$((t_failed + 1))
    echo "not ok $t_count - $1"
    shift
    local line
    for line in "$@"; do echo "#   $line"; done
}

# check DESC CMD...: CMD must succeed
check() {
    local desc=$1 out
    shift
    if out=$("$@" 2>&1); then ok "$desc"; else not_ok "$desc" "exit $?" "$out"; fi
}

# refuses CODE PATTERN DESC CMD...: CMD must exit with CODE and print one
# line on stderr ("mrx: ..." or "mrxd: ...") matching PATTERN (an
# extended regex)
refuses() {
    local code=$1 pattern=$2 desc=$3 err rc lines
    shift 3
    err=$("$@" 2>&1 >/dev/null)
    rc=$?
    lines=$(printf '%s\n' "$err" | grep -cE '^mrxd?: ')
    if [[ $rc == "$code" ]] && printf '%s' "$err" | grep -qE -- "$pattern" && ((lines == 1)); then
        ok "$desc"
    else
        not_ok "$desc" "wanted exit $code and one 'mrx: ' or 'mrxd: ' line matching /$pattern/" \
            "got exit $rc:" "$err"
    fi
}

# mrxd ARGS...: the daemon under test (under valgrind too)
mrxd() { ${MRX_WRAP:-} "$MRXD_BIN" "$@"; }

# t_stop_pid PID: SIGTERM, then SIGKILL if it has not gone in 20 s
t_stop_pid() {
    local i
    kill -TERM "$1" 2>/dev/null || return 0
    for ((i = 0; i < 200; i++)); do
        kill -0 "$1" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$1" 2>/dev/null
    wait "$1" 2>/dev/null
}

# t_start HOME [ARGS...]: start mrxd for HOME in the foreground, in the
# background, logging to HOME.log; returns once it serves (its pid is in
# HOME/mrxd.pid). Teardown stops it (the pid is listed in $t_root/daemons,
# as t_start may run in a subshell).
t_start() {
    local home=$1 i t_pid
    shift
    (exec ${MRX_WRAP:-} "$MRXD_BIN" --home "$home" --foreground "$@") >>"$home.log" 2>&1 </dev/null &
    t_pid=$!
    echo "$t_pid" >>"$t_root/daemons"
    for ((i = 0; i < 600; i++)); do
        [[ $(cat "$home/mrxd.pid" 2>/dev/null) == "$t_pid" && -S $home/mrxd.sock ]] && return 0
        kill -0 "$t_pid" 2>/dev/null || break
        sleep 0.05
    done
    echo "# mrxd for $home did not start:" >&2
    sed 's/^/#   /' "$home.log" >&2
    return 1
}

# t_stop HOME: stop the mrxd of HOME cleanly and wait for it
t_stop() {
    local pid
    pid=$(cat "$1/mrxd.pid" 2>/dev/null)
    [[ -n $pid ]] && t_stop_pid "$pid"
    return 0
}

# t_port: a free TCP port on loopback (the kernel picks it)
t_port() {
    /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# t_node NAME ROLE [ARGS...]: make a node home $t_root/NAME with its mrxd
# running, print its path
t_node() {
    local name=$1 role=$2 home=$t_root/$1
    shift 2
    mrx --home "$home" init --role "$role" --name "$name" "$@" >/dev/null || return 1
    t_start "$home" >/dev/null || return 1
    echo "$home"
}

# t_debug HOME...: each node's mrxd logs at debug level from its reload
# (SIGHUP) on, to see what happened when something did not
t_debug() {
    local n
    for n in "$@"; do
        jq '. + {"log_level": "debug"}' "$n/mrxd.conf" >"$t_root/conf" && cp "$t_root/conf" "$n/mrxd.conf" &&
            kill -HUP "$(cat "$n/mrxd.pid")"
    done
}

# fpr_of HOME: the node's fingerprint
fpr_of() { mrx --home "$1" --json id | sed -n 's/.*"fingerprint": "\([0-9A-F]*\)".*/\1/p'; }

# introduce A B: A and B import each other's certificates
introduce() {
    mrx --home "$1" id >"$t_root/cert.$$" && mrx --home "$2" peer add "$t_root/cert.$$" >/dev/null &&
        mrx --home "$2" id >"$t_root/cert.$$" && mrx --home "$1" peer add "$t_root/cert.$$" >/dev/null
}

# wait_for SECONDS CMD...: until CMD succeeds, polled ten times a second
# (under valgrind everything is slower: three times the time, polled once
# a second)
wait_for() {
    local i step=0.1 limit=$(($1 * 10))
    shift
    [[ -n ${MRX_WRAP:-} ]] && step=1 limit=$((limit * 3 / 10))
    for ((i = 0; i < limit; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep "$step"
    done
    return 1
}

# t_need_pyzmq: skip the whole script unless Debian's python3 has zmq
t_need_pyzmq() {
    if ! /usr/bin/python3 -c 'import zmq' 2>/dev/null; then
        echo "1..0 # SKIP python3-zmq is not installed"
        exit 0
    fi
}

# t_python SCRIPT ARGS...: run a Python checker that prints "PASS desc" or
# "FAIL desc: why" per check, each an ok or not ok here
t_python() {
    local line
    while IFS= read -r line; do
        case $line in
        PASS\ *) ok "${line#PASS }" ;;
        FAIL\ *) not_ok "${line#FAIL }" ;;
        *) echo "# $line" ;;
        esac
    done < <(/usr/bin/python3 "$@" 2>&1)
}

done_testing() {
    ((t_failed == 0))
}
