#!/usr/bin/env bash
# t_daemon: mrxd's life: one per home, readiness, a clear line when it is
# not running, SIGTERM without losing an acknowledged write, SIGHUP with a
# good, a bad and an identity-changing config, and a client of another
# user turned away.
. "$MRX_SRCDIR/tests/lib/tap.sh"
plan 29

check "mrxd --help says how to use it" mrxd --help
refuses 2 "unknown option --colour" "mrxd refuses an unknown option" mrxd --colour
refuses 2 "unexpected argument" "mrxd refuses a stray argument" mrxd --foreground extra
refuses 3 "no node here.*mrx init" "mrxd on a missing home says how to make one" \
    mrxd --home "$t_root/none" --foreground

patient=$(t_node patient patient) || exit 1
refuses 4 "already served by mrxd \\(pid [0-9]+\\)" "a second mrxd for the same home is refused" \
    mrxd --home "$patient" --foreground
t_stop "$patient"
refuses 7 "mrxd is not running for .*start it with 'mrxd --home" \
    "a client without its daemon gets one line saying how to start it" mrx --home "$patient" status
refuses 7 "mrxd is not running" "every daemon command says so" mrx --home "$patient" case list

# without --foreground mrxd returns once it serves, and runs on alone
if mrxd --home "$patient" && mrx --home "$patient" status >/dev/null; then
    ok "mrxd daemonizes and serves as soon as it returns"
else
    not_ok "mrxd did not serve when it returned"
fi
pid=$(cat "$patient/mrxd.pid")
echo "$pid" >>"$t_root/daemons"
[[ $(ps -o sid= -p "$pid" | tr -d ' ') == "$pid" ]] && ok "the daemon leads its own session" ||
    not_ok "not a session leader" "$(ps -o pid,sid,cmd -p "$pid")"
t_stop "$patient"
[[ ! -e $patient/mrxd.sock ]] && ok "a clean stop removes the socket" || not_ok "socket left"

# systemd readiness: READY=1 on the notify socket once it serves
export NOTIFY_SOCKET=$t_root/notify
/usr/bin/python3 - "$NOTIFY_SOCKET" >"$t_root/notified" 2>&1 <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(60)
print(s.recv(4096).decode())
PY
listener=$!
for ((i = 0; i < 100; i++)); do [[ -S $NOTIFY_SOCKET ]] && break; sleep 0.05; done
t_start "$patient"
wait "$listener"
unset NOTIFY_SOCKET
grep -q '^READY=1' "$t_root/notified" && ok "mrxd tells systemd it is ready (READY=1)" ||
    not_ok "no readiness" "$(cat "$t_root/notified")"

# SIGTERM: what was acknowledged stays, what ran is cleaned up
id=$(mrx --home "$patient" --json case new --title "stop test" | jq -r .id)
head -c $((64 * 1024 * 1024)) /dev/urandom >"$t_root/scan.bin"
mrx --home "$patient" add "$id" --kind imaging "$t_root/scan.bin" >/dev/null 2>"$t_root/add.err" &
adder=$!
# stop it while it writes the bundle
for ((i = 0; i < 600; i++)); do
    compgen -G "$patient/cases/$id/bundles/.bundle.tmp-*" >/dev/null && break
    sleep 0.05
done
pid=$(cat "$patient/mrxd.pid")
kill -TERM "$pid"
for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && not_ok "mrxd did not stop on SIGTERM" || ok "mrxd stops on SIGTERM"
wait "$adder"
rc=$?
if ((rc == 0)) || grep -qE "interrupted|stopping" "$t_root/add.err"; then
    ok "the add running at the stop finished or was told it was interrupted"
else
    not_ok "the add was not told" "exit $rc" "$(cat "$t_root/add.err")"
fi
ls -A "$patient/cases/$id/bundles" 2>/dev/null | grep -q '^\.bundle\.tmp-' &&
    not_ok "a half-written bundle was left" || ok "nothing half-written is left in the store"
grep -q "stopped" "$patient.log" && ok "the log says it stopped" || not_ok "no stop in the log"
t_start "$patient"
fpr=$(mrx --home "$patient" --json id | jq -r .fingerprint)
reviewer=$(t_node reviewer reviewer) || exit 1
introduce "$patient" "$reviewer"
rfpr=$(fpr_of "$reviewer")
mrx --home "$patient" grant "$id" "$rfpr" reviewer >/dev/null
kill -TERM "$(cat "$patient/mrxd.pid")"
t_stop "$patient"
t_start "$patient"
mrx --home "$patient" --json case show "$id" | jq -e --arg r "$rfpr" \
    '.members[] | select(.fingerprint == $r and .active)' >/dev/null &&
    ok "a grant acknowledged just before SIGTERM is there after the restart" ||
    not_ok "the acknowledged grant was lost"

