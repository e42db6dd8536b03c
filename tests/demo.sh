#!/usr/bin/env bash
# demo.sh: the main job. A clinic, a patient, a facilitator and an
# independent reviewer, each a real mrx node with its own keys on this
# machine, exchange a second-opinion case as signed, encrypted bundles:
#
#   1. every node is created and the nodes exchange certificates
#   2. the clinic bundles the patient's records, imaging and photos for the
#      patient and the reviewer (not for the facilitator, who only relays)
#   3. the reviewer opens them (every file checked against the signed
#      manifest) and writes a signed opinion bundle back
#   4. the patient opens the opinion; the facilitator holds every bundle
#      but can open none of them
#   5. anybody can check the bundles with stock tools: gpg, tar, sha256sum
#   6. the patient keeps the case in a signed ledger: who may read (the
#      reviewer; the facilitator only relays), bundles added for exactly
#      those readers, and every opening, verified with plain git too
#
# Each node runs its own mrxd; mrx asks it over the node's control
# socket. The daemons sync case ledgers over CURVE ZeroMQ by themselves;
# bundles still travel between nodes as files until bundle sync exists. Every
# mrxd and gpg-agent the demo starts is stopped at the end.
# MRX_DEMO_KEEP=1 keeps the node homes for a look around.
set -euo pipefail

bin=${MRX_BIN:-$(pwd)/mrx}
daemon=${MRXD_BIN:-$(pwd)/mrxd}
data=${MRX_TESTDATA:?set MRX_TESTDATA to the sample files folder}
root=$(mktemp -d "${TMPDIR:-/tmp}/mrx-demo.XXXXXX")

