#!/usr/bin/env bash
# libfuzzer.sh: build each fuzz target with clang's libFuzzer, ASan and
# UBSan (the mrx sources it needs compiled in, instrumented), then fuzz it
# for FUZZ_SECONDS from a copy of its seed corpus. New inputs stay in
# ./fuzz-out/NAME; a crash is kept there as crash-* and fails the run.
set -euo pipefail
: "${MRX_SRCDIR:?}" "${FUZZ_SECONDS:=60}"
command -v clang >/dev/null || { echo "make fuzz needs clang (apt-get install clang)" >&2; exit 2; }
src=$MRX_SRCDIR
flags="-g -O1 -fsanitize=fuzzer,address,undefined -include config.h -I. -I$src/keys -I$src/proto
 $(pkg-config --cflags gpgme jansson libcrypto libzmq libczmq)"
libs="$(pkg-config --libs gpgme jansson libcrypto libzmq libczmq libarchive libzstd) -pthread"
common="$src/keys/mrx_error.c $src/keys/mrx_text.c $src/keys/mrx_fs.c $src/keys/mrx_sha256.c
 $src/keys/mrx_pgp.c $src/keys/mrx_curve.c $src/keys/mrx_cert.c $src/proto/mrx_manifest.c
 $src/proto/mrx_config.c $src/proto/mrx_control.c $src/proto/mrx_wire.c"
status=0
for name in manifest config text control wire; do
    out=fuzz-out/$name
    mkdir -p "$out"
    cp -n "$src/tests/fuzz/corpus/$name"/* "$out/" 2>/dev/null || true
    # shellcheck disable=SC2086
    clang $flags -o "fuzz-out/lf_$name" "$src/tests/fuzz/fuzz_$name.c" $common $libs
    echo "== fuzzing $name for ${FUZZ_SECONDS}s"
    if ! (cd "$out" && "../lf_$name" -max_total_time="$FUZZ_SECONDS" -max_len=65536 . \
        >"../$name.log" 2>&1); then
        tail -n 30 "fuzz-out/$name.log"
        status=1
    else
        tail -n 1 "fuzz-out/$name.log"
    fi
done
exit $status
