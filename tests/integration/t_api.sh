#!/usr/bin/env bash
# t_api: mrxd's control API driven by a client nobody here wrote (pyzmq,
# in t_api.py), from docs/control-api.md alone: bad requests of every
# kind are refused with a clear error and change nothing, progress
# streams, tags match pipelined replies.
. "$MRX_SRCDIR/tests/lib/tap.sh"
py=/usr/bin/python3
if ! "$py" -c 'import zmq' 2>/dev/null; then
    echo "1..0 # SKIP python3-zmq is not installed"
    exit 0
fi
plan 28

patient=$(t_node patient patient) || exit 1
head -c $((12 * 1024 * 1024)) /dev/urandom >"$t_root/scan.bin"
while IFS= read -r line; do
    case $line in
    PASS\ *) ok "${line#PASS }" ;;
    FAIL\ *) not_ok "${line#FAIL }" ;;
    *) echo "# $line" ;;
    esac
done < <("$py" "$MRX_SRCDIR/tests/integration/t_api.py" "$patient" "$t_root/scan.bin" 2>&1)
kill -0 "$(cat "$patient/mrxd.pid")" && ok "mrxd is still running" || not_ok "mrxd died"
done_testing
