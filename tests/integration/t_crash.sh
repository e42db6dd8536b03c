#!/usr/bin/env bash
# t_crash: kill -9 of mrxd during an add, at many points. The client says
# so at once (no hang). Afterwards the ledger passes
# git fsck --strict and mrx's own verification, every file named like a
# bundle is a whole bundle (its SHA-256 is its name), every bundle-added
# event names a stored bundle, and the case goes on working.
. "$MRX_SRCDIR/tests/lib/tap.sh"
plan 9

patient=$(t_node patient patient) || exit 1
id=$(mrx --home "$patient" --json case new --title "crash" | jq -r .id)
git_dir=$patient/cases/$id/ledger.git
store=$patient/cases/$id/bundles
head -c $((24 * 1024 * 1024)) /dev/urandom >"$t_root/scan.bin"

# kill at delays spread over the whole run of an add (about 0.1 to 0.5 s)
told=0 hung=0
for delay in 0.005 0.02 0.04 0.06 0.08 0.1 0.13 0.16 0.2 0.25 0.3 0.4; do
    (exec ${MRX_WRAP:-} "$MRX_BIN" --home "$patient" add "$id" --kind imaging "$t_root/scan.bin" \
        >/dev/null 2>"$t_root/add.err") &
    client=$!
    sleep "$delay"
    kill -9 "$(cat "$patient/mrxd.pid")" 2>/dev/null
    # the client notices within its one-second check
    for ((i = 0; i < 100; i++)); do kill -0 "$client" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$client" 2>/dev/null; then
        hung=$((hung + 1))
        kill -9 "$client"
    fi
    wait "$client" 2>/dev/null
    rc=$?
    # it finished in time, or was told mrxd stopped (or, killed before it
    # asked, that mrxd is not running)
    if ((rc == 0)) || { ((rc == 7)) && grep -qE "mrxd stopped before answering|mrxd is not running" "$t_root/add.err"; }; then
        told=$((told + 1))
    fi
    # gpg children of a killed mrxd may still be finishing
    sleep 0.2
    t_start "$patient" || break
done
((hung == 0)) && ok "no client hangs when mrxd dies under it" || not_ok "clients hung" "$hung"
((told == 12)) && ok "each client finished or said mrxd stopped (exit 7)" ||
    not_ok "clients not told" "$told of 12" "$(cat "$t_root/add.err")"

check "git fsck --strict accepts the ledger after every kill" \
    git --git-dir="$git_dir" fsck --strict --no-dangling
check "mrx verifies the whole history after every kill" mrx --home "$patient" case show "$id"
bad=0
for f in "$store"/*.mrx; do
    [[ -e $f ]] || continue
    [[ $(sha256sum "$f" | cut -d' ' -f1).mrx == "$(basename "$f")" ]] || bad=$((bad + 1))
done
((bad == 0)) && ok "every stored bundle is whole (its SHA-256 is its name)" ||
    not_ok "half-written bundles under bundle names" "$bad"
missing=0
for b in $(git --git-dir="$git_dir" log --format=%B --all | sed -n 's/^bundle: //p' | sort -u); do
    [[ -f $store/$b.mrx ]] || missing=$((missing + 1))
done
((missing == 0)) && ok "every bundle-added event names a stored bundle" ||
    not_ok "events name missing bundles" "$missing"
# leftovers of the killed writers: make them old; one is held by a live
# process, as a writer at work would hold it (under valgrind every kill may
# land before the store exists)
mkdir -p "$store"
for f in "$store"/.bundle.tmp-*; do [[ -e $f ]] && touch -d '1 hour ago' "$f"; done
touch -d '1 hour ago' "$store/.bundle.tmp-live"
flock "$store/.bundle.tmp-live" sleep 5 &
holder=$!
sleep 0.3
# what libgit2 leaves when killed while moving the feed: its ref's lock file
pfpr=$(fpr_of "$patient")
touch "$git_dir/refs/feeds/$pfpr.lock"
check "the case goes on working" mrx --home "$patient" add "$id" --kind records "$MRX_TESTDATA/docs/Bundle-father.json"
[[ $(ls -A "$store" | grep -c '^\.bundle\.tmp-') == 1 ]] &&
    ok "the next add removes what killed writers left" || not_ok "leftovers remain" "$(ls -A "$store")"
[[ -e $store/.bundle.tmp-live ]] && ok "a file a live writer holds is kept" || not_ok "a live writer's file was removed"
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
done_testing
