#!/usr/bin/env bash
# t_node: mrx init, id, peer add and peer list through the real CLI, and
# the certificate checked with plain gpg.
. "$MRX_SRCDIR/tests/lib/tap.sh"
plan 27

port=$(t_port)
clinic=$(t_node clinic clinic --listen "tcp://127.0.0.1:$port") || exit 1
patient=$(t_node patient patient) || exit 1

# --- init -----------------------------------------------------------------
[[ $(stat -c %a "$clinic") == 700 && $(stat -c %a "$clinic/curve.secret") == 600 &&
   $(stat -c %a "$clinic/gnupg") == 700 ]] &&
    ok "node home, keyring and CURVE secret are owner-only" ||
    not_ok "node home, keyring and CURVE secret are owner-only" "$(ls -la "$clinic")"
refuses 4 "already lives here" "init refuses to overwrite an existing node" \
    mrx --home "$clinic" init --role clinic --name again
mkdir -p "$t_root/full" && touch "$t_root/full/x"
refuses 4 "not empty" "init refuses a non-empty folder" \
    mrx --home "$t_root/full" init --role clinic --name x
refuses 2 "unknown role" "init refuses an unknown role" \
    mrx --home "$t_root/r" init --role surgeon --name x
refuses 2 "bad node name" "init refuses a name with a newline" \
    mrx --home "$t_root/n" init --role clinic --name $'two\nlines'
refuses 2 "bad endpoint" "init refuses a bad listen endpoint" \
    mrx --home "$t_root/l" init --role clinic --name x --listen udp://1.2.3.4:5
[[ ! -e $t_root/r && ! -e $t_root/n && ! -e $t_root/l ]] &&
    ok "a refused init leaves nothing behind" || not_ok "a refused init leaves nothing behind"
refuses 2 "--role and --name are required" "init without --name is a usage error" \
    mrx --home "$t_root/m" init --role clinic
refuses 3 "no node here.*mrx init" "commands on a missing node say how to create one" \
    mrx --home "$t_root/none" id

# --- id ---------------------------------------------------------------------
mrx --home "$clinic" id >"$t_root/clinic.cert"
mrx --home "$patient" id >"$t_root/patient.cert"
grep -q '^role: clinic$' "$t_root/clinic.cert" && grep -q "^endpoint: tcp://127.0.0.1:$port$" "$t_root/clinic.cert" &&
    ok "id prints a readable certificate" || not_ok "id prints a readable certificate"
# plain gpg, in a keyring of its own, verifies the certificate
mkdir -m 700 "$t_root/plain"
gpg --homedir "$t_root/plain" --batch --quiet --import "$t_root/clinic.cert" 2>/dev/null
# gpg verifies the clear-signed part (everything before the key block)
sed '/^-----BEGIN PGP PUBLIC KEY BLOCK-----$/,$d' "$t_root/clinic.cert" >"$t_root/clinic.signed"
check "gpg --verify accepts the certificate" gpg --homedir "$t_root/plain" --batch --verify "$t_root/clinic.signed"
fpr=$(fpr_of "$clinic")
[[ $fpr =~ ^[0-9A-F]{40}$ ]] && grep -q "^fingerprint: $fpr$" "$t_root/clinic.cert" &&
    ok "id --json gives the fingerprint the certificate names" || not_ok "id --json fingerprint" "$fpr"
[[ $(mrx --home "$clinic" --json id | jq -r .role) == clinic ]] &&
    ok "id --json is one JSON document" || not_ok "id --json is one JSON document"

# --- peer add -----------------------------------------------------------------
out=$(mrx --home "$patient" peer add "$t_root/clinic.cert")
grep -q "imported clinic \"clinic\"" <<<"$out" && grep -q "fingerprint ${fpr:0:4} ${fpr:4:4}" <<<"$out" &&
    ok "peer add prints the fingerprint to confirm" || not_ok "peer add prints the fingerprint" "$out"
[[ -f $patient/peers/$fpr.cert ]] && ok "peer add stores the certificate" || not_ok "peer add stores the certificate"
refuses 4 "already imported" "the same certificate twice is refused" \
    mrx --home "$patient" peer add "$t_root/clinic.cert"
refuses 2 "own certificate" "a node refuses its own certificate" \
    mrx --home "$patient" peer add "$t_root/patient.cert"
sed 's/^role: clinic$/role: patient/' "$t_root/clinic.cert" >"$t_root/tampered.cert"
refuses 5 "signature" "a tampered certificate is refused" \
    mrx --home "$clinic" peer add "$t_root/tampered.cert"
sed 's/^name: patient$/name: evil/' "$t_root/patient.cert" >"$t_root/tampered2.cert"
refuses 5 "signature" "a certificate with a changed name is refused" \
    mrx --home "$clinic" peer add "$t_root/tampered2.cert"
[[ $(ls "$clinic/peers" | wc -l) == 0 && $(ls "$clinic/tmp" | wc -l) == 0 ]] &&
    ok "refused certificates leave no peer and no scratch keyring" || not_ok "refused certificates leave traces" "$(ls "$clinic/peers" "$clinic/tmp")"
head -c 70000 /dev/zero | tr '\0' 'A' >"$t_root/huge.cert"
refuses 6 "huge.cert: .*more than the limit" "an oversized certificate is refused" mrx --home "$clinic" peer add "$t_root/huge.cert"
refuses 3 "cannot open" "a missing certificate file is named" mrx --home "$clinic" peer add "$t_root/nope.cert"
check "a certificate can come from stdin" mrx --home "$clinic" peer add - <"$t_root/patient.cert"

# --- peer list and config -----------------------------------------------------
[[ $(mrx --home "$patient" --json peer list | jq -r '.peers[0].fingerprint') == "$fpr" ]] &&
    ok "peer list --json lists the peer" || not_ok "peer list --json lists the peer"
mrx --home "$patient" peer list | grep -q "^clinic  *clinic  *$fpr  *tcp://127.0.0.1:$port$" &&
    ok "peer list prints a table" || not_ok "peer list prints a table" "$(mrx --home "$patient" peer list)"
cp "$clinic/mrxd.conf" "$t_root/conf.bak"
t_stop "$clinic"
jq '. + {"colour": "red"}' "$t_root/conf.bak" >"$clinic/mrxd.conf"
refuses 2 "unknown setting \"colour\"" "mrxd refuses a config with an unknown key" \
    mrxd --home "$clinic" --foreground
cp "$t_root/conf.bak" "$clinic/mrxd.conf"
chmod 755 "$clinic"
refuses 5 "open to others \(mode 0755\)" "mrxd refuses a home others can enter" \
    mrxd --home "$clinic" --foreground
chmod 700 "$clinic"
done_testing
