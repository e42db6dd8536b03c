#!/usr/bin/env bash
# t_bundle_interop: the bundle format against tools nobody here wrote.
# (a) a bundle from 'mrx bundle create' opens and checks with gpg, zstd,
#     GNU tar and sha256sum alone;
# (b) a bundle put together by hand with those tools, step by step as
#     docs/bundle-format.md says ("Assembling a bundle by hand"), opens in
#     'mrx bundle open', plain and zstd-compressed;
# (c) hand-made bundles with a wrong hash or an unlisted file are refused
#     with exit code 6 and leave nothing behind.
. "$MRX_SRCDIR/tests/lib/tap.sh"
plan 30

data=$MRX_TESTDATA
work=$t_root/work
mkdir -p "$work"

clinic=$(t_node clinic clinic) || exit 1
patient=$(t_node patient patient) || exit 1
introduce "$clinic" "$patient" || exit 1
cfpr=$(fpr_of "$clinic")
pfpr=$(fpr_of "$patient")
[[ ${#cfpr} == 40 && ${#pfpr} == 40 ]] && ok "two nodes that know each other" ||
    not_ok "two nodes that know each other" "clinic '$cfpr' patient '$pfpr'"

# stock gpg on a node's own keyring; stderr (agent chatter) goes to a log
cgpg() { GNUPGHOME=$clinic/gnupg gpg --batch --no-tty "$@" 2>>"$t_root/gpg.log"; }
pgpg() { GNUPGHOME=$patient/gnupg gpg --batch --no-tty "$@" 2>>"$t_root/gpg.log"; }

# same_tree SRC DIR: every file under SRC is byte-identical under DIR, and
# DIR holds as many files as SRC
same_tree() {
    local src=$1 dir=$2 f n=0
    [[ -d $dir ]] || return 1
    while IFS= read -r -d '' f; do
        cmp -s "$src/$f" "$dir/$f" || { echo "differs: $f"; return 1; }
        n=$((n + 1))
    done < <(cd "$src" && find . -type f -print0)
    [[ $n -gt 0 && $n == $(find "$dir" -type f | wc -l) ]]
}

# nothing_left DIR: the parent of DIR holds no DIR and no staging folder
nothing_left() {
    [[ ! -e $1 && -z $(find "$(dirname "$1")" -maxdepth 1 -name ".$(basename "$1").mrx-*") ]]
}

# --- (a) mrx writes, stock tools read ----------------------------------------

# stock_checks NAME BUNDLE COMPRESSED SRC...: the checks of (a) on one
# bundle written by mrx from the folders SRC (kind records)
stock_checks() {
    local name=$1 b=$2 compressed=$3 x=$work/$1.stock pk magic s
    shift 3
    pk=$(pgpg --list-packets "$b")
    [[ $(grep -c '^:pubkey enc packet: version 3, algo 18, keyid 0000000000000000$' <<<"$pk") == 2 &&
       $(grep -c '^:pubkey enc packet:' <<<"$pk") == 2 ]] &&
        ok "$name: gpg --list-packets shows two readers, both keyid 0000000000000000" ||
        not_ok "$name: hidden recipients" "$pk"
    grep -q '^:encrypted data packet:' <<<"$pk" && grep -q 'mdc_method: 2' <<<"$pk" &&
    grep -q '^:literal data packet:' <<<"$pk" && grep -q 'mode b (62), created [0-9]*, name=""' <<<"$pk" &&
    ! grep -qi 'compressed packet' <<<"$pk" &&
        ok "$name: one SEIPD packet with MDC, a binary literal packet, no compressed packet" ||
        not_ok "$name: packet structure" "$pk"
    magic=$(pgpg -d "$b" | head -c 4 | od -An -tx1 | tr -d ' \n')
    if [[ $compressed == true ]]; then [[ $magic == 28b52ffd ]]; else [[ $magic != 28b52ffd ]]; fi &&
        ok "$name: the plaintext starts with zstd magic exactly when mrx says compressed ($compressed)" ||
        not_ok "$name: zstd magic" "magic $magic, compressed $compressed"
    mkdir -p "$x"
    # gpg exits 2 when it tried another reader's (hidden) key first, so
    # success is read from its status lines, as docs/bundle-format.md says
    check "$name: gpg -d | zstd -dcf | tar -x extracts it (gpg: DECRYPTION_OKAY, GOODMDC)" \
        bash -c 'set -o pipefail
            { GNUPGHOME=$1/gnupg gpg --batch --status-file "$3.status" -d "$2" 2>/dev/null; true; } |
                zstd -dcf | tar -x -C "$3" &&
            grep -qx "\[GNUPG:\] DECRYPTION_OKAY" "$3.status" && grep -qx "\[GNUPG:\] GOODMDC" "$3.status" &&
            ! grep -q "DECRYPTION_FAILED\|BADMDC" "$3.status"' _ "$patient" "$b" "$x"
    s=$(cd "$x" && GNUPGHOME=$patient/gnupg gpg --batch --status-fd 1 --verify MANIFEST.sig MANIFEST 2>/dev/null)
    grep -q "^\[GNUPG:\] VALIDSIG .* $cfpr\$" <<<"$s" &&
        ok "$name: gpg --verify MANIFEST.sig MANIFEST: good signature by the clinic" ||
        not_ok "$name: gpg --verify" "$s"
    check "$name: sha256sum -c --strict MANIFEST" bash -c 'cd "$1" && sha256sum -c --strict --quiet MANIFEST' _ "$x"
    local all=1 src
    for src in "$@"; do
        same_tree "$src" "$x/records/$(basename "$src")" || all=0
    done
    [[ $all == 1 && $(find "$x/records" -type f | wc -l) == $(find "$@" -type f | wc -l) ]] &&
        ok "$name: the extracted files are byte-identical to the originals (cmp)" ||
        not_ok "$name: extracted files" "$(cd "$x" && find . -type f | head)"
}

json=$(mrx --home "$clinic" --json bundle create --kind records --to "$pfpr" --out "$work/all.mrx" \
    "$data/dicom" "$data/photos" "$data/docs")
[[ $(jq -r .compressed <<<"$json") == true && $(jq -r .id <<<"$json") == $(sha256sum "$work/all.mrx" | cut -d' ' -f1) ]] &&
    ok "mrx bundles dicom, photos and docs (compressed; id = sha256sum of the file)" ||
    not_ok "mrx bundle create (dicom, photos, docs)" "$json"
stock_checks all "$work/all.mrx" true "$data/dicom" "$data/photos" "$data/docs"

json=$(mrx --home "$clinic" --json bundle create --kind records --to "$pfpr" --out "$work/photos.mrx" "$data/photos")
[[ $(jq -r .compressed <<<"$json") == false ]] &&
    ok "mrx bundles photos alone (already compressed media: no zstd)" ||
    not_ok "mrx bundle create (photos)" "$json"
stock_checks photos "$work/photos.mrx" false "$data/photos"

# --- (b) stock tools write, mrx reads ----------------------------------------
# The steps of docs/bundle-format.md, "Assembling a bundle by hand", with
# the clinic as author and the patient as reader.

# hand_bundle NAME [zstd|badhash|extra]: assemble $work/NAME.mrx from a
# folder of sample files
hand_bundle() {
    local name=$1 variant=${2:-} kind=records src=$work/$1.src list=$work/$1.files
    local epoch created n=0 bytes=0 f tarball=$work/$1.tar
    mkdir -p "$src/records/dicom" "$src/records/photos" "$src/records/docs/sub dir"
    cp "$data/dicom/CT_small.dcm" "$data/dicom/MR_small_jp2klossless.dcm" "$src/records/dicom/"
    cp "$data/photos/coffee.png" "$data/photos/retina.jpg" "$src/records/photos/"
    cp "$data/docs/Diagnostic_Imaging_Report.xml" "$src/records/docs/sub dir/"
    cp "$data/docs/Bundle-father.json" "$src/records/docs/"
    (
        cd "$src" || exit 1
        epoch=$(date -u +%s)
        created=$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)
        # 1. the files, one path a line
        find "$kind" -type f | LC_ALL=C sort >"$list"
        # 2. MANIFEST
        while IFS= read -r f; do
            n=$((n + 1))
            bytes=$((bytes + $(stat -c %s "$f")))
        done <"$list"
        {
            printf '# mrx-bundle: 1\n# kind: %s\n# author: %s\n# created: %s\n' "$kind" "$cfpr" "$created"
            printf '# files: %d\n# bytes: %d\n' "$n" "$bytes"
            while IFS= read -r f; do
                printf '# size: %d\n' "$(stat -c %s "$f")"
                sha256sum -- "$f"
            done <"$list"
        } >MANIFEST
        if [[ $variant == badhash ]]; then
            # one listed hash is wrong (and signed as such)
            sed -i '0,/^[0-9a-f]\{64\}  records\/photos\/coffee.png$/s//0000000000000000000000000000000000000000000000000000000000000000  records\/photos\/coffee.png/' MANIFEST
            grep -q '^0\{64\}  records/photos/coffee.png$' MANIFEST || exit 1
        fi
        # 3. MANIFEST.sig
        cgpg --armor --detach-sign --local-user "$cfpr" --output MANIFEST.sig MANIFEST || exit 1
        if [[ $variant == extra ]]; then
            # a file in the archive that MANIFEST does not list
            echo "not listed" >"$kind/extra.txt"
            echo "$kind/extra.txt" >>"$list"
        fi
        # 4. the tar
        tar --create --file "$tarball" --format=pax --pax-option=delete=atime,delete=ctime \
            --owner=0 --group=0 --numeric-owner --mode=0644 --mtime="@$epoch" \
            --hard-dereference --no-recursion \
            MANIFEST MANIFEST.sig --verbatim-files-from --files-from="$list" || exit 1
        # 5. optionally, zstd
        if [[ $variant == zstd ]]; then
            zstd -q -3 --rm "$tarball" -o "$tarball.zst" || exit 1
            tarball=$tarball.zst
        fi
        # 6. encrypt to the author and the reader
        cgpg --encrypt --throw-keyids --compress-algo none --trust-model always \
            --recipient "$cfpr" --recipient "$pfpr" --output "$work/$name.mrx" <"$tarball"
    )
}

for variant in plain zstd; do
    check "hand-made bundle ($variant) assembled with sha256sum, gpg and GNU tar" \
        hand_bundle "hand-$variant" "${variant/plain/}"
    out=$work/opened-$variant
    json=$(mrx --home "$patient" --json bundle open "$work/hand-$variant.mrx" --out "$out" --signer "$cfpr")
    want=false
    [[ $variant == zstd ]] && want=true
    [[ $(jq -r .author <<<"$json") == "$cfpr" && $(jq -r .files <<<"$json") == 6 &&
       $(jq -r .compressed <<<"$json") == "$want" && $(jq -r .id <<<"$json") == $(sha256sum "$work/hand-$variant.mrx" | cut -d' ' -f1) ]] &&
        ok "hand-made bundle ($variant) opens in mrx bundle open --signer (compressed: $want)" ||
        not_ok "mrx opens the hand-made bundle ($variant)" "$json"
    same_tree "$work/hand-$variant.src" "$out" &&
        ok "hand-made bundle ($variant): mrx extracts the right files and MANIFEST, byte for byte" ||
        not_ok "hand-made bundle ($variant) contents" "$(cd "$out" 2>/dev/null && find . | head -20)"
done

pk=$(pgpg --list-packets "$work/hand-plain.mrx")
[[ $(grep -c 'keyid 0000000000000000$' <<<"$pk") == 2 && $pk == *'name=""'* ]] && ! grep -qi 'compressed packet' <<<"$pk" &&
    ok "the hand-made ciphertext has the packets mrx writes (hidden ids, no compression, no file name)" ||
    not_ok "hand-made packets" "$pk"

# --- (c) hand-made and wrong: refused, nothing left --------------------------

check "hand-made bundle with a wrong SHA-256 line (signed)" hand_bundle badhash badhash
refuses 6 "records/photos/coffee.png: SHA-256 does not match the manifest" \
    "a wrong sha256 line is refused (exit 6)" \
    mrx --home "$patient" bundle open "$work/badhash.mrx" --out "$work/out-badhash"
nothing_left "$work/out-badhash" && ok "the refused bundle left nothing behind" ||
    not_ok "nothing left after a wrong hash" "$(ls -la "$work")"

check "hand-made bundle with a file MANIFEST does not list" hand_bundle extra extra
refuses 6 "records/extra.txt: not listed in the manifest" \
    "an unlisted file is refused (exit 6)" \
    mrx --home "$patient" bundle open "$work/extra.mrx" --out "$work/out-extra"
nothing_left "$work/out-extra" && ok "the refused bundle left nothing behind" ||
    not_ok "nothing left after an unlisted file" "$(ls -la "$work")"

done_testing
