#!/usr/bin/env bash
# t_export: a whole case to one file (mrx export) and into other nodes
# (mrx import), with no network between them. The file is checked with
# tar, sha256sum and git alone; members get the feeds and the bundles
# they may hold; hostile files are refused with one line, a meaningful
# exit code and no change.
. "$MRX_SRCDIR/tests/lib/tap.sh"
plan 37

title="Abdominoplasty, Istanbul"
patient=$(t_node patient patient) || exit 1
clinic=$(t_node clinic clinic) || exit 1
reviewer=$(t_node reviewer reviewer) || exit 1
relay=$(t_node relay facilitator) || exit 1
stranger=$(t_node stranger clinic) || exit 1
for n in "$clinic" "$reviewer" "$relay"; do introduce "$patient" "$n" || exit 1; done
pfpr=$(fpr_of "$patient") cfpr=$(fpr_of "$clinic") rfpr=$(fpr_of "$reviewer") ffpr=$(fpr_of "$relay")
id=$(mrx --home "$patient" --json case new --title "$title" | jq -r .id)
mrx --home "$patient" grant "$id" "$cfpr" contributor >/dev/null &&
    mrx --home "$patient" grant "$id" "$ffpr" relay >/dev/null || exit 1
# b1 is for the patient alone: the reviewer comes later
b1=$(mrx --home "$patient" --json add "$id" --kind photos "$MRX_TESTDATA/photos/retina.jpg" | jq -r .bundle)
mrx --home "$patient" grant "$id" "$rfpr" reviewer >/dev/null || exit 1
x=$t_root/x
mkdir -p "$x"

# --- the clinic takes the case in from a file and adds records ------------------
check "the patient exports the case" mrx --home "$patient" export "${id:0:8}" "$x/to-clinic.tar"
json=$(mrx --home "$clinic" --json import "$x/to-clinic.tar")
[[ $(jq -r '.new_case, (.skipped | join(",")), (.stored | length)' <<<"$json" | paste -sd' ') == "true $b1 0" ]] &&
    ok "the clinic imports it: a new case, and the photos, not for it, skipped" || not_ok "clinic import" "$json"
b2=$(mrx --home "$clinic" --json add "$id" --kind records "$MRX_TESTDATA/docs" | jq -r .bundle)
[[ $b2 =~ ^[0-9a-f]{64}$ ]] && ok "the clinic, a contributor, adds records to the imported case" ||
    not_ok "clinic add" "$b2"
mrx --home "$clinic" export "$id" "$x/to-patient.tar" >/dev/null
json=$(mrx --home "$patient" --json import "$x/to-patient.tar")
[[ $(jq -r '(.stored | join(",")), (.feeds | map(.fingerprint) | join(","))' <<<"$json" | paste -sd' ') == "$b2 $cfpr" ]] &&
    cmp -s "$clinic/cases/$id/bundles/$b2.mrx" "$patient/cases/$id/bundles/$b2.mrx" &&
    ok "the patient imports the clinic's feed and its bundle" || not_ok "patient import" "$json"
mrx --home "$patient" get "$id" "$b2" --out "$t_root/opened" >/dev/null &&
    cmp -s "$t_root/opened/records/docs/UD_sample.pdf" "$MRX_TESTDATA/docs/UD_sample.pdf" &&
    ok "and opens it" || not_ok "patient get"

# --- the export, with tar, sha256sum and git alone ------------------------------
file=$x/case.tar
json=$(mrx --home "$patient" --json export "$id" "$file")
[[ $(jq -r '.feeds, .bundles, .size' <<<"$json" | paste -sd' ') == "2 2 $(stat -c %s "$file")" ]] &&
    ok "export reports 2 feeds and 2 bundles, and the file's size" || not_ok "export result" "$json"
want=$(printf '%s\n' mrx-export ledger.pack heads $(printf 'bundles/%s.mrx\n' "$b1" "$b2" | sort) SHA256SUMS)
[[ $(tar -tf "$file") == "$want" ]] && ok "tar -tf lists the entries in order" ||
    not_ok "tar -tf" "$(tar -tf "$file" 2>&1)"
