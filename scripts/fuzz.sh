#!/usr/bin/env bash
# Runs every libFuzzer target for N seconds each, starting from (and adding
# to) a scratch copy of the committed corpus. Usage: fuzz.sh BUILD_DIR SECONDS
set -euo pipefail
build=$1
secs=${2:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
status=0
for bin in "$build"/tests/fuzz/fuzz_*; do
    [ -x "$bin" ] || continue
    name=$(basename "$bin"); name=${name#fuzz_}
    work="$build/fuzz-corpus/$name"
    mkdir -p "$work"
    cp -n "$root/tests/fuzz/corpus/$name"/* "$work"/ 2>/dev/null || true
    echo "== fuzz $name for ${secs}s"
    if ! "$bin" -max_total_time="$secs" -max_len=1100000 \
            -artifact_prefix="$build/fuzz-$name-" "$work"; then
        echo "fuzz $name: FOUND A CRASH (see $build/fuzz-$name-*)"
        status=1
    fi
done
exit $status
