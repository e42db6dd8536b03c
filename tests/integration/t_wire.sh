#!/usr/bin/env bash
# t_wire: the sync protocol spoken by a peer written from
# docs/protocol.md alone (pyzmq, in t_wire.py): strangers' keys reach
# nothing, a peer outside a case is refused it, and bad messages get an
# ERROR or a disconnect while mrxd keeps serving.
. "$MRX_SRCDIR/tests/lib/tap.sh"
t_need_pyzmq
plan 32

port=$(t_port)
fac=$(t_node facilitator facilitator --listen "tcp://127.0.0.1:$port") || exit 1
t_debug "$fac"
pat=$(t_node patient patient) || exit 1
out=$(t_node outsider clinic) || exit 1
introduce "$fac" "$pat"
introduce "$fac" "$out"
id=$(mrx --home "$pat" --json case new --title "wire test" | jq -r .id)
mrx --home "$pat" grant "$id" "$(fpr_of "$fac")" relay >/dev/null
mrx --home "$out" id >"$t_root/out.cert"
key=$(mrx --home "$fac" --json id | jq -r .curve)
t_stop "$out"
for ((i = 0; i < 900; i++)); do
    [[ -d $fac/cases/$id ]] && break
    sleep 0.1
done
[[ -d $fac/cases/$id ]] && ok "the relay holds the case" || not_ok "the case never reached the relay"
# under valgrind mrxd takes each stranger's handshake slowly: fewer of
# them, and longer to wait for the answers that must come
attempts=${MRX_WIRE_ATTEMPTS:-2000}
[[ -n ${MRX_WRAP:-} ]] && attempts=${MRX_WIRE_ATTEMPTS:-10} && export MRX_WIRE_WAIT_MS=120000
reads() { grep -c 'read the CURVE keys' "$fac.log"; }
reads_before=$(reads)
t_python "$MRX_SRCDIR/tests/integration/t_wire.py" "tcp://127.0.0.1:$port" "$key" "$out" \
    "$t_root/out.cert" "$id" "$attempts"
# only the two real peers ever had a session: no stranger reached mrxd
pat16=$(fpr_of "$pat" | cut -c1-16)
out16=$(grep -o '^fingerprint: [0-9A-F]*' "$t_root/out.cert" | cut -c14-29)
seen=$(grep -o 'sync: peer [0-9A-F]*' "$fac.log" | cut -d' ' -f3 | sort -u | tr '\n' ' ')
if ((${#pat16} == 16 && ${#out16} == 16)) && [[ $seen == *"$out16"* ]] &&
    [[ -z $(echo "$seen" | tr ' ' '\n' | grep -vE "^($pat16|$out16)?\$") ]]; then
    ok "no message from a stranger's key reached mrxd (only $pat16 and $out16 did)"
else
    not_ok "strangers reached mrxd, or the log shows nothing" "seen: $seen" "known: $pat16 $out16"
fi
# reading the keys verifies each certificate with gpg: what strangers do
# must not make mrxd do it (a peer renewing its certificate may, once)
reads_during=$(($(reads) - reads_before))
((reads_during <= 1)) && ok "$attempts strangers made mrxd read its peers' keys $reads_during times" ||
    not_ok "strangers made mrxd read its peers' keys $reads_during times"
kill -0 "$(cat "$fac/mrxd.pid")" && ok "mrxd is still running" || not_ok "mrxd died"
done_testing
