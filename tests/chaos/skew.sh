#!/usr/bin/env bash
# Chaos: a real sending daemon (renrakud) whose wall clock is ahead or
# behind (the LD_PRELOAD shim tests/chaos/skewclock.c), against a relay run
# with --window 120 --skew 60. Each case restarts jp.nisc's daemon with
# another clock offset and sends one notice to us.cisa (normal clock):
#   +50 s  inside the skew    -> stored and delivered
#   +70 s  outside the skew   -> refused `future`
#   -110 s inside the window  -> stored and delivered
#   -130 s outside the window -> refused `stale`
# (10 s margins: the machine is shared and slow at times; the exact
# comparison at the boundary is the replay unit test's job.) A refusal must
# not be silent: the sender's `renraku status` shows the notice rejected
# with the code and reason, its outbox does not keep it, and the relay
# counts it by reason.
# Usage: skew.sh BUILD_DIR SKEWCLOCK.so
# Exit 77 (CTest: skipped) when the shim cannot be preloaded, with why.
set -u
B=$(realpath "$1") SHIM=$(realpath "$2")
KEYS=$B/keys/renraku-keys RELAY=$B/relay/renraku-relay
D=$B/clients/renrakud R=$B/clients/renraku
W=$(mktemp -d /tmp/rk-skew-XXXXXX)
PIDS=() SPID=
pass=0 fail=0
cleanup() {
    for p in "${PIDS[@]:-}" $SPID; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null; done
    if [ -n "${KEEP:-}" ]; then echo "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 1' TERM INT
# shellcheck source=tests/lib.sh
. "$(dirname "$(realpath "${BASH_SOURCE[0]}")")/../lib.sh"
expect() { if grep -Eq -- "$3" "$2"; then ok "$1"; else bad "$1"; sed 's/^/  out| /' "$2" | head -20; fi; }

cd "$W" || exit 1
export ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}verify_asan_link_order=0"
skip_unless_preloads "clock shim (into renrakud)" env LD_PRELOAD="$SHIM" SKEW_MS=1000 "$D"
shifted=$(env LD_PRELOAD="$SHIM" SKEW_MS=-3600000 date +%s) now=$(date +%s)
[ "$((now - shifted))" -ge 3590 ] && [ "$((now - shifted))" -le 3610 ] &&
    ok "the clock shim moves the wall clock (an hour back)" ||
    bad "the clock shim moves the wall clock (an hour back: $shifted, now $now)"
nb="--not-before 2020-01-01T00:00:00Z"
"$KEYS" gen --id coordinator --role coordinator --out keys >/dev/null
"$KEYS" gen --id relay.test --role relay --out keys >/dev/null
for n in jp.nisc us.cisa; do "$KEYS" gen --id $n --role partner --out keys >/dev/null; done
"$KEYS" roster init roster.json --framework skew >/dev/null
for n in relay.test jp.nisc us.cisa; do
    "$KEYS" roster add roster.json --pub keys/$n.pub --country JP --org "$n" $nb >/dev/null
done
"$KEYS" roster sign roster.json --key keys/coordinator.key --out roster.signed >/dev/null
"$RELAY" --key keys/relay.test.key --roster roster.signed --coordinator keys/coordinator.pub \
    --data data --bind tcp://127.0.0.1:0 --endpoint-file ep --window 120 --skew 60 >relay.log 2>&1 &
PIDS+=($!)
until_ok 10 grep -q tcp:// ep || { bad "relay starts"; exit 1; }
EP=$(cat ep)
"$D" --key keys/us.cisa.key --roster roster.signed --coordinator keys/coordinator.pub \
    --state st-us --relay "$EP" >us.log 2>&1 &
PIDS+=($!)
connected() { "$R" --state "$1" status --json | tr -d ' \n' | grep -q '"connected":true'; }
until_ok 10 connected st-us || bad "us.cisa connects"

# case OFFSET_S accepted|future|stale
case_() {
    local off=$1 want=$2 m
    rm -f st-jp/control.sock
    env LD_PRELOAD="$SHIM" SKEW_MS=$((off * 1000)) "$D" --key keys/jp.nisc.key \
        --roster roster.signed --coordinator keys/coordinator.pub --state st-jp \
        --relay "$EP" --resubmit-ms 1000 >jp$off.log 2>&1 &
    SPID=$!
    until_ok 10 connected st-jp || bad "jp.nisc (clock ${off} s) connects"
    m=$("$R" --state st-jp send --to us.cisa --title "clock $off s" | sed -n 's/^queued \([0-9a-f]*\).*/\1/p')
    [ -n "$m" ] || bad "clock $off s: the send is queued"
    if [ "$want" = accepted ]; then
        in_inbox() { "$R" --state st-us inbox --json | grep -q "\"msg_id\": \"$m\""; }
        until_ok 20 in_inbox && ok "sender clock ${off} s: stored and delivered" ||
            bad "sender clock ${off} s: stored and delivered"
    else
        refused() { "$R" --state st-jp show "$m" --json | tr -d ' \n' | grep -q '"state":"rejected"'; }
        until_ok 20 refused && ok "sender clock ${off} s: refused" || bad "sender clock ${off} s: refused"
        expect "sender clock ${off} s: the daemon logs the $want refusal" jp$off.log "event=rejected msg=$m .*code=$want"
        "$R" --state st-jp status >status$off.out 2>&1
        expect "sender clock ${off} s: renraku status shows it rejected" status$off.out "^${m:0:12} .* rejected "
        expect "sender clock ${off} s: and why ($want), naming the relay" status$off.out "^ +relay.test refused it for good: $want: "
        expect "sender clock ${off} s: not left in the outbox" status$off.out '^Outbox +0 '
        "$R" --state st-us inbox --json >inbox.json 2>&1
        grep -q "\"msg_id\": \"$m\"" inbox.json && bad "clock ${off} s: the refused notice was delivered" ||
            ok "sender clock ${off} s: not delivered"
    fi
    kill -TERM "$SPID"
    wait "$SPID" 2>/dev/null
    SPID=
}
case_ 50 accepted
case_ 70 future
case_ -110 accepted
case_ -130 stale
"$RELAY" stats --data data >stats.out 2>&1
expect "relay stats count one future and one stale refusal" stats.out '"future":1'
expect "and one stale" stats.out '"stale":1'
for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
PIDS=()
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
