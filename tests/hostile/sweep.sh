#!/usr/bin/env bash
# Each attack of tests/hostile/hostile alone, SECONDS each (a fresh relay per
# run, through tests/chaos/hostile.sh), to see which one slows the honest
# pair down; prints a Markdown table (tests/hostile/report.py sweep).
# Usage: sweep.sh BUILD_DIR [SECONDS]   (default 10; about SECONDS + 15 s
# per attack, 20 attacks)
set -u
B=$(realpath "$1") DUR=${2:-10}
HERE=$(dirname "$(realpath "$0")")
OUT=$(mktemp -d /tmp/rk-sweep-XXXXXX)
trap 'rm -rf "$OUT"' EXIT
rc=0
for a in $("$B/tests/hostile" --list | awk '{print $1}'); do
    HOSTILE_ARGS="--attacks $a" HOSTILE_OUT="$OUT/$a.out" \
        bash "$HERE/../chaos/hostile.sh" "$B" "$DUR" >"$OUT/$a.log" 2>&1 ||
        { rc=1; echo "sweep: $a failed:" >&2; grep FAIL "$OUT/$a.log" >&2; }
done
python3 "$HERE/report.py" sweep "$OUT"/*.out || rc=1
exit $rc
