# tests/lib.sh: sourced by the chaos and hostile scripts (tests/chaos/,
# tests/hostile/) and by tests/integration/relay.sh. Counting checks, and polling an event in a bounded loop
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
# LOAD, kills every PIDS and RPID with their children, and removes W, or
# keeps it with KEEP=1 (and says where).
chaos_workdir() {
    W=$(mktemp -d "/tmp/rk-$1-XXXXXX") || exit 1
    W=$(realpath "$W")
    PIDS=() RPID= LOAD= pass=0 fail=0
    trap chaos_cleanup EXIT
    trap 'exit 1' TERM INT
}
# kill_tree PID: ends PID and its children (SIGTERM). A shell function run
# with & is a subshell: ended alone, it leaves the program it runs behind.
kill_tree() {
    pkill -TERM -P "$1" 2>/dev/null
    kill -TERM "$1" 2>/dev/null
}
chaos_cleanup() {
    local p
    [ -n "${LOAD:-}" ] && kill "$LOAD" 2>/dev/null
    # A PID may be a subshell (a shell function run with &): its children
    # first, or they outlive the test.
    for p in "${PIDS[@]:-}" ${RPID:-}; do
        [ -n "$p" ] || continue
        pkill -9 -P "$p" 2>/dev/null
        kill -9 "$p" 2>/dev/null
    done
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
# chaos_start_relay [PRELOAD...]: starts $RELAY in the background, as
# PRELOAD... says (e.g. env LD_PRELOAD=...), with the test keys in keys/,
# roster.signed, data dir data, relay.log, and RELAY_FLAGS; on BIND
# (tcp://127.0.0.1:0 at first, then the port it got, so that nodes find a
# restarted relay). Sets RPID and EP; 1 without an endpoint within 20 s.
chaos_start_relay() {
    rm -f ep
    # shellcheck disable=SC2086 # RELAY_FLAGS: several flags
    "$@" "$RELAY" --key keys/relay.test.key --roster roster.signed \
        --coordinator keys/coordinator.pub --data data \
        --bind "${BIND:-tcp://127.0.0.1:0}" --endpoint-file ep \
        ${RELAY_FLAGS:-} >>relay.log 2>&1 &
    RPID=$!
    until_ok 20 grep -q tcp:// ep || return 1
    EP=$(cat ep)
    BIND=$EP
}
relay_gone() { ! kill -0 "$RPID" 2>/dev/null; }
# chaos_stop_relay: SIGTERM; the relay is gone within 20 s with status 0
# (under ASan a report makes it nonzero): a check.
chaos_stop_relay() {
    local rc
    kill -TERM "$RPID"
    if until_ok 20 relay_gone; then
        wait "$RPID"
        rc=$?
        [ "$rc" = 0 ] && ok "the relay exits 0 after SIGTERM" ||
            { bad "the relay exits 0 after SIGTERM (it exited $rc)"; tail -20 relay.log; }
    else
        bad "the relay stops within 20 s of SIGTERM"
        kill -9 "$RPID"
    fi
    RPID=
}
