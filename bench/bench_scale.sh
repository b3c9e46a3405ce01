#!/usr/bin/env bash
# Figure (8) of issue 7: 2,000 connected nodes on one relay, its RSS and
# heartbeat overhead (make bench runs it from bench.sh). Makes 2,000 node
# identities and the roster with bench/scale gen (through keys/; one
# renraku-keys gen + roster add per node is too slow), signs the roster with
# renraku-keys, then per run starts a fresh relay on 127.0.0.1:0 and runs
# bench/scale run against it. Raises the open-files limit first (the relay
# and the 2,000 client sockets need it) and says what it got.
# Appends one JSON line per run (figure "scale") to RESULTS.jsonl.
# Usage: bench_scale.sh BUILD_DIR RESULTS.jsonl   QUICK=1: 500 nodes, 1 run.
set -u
B=$(realpath "$1")
RES=$(realpath "$2")
KEYS=$B/keys/renraku-keys SC=$B/bench/scale
RELAY=${SCALE_RELAY:-$B/relay/renraku-relay} # another relay build to compare
QUICK=${QUICK:-}
HB_MS=5000
if [ -n "$QUICK" ] && [ "$QUICK" != 0 ]; then
    MODE=quick NODES=${SCALE_NODES:-500} RUNS=1 BASE_S=1 QUIET_S=3 SERVE_S=3
    WHY="quick mode: 500 nodes, not 2,000, and one run"
else
    MODE=full NODES=${SCALE_NODES:-2000} RUNS=${SCALE_RUNS:-3} BASE_S=3
    QUIET_S=15 SERVE_S=10
    WHY=""
fi
BENCH_DIR=${BENCH_DIR:-/var/tmp}
W=$(mktemp -d "$BENCH_DIR/rk-scale-XXXXXX")
# The bench nodes' key files on a tmpfs: identity_save syncs each file,
# and 4,000 syncs on the shared disk took 30 s of the budget. They are
# throw-away bench keys; the relay's data dir stays on BENCH_DIR.
KD=$(mktemp -d "${SCALE_KEYS_DIR:-/dev/shm}/rk-scale-keys-XXXXXX") || KD=$W/nodekeys
RPID=
FAILED=0
T_START=$(date +%s)

