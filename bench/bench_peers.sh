#!/usr/bin/env bash
# Issue 7 figures 2 and 3, side by side in one run: the relay with
# `--verify-at recipients` (mode 2) against a bare CurveZMQ ROUTER forwarder
# (bench/fwd, the transport limit), and against two peer brokers from
# Debian's packages, mosquitto (QoS 1, persistence on) and nats-server
# (JetStream, file storage, acked publish). One publisher and one
# subscriber each, the same payload size, the same window, RUNS rounds in
# which every system runs once. Appends JSON lines to RESULTS (bench.sh's
# results file); report.py makes the rows.
#   bench_peers.sh BUILD_DIR [RESULTS.jsonl]     QUICK=1 for the short run
# Run by bench/bench.sh (make bench), or alone. Its own keys in its own
# dir (BENCH_DIR, default /var/tmp); everything on 127.0.0.1 with ephemeral
# ports; every wait bounded; every process it starts is stopped on exit.
# Needs python3 (a free port for mosquitto, which cannot bind port 0).

set -u
B=$(realpath "$1")
KEYS=$B/keys/renraku-keys RELAY=$B/relay/renraku-relay LG=$B/bench/loadgen
QUICK=${QUICK:-}
if [ -n "$QUICK" ] && [ "$QUICK" != 0 ]; then MODE=quick RUNS=3; else MODE=full RUNS=5; fi
W=$(mktemp -d "${BENCH_DIR:-/var/tmp}/rk-peers-XXXXXX")
RES=${2:-$W/results.jsonl}
RES=$(realpath -m "$RES")
cleanup() {
    jobs -p | xargs -r kill -9 2>/dev/null
    rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
say() { echo "bench_peers: $*" >&2; }
die() {
    say "FAILED: $*"
    for f in "$W"/*.log; do [ -s "$f" ] && { echo "== $f" >&2; tail -5 "$f" >&2; }; done
    exit 1
}
emit() { echo "$1" >>"$RES"; }
HERE=$(dirname "$(realpath "$0")")
# shellcheck source=bench/prof.sh
. "$HERE/prof.sh"
lg() {
    "$LG" --keys keys --roster roster.signed --coordinator keys/coordinator.pub \
        --relay-pub keys/relay.bench.pub "$@"
}
cd "$W" || exit 1
nb="--not-before 2020-01-01T00:00:00Z"
"$KEYS" gen --id coordinator --role coordinator --out keys >/dev/null || die keys
"$KEYS" roster init roster.json --framework bench >/dev/null || die roster
for n in relay.bench snd.00 rcv.000; do
    role=partner
    [ $n = relay.bench ] && role=relay
    "$KEYS" gen --id $n --role $role --out keys >/dev/null || die "gen $n"
    "$KEYS" roster add roster.json --pub keys/$n.pub --country JP --org Bench $nb >/dev/null || die "add $n"
done
"$KEYS" roster sign roster.json --key keys/coordinator.key --out roster.signed >/dev/null || die sign

# ---- sizes: one publisher, one subscriber, 1 KiB, the window of (1) ----
if [ "$MODE" = quick ]; then PEER_COUNT=${PEER_COUNT:-5000}; else PEER_COUNT=${PEER_COUNT:-20000}; fi
PEER_PAYLOAD=1024 PEER_WINDOW=256 PEER_CREDIT=1024
FWD=$B/bench/fwd MQB=$B/bench/mqtt_bench NB=$B/bench/nats_bench
PEER_T0=$(date +%s)

peer_stop() { # PID: TERM, a bounded wait, then KILL
    local i
    [ -n "$1" ] || return 0
    kill -TERM "$1" 2>/dev/null
    for ((i = 0; i < 100; i++)); do kill -0 "$1" 2>/dev/null || break; sleep 0.05; done
    kill -9 "$1" 2>/dev/null
    wait "$1" 2>/dev/null
}
peer_await_ep() { # FILE PID NAME: waits for an endpoint file, sets PEP
    local i
    for ((i = 0; i < 600; i++)); do
        grep -q tcp:// "$1" 2>/dev/null && { PEP=$(cat "$1"); return 0; }
        kill -0 "$2" 2>/dev/null || die "$3 exited"
        sleep 0.05
    done
    die "$3 did not start within 30 s"
}
peer_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
peer_await_port() { # PORT PID: 0 once something accepts on 127.0.0.1:PORT
    local i
    for ((i = 0; i < 200; i++)); do
        kill -0 "$2" 2>/dev/null || return 1
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}
peer_missing() { # SYSTEM WHY: the report's row says why it was not measured
    emit "{\"figure\":\"peer_missing\",\"system\":\"$1\",\"why\":\"$2\"}"
    say "$1 not measured: $2"
}

# ---- the relay in mode 2, and the bare forwarder ----
"$RELAY" --help 2>&1 | grep -q -- '--verify-at' || die "the relay has no --verify-at"
[ -x "$FWD" ] || die "$FWD is not built"
rm -f "$W/ep2" "$W/epf"
"$RELAY" --key keys/relay.bench.key --roster roster.signed \
    --coordinator keys/coordinator.pub --data "$W/data2" --bind tcp://127.0.0.1:0 \
    --endpoint-file "$W/ep2" --verify-at recipients --rate-limit 0 >>"$W/relay2.log" 2>&1 &
P2PID=$!
"$FWD" --key keys/relay.bench.key --bind tcp://127.0.0.1:0 \
    --endpoint-file "$W/epf" >"$W/fwd.out" 2>"$W/fwd.log" &
FPID=$!
peer_await_ep "$W/ep2" "$P2PID" "relay (--verify-at recipients)"
EP2=$PEP
peer_await_ep "$W/epf" "$FPID" "fwd"
EPF=$PEP

# ---- mosquitto: QoS 1, persistence on, a generated config ----
MPID= MPORT=
if ! command -v mosquitto >/dev/null 2>&1; then
    peer_missing mosquitto "mosquitto is not installed (scripts/deps.sh bench)"
elif [ ! -x "$MQB" ]; then
    peer_missing mosquitto "bench/mqtt_bench is not built (libmosquitto-dev missing at configure time)"
else
    mkdir -p "$W/mosq"
    for try in 1 2 3; do
        MPORT=$(peer_free_port)
        cat >"$W/mosquitto.conf" <<EOF
listener $MPORT 127.0.0.1
allow_anonymous true
persistence true
persistence_location $W/mosq/
max_inflight_messages $PEER_CREDIT
max_queued_messages 0
set_tcp_nodelay true
log_dest file $W/mosquitto.log
user $(id -un)
EOF
        mosquitto -c "$W/mosquitto.conf" >>"$W/mosquitto.out" 2>&1 &
        MPID=$!
        peer_await_port "$MPORT" "$MPID" && break
        peer_stop "$MPID"
        MPID=
    done
    [ -n "$MPID" ] || peer_missing mosquitto "the broker did not start: $(tail -1 "$W/mosquitto.log" 2>/dev/null | tr -d '"\\')"
fi

# ---- nats-server: JetStream with file storage ----
NPID= NURL=
if ! command -v nats-server >/dev/null 2>&1; then
    peer_missing nats "nats-server is not installed (scripts/deps.sh bench)"
elif [ ! -x "$NB" ]; then
    peer_missing nats "bench/nats_bench is not built (libnats-dev missing at configure time)"
else
    mkdir -p "$W/nats" "$W/nports"
    nats-server -a 127.0.0.1 -p -1 -js -sd "$W/nats" --ports_file_dir "$W/nports" \
        -l "$W/nats.log" &
    NPID=$!
    for ((i = 0; i < 200; i++)); do
        NURL=$(grep -o 'nats://127.0.0.1:[0-9]*' "$W/nports/"*.ports 2>/dev/null | head -1)
        [ -n "$NURL" ] && break
        kill -0 "$NPID" 2>/dev/null || break
        sleep 0.05
    done
    if [ -z "$NURL" ]; then
        peer_missing nats "the server did not start: $(tail -1 "$W/nats.log" 2>/dev/null | tr -d '"\\')"
        peer_stop "$NPID"
        NPID=
    fi
fi

emit "{\"figure\":\"peers_meta\",\"data\":{\"count\":$PEER_COUNT,\"payload\":$PEER_PAYLOAD,\"window\":$PEER_WINDOW,\"credit\":$PEER_CREDIT,\
\"mosquitto\":\"$(mosquitto -h 2>/dev/null | head -1 | grep -o '[0-9][0-9.]*' | head -1)\",\
\"libmosquitto\":\"$(pkg-config --modversion libmosquitto 2>/dev/null)\",\
\"nats_server\":\"$(nats-server --version 2>/dev/null | grep -o '[0-9][0-9.]*' | head -1)\",\
\"libnats\":\"$(pkg-config --modversion libnats 2>/dev/null)\"}}"

# ---- the rounds: every system once per round ----
for ((r = 0; r < RUNS; r++)); do
    j=$(lg --relay "$EP2" --mode load --senders 1 --recipients 1 \
        --count "$PEER_COUNT" --window $PEER_WINDOW --credit $PEER_CREDIT \
        --payload $PEER_PAYLOAD --relay-pid "$P2PID" --timeout-ms 120000) ||
        die "relay mode 2 run $r: $j"
    emit "{\"figure\":\"mode2\",\"run\":$r,\"data\":$j}"
    say "mode 2 run $r: $(echo "$j" | grep -o '"rate":[0-9.]*')"
    j=$(lg --proto fwd --relay "$EPF" --mode load --senders 1 --recipients 1 \
        --count "$PEER_COUNT" --window $PEER_WINDOW --credit $PEER_CREDIT \
        --payload $PEER_PAYLOAD --relay-pid "$FPID" --timeout-ms 120000) ||
        die "fwd run $r: $j"
    emit "{\"figure\":\"fwd\",\"run\":$r,\"data\":$j}"
    say "fwd run $r: $(echo "$j" | grep -o '"rate":[0-9.]*')"
    if [ -n "$MPID" ]; then
        j=$("$MQB" --port "$MPORT" --count "$PEER_COUNT" --window $PEER_WINDOW \
            --payload $PEER_PAYLOAD --broker-pid "$MPID" --timeout-ms 120000) ||
            die "mosquitto run $r: $j"
        emit "{\"figure\":\"mosquitto\",\"run\":$r,\"data\":$j}"
        say "mosquitto run $r: $(echo "$j" | grep -o '"rate":[0-9.]*')"
    fi
    if [ -n "$NPID" ]; then
        j=$("$NB" --url "$NURL" --count "$PEER_COUNT" --window $PEER_WINDOW \
            --credit $PEER_CREDIT --payload $PEER_PAYLOAD --server-pid "$NPID" \
            --timeout-ms 120000) || die "nats run $r: $j"
        emit "{\"figure\":\"nats\",\"run\":$r,\"data\":$j}"
        say "nats run $r: $(echo "$j" | grep -o '"rate":[0-9.]*')"
    fi
done
# One more mode-2 run under perf, not counted above: what limits (2), (3).
prof_run mode2 "$P2PID" lg --relay "$EP2" --mode load --senders 1 --recipients 1 \
    --count "$PEER_COUNT" --window $PEER_WINDOW --credit $PEER_CREDIT \
    --payload $PEER_PAYLOAD --timeout-ms 120000

peer_stop "$P2PID"
peer_stop "$FPID"
peer_stop "$MPID"
peer_stop "$NPID"
P2PID= FPID= MPID= NPID=
say "peers: $RUNS rounds in $(($(date +%s) - PEER_T0)) s"
