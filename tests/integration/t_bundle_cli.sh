#!/usr/bin/env bash
# t_bundle_cli: mrx bundle create and open through the real CLI: what a
# user sees, the exit codes, --json, and that a refusal leaves nothing.
. "$MRX_SRCDIR/tests/lib/tap.sh"
plan 32

clinic=$(t_node clinic clinic) || exit 1
patient=$(t_node patient patient) || exit 1
stranger=$(t_node stranger reviewer) || exit 1
introduce "$clinic" "$patient" || exit 1
mrx --home "$stranger" id >"$t_root/stranger.cert"
mrx --home "$patient" peer add "$t_root/stranger.cert" >/dev/null
pfpr=$(fpr_of "$patient")
cfpr=$(fpr_of "$clinic")
sfpr=$(fpr_of "$stranger")
data=$MRX_TESTDATA
work=$t_root/work
mkdir -p "$work"

# --- create -----------------------------------------------------------------
out=$(mrx --home "$clinic" bundle create --kind imaging --to "$pfpr" --out "$work/img.mrx" "$data/dicom")
grep -q "^bundle [0-9a-f]\{64\}$" <<<"$out" && grep -q "readable by: clinic (this node), patient (patient)" <<<"$out" &&
    ok "create names the bundle and its readers" || not_ok "create output" "$out"
id=$(sed -n 's/^bundle //p' <<<"$out")
[[ $(sha256sum "$work/img.mrx" | cut -d' ' -f1) == "$id" ]] &&
    ok "the bundle id is the SHA-256 of the file (sha256sum agrees)" || not_ok "bundle id is the file's SHA-256"
json=$(mrx --home "$clinic" --json bundle create --kind photos --to "$pfpr" --out "$work/ph.mrx" \
    "$data/photos/retina.jpg" "$data/photos/coffee.png")
[[ $(jq -r .files <<<"$json") == 2 && $(jq -r .kind <<<"$json") == photos &&
   $(jq -r '.readers | length' <<<"$json") == 2 && $(jq -r .id <<<"$json") == $(sha256sum "$work/ph.mrx" | cut -d' ' -f1) ]] &&
    ok "create --json describes the bundle" || not_ok "create --json" "$json"
lower=$(tr 'A-F' 'a-f' <<<"$pfpr")
json=$(mrx --home "$clinic" --json bundle create --kind records --to "$lower" --to "${pfpr:0:20} ${pfpr:20}" \
    --out "$work/rec.mrx" "$data/docs/Bundle-father.json")
[[ $(jq -r '.readers | length' <<<"$json") == 2 ]] &&
    ok "fingerprints in lowercase and with spaces name the same reader once" || not_ok "same reader twice" "$json"

mkdir -p "$work/store"
json=$(mrx --home "$clinic" --json bundle create --kind photos --to "$pfpr" --out "$work/store" "$data/photos/retina.jpg")
sid=$(jq -r .id <<<"$json")
[[ $(jq -r .path <<<"$json") == "$work/store/$sid.mrx" && -f $work/store/$sid.mrx && $(ls -A "$work/store" | wc -l) == 1 &&
   $(sha256sum "$work/store/$sid.mrx" | cut -d' ' -f1) == "$sid" ]] &&
    ok "--out DIR stores the bundle under its SHA-256" || not_ok "--out DIR store" "$json" "$(ls -A "$work/store")"
refuses 2 "--kind and --out are required" "create without --kind is a usage error" \
    mrx --home "$clinic" bundle create --out "$work/x.mrx" "$data/docs"
refuses 2 "unknown kind \"x-ray\"" "an unknown kind is refused" \
    mrx --home "$clinic" bundle create --kind x-ray --out "$work/x.mrx" "$data/docs"
refuses 2 "not a fingerprint" "a malformed recipient is refused" \
    mrx --home "$clinic" bundle create --kind records --to 1234 --out "$work/x.mrx" "$data/docs"
refuses 3 "recipient $sfpr: not an imported peer" "a recipient who is not a peer is refused" \
    mrx --home "$clinic" bundle create --kind records --to "$sfpr" --out "$work/x.mrx" "$data/docs"