cleanup() {
    [ -n "$RPID" ] && kill -9 "$RPID" 2>/dev/null
    [ -n "${SPID:-}" ] && kill -9 "$SPID" 2>/dev/null
    jobs -p | xargs -r kill -9 2>/dev/null
    [ -n "${SCALE_KEEP:-}" ] && say "kept $W" || rm -rf "$W"
    rm -rf "$KD"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { echo "bench-scale: $*" >&2; }
die() { say "FAILED: $*"; [ -f "$W/relay.log" ] && tail -20 "$W/relay.log" >&2; exit 1; }
for f in "$KEYS" "$RELAY" "$SC"; do [ -x "$f" ] || die "$f is not built"; done

# The relay holds one file per connection and each client socket two (the
# TCP connection and its mailbox): raise the limit for this shell, so both
# inherit it, as far as the hard limit allows.
FD_WANT=65536
ulimit -n $FD_WANT 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null
FD_GOT=$(ulimit -n)
say "mode=$MODE nodes=$NODES runs=$RUNS open files: asked $FD_WANT, got $FD_GOT"

cd "$W" || exit 1
nb="--not-before 2020-01-01T00:00:00Z"
t0=$(date +%s%N)
"$KEYS" gen --id coordinator --role coordinator --out keys >/dev/null || die "keys"
"$KEYS" gen --id relay.scale --role relay --out keys >/dev/null || die "keys"
"$KEYS" roster init roster.json --framework bench-scale >/dev/null || die "roster"
"$KEYS" roster add roster.json --pub keys/relay.scale.pub --country JP --org Relay $nb >/dev/null || die "roster"
gen=$("$SC" gen --keys "$KD" --roster roster.json --nodes "$NODES") || die "scale gen"
"$KEYS" roster sign roster.json --key keys/coordinator.key --out roster.signed >/dev/null || die "sign"
t1=$(date +%s%N)
KEYS_MS=$(((t1 - t0) / 1000000))
# The per-node CLI for comparison: 20 nodes timed, so the report can say
# how long 2,000 would have taken that way.
t0=$(date +%s%N)
"$KEYS" roster init cli.json --framework cli >/dev/null || die "roster"
for ((i = 0; i < 20; i++)); do
    "$KEYS" gen --id "cli.$i" --role partner --out cli >/dev/null || die "cli gen"
    "$KEYS" roster add cli.json --pub "cli/cli.$i.pub" --country JP --org C $nb >/dev/null || die "cli add"
done
t1=$(date +%s%N)
CLI20_MS=$(((t1 - t0) / 1000000))
say "keys and roster of $NODES nodes: $KEYS_MS ms ($gen); CLI: 20 nodes in $CLI20_MS ms"

start_relay() { # a fresh relay on a fresh data dir: sets RPID and EP
    rm -rf "$W/data" "$W/ep"
    "$RELAY" --key keys/relay.scale.key --roster roster.signed \
        --coordinator keys/coordinator.pub --data "$W/data" \
        --bind tcp://127.0.0.1:0 --endpoint-file "$W/ep" \
        --heartbeat-ms $HB_MS >>"$W/relay.log" 2>&1 &
    RPID=$!
    EP=
    for ((i = 0; i < 600; i++)); do
        grep -q tcp:// "$W/ep" 2>/dev/null && { EP=$(cat "$W/ep"); return 0; }
        kill -0 "$RPID" 2>/dev/null || die "relay exited"
        sleep 0.05
    done
    die "relay did not start within 30 s"
}
stop_relay() {
    kill -TERM "$RPID" 2>/dev/null
    for ((i = 0; i < 200; i++)); do kill -0 "$RPID" 2>/dev/null || break; sleep 0.05; done
    kill -9 "$RPID" 2>/dev/null
    wait "$RPID" 2>/dev/null
    RPID=
}

for ((r = 0; r < RUNS; r++)); do
    start_relay
    j=$("$SC" run --keys "$KD" --roster roster.signed \
        --coordinator keys/coordinator.pub --relay "$EP" \
        --relay-pub keys/relay.scale.pub --relay-pid "$RPID" \
        --control "ipc://$W/data/control.sock" --nodes "$NODES" \
        --heartbeat-ms $HB_MS --baseline-s $BASE_S --quiet-s $QUIET_S \
        --serve-s $SERVE_S --timeout-ms 150000)
    rc=$?
    [ -n "$j" ] || die "scale run $r printed nothing"
    echo "{\"figure\":\"scale\",\"run\":$r,\"runs\":$RUNS,\"mode\":\"$MODE\",\"why\":\"$WHY\",\"fd_limit_asked\":$FD_WANT,\"fd_limit_got\":$FD_GOT,\"keys_ms\":$KEYS_MS,\"cli_20_nodes_ms\":$CLI20_MS,\"gen\":$gen,\"data\":$j}" >>"$RES"
    # A run that missed (a node not welcomed, a reconnection, a notice not
    # delivered) is in the results with ok false; the report says MISSED.
    [ $rc = 0 ] || { say "run $r FAILED: $j"; FAILED=1; }
    say "run $r: $(echo "$j" | grep -o '"connect_all_ms":[0-9.]*\|"hwm_end_kib":[0-9]*\|"heartbeat_cpu_per_s":[-0-9.]*' | tr '\n' ' ')"
    stop_relay
done

# Opt-in, SCALE_PUSH=1 (not in make bench: about a minute, and the relay
# and the clients may take GiBs): with every node connected, a roster
# update (serial + 1, then SIGHUP) that the relay pushes to each of them.
# The clients read every socket meanwhile, as renrakud would.
if [ -n "${SCALE_PUSH:-}" ] && [ "${SCALE_PUSH}" != 0 ]; then
    PUSH_S=${SCALE_PUSH_S:-60}
    start_relay
    "$SC" run --keys "$KD" --roster roster.signed \
        --coordinator keys/coordinator.pub --relay "$EP" \
        --relay-pub keys/relay.scale.pub --relay-pid "$RPID" \
        --control "ipc://$W/data/control.sock" --nodes "$NODES" \
        --heartbeat-ms $HB_MS --baseline-s 1 --quiet-s "$PUSH_S" --drain \
        --ready-file "$W/quiet" --serve-s 5 --timeout-ms $(((PUSH_S + 150) * 1000)) >"$W/push.json" &
    SPID=$!
    for ((i = 0; i < 3000; i++)); do # every node welcomed: 150 s at most
        [ -f "$W/quiet" ] && break
        kill -0 "$SPID" 2>/dev/null || break
        sleep 0.05
    done
    [ -f "$W/quiet" ] || die "push run: the nodes did not all connect"
    sleep 2 # into the quiet period
    "$KEYS" roster sign roster.json --key keys/coordinator.key --out roster.new >/dev/null || die "sign"
    mv roster.new roster.signed
    kill -HUP "$RPID"
    say "roster serial + 1 and SIGHUP with $NODES nodes connected"
    wait "$SPID"
    j=$(cat "$W/push.json")
    [ -n "$j" ] || die "scale push run printed nothing"
    echo "{\"figure\":\"scale_push\",\"run\":0,\"mode\":\"$MODE\",\"quiet_s\":$PUSH_S,\"roster_bytes\":$(wc -c <roster.signed),\"data\":$j}" >>"$RES"
    say "push: $(echo "$j" | grep -o '"quiet_rosters":[0-9]*\|"hwm_end_kib":[0-9]*\|"handshakes_ok_end":[0-9]*' | tr '\n' ' ')"
    stop_relay
fi
say "done in $(($(date +%s) - T_START)) s"
exit $FAILED
