#!/usr/bin/env bash
# Chaos: the relay is unreachable for a while (SIGSTOP, then SIGCONT) while
# a partner keeps sending. Everything queued on the sender's side must be
# delivered afterwards, exactly once and in the order it was sent.
# Usage: outage.sh BUILD_DIR [SECONDS]   (CI: 20; long run: 300)
set -u
B=$(realpath "$1") OUTAGE=${2:-20}
KEYS=$B/keys/renraku-keys RELAY=$B/relay/renraku-relay
D=$B/clients/renrakud R=$B/clients/renraku
W=$(mktemp -d /tmp/rk-outage-XXXXXX)
PIDS=()
pass=0 fail=0
cleanup() {
    for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -CONT "$p" 2>/dev/null && kill -9 "$p" 2>/dev/null; done
    rm -rf "$W"
}
trap cleanup EXIT
ok() { pass=$((pass + 1)); echo "ok: $1"; }
bad() { fail=$((fail + 1)); echo "FAIL: $1"; }
until_ok() {
    local end=$((SECONDS + $1))
    shift
    while ((SECONDS < end)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.05; done
    return 1
}

cd "$W" || exit 1
nb="--not-before 2020-01-01T00:00:00Z"
"$KEYS" gen --id coordinator --role coordinator --out keys >/dev/null
"$KEYS" gen --id relay.test --role relay --out keys >/dev/null
for n in jp.nisc us.cisa; do "$KEYS" gen --id $n --role partner --out keys >/dev/null; done
"$KEYS" roster init roster.json --framework outage >/dev/null
for n in relay.test jp.nisc us.cisa; do
    "$KEYS" roster add roster.json --pub keys/$n.pub --country JP --org "$n" $nb >/dev/null
done
"$KEYS" roster sign roster.json --key keys/coordinator.key --out roster.signed >/dev/null
"$RELAY" --key keys/relay.test.key --roster roster.signed --coordinator keys/coordinator.pub \
    --data data --bind tcp://127.0.0.1:0 --endpoint-file ep >relay.log 2>&1 &
RPID=$!
PIDS+=($RPID)
until_ok 10 grep -q tcp:// ep || { bad "relay starts"; exit 1; }
EP=$(cat ep)
for n in jp.nisc us.cisa; do
    "$D" --key keys/$n.key --roster roster.signed --coordinator keys/coordinator.pub \
        --state st-$n --relay "$EP" --resubmit-ms 2000 >$n.log 2>&1 &
    PIDS+=($!)
done
connected() { "$R" --state "st-$1" status --json | tr -d ' \n' | grep -q '"connected":true'; }
until_ok 10 connected jp.nisc && until_ok 10 connected us.cisa || bad "daemons connect"

kill -STOP "$RPID"
start=$SECONDS
i=0
: >queued.txt
# Keep sending through the outage (pacing load: one notice a second).
while ((SECONDS - start < OUTAGE)); do
    "$R" --state st-jp.nisc send --to us.cisa --title "during the outage $i" |
        sed -n 's/^queued \([0-9a-f]*\).*/\1/p' >>queued.txt
    i=$((i + 1))
    sleep 1
done
"$R" --state st-jp.nisc status >st.out 2>&1
grep -Eq '^Outbox +[1-9]' st.out && ok "during the outage the notices wait in the sender's outbox" ||
    { bad "during the outage the notices wait in the sender's outbox"; cat st.out; }
kill -CONT "$RPID"
nq=$(wc -l <queued.txt)
all_in() {
    "$R" --state st-us.cisa inbox --json >inbox.json 2>/dev/null || return 1
    while read -r m; do grep -q "\"msg_id\": \"$m\"" inbox.json || return 1; done <queued.txt
}
until_ok 90 all_in && ok "after $OUTAGE s unreachable, all $nq notices are delivered" ||
    bad "after the outage, not every notice was delivered"
dups=$(grep -o '"msg_id": "[0-9a-f]*"' inbox.json | sort | uniq -d | wc -l)
[ "$dups" = 0 ] && ok "none twice" || bad "duplicated: $dups"
# In order per sender: the relay's log order (relay_index) follows the
# order they were queued.
python3 - queued.txt inbox.json >order.out <<'PY'
import json, sys
q = [l.strip() for l in open(sys.argv[1]) if l.strip()]
inbox = {m["msg_id"]: m["relay_index"] for m in json.load(open(sys.argv[2]))}
idx = [inbox[m] for m in q]
print("in-order" if idx == sorted(idx) else "out-of-order %s" % idx)
PY
grep -q '^in-order' order.out && ok "in the order they were sent" || { bad "order"; cat order.out; }
for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
PIDS=()
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