mkdir "$x/out" && tar -xf "$file" -C "$x/out" &&
    (cd "$x/out" && sha256sum --quiet -c SHA256SUMS) &&
    ok "after tar -xf, sha256sum -c SHA256SUMS checks the bundles" || not_ok "sha256sum -c"
printf 'mrx-export: 1\ncase: %s\nowner: %s\nnode: %s\n' "$id" "$pfpr" "$pfpr" | cmp -s - <(head -4 "$x/out/mrx-export") &&
    grep -qE '^time: 20[0-9-]{8}T[0-9:]{8}Z$' "$x/out/mrx-export" && ! grep -rqF "$title" "$x/out" &&
    ok "the header names the case, its owner and the node; the title stays home" ||
    not_ok "header" "$(cat "$x/out/mrx-export")"
g=$x/g.git
git init -q --bare "$g" && git --git-dir="$g" index-pack --stdin <"$x/out/ledger.pack" >/dev/null &&
    while read -r f c; do git --git-dir="$g" update-ref "refs/feeds/$f" "$c" || exit 1; done <"$x/out/heads" &&
    git --git-dir="$g" fsck --strict --no-dangling >/dev/null 2>&1 &&
    [[ $(git --git-dir="$g" for-each-ref refs/feeds) == "$(git --git-dir="$patient/cases/$id/ledger.git" for-each-ref refs/feeds)" ]] &&
    ok "git index-pack takes the pack; with the heads it is the patient's ledger, fsck --strict" ||
    not_ok "git index-pack" "$(cat "$x/out/heads")"
bad=0
for c in $(git --git-dir="$g" rev-list --all); do
    GNUPGHOME=$patient/gnupg git --git-dir="$g" verify-commit "$c" 2>/dev/null || bad=$((bad + 1))
done
[[ $bad == 0 && $(git --git-dir="$g" rev-list --all | wc -l) == 7 ]] &&
    ok "git verify-commit accepts every event in the pack" || not_ok "$bad events do not verify"