refuses 4 "already exists" "create never overwrites" \
    mrx --home "$clinic" bundle create --kind imaging --out "$work/img.mrx" "$data/dicom"
refuses 3 "nope.dcm" "a missing input is named" \
    mrx --home "$clinic" bundle create --kind imaging --out "$work/x.mrx" "$work/nope.dcm"
mkdir -p "$work/linked" && cp "$data/docs/Bundle-father.json" "$work/linked/" && ln -s /etc/passwd "$work/linked/passwd"
refuses 2 "is a symbolic link" "a symbolic link inside a folder is refused" \
    mrx --home "$clinic" bundle create --kind records --out "$work/x.mrx" "$work/linked"
mkfifo "$work/fifo"
refuses 2 "not a regular file" "a FIFO is refused" \
    mrx --home "$clinic" bundle create --kind records --out "$work/x.mrx" "$work/fifo"
refuses 2 "name the files" "create with no input is a usage error" \
    mrx --home "$clinic" bundle create --kind records --out "$work/x.mrx"
[[ ! -e $work/x.mrx && -z $(find "$work" -name '*.tmp-*') ]] &&
    ok "refused creates leave no file" || not_ok "refused creates leave no file" "$(ls -la "$work")"

# --- open -------------------------------------------------------------------
out=$(mrx --home "$patient" bundle open "$work/img.mrx" --out "$work/img")
grep -q "imaging, 4 files, 3.2 MB, signed by clinic (clinic)" <<<"$out" &&
    ok "open says what was checked and who signed" || not_ok "open output" "$out"
check "opened files are byte-identical" cmp "$data/dicom/MR2_UNCR.dcm" "$work/img/imaging/dicom/MR2_UNCR.dcm"
check "sha256sum -c accepts the extracted manifest" bash -c "cd '$work/img' && sha256sum --quiet --strict -c MANIFEST"
json=$(mrx --home "$patient" --json bundle open "$work/ph.mrx" --out "$work/ph" --signer "$cfpr")
[[ $(jq -r .author <<<"$json") == "$cfpr" && $(jq -r .files <<<"$json") == 2 ]] &&
    ok "open --json with --signer" || not_ok "open --json" "$json"
refuses 3 "folder $work/no/such does not exist" "open names a missing parent folder" \
    mrx --home "$patient" bundle open "$work/img.mrx" --out "$work/no/such/dir"
mkdir -p "$work/busy" && touch "$work/busy/x"
refuses 4 "not empty" "open refuses a non-empty target" \
    mrx --home "$patient" bundle open "$work/img.mrx" --out "$work/busy"
refuses 5 "signed by $cfpr, not by the expected $sfpr" "open refuses a signer other than the one named" \
    mrx --home "$patient" bundle open "$work/img.mrx" --out "$work/o1" --signer "$sfpr"
refuses 3 "signer $pfpr: not an imported peer" "--signer must be a known key" \
    mrx --home "$stranger" bundle open "$work/img.mrx" --out "$work/o2" --signer "$pfpr"
refuses 5 "not encrypted to this node" "a node the bundle is not for cannot open it" \
    mrx --home "$stranger" bundle open "$work/img.mrx" --out "$work/o3"
# text: its first byte can never start an OpenPGP packet (random bytes
# sometimes do)
for i in $(seq 200); do echo "this is not a bundle"; done >"$work/garbage.mrx"
refuses 6 "not OpenPGP" "garbage is refused as not OpenPGP" \
    mrx --home "$patient" bundle open "$work/garbage.mrx" --out "$work/o4"
echo "hello" | gpg --homedir "$t_root" --batch -q --pinentry-mode loopback --passphrase secret \
    -c -o "$work/symmetric.mrx" 2>/dev/null
refuses 5 "encrypted with a passphrase" "a passphrase-encrypted message is refused" \
    mrx --home "$patient" bundle open "$work/symmetric.mrx" --out "$work/o7"