cleanup() {
    local k pid i
    for pid in $(cat "$root"/*/mrxd.pid 2>/dev/null); do
        kill -TERM "$pid" 2>/dev/null || continue
        for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    done
    while IFS= read -r k; do gpgconf --homedir "$k" --kill all >/dev/null 2>&1 || true; done \
        < <(find "$root" -name pubring.kbx -printf '%h\n' 2>/dev/null)
    if [[ ${MRX_DEMO_KEEP:-} == 1 ]]; then echo "node homes kept in $root"; else rm -rf "$root"; fi
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
mrx_at() { local home=$1; shift; "$bin" --home "$root/$home" "$@"; }

step "1. four nodes, each with its own OpenPGP and CURVE keys"
# free loopback ports, so the demo runs beside anything else
port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
mrx_at clinic init --role clinic --name "Clinic Aurora" --listen "tcp://127.0.0.1:$(port)"
mrx_at patient init --role patient --name "Dana Ruiz" --listen "tcp://127.0.0.1:$(port)"
mrx_at facilitator init --role facilitator --name "MedTravel Desk" --listen "tcp://127.0.0.1:$(port)"
mrx_at reviewer init --role reviewer --name "Dr. Okafor, plastic surgery" --listen "tcp://127.0.0.1:$(port)"
for n in clinic patient facilitator reviewer; do
    "$daemon" --home "$root/$n" # returns once it serves
done
run "$bin" --home "$root/patient" status
for n in clinic patient facilitator reviewer; do mrx_at $n id >"$root/$n.cert"; done
for a in clinic patient facilitator reviewer; do
    for b in clinic patient facilitator reviewer; do
        [[ $a == "$b" ]] || mrx_at $a peer add "$root/$b.cert" >/dev/null
    done
done
echo "certificates exchanged; the patient's node now knows:"
mrx_at patient peer list
fpr() { mrx_at "$1" --json id | jq -r .fingerprint; }
clinic=$(fpr clinic) patient=$(fpr patient) reviewer=$(fpr reviewer) facilitator=$(fpr facilitator)

step "2. the clinic packages the case for the patient and the reviewer"
mkdir -p "$root/out" "$root/reviewer-case" "$root/patient-case"
run "$bin" --home "$root/clinic" bundle create --kind records --to "$patient" --to "$reviewer" \
    --out "$root/out/records.mrx" "$data/docs"
run "$bin" --home "$root/clinic" bundle create --kind imaging --to "$patient" --to "$reviewer" \
    --out "$root/out/imaging.mrx" "$data/dicom"
run "$bin" --home "$root/clinic" bundle create --kind photos --to "$patient" --to "$reviewer" \
    --out "$root/out/photos.mrx" "$data/photos/retina.jpg" "$data/photos/coffee.png"
echo "the facilitator relays the files; it holds them but is not a reader"

step "3. the reviewer opens every bundle: signature, then every file's SHA-256"
for b in records imaging photos; do
    run "$bin" --home "$root/reviewer" bundle open "$root/out/$b.mrx" --out "$root/reviewer-case/$b" --signer "$clinic"
done
cat >"$root/opinion.md" <<'OPINION'
# Second opinion
Verdict: modify the proposed plan.
Rationale: imaging and history support the primary procedure; combining it
with the second procedure in one session raises operative time and risk.
Risks: anaemia on the last blood count; travel soon after surgery.
Alternatives: stage the procedures three months apart.
Recovery: two weeks before flying home; follow-up at the home clinic.
Costs the quote leaves out: a second anaesthesia, extra nights, revision cover.
OPINION
run "$bin" --home "$root/reviewer" bundle create --kind opinion --to "$patient" \
    --out "$root/out/opinion.mrx" "$root/opinion.md"

step "4. the patient reads the opinion; the facilitator can read nothing"
run "$bin" --home "$root/patient" bundle open "$root/out/opinion.mrx" --out "$root/patient-case/opinion" --signer "$reviewer"
sed -n '1,3p' "$root/patient-case/opinion/opinion/opinion.md"
for b in records imaging photos opinion; do
    if "$bin" --home "$root/facilitator" bundle open "$root/out/$b.mrx" --out "$root/facilitator-$b" 2>"$root/err"; then
        echo "UNEXPECTED: the facilitator opened $b" >&2
        exit 1
    fi
    echo "facilitator, $b: $(cat "$root/err")"
done

step "5. checked with tools nobody here wrote"
cd "$root/reviewer-case/imaging"
run sha256sum -c MANIFEST
run gpg --homedir "$root/reviewer/gnupg" --batch --verify MANIFEST.sig MANIFEST
cd "$root"

step "6. the patient's case ledger: who may read, what was added, who opened it"
case_id=$("$bin" --home "$root/patient" --json case new --title "Abdominoplasty, second opinion" | jq -r .id)
echo "case $case_id"
run "$bin" --home "$root/patient" grant "${case_id:0:12}" "$reviewer" reviewer
run "$bin" --home "$root/patient" grant "${case_id:0:12}" "$facilitator" relay
run "$bin" --home "$root/patient" add "${case_id:0:12}" --kind photos "$data/photos/retina.jpg"
bundle=$(ls "$root/patient/cases/$case_id/bundles" | sed -n 's/\.mrx$//p' | head -n1)
run "$bin" --home "$root/patient" get "${case_id:0:12}" "${bundle:0:12}" --out "$root/patient-case/photos"
if "$bin" --home "$root/facilitator" bundle open "$root/patient/cases/$case_id/bundles/$bundle.mrx" \
    --out "$root/facilitator-case" 2>"$root/err"; then
    echo "UNEXPECTED: the relay opened a case bundle" >&2
    exit 1
fi
echo "facilitator (relay): $(cat "$root/err")"
run "$bin" --home "$root/patient" case show "${case_id:0:12}"
printf '$ git verify-commit <every event>\n'
for c in $(git --git-dir="$root/patient/cases/$case_id/ledger.git" rev-list --all); do
    GNUPGHOME=$root/patient/gnupg git --git-dir="$root/patient/cases/$case_id/ledger.git" \
        verify-commit "$c" 2>/dev/null || { echo "UNEXPECTED: $c does not verify" >&2; exit 1; }
done
echo "every event carries a good signature by its author"

step "7. the ledger syncs by itself: the reviewer's mrxd holds the case too"
events=0
for ((i = 0; i < 300; i++)); do
    events=$("$bin" --home "$root/reviewer" --json case show "$case_id" 2>/dev/null |
        jq '(.events // []) | length' 2>/dev/null || true)
    [[ ${events:-0} -ge 5 ]] && break
    sleep 0.1
done
[[ ${events:-0} -ge 5 ]] || { echo "UNEXPECTED: the case did not reach the reviewer" >&2; exit 1; }
run "$bin" --home "$root/reviewer" case show "${case_id:0:12}"
run "$bin" --home "$root/reviewer" status
echo "(bundles themselves do not sync yet: that comes next)"

echo
echo "demo complete: 4 nodes, 5 bundles and a case ledger, every one signed, encrypted and verified"
