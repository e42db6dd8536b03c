#!/usr/bin/env bash
# t_api: mrxd's control API driven by a client nobody here wrote (pyzmq,
# in t_api.py), from docs/control-api.md alone: bad requests of every
# kind are refused with a clear error and change nothing, progress
# streams, tags match pipelined replies.
. "$MRX_SRCDIR/tests/lib/tap.sh"
t_need_pyzmq
plan 30

patient=$(t_node patient patient) || exit 1
head -c $((12 * 1024 * 1024)) /dev/urandom >"$t_root/scan.bin"
t_python "$MRX_SRCDIR/tests/integration/t_api.py" "$patient" "$t_root/scan.bin"
kill -0 "$(cat "$patient/mrxd.pid")" && ok "mrxd is still running" || not_ok "mrxd died"

# the client draws the streamed progress on a terminal, and only there
id=$(mrx --home "$patient" --json case list | jq -r '.cases[0].id')
script -qec "$MRX_BIN --home $patient add $id --kind imaging $t_root/scan.bin" /dev/null \
    >"$t_root/tty.out" 2>&1
grep -qE 'packaging +\[#+\] 100%' "$t_root/tty.out" && ok "a terminal gets a progress bar" ||
    not_ok "no progress bar on a terminal" "$(tr '\r' '\n' <"$t_root/tty.out" | tail -5)"
mrx --home "$patient" add "$id" --kind imaging "$t_root/scan.bin" >"$t_root/plain.out" 2>&1
grep -q '\[#' "$t_root/plain.out" && not_ok "progress drawn into a file" ||
    ok "no progress bar when stderr is not a terminal"
done_testing
