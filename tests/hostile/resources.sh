#!/usr/bin/env bash
# Hostile clients: what one authenticated node can make the relay hold.
# A measurement, not a test (it judges nothing; docs/RELIABILITY.md has the
# figures): no per-node quota exists today, so both grow with the attack.
#   hoard        snd.00 submits COUNT genuine envelopes of PAYLOAD bytes to
#                sink.x, a roster node that never connects: the relay keeps
#                a copy of each undelivered envelope in memory. Its RSS
#                before, after, and after a restart (the queue is rebuilt
#                with every envelope again); the log's size on disk.
#   checkpoints  mallory.x, N times: 100 random bytes (refused: the log
#                grows by a refused record), then a checkpoint request:
#                each request signs, writes and fsyncs a new checkpoint
#                file. Files in DIR/checkpoints before and after.
# Usage: resources.sh BUILD_DIR [COUNT] [PAYLOAD] [N] [RATE]
#        (defaults 2000 envelopes of 200000 bytes, 50 checkpoint requests,
#        RATE 0 = as fast as the relay answers; the relay's per-node rate
#        limit refuses most of them then: RATE 45 stays under it)
set -u
B=$(realpath "$1") COUNT=${2:-2000} PAYLOAD=${3:-200000} NCP=${4:-50} RATE=${5:-0}
KEYS=$B/keys/renraku-keys RELAY=$B/relay/renraku-relay L=$B/bench/loadgen
T=$B/tests/testnode
W=$(mktemp -d /tmp/rk-res-XXXXXX)
RPID=
cleanup() {
    [ -n "$RPID" ] && kill -9 "$RPID" 2>/dev/null
    rm -rf "$W"
}
trap cleanup EXIT
for f in "$KEYS" "$RELAY" "$L" "$T"; do
    [ -x "$f" ] || { echo "resources.sh: $f is not built"; exit 2; }
done
until_ok() {
    local end=$((SECONDS + $1))
    shift
    while ((SECONDS < end)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.05; done
    return 1
}

cd "$W" || exit 1
nb="--not-before 2020-01-01T00:00:00Z"
"$KEYS" gen --id coordinator --role coordinator --out keys >/dev/null || exit 1
"$KEYS" roster init roster.json --framework resources >/dev/null
for n in relay.test snd.00 sink.x mallory.x; do
    role=partner
    [ $n = relay.test ] && role=relay
    "$KEYS" gen --id $n --role $role --out keys >/dev/null || exit 1
    "$KEYS" roster add roster.json --pub keys/$n.pub --country JP --org "$n" $nb >/dev/null || exit 1
done
"$KEYS" roster sign roster.json --key keys/coordinator.key --out roster.signed >/dev/null || exit 1
VKEY=$("$RELAY" --print-vkey --key keys/relay.test.key)
BIND=tcp://127.0.0.1:0
start_relay() {
    rm -f ep
    "$RELAY" --key keys/relay.test.key --roster roster.signed --coordinator keys/coordinator.pub \
        --data data --bind "$BIND" --endpoint-file ep --log-level warn >>relay.log 2>&1 &
    RPID=$!
    until_ok 120 grep -q tcp:// ep || { echo "resources.sh: the relay did not start"; tail relay.log; exit 1; }
    EP=$(cat ep)
    BIND=$EP
}
stop_relay() {
    kill -TERM "$RPID"
    wait "$RPID" 2>/dev/null
    RPID=
}
rss_mb() { awk '/^VmRSS:/ { printf "%.0f", $2 / 1024 }' "/proc/$RPID/status"; }
ms() { date +%s%3N; }

start_relay
rss0=$(rss_mb)
"$L" --keys keys --roster roster.signed --coordinator keys/coordinator.pub --relay "$EP" \
    --relay-pub keys/relay.test.pub --senders 1 --recipients 0 --to sink.x \
    --count "$COUNT" --payload "$PAYLOAD" --window 64 --rate "$RATE" --timeout-ms 600000 >load.json 2>&1
stored=$(grep -o '"stored":[0-9]*' load.json | head -1 | cut -d: -f2)
refused=$(grep -o '"rejected":[0-9]*' load.json | head -1 | cut -d: -f2)
first=$(grep -o '"first_reject":"[^"]*"' load.json | head -1 | cut -d'"' -f4)
rate=$(grep -o '"rate":[0-9.]*' load.json | head -1 | cut -d: -f2)
rss1=$(rss_mb)
log_mb=$(du -sm data/log | cut -f1)
stop_relay
t2=$(ms)
start_relay
t3=$(ms)
rss2=$(rss_mb)
echo "hoard: snd.00 stored ${stored:-?} of $COUNT envelopes (refused ${refused:-?}${first:+, first: $first}) of $PAYLOAD bytes for sink.x (offline) at ${rate:-?} msg/s;" \
    "relay RSS ${rss0} MB -> ${rss1} MB; log ${log_mb} MB; after a restart (ready in $((t3 - t2)) ms) RSS ${rss2} MB"

cp0=$(ls data/checkpoints | wc -l)
for ((i = 0; i < NCP; i++)); do
    "$T" raw --random 100 --key keys/mallory.x.key --roster roster.signed \
        --coordinator keys/coordinator.pub --relay "$EP" --relay-pub keys/relay.test.pub >/dev/null 2>&1
    "$T" checkpoint --relay-vkey "$VKEY" --key keys/mallory.x.key --roster roster.signed \
        --coordinator keys/coordinator.pub --relay "$EP" --relay-pub keys/relay.test.pub >/dev/null 2>&1
done
cp1=$(ls data/checkpoints | wc -l)
echo "checkpoints: $NCP requests from mallory.x, each after a refused frame: checkpoint files $cp0 -> $cp1"
stop_relay
printf '{"resources":{"hoard_count":%s,"hoard_payload":%s,"stored":%s,"rate":%s,"rss_mb_before":%s,"rss_mb_after":%s,"rss_mb_after_restart":%s,"log_mb":%s,"checkpoint_requests":%s,"checkpoint_files_before":%s,"checkpoint_files_after":%s}}\n' \
    "$COUNT" "$PAYLOAD" "${stored:-0}" "${rate:-0}" "$rss0" "$rss1" "$rss2" "$log_mb" "$NCP" "$cp0" "$cp1"
