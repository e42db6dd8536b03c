#!/usr/bin/env bash
# demo.sh: the main job. A patient, a facilitator, a clinic and an
# independent reviewer, each a real mrx node with its own keys and its own
# mrxd on this machine, exchange a second-opinion case by sync:
#
#   1. four nodes start; the facilitator listens on loopback, the others
#      connect only to it; the patient opens a case and grants the
#      facilitator (relay), the clinic (contributor), the reviewer (reviewer)
#   2. once the clinic has learnt of the reviewer, it adds the patient's
#      records, imaging (DICOM) and photos from ../shared/testdata
#   3. the bundles reach the reviewer through the facilitator, which holds
#      them but cannot decrypt them; the reviewer opens them
#   4. the reviewer adds its opinion, which reaches the patient through the
#      facilitator; the patient opens it
#   5. the patient sees the whole timeline: who added, served, fetched and
#      opened what
#
# The clinic and the reviewer never talk to each other. Every wait is
# bounded (MRX_DEMO_TIMEOUT seconds, default 120). Every mrxd and gpg-agent
# the demo starts is stopped, and its folder removed, when it ends;
# MRX_DEMO_KEEP=1 keeps the node homes and daemon logs for a look around.
# The last line of output is one summary line.
set -Eeuo pipefail

bin=${MRX_BIN:-$(pwd)/mrx}
daemon=${MRXD_BIN:-$(pwd)/mrxd}
data=${MRX_TESTDATA:?set MRX_TESTDATA to the sample files folder}
here=$(cd "$(dirname "$0")" && pwd)
opinion=$here/resources/demo/opinion.md
timeout=${MRX_DEMO_TIMEOUT:-120}
nodes=(patient facilitator clinic reviewer)
started=$SECONDS
current="setting up"
summary=""
root=$(mktemp -d "${TMPDIR:-/tmp}/mrx-demo.XXXXXX")

if [[ -t 1 ]]; then bold=$'\033[1m' plain=$'\033[0m'; else bold="" plain=""; fi

