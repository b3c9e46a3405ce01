#!/usr/bin/env bash
# bench.smoke (CTest): keeps the benchmark harness from rotting. Starts a
# relay on 127.0.0.1 (ephemeral port, fresh test keys), runs bench/loadgen
# for about a second and checks that it reports a non-zero rate with every
# submit stored. Not a benchmark: no figure is kept.
# Usage: smoke.sh RENRAKU_KEYS RENRAKU_RELAY LOADGEN
set -u
KEYS=$(realpath "$1") RELAY=$(realpath "$2") LG=$(realpath "$3")
W=$(mktemp -d /tmp/rk-bench-smoke-XXXXXX)
RPID=
cleanup() {
    [ -n "$RPID" ] && kill -9 "$RPID" 2>/dev/null
    rm -rf "$W"
}
trap cleanup EXIT
cd "$W" || exit 1
nb="--not-before 2020-01-01T00:00:00Z"
"$KEYS" gen --id coordinator --role coordinator --out keys >/dev/null || exit 1
"$KEYS" roster init roster.json --framework smoke >/dev/null || exit 1
for n in relay.bench snd.00 rcv.offline rcv.000; do
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
    exit 0
fi
echo "FAIL: loadgen (rc=$rc)"
tail -20 relay.log
exit 1