# --- hostile files: one line, an exit code, nothing kept ------------------------
# retar DIR FILE [ENTRY...]: the entries (by default those of an export) as
# a pax tar, made with GNU tar as docs/export-format.md says
retar() {
    local dir=$1 out=$2
    shift 2
    (($#)) || set -- mrx-export ledger.pack heads $(cut -c67- "$dir/SHA256SUMS") SHA256SUMS
    tar --format=pax -cf "$out" -C "$dir" "$@"
}
# the offset of an entry's data in a tar
data_at() { /usr/bin/python3 -c 'import sys, tarfile; print(tarfile.open(sys.argv[1]).getmember(sys.argv[2]).offset_data)' "$@"; }
cp "$file" "$x/flipped.tar"
at=$(($(data_at "$file" "bundles/$b2.mrx") + 1000))
byte=$(od -An -tu1 -j "$at" -N1 "$file" | tr -d ' ')
printf "\\x$(printf %02x $(((byte + 1) % 256)))" | dd of="$x/flipped.tar" bs=1 seek="$at" conv=notrunc status=none
refuses 5 "bundle $b2: .*do not hash to its id" "a flipped byte in a bundle is refused, naming the bundle" \
    mrx --home "$relay" import "$x/flipped.tar"
echo escaped >"$x/evil"
tar --format=pax -P -cf "$x/dotdot.tar" -C "$x/out" mrx-export ledger.pack heads ../evil 2>/dev/null
refuses 6 'entry "../evil": a path outside the archive' "an entry with ../ is refused" \
    mrx --home "$relay" import "$x/dotdot.tar"
echo note >"$x/out/notes.txt"
retar "$x/out" "$x/unknown.tar" mrx-export ledger.pack heads notes.txt
refuses 6 'entry "notes.txt": not part of an mrx export' "an unknown entry is refused" \
    mrx --home "$relay" import "$x/unknown.tar"
head -c $(($(stat -c %s "$file") / 2)) "$file" >"$x/cut.tar"
refuses 6 "runcated|cut short" "a truncated file is refused" mrx --home "$relay" import "$x/cut.tar"
head -c 3000 /dev/urandom >"$x/random.bin"
refuses 6 "not a tar file" "a file that is not a tar is refused" mrx --home "$relay" import "$x/random.bin"
retar "$x/out" "$x/reordered.tar" ledger.pack mrx-export heads
refuses 6 "out of place" "entries out of order are refused" mrx --home "$relay" import "$x/reordered.tar"
ln -s mrx-export "$x/out/link"
retar "$x/out" "$x/link.tar" mrx-export ledger.pack heads link
refuses 6 'entry "link": not a regular file' "a symbolic link is refused" mrx --home "$relay" import "$x/link.tar"
mkdir "$x/v2" && cp -r "$x/out/"{ledger.pack,heads,bundles,SHA256SUMS} "$x/v2" &&
    sed 's/^mrx-export: 1$/mrx-export: 2/' "$x/out/mrx-export" >"$x/v2/mrx-export" && retar "$x/v2" "$x/v2.tar"
refuses 6 "this mrx reads version 1" "a header of another version is refused" mrx --home "$relay" import "$x/v2.tar"
(cd "$x/out" && sha256sum "bundles/$b1.mrx" "bundles/$b1.mrx" >"$x/twice.sums") && cp "$x/twice.sums" "$x/v2/SHA256SUMS" &&
    cp "$x/out/mrx-export" "$x/v2" && tar --format=pax --hard-dereference -cf "$x/twice.tar" -C "$x/v2" \
    mrx-export ledger.pack heads "bundles/$b1.mrx" "bundles/$b1.mrx" SHA256SUMS
refuses 6 "bundle $b1 is given twice" "a bundle given twice is refused" mrx --home "$relay" import "$x/twice.tar"
[[ ! -e $relay/cases/$id && -z $(ls -A "$relay/cases" 2>/dev/null) ]] &&
    ok "the refused files left nothing on the relay" || not_ok "relay keeps something" "$(ls -AR "$relay/cases")"

# --- members take it in ---------------------------------------------------------
json=$(mrx --home "$relay" --json import "$file")
[[ $(jq -r '.new_case, (.stored | sort | join(",")), (.feeds | length), (.refused | length)' <<<"$json" | paste -sd' ') == \
    "true $(printf '%s\n' "$b1" "$b2" | sort | paste -sd,) 2 0" ]] &&
    ok "the relay imports the case and holds both bundles' ciphertext" || not_ok "relay import" "$json"
[[ $(git --git-dir="$relay/cases/$id/ledger.git" for-each-ref refs/feeds) == "$(git --git-dir="$patient/cases/$id/ledger.git" for-each-ref refs/feeds)" ]] &&
    ok "the relay's feeds are the patient's" || not_ok "relay feeds differ"
json=$(mrx --home "$reviewer" --json import "$file")
[[ $(jq -r '(.stored | join(",")), (.skipped | join(","))' <<<"$json" | paste -sd' ') == "$b2 $b1" &&
    ! -e $reviewer/cases/$id/bundles/$b1.mrx ]] &&
    ok "the reviewer gets only the bundle encrypted to it" || not_ok "reviewer import" "$json"
check "the reviewer opens the imported records" mrx --home "$reviewer" get "$id" "${b2:0:10}" --out "$t_root/rev"
refuses 3 "not on this node" "the photos were never the reviewer's to hold" \
    mrx --home "$reviewer" get "$id" "$b1" --out "$t_root/rev1"
out=$(mrx --home "$reviewer" import "$file")
[[ $? == 0 ]] && grep -q "ledger: nothing new" <<<"$out" && grep -q "0 stored, 1 already here, 1 not for this node" <<<"$out" &&
    ok "importing the same file again changes nothing" || not_ok "import twice" "$out"
[[ $(mrx --home "$reviewer" --json case show "$id" | jq '.problems | length') == 0 ]] &&
    ok "every feed verifies on the reviewer" || not_ok "reviewer case show"

# --- a rewritten feed: refused, and kept as evidence ----------------------------
# the patient's last event again, a second later, signed by the patient
# with plain git and gpg: a second history of the same feed
head=$(grep "^$pfpr " "$x/out/heads" | cut -d' ' -f2)
msg=$(git --git-dir="$g" cat-file commit "$head" | sed '1,/^$/d')
t=$(sed -n 's/^time: //p' <<<"$msg")
when=$(($(date -u -d "$t" +%s) + 1))
export GIT_AUTHOR_NAME=patient GIT_COMMITTER_NAME=patient GIT_AUTHOR_EMAIL=$pfpr@mrx \
    GIT_COMMITTER_EMAIL=$pfpr@mrx GIT_AUTHOR_DATE="$when +0000" GIT_COMMITTER_DATE="$when +0000"
other=$(printf '%s\n' "${msg/time: $t/time: $(date -u -d "@$when" +%Y-%m-%dT%H:%M:%SZ)}" |
    GNUPGHOME=$patient/gnupg git --git-dir="$g" commit-tree -S"$pfpr!" -p "$head^" "$head^{tree}" 2>/dev/null)
unset GIT_AUTHOR_NAME GIT_COMMITTER_NAME GIT_AUTHOR_EMAIL GIT_COMMITTER_EMAIL GIT_AUTHOR_DATE GIT_COMMITTER_DATE
mkdir "$x/rw" && cp "$x/out/"{mrx-export,SHA256SUMS} "$x/rw" && cp -r "$x/out/bundles" "$x/rw" &&
    sed "s/^$pfpr .*/$pfpr $other/" "$x/out/heads" >"$x/rw/heads" &&
    cut -d' ' -f2 "$x/rw/heads" | git --git-dir="$g" pack-objects --revs --stdout -q >"$x/rw/ledger.pack" &&
    retar "$x/rw" "$x/rewritten.tar"
before=$(git --git-dir="$relay/cases/$id/ledger.git" for-each-ref refs/feeds)
refuses 5 "feed $pfpr \(owner\): refused: .*rewritten" "a rewritten feed in a hand-made file is refused" \
    mrx --home "$relay" import "$x/rewritten.tar"
[[ $(git --git-dir="$relay/cases/$id/ledger.git" for-each-ref refs/feeds) == "$before" ]] &&
    ls -d "$relay/cases/$id/evidence/$pfpr-"* >/dev/null 2>&1 &&
    ok "the relay's feeds stay as they were; the other history is kept under evidence/" ||
    not_ok "evidence" "$(ls -R "$relay/cases/$id" | head -20)"

# --- who may import, and export's own refusals ----------------------------------
refuses 3 "owner $pfpr is not an imported peer" "a node that does not know the owner is refused" \
    mrx --home "$stranger" import "$file"
introduce "$patient" "$stranger" || exit 1
peers=$(mrx --home "$stranger" --json peer list | jq '.peers | length')
refuses 5 "this node is not a member" "a node that is not a member of the case is refused" \
    mrx --home "$stranger" import "$file"
[[ -z $(ls -A "$stranger/cases" 2>/dev/null) && $(mrx --home "$stranger" --json peer list | jq '.peers | length') == "$peers" ]] &&
    ok "and keeps nothing: no case, no member's key" || not_ok "stranger keeps something" "$(ls -A "$stranger/cases")"
cp "$file" "$x/copy.tar"
refuses 4 "already exists" "export refuses to overwrite a file" mrx --home "$patient" export "$id" "$file"
cmp -s "$file" "$x/copy.tar" && [[ -z $(ls "$x" | grep '\.tmp-') ]] &&
    ok "the file is as it was and no temporary file is left" || not_ok "overwritten" "$(ls "$x")"
refuses 3 "not on this node" "export of a case the node does not hold" \
    mrx --home "$stranger" export "$id" "$x/none.tar"
refuses 2 "expected 2 arguments" "export needs a case and a file" mrx --home "$patient" export "$id"
done_testing