# the last line says how it went, whatever happened before
cleanup() {
    local rc=$? k pid i pids
    trap - ERR
    set +e
    cd /
    # every mrxd first (they use the agents), each given 10 s for a clean stop
    mapfile -t pids < <(cat "$root/daemons" 2>/dev/null)
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    for pid in "${pids[@]}"; do
        for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    while IFS= read -r k; do gpgconf --homedir "$k" --kill all >/dev/null 2>&1; done \
        < <(find "$root" -name pubring.kbx -printf '%h\n' 2>/dev/null)
    if [[ ${MRX_DEMO_KEEP:-} == 1 ]]; then echo "node homes and daemon logs kept in $root"; else rm -rf "$root"; fi
    if ((rc == 0)) && [[ -n $summary ]]; then
        echo "$summary"
    else
        ((rc != 0)) || rc=1
        echo "demo FAILED (exit $rc) at: $current, after $((SECONDS - started)) s${failure:+: $failure}"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
failure=""
trap 'failure="command failed (exit $?): $BASH_COMMAND"' ERR

step() {
    current=$*
    printf '\n%s== %s%s\n' "$bold" "$*" "$plain"
}
say() { printf '%s\n' "$*"; }
run() {
    printf '$ %s\n' "$*"
    "$@"
}
# fail MESSAGE [NODE...]: stop here, with the last lines of those nodes' logs
fail() {
    local n
    failure=$1
    shift
    echo "FAILED: $failure" >&2
    for n in "$@"; do
        echo "--- last lines of the $n's mrxd log:" >&2
        tail -n 8 "$root/$n.log" >&2 2>/dev/null
    done
    exit 1
}
# wait_until WHAT EVERY CMD...: run CMD every EVERY seconds until it
# succeeds, for at most $timeout s
wait_until() {
    local what=$1 every=$2 t0=$SECONDS
    shift 2
    printf 'waiting until %s ... ' "$what"
    until "$@" >/dev/null 2>&1; do
        if ((SECONDS - t0 >= timeout)); then
            echo "timed out"
            fail "timed out after $timeout s waiting until $what" "${nodes[@]}"
        fi
        sleep "$every"
    done
    echo "done ($((SECONDS - t0)) s)"
}

# relay NODE...: each node in turn has its mrxd sync with its peers now
# and waits until it is in step with them (mrx sync --wait), so that what
# one node holds reaches the next hop without waiting for a sync round.
# On a busy machine a peer may not answer within 5 s (it is then not
# waited for) or a node may take long to be in step with all its peers
# (it is given 30 s): the bounded wait_until after it is what decides.
relay() {
    local n out rc
    for n in "$@"; do
        printf '%s$ mrx sync --wait\n' "$n"
        rc=0
        out=$(timeout 30 "$bin" --home "$root/$n" sync --wait 2>&1) || rc=$?
        if ((rc == 124)); then
            echo "  not in step after 30 s; going on"
        else
            # the summary, and any peer not reached
            printf '%s\n' "$out" | awk 'NR == 1 || /not reached/' | sed 's/^/  /'
        fi
    done
}

# the nodes are called by their role; the people behind them by name
mrx_at() {
    local node=$1
    shift
    "$bin" --home "$root/$node" "$@"
}
# `mrx_at` shown as the command a person would type on that node
run_at() {
    local node=$1
    shift
    printf '%s$ mrx %s\n' "$node" "$*"
    "$bin" --home "$root/$node" "$@"
}
# start NODE: mrxd for the node in the foreground, in the background,
# logging to $root/NODE.log; returns once it serves. Sync rounds come
# every 30 s rather than every 5 min, so that on a busy machine a transfer
# that stalled is taken up again within the demo's waits.
start() {
    local home=$root/$1 i pid
    jq '.sync_interval = 30' "$home/mrxd.conf" >"$root/conf" && cat "$root/conf" >"$home/mrxd.conf"
    (exec "$daemon" --home "$home" --foreground) >>"$root/$1.log" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >>"$root/daemons"
    for ((i = 0; i < 300; i++)); do
        [[ $(cat "$home/mrxd.pid" 2>/dev/null) == "$pid" && -S $home/mrxd.sock ]] && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    return 1
}
port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
fpr() { mrx_at "$1" --json id | jq -r .fingerprint; }

step "1. four nodes: the facilitator listens on loopback, the others connect only to it"
# a free port picked by the kernel; if someone takes it before mrxd binds
# it, the facilitator's node is made again on another
for attempt in 1 2 3; do
    rm -rf "${root:?}/facilitator"
    listen=tcp://127.0.0.1:$(port)
    mrx_at facilitator init --role facilitator --name "MedTravel Desk" --listen "$listen" >/dev/null
    start facilitator && break
    ((attempt < 3)) || fail "the facilitator's mrxd did not start" facilitator
done
mrx_at patient init --role patient --name "Dana Ruiz" >/dev/null
mrx_at clinic init --role clinic --name "Clinic Aurora" >/dev/null
mrx_at reviewer init --role reviewer --name "Dr. Ada Okafor" >/dev/null
for n in patient clinic reviewer; do start $n || fail "the $n's mrxd did not start" $n; done
for n in "${nodes[@]}"; do
    printf '%-12s %-15s %s\n' "$n" "$(mrx_at "$n" --json id | jq -r .name)" \
        "$(mrx_at "$n" --json status | jq -r '"mrxd pid \(.daemon.pid), listens on \(.node.listen | if length == 0 then "nothing (connects out)" else join(" ") end)"')"
done
patient=$(fpr patient) facilitator=$(fpr facilitator) clinic=$(fpr clinic) reviewer=$(fpr reviewer)
# from here on, paths shown are relative to the demo's folder
cd "$root"

say ""
say "certificates exchanged (fingerprints confirmed out of band in real life):"
say "everyone <-> facilitator; patient <-> clinic; patient <-> reviewer; never clinic <-> reviewer"
for n in "${nodes[@]}"; do mrx_at "$n" id >"$root/$n.cert"; done
introduce() { mrx_at "$1" peer add "$root/$2.cert" >/dev/null && mrx_at "$2" peer add "$root/$1.cert" >/dev/null; }
for n in patient clinic reviewer; do introduce facilitator $n; done
introduce patient clinic
introduce patient reviewer
run_at patient peer list

say ""
case_id=$(mrx_at patient --json case new --title "Abdominoplasty with flank liposuction, second opinion" | jq -r .id)
say "patient\$ mrx case new --title \"Abdominoplasty with flank liposuction, second opinion\""
say "case $case_id"
short=${case_id:0:12}
run_at patient grant "$short" "$facilitator" relay
run_at patient grant "$short" "$clinic" contributor
run_at patient grant "$short" "$reviewer" reviewer

step "2. the clinic adds the patient's records, imaging and photos, once it knows the reviewer"
is_member() { # NODE FPR: NODE's copy of the case shows FPR as an active member (0), not (1)
    local out
    out=$(mrx_at "$1" --json case show "$case_id") || return 2
    jq -e --arg f "$2" 'any(.members[]; .fingerprint == $f and .active)' <<<"$out"
}
has_case() { [[ -d $root/$1/cases/$case_id ]]; }
say ""
say "the patient's grants travel patient -> facilitator -> clinic:"
relay patient facilitator clinic
# changed NODE CHECK...: run CHECK (which asks NODE's mrxd to verify the
# whole case: many gpg runs) only if NODE's copy of the ledger has events
# it did not have when CHECK last ran (git counts them without verifying)
declare -A seen=()
changed() {
    local node=$1 n
    shift
    n=$(git --git-dir="$root/$node/cases/$case_id/ledger.git" rev-list --all --count 2>/dev/null) || return 1
    [[ $n != "${seen[$node]:-}" ]] || return 1
    "$@" && return 0
    # the answer was no; a failure to ask (no answer at all) is asked again
    (($? == 1)) && seen[$node]=$n
    return 1
}
wait_until "the case reaches the clinic through the facilitator" 0.25 has_case clinic
wait_until "the clinic has learnt that the reviewer was granted" 0.5 changed clinic is_member clinic "$reviewer"
records=("$data/docs/Diagnostic_Imaging_Report.xml" "$data/docs/UD_sample.pdf" "$data/docs/Bundle-father.json")
imaging=("$data/dicom/CT_small.dcm" "$data/dicom/MR_small_jp2klossless.dcm" "$data/dicom/eCT_Supplemental.dcm")
photos=("$data/photos/has-lens-info.jpg" "$data/photos/retina.jpg" "$data/photos/coffee.png")
clinic_bundles=()
add() { # KIND FILE...: the clinic adds a bundle and says who can read it
    local kind=$1 out
    shift
    printf 'clinic$ mrx add %s --kind %s %s\n' "$short" "$kind" "${*#"$data/"}"
    out=$(mrx_at clinic --json add "$case_id" --kind "$kind" "$@") || fail "the clinic could not add its $kind" clinic
    jq -r '"  bundle \(.bundle[0:12]): \(.files) files, \(.bytes) bytes; encrypted to \(.reader_names | join(", "))"' <<<"$out"
    clinic_bundles+=("$(jq -r .bundle <<<"$out")")
}
add records "${records[@]}"
add imaging "${imaging[@]}"
add photos "${photos[@]}"
say "(paths relative to $data)"

step "3. the bundles reach the reviewer through the facilitator, which cannot read them"
say "clinic -> facilitator -> reviewer (the facilitator also passes them on to the patient, the case's owner):"
relay clinic facilitator reviewer
holds() { # NODE ID...: NODE holds every one of these bundles
    local node=$1 b
    shift
    for b in "$@"; do [[ -f $root/$node/cases/$case_id/bundles/$b.mrx ]] || return 1; done
}
wait_until "the facilitator holds the 3 bundles" 0.25 holds facilitator "${clinic_bundles[@]}"
wait_until "the reviewer holds the 3 bundles" 0.25 holds reviewer "${clinic_bundles[@]}"
mrx_at reviewer --json case show "$case_id" >"$root/rev.json"
say "the reviewer's node (ledger and bundles synced through the facilitator):"
jq -r '.events[] | select(.type == "bundle-added") | "  \(.kind) \(.bundle[0:12]) by \(.author_name): \(.size) bytes, held here: \(.held)"' "$root/rev.json"

say ""
say "the reviewer knows the clinic (from the patient's grant) but has never been in contact with it:"
run_at reviewer status
say ""
say "the facilitator holds the same ciphertext:"
fac_bundles=$root/facilitator/cases/$case_id/bundles
for b in "${clinic_bundles[@]}"; do
    printf '  %s  %9d bytes  sha256 %s\n' "${b:0:12}.mrx" "$(stat -c %s "$fac_bundles/$b.mrx")" \
        "$(sha256sum "$fac_bundles/$b.mrx" | cut -c1-12)"
done
say "but its own key does not open them (stock gpg, the facilitator's keyring):"
printf '$ gpg --homedir facilitator/gnupg --batch --decrypt %s.mrx\n' "${clinic_bundles[0]:0:12}"
if gpg --homedir "$root/facilitator/gnupg" --batch --decrypt "$fac_bundles/${clinic_bundles[0]}.mrx" \
    >"$root/fac-plain" 2>"$root/fac-err"; then
    fail "the facilitator's key decrypted a bundle"
fi
# (without the noise of a machine with no smartcard daemon, each line once)
grep -v scdaemon "$root/fac-err" | awk '!seen[$0]++' | sed 's/^/  /'
say "  -> $(grep -c 'encrypted with' "$root/fac-err") recipients, their key ids hidden; none is the facilitator's key, so gpg fails"

say ""
say "the reviewer opens each bundle: signature by the clinic, every file's SHA-256, the ledger's id"
mkdir -p reviewer-case patient-case
for b in "${clinic_bundles[@]}"; do
    kind=$(jq -r --arg b "$b" '.events[] | select(.bundle == $b and .type == "bundle-added") | .kind' "$root/rev.json")
    run_at reviewer get "$short" "${b:0:12}" --out "reviewer-case/$kind" ||
        fail "the reviewer could not open the $kind" reviewer
done
say ""
say "the files the reviewer now has:"
(cd "$root/reviewer-case" && find . -path '*/MANIFEST*' -prune -o -type f -printf '  %-50P %9s bytes\n' | sort)
say "checked again with stock tools, in the imaging folder:"
(cd "$root/reviewer-case/imaging" && run sha256sum -c MANIFEST) || fail "sha256sum -c refused the imaging"
printf '$ gpg --homedir reviewer/gnupg --batch --verify MANIFEST.sig MANIFEST\n'
gpg --homedir "$root/reviewer/gnupg" --batch --verify "$root/reviewer-case/imaging/MANIFEST.sig" \
    "$root/reviewer-case/imaging/MANIFEST" 2>&1 | grep -E '^gpg: (Good|BAD) signature' ||
    fail "gpg --verify refused the imaging's MANIFEST"
for f in "${records[@]}" "${imaging[@]}" "${photos[@]}"; do
    got=$(find "$root/reviewer-case" -name "$(basename "$f")" -print -quit)
    cmp -s "$f" "$got" || fail "the reviewer's copy of $(basename "$f") differs from the clinic's"
done
say "and every one of the 9 files is byte for byte the clinic's (cmp)"

step "4. the reviewer adds its opinion; it reaches the patient through the facilitator"
cp "$opinion" "$root/opinion.md"
out=$(mrx_at reviewer --json add "$case_id" --kind opinion "$root/opinion.md") ||
    fail "the reviewer could not add its opinion" reviewer
say "reviewer\$ mrx add $short --kind opinion opinion.md"
jq -r '"  bundle \(.bundle[0:12]): \(.files) file, \(.bytes) bytes; encrypted to \(.reader_names | join(", "))"' <<<"$out"
opinion_id=$(jq -r .bundle <<<"$out")
relay reviewer facilitator patient
wait_until "the patient holds the opinion" 0.25 holds patient "$opinion_id"
run_at patient get "$short" "${opinion_id:0:12}" --out patient-case/opinion ||
    fail "the patient could not open the opinion" patient
say ""
say "---------------------------------------------------------------------------"
cat "$root/patient-case/opinion/opinion/opinion.md"
say "---------------------------------------------------------------------------"

step "5. the patient's view of the case: who added, served, fetched and opened what"
say "the last events (the reviewer's openings, the relay's serving) travel to the patient:"
relay reviewer facilitator patient
# every access that happened must have reached the patient's ledger: for
# each clinic bundle, clinic->facilitator->reviewer and ->patient, and the
# reviewer's opening; for the opinion, reviewer->facilitator->patient
want=$(jq -n --arg c "$clinic" --arg f "$facilitator" --arg r "$reviewer" --arg p "$patient" \
    --arg o "$opinion_id" --args '
    [($ARGS.positional[] as $b |
        ["bundle-served", $c, $f, $b], ["bundle-fetched", $f, $c, $b],
        ["bundle-served", $f, $r, $b], ["bundle-fetched", $r, $f, $b], ["bundle-opened", $r, "", $b]),
     ["bundle-served", $r, $f, $o], ["bundle-fetched", $f, $r, $o],
     ["bundle-served", $f, $p, $o], ["bundle-opened", $p, "", $o]]' "${clinic_bundles[@]}")
complete() { # the patient's ledger shows every one of them
    mrx_at patient --json case show "$case_id" >"$root/pat.json" || return 2
    jq -e --argjson want "$want" '
        [.events[] | [.type, .author, (.peer // ""), .bundle]] as $have |
        all($want[]; . as $w | any($have[]; . == $w))' "$root/pat.json"
}
wait_until "every node's events have reached the patient" 0.5 changed patient complete
run_at patient case show "$short"
say ""
say "who accessed what, from the same ledger:"
jq -r '
    ([{(.owner): .owner_name}] + (.members | map({(.fingerprint): .name})) | add) as $name |
    .events as $ev |
    $ev[] | select(.type == "bundle-added") | .bundle as $b |
    "  \(.kind) \($b[0:12]), added by \(.author_name), \(.size) bytes",
    ($ev[] | select(.bundle == $b and .type == "bundle-served") |
        "      served   \(.author_name) -> \($name[.peer] // .peer[0:12])"),
    ($ev[] | select(.bundle == $b and .type == "bundle-opened") |
        "      opened   by \(.author_name)")' "$root/pat.json"
problems=$(jq '.problems | length' "$root/pat.json")
((problems == 0)) || fail "the patient's ledger reports $problems feeds that do not verify"
printf '$ git verify-commit <every event in the patient'\''s copy>\n'
git_dir=$root/patient/cases/$case_id/ledger.git
n=0
for c in $(git --git-dir="$git_dir" rev-list --all); do
    GNUPGHOME=$root/patient/gnupg git --git-dir="$git_dir" verify-commit "$c" 2>/dev/null ||
        fail "event $c does not verify with git"
    n=$((n + 1))
done
say "  $n events, each with a good signature by its author"

step "6. the patient's audit: every access verified, each fetch also in the reader's own signed request"
# the relay's servings to the patient are the last reports to arrive
wait_until "the relay's last reports reach the patient" 0.5 mrx_at patient audit "$short"
run_at patient audit "$short" || fail "the patient's audit flags a line of an honest exchange"

events=$(jq '.events | length' "$root/pat.json")
current="done"
summary="demo complete in $((SECONDS - started)) s: 4 nodes, 4 bundles relayed by a facilitator that could read none, $events signed events in the patient's view"