size=$(stat -c %s "$work/img.mrx")
head -c $((size - 10)) "$work/img.mrx" >"$work/trunc.mrx"
refuses 5 "trunc.mrx" "a truncated bundle is refused" \
    mrx --home "$patient" bundle open "$work/trunc.mrx" --out "$work/o5"
cp "$work/img.mrx" "$work/flip.mrx"
printf '\xff' | dd of="$work/flip.mrx" bs=1 seek=$((size / 2)) conv=notrunc status=none
code=0
mrx --home "$patient" bundle open "$work/flip.mrx" --out "$work/o6" 2>"$work/flip.err" >/dev/null || code=$?
[[ $code == 5 || $code == 6 ]] && grep -q "flip.mrx" "$work/flip.err" &&
    ok "a flipped byte is refused, naming the bundle" || not_ok "flipped byte" "exit $code" "$(cat "$work/flip.err")"
leftovers=$(ls -A "$work" | grep -E '^(o[0-9]|\.o[0-9].*mrx-)' || true)
gpgconf --homedir "$t_root" --kill all >/dev/null 2>&1
[[ -z $leftovers && $(ls -A "$work/busy") == x ]] &&
    ok "refused opens leave nothing in or beside the target" || not_ok "refused opens left" "$leftovers"

# --- interrupted ----------------------------------------------------------------
# a SIGTERM in the middle of a large open or create removes what it had written
head -c $((96 * 1024 * 1024)) /dev/urandom >"$work/big.bin"
mrx --home "$clinic" bundle create --kind imaging --to "$pfpr" --out "$work/big.mrx" "$work/big.bin" >/dev/null
# wait_for GLOB: until a path matching GLOB exists (at most 20 s)
wait_for() {
    local i
    for ((i = 0; i < 2000; i++)); do
        compgen -G "$1" >/dev/null && return 0
        sleep 0.01
    done
    return 1
}
# exec, so that $! is mrx itself
(exec ${MRX_WRAP:-} "$MRX_BIN" --home "$patient" bundle open "$work/big.mrx" --out "$work/bigout" >/dev/null 2>"$work/int.err") &
pid=$!
wait_for "$work/.bigout.mrx-*/imaging/big.bin" && kill -TERM $pid
wait $pid
code=$?
[[ $code != 0 && ! -e $work/bigout ]] && ! compgen -G "$work/.bigout.mrx-*" >/dev/null &&
    grep -q interrupted "$work/int.err" &&
    ok "an interrupted open leaves no plaintext behind" ||
    not_ok "an interrupted open leaves no plaintext behind" "exit $code" "$(cat "$work/int.err")" "$(ls -A "$work")"
(exec ${MRX_WRAP:-} "$MRX_BIN" --home "$clinic" bundle create --kind imaging --to "$pfpr" --out "$work/big2.mrx" "$work/big.bin" >/dev/null 2>"$work/int.err") &
pid=$!
wait_for "$work/big2.mrx.tmp-*" && sleep 0.2 && kill -TERM $pid
wait $pid
code=$?
[[ $code != 0 && ! -e $work/big2.mrx ]] && ! compgen -G "$work/big2.mrx.tmp-*" >/dev/null &&
    ok "an interrupted create leaves no partial bundle" ||
    not_ok "an interrupted create leaves no partial bundle" "exit $code" "$(cat "$work/int.err")" "$(ls -A "$work")"
rm -f "$work/big.bin" "$work/big.mrx"
# what a killed open leaves (kill -9 cannot be caught) is removed by the next
mkdir -p "$work/.later.mrx-AbC123/photos" && echo secret >"$work/.later.mrx-AbC123/photos/x"
touch -d '1 hour ago' "$work/.later.mrx-AbC123"
mrx --home "$patient" bundle open "$work/ph.mrx" --out "$work/later" >/dev/null
[[ ! -e $work/.later.mrx-AbC123 && -d $work/later ]] &&
    ok "the next open removes plaintext a killed open left" || not_ok "stale staging kept" "$(ls -A "$work")"
done_testing