# SIGHUP: a good config applies, a bad one and a new identity are refused
conf=$patient/mrxd.conf
cp "$conf" "$t_root/conf.good"
jq '. + {"log_level": "debug", "request_max": 2048}' "$t_root/conf.good" >"$conf"
kill -HUP "$(cat "$patient/mrxd.pid")"
sleep 0.5
grep -q "configuration reloaded" "$patient.log" && ok "SIGHUP reloads the config" ||
    not_ok "no reload in the log" "$(tail -3 "$patient.log")"
[[ $(mrx --home "$patient" --json status | jq -r .daemon.log_level) == debug ]] &&
    ok "the reloaded log level is in force" || not_ok "log level not applied"
refuses 6 "the limit is 2048" "the reloaded request_max is in force" \
    mrx --home "$patient" case new --title "$(head -c 3000 /dev/zero | tr '\0' x)"
jq '. + {"colour": "red"}' "$t_root/conf.good" >"$conf"
kill -HUP "$(cat "$patient/mrxd.pid")"
sleep 0.5
grep -q 'reload refused.*unknown setting "colour"' "$patient.log" &&
    ok "a config with an unknown key is refused on reload, naming the key" ||
    not_ok "bad reload not refused" "$(tail -3 "$patient.log")"
[[ $(mrx --home "$patient" --json status | jq -r .daemon.log_level) == debug ]] &&
    ok "after a refused reload the config in force stays" || not_ok "config changed"
jq '. + {"name": "somebody else"}' "$t_root/conf.good" >"$conf"
kill -HUP "$(cat "$patient/mrxd.pid")"
sleep 0.5
grep -q "reload refused: name, role and fingerprint" "$patient.log" &&
    ok "a reload that changes the node's identity is refused" || not_ok "identity reload not refused"
cp "$t_root/conf.good" "$conf"
jq '. + {"workers": 0}' "$t_root/conf.good" >"$conf"
t_stop "$patient"
refuses 2 '"workers" must be between 1 and 16, not 0' "mrxd refuses a value out of range" \
    mrxd --home "$patient" --foreground
jq '. + {"sync_interval": "often"}' "$t_root/conf.good" >"$conf"
refuses 2 '"sync_interval" must be a whole number' "mrxd refuses a value of the wrong type" \
    mrxd --home "$patient" --foreground
cp "$t_root/conf.good" "$conf"
jq '. + {"name": "not this node"}' "$t_root/conf.good" >"$t_root/other.conf"
refuses 2 "name, role and fingerprint must be this node's" \
    "mrxd --config refuses a file that describes another node" \
    mrxd --home "$patient" --config "$t_root/other.conf" --foreground
(cd "$t_root" && mrxd --home patient) && mrx --home "$patient" status >/dev/null &&
    ok "a relative --home works once mrxd has left its working folder" ||
    not_ok "relative home broke the daemon" "$(tail -3 "$patient.log")"
echo "$(cat "$patient/mrxd.pid")" >>"$t_root/daemons"
t_stop "$patient"

# another user: only root can reach another user's socket (modes stop the
# rest), and the daemon turns it away by the uid libzmq reports
if [[ $(id -u) == 0 ]] && command -v setpriv >/dev/null; then
    other=$t_root/other
    as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$other" "$@"; }
    chmod 711 "$t_root"
    mkdir -m 700 "$other" && chown 65534:65534 "$other"
    as_nobody "$MRX_BIN" --home "$other/node" init --role clinic --name nobody >/dev/null &&
        as_nobody "$MRXD_BIN" --home "$other/node"
    echo "$(cat "$other/node/mrxd.pid")" >>"$t_root/daemons"
    refuses 5 "serves only its owner \\(uid 65534\\)" "mrxd turns away a client of another user" \
        mrx --home "$other/node" status
    refuses 5 "cannot reach mrxd.*[Pp]ermission denied" "the socket's folder keeps other users out" \
        setpriv --reuid=65533 --regid=65533 --clear-groups "$MRX_BIN" --home "$other/node" status
    as_nobody "$MRX_BIN" --home "$other/node" status >/dev/null &&
        ok "its own user is served" || not_ok "the owner was not served"
    kill -TERM "$(cat "$other/node/mrxd.pid")"
    sleep 0.5
    as_nobody gpgconf --homedir "$other/node/gnupg" --kill all
    chmod 700 "$t_root"
else
    for d in "another user is turned away" "modes keep other users out" "the owner is served"; do
        ok "# SKIP $d (needs root and setpriv)"
    done
fi
done_testing
