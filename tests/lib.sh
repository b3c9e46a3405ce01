# tests/lib.sh: sourced by the chaos and hostile scripts (tests/chaos/,
# tests/hostile/). Counting checks, and polling an event in a bounded loop
# rather than sleeping a guess. The script sets pass=0 fail=0 and ends with
# its own summary.

ok() { pass=$((pass + 1)); echo "ok: $1"; }
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
