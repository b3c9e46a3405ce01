#!/usr/bin/env bash
# bench.smoke (CTest): keeps the benchmark harness from rotting. Starts a
# relay on 127.0.0.1 (ephemeral port, fresh test keys), runs bench/loadgen
# for about a second and checks that it reports a non-zero rate with every
# submit stored; then the same into a real node's inbox (renrakud as the
# recipient, loadgen --notice --inbox), as bench.sh measures (4c). Not a
# benchmark: no figure is kept.
# Usage: smoke.sh RENRAKU_KEYS RENRAKU_RELAY LOADGEN RENRAKUD
set -u
KEYS=$(realpath "$1") RELAY=$(realpath "$2") LG=$(realpath "$3")
D=$(realpath "$4")
W=$(mktemp -d /tmp/rk-bench-smoke-XXXXXX)
RPID= NPID=
cleanup() {
    [ -n "$RPID" ] && kill -9 "$RPID" 2>/dev/null
    [ -n "$NPID" ] && kill -9 "$NPID" 2>/dev/null
    rm -rf "$W"
}
trap cleanup EXIT
cd "$W" || exit 1
nb="--not-before 2020-01-01T00:00:00Z"
"$KEYS" gen --id coordinator --role coordinator --out keys >/dev/null || exit 1
"$KEYS" roster init roster.json --framework smoke >/dev/null || exit 1
for n in relay.bench snd.00 rcv.offline rcv.000 rcv.001; do
    role=partner
    [ $n = relay.bench ] && role=relay
    "$KEYS" gen --id $n --role $role --out keys >/dev/null || exit 1
    "$KEYS" roster add roster.json --pub keys/$n.pub --country JP --org Smoke $nb >/dev/null || exit 1
done
"$KEYS" roster sign roster.json --key keys/coordinator.key --out roster.signed >/dev/null || exit 1
"$RELAY" --key keys/relay.bench.key --roster roster.signed \
    --coordinator keys/coordinator.pub --data data --bind tcp://127.0.0.1:0 \
    --endpoint-file ep --rate-limit 0 >relay.log 2>&1 &
RPID=$!
for ((i = 0; i < 200; i++)); do grep -q tcp:// ep 2>/dev/null && break; sleep 0.05; done
grep -q tcp:// ep 2>/dev/null || { echo "FAIL: relay did not start"; cat relay.log; exit 1; }
out=$("$LG" --keys keys --roster roster.signed --coordinator keys/coordinator.pub \
    --relay-pub keys/relay.bench.pub --relay "$(cat ep)" --senders 1 \
    --recipients 1 --count 2000 --relay-pid "$RPID" --timeout-ms 30000)
rc=$?
echo "$out"
if [ $rc -eq 0 ] && echo "$out" | grep -q '"ok":true' &&
    echo "$out" | grep -q '"stored":2000,' &&
    echo "$out" | grep -Eq '"rate":[1-9][0-9]*\.'; then
    echo "ok: loadgen stored every submit at a non-zero rate"
else
    echo "FAIL: loadgen (rc=$rc)"
    tail -20 relay.log
    exit 1
fi

lg() {
    "$LG" --keys keys --roster roster.signed --coordinator keys/coordinator.pub \
        --relay-pub keys/relay.bench.pub --relay "$(cat ep)" "$@"
}
# Wrong flags are refused as usage errors (exit 2), before any work.
lg --recipients 1 --inbox node/inbox --count 10 >/dev/null 2>&1
[ $? -eq 2 ] || { echo "FAIL: --inbox with bench recipients is not refused"; exit 1; }
lg --mode fanout --inbox node/inbox >/dev/null 2>&1
[ $? -eq 2 ] || { echo "FAIL: --inbox in fan-out mode is not refused"; exit 1; }
out=$(lg --recipients 0 --to rcv.000 --inbox no/such/dir --count 10 2>&1)
[ $? -eq 1 ] && echo "$out" | grep -q -- "--inbox no/such/dir" ||
    { echo "FAIL: a missing inbox folder is not named: $out"; exit 1; }
echo "ok: loadgen refuses wrong --inbox use with a clear error"

# Into a real node's inbox.
"$D" --key keys/rcv.001.key --roster roster.signed --coordinator keys/coordinator.pub \
    --state node --relay "$(cat ep)" >node.log 2>&1 &
NPID=$!
for ((i = 0; i < 200; i++)); do grep -q event=welcome node.log && break; sleep 0.05; done
grep -q event=welcome node.log || { echo "FAIL: renrakud got no welcome"; cat node.log; exit 1; }
out=$(lg --senders 1 --recipients 0 --to rcv.001 --notice --inbox node/inbox \
    --count 50 --rate 200 --window 1000 --timeout-ms 30000)
rc=$?
echo "$out"
kill -TERM "$NPID"
wait "$NPID" || { echo "FAIL: renrakud did not stop cleanly"; tail node.log; exit 1; }
NPID=
n=$(find node/inbox -name '*.json' | wc -l)
q=$(find node/quarantine -name '*.json' | wc -l)
if [ $rc -eq 0 ] && echo "$out" | grep -q '"in_inbox":50,' &&
    echo "$out" | grep -Eq '"inbox_p99_ms":[0-9]' && [ "$n" -eq 50 ] && [ "$q" -eq 0 ]; then
    echo "ok: 50 notices opened and kept in the node's inbox, each timed"
    exit 0
fi
echo "FAIL: node inbox run (rc=$rc, $n in the inbox, $q quarantined)"
tail -20 node.log
exit 1
