# tests/lib.sh: sourced by the chaos and hostile scripts (tests/chaos/,
# tests/hostile/). Counting checks, and polling an event in a bounded loop
# rather than sleeping a guess; a work dir cleaned up at exit. The script
# sets pass=0 fail=0 (chaos_workdir does too) and ends with
# its own summary.

ok() { pass=$((pass + 1)); echo "ok: $1"; }
# count PATTERN FILE: lines of FILE matching PATTERN (0 without any, or
# without the file).
count() {
    local n
    n=$(grep -c -- "$1" "$2" 2>/dev/null)
    echo "${n:-0}"
}
# chaos_workdir NAME: makes W (/tmp/rk-NAME-XXXXXX, its real path) and
# sets PIDS=() RPID= LOAD= pass=0 fail=0. At exit (or TERM, INT) it stops
# LOAD, kills every PIDS and RPID, and removes W, or keeps it with KEEP=1
# (and says where).
chaos_workdir() {
    W=$(mktemp -d "/tmp/rk-$1-XXXXXX") || exit 1
    W=$(realpath "$W")
    PIDS=() RPID= LOAD= pass=0 fail=0
    trap chaos_cleanup EXIT
    trap 'exit 1' TERM INT
}
chaos_cleanup() {
    [ -n "${LOAD:-}" ] && kill "$LOAD" 2>/dev/null
    for p in "${PIDS[@]:-}" ${RPID:-}; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null; done
    if [ -n "${KEEP:-}" ]; then echo "kept $W"; else rm -rf "$W"; fi
}
bad() { fail=$((fail + 1)); echo "FAIL: $1"; }
# until_ok SECONDS CMD...: runs CMD every 50 ms until it succeeds (0) or
# at least SECONDS have passed (1; SECONDS counts whole seconds, hence +1).
until_ok() {
    local end=$((SECONDS + $1 + 1))
    shift
    while ((SECONDS < end)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.05; done
    return 1
}
# skip_unless_preloads WHAT CMD...: runs CMD --help (CMD starting with env
# LD_PRELOAD=SHIM ...); when the shim cannot be loaded (or ASan refuses
# it), says so naming WHAT and exits 77 (CTest: skipped), not a pass.
skip_unless_preloads() {
    local what=$1
    shift
    if ! "$@" --help >preload.out 2>&1 ||
        grep -qiE 'cannot be preloaded|ERROR: AddressSanitizer' preload.out; then
        echo "SKIP: the $what cannot be preloaded here:"
        sed 's/^/  | /' preload.out | head -5
        exit 77
    fi
}
