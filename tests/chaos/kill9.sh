#!/usr/bin/env bash
# Chaos: a process is killed with SIGKILL at random moments while two
# partner daemons exchange notices, and restarted each time: the relay
# (same port), the sending daemon, or the receiving daemon.
# Counts what the issue asks for: notices the sender was told "queued" but
# that never reached the recipient's inbox (must be 0), notices in the
# inbox twice (must be 0), and whether the relay's log still verifies with
# every checkpoint consistent across the restarts (renraku-audit verify).
# Reports the worst time from restart to serving again.
# Usage: kill9.sh BUILD_DIR [CYCLES] [relay|sender|receiver]
#        (CI: 10 cycles each; long run: 200)
set -u
B=$(realpath "$1") CYCLES=${2:-10} TARGET=${3:-relay}
KEYS=$B/keys/renraku-keys RELAY=$B/relay/renraku-relay
D=$B/clients/renrakud R=$B/clients/renraku AUDIT=$B/clients/renraku-audit
W=$(mktemp -d /tmp/rk-chaos-XXXXXX)
RPID= SPID= RCPID=
pass=0 fail=0
cleanup() {
    for p in $RPID $SPID $RCPID; do kill -9 "$p" 2>/dev/null; done
    rm -rf "$W"
}
trap cleanup EXIT
# shellcheck source=tests/lib.sh
. "$(dirname "$(realpath "${BASH_SOURCE[0]}")")/../lib.sh"
# until_ok SECONDS CMD...: poll CMD until it succeeds, bounded in time.
ms() { date +%s%3N; }

cd "$W" || exit 1
nb="--not-before 2020-01-01T00:00:00Z"
"$KEYS" gen --id coordinator --role coordinator --out keys >/dev/null
"$KEYS" gen --id relay.test --role relay --out keys >/dev/null
for n in jp.nisc us.cisa; do "$KEYS" gen --id $n --role partner --out keys >/dev/null; done
"$KEYS" roster init roster.json --framework chaos >/dev/null
for n in relay.test jp.nisc us.cisa; do
    "$KEYS" roster add roster.json --pub keys/$n.pub --country JP --org "$n" $nb >/dev/null
done
"$KEYS" roster sign roster.json --key keys/coordinator.key --out roster.signed >/dev/null

BIND=tcp://127.0.0.1:0
worst=0
start_relay() {
    local t0
    t0=$(ms)
    rm -f ep
    "$RELAY" --key keys/relay.test.key --roster roster.signed --coordinator keys/coordinator.pub \
        --data data --bind "$BIND" --endpoint-file ep --checkpoint-every 1 \
        --snapshot-every 20 --snapshot-interval 0 >>relay.log 2>&1 &
    RPID=$!
    until_ok 20 grep -q tcp:// ep || { bad "relay restarts"; return 1; }
    EP=$(cat ep)
    BIND=$EP
    local dt=$(($(ms) - t0))
    [ "$dt" -gt "$worst" ] && worst=$dt
    return 0
}
start_relay || exit 1
start_daemon() { # ID STATE -> pid in DPID
    rm -f "$2/control.sock"
    "$D" --key "keys/$1.key" --roster roster.signed --coordinator keys/coordinator.pub \
        --state "$2" --relay "$EP" --resubmit-ms 500 >>"$1.log" 2>&1 &
    DPID=$!
    until_ok 10 test -S "$2/control.sock" || bad "renrakud $1 starts"
}
start_daemon jp.nisc st-jp
SPID=$DPID
start_daemon us.cisa st-us
RCPID=$DPID

: >queued.txt
for ((c = 1; c <= CYCLES; c++)); do
    # Traffic paced over about a second (pacing load, not waiting for an
    # event); the target dies somewhere inside it.
    (for ((i = 0; i < 8; i++)); do
        "$R" --state st-jp send --to us.cisa --title "chaos $c.$i" 2>/dev/null |
            sed -n 's/^queued \([0-9a-f]*\).*/\1/p' >>queued.txt; sleep 0.1
    done) &
    burst=$!
    sleep "0.$((RANDOM % 9))$((RANDOM % 10))"
    case "$TARGET" in
    relay)
        kill -9 "$RPID"
        wait "$RPID" 2>/dev/null
        RPID=
        wait "$burst"
        start_relay || break
        ;;
    sender)
        kill -9 "$SPID"
        wait "$SPID" 2>/dev/null
        # Its socket file stays behind; without it the CLI says at once
        # that the daemon is not running (exit 3), so nothing is queued.
        rm -f st-jp/control.sock
        wait "$burst"
        t0=$(ms)
        start_daemon jp.nisc st-jp
        SPID=$DPID
        dt=$(($(ms) - t0)); [ "$dt" -gt "$worst" ] && worst=$dt
        ;;
    receiver)
        kill -9 "$RCPID"
        wait "$RCPID" 2>/dev/null
        wait "$burst"
        t0=$(ms)
        start_daemon us.cisa st-us
        RCPID=$DPID
        dt=$(($(ms) - t0)); [ "$dt" -gt "$worst" ] && worst=$dt
        ;;
    *) echo "unknown target $TARGET"; exit 2 ;;
    esac
done

nq=$(sort -u queued.txt | grep -c .)
echo "target $TARGET, cycles $CYCLES, notices queued $nq, worst restart ${worst} ms"
# Everything queued must arrive, exactly once.
sort -u queued.txt >want.txt
missing() { # writes the msg ids queued but not in the inbox to lost.txt
    "$R" --state st-us inbox --json >inbox.json 2>/dev/null || return 1
    grep -o '"msg_id": "[0-9a-f]*"' inbox.json | sed 's/.*: "//; s/"//' | sort -u >have.txt
    comm -23 want.txt have.txt >lost.txt
    [ ! -s lost.txt ]
}
until_ok 120 missing && ok "every notice the sender was told queued is in the inbox (lost: 0)" ||
    { bad "lost: $(wc -l <lost.txt)"; head -5 lost.txt; }
dups=$(grep -o '"msg_id": "[0-9a-f]*"' inbox.json | sort | uniq -d | wc -l)
[ "$dups" = 0 ] && ok "no notice is in the inbox twice (duplicated: 0)" || bad "duplicated: $dups"
[ "$nq" -gt 0 ] && ok "$nq notices went through $CYCLES kills of the $TARGET" || bad "no notice was queued"

kill -TERM "$SPID" "$RCPID"
wait "$SPID" "$RCPID" 2>/dev/null
SPID= RCPID=
kill -TERM "$RPID"
wait "$RPID" 2>/dev/null
RPID=
VKEY=$("$RELAY" --print-vkey --key keys/relay.test.key)
if "$AUDIT" verify data --vkey "$VKEY" --coordinator keys/coordinator.pub >verify.out 2>&1; then
    ok "the log verifies after $CYCLES kills: every checkpoint consistent ($(grep -o 'checkpoints [0-9]* checked' verify.out))"
else
    bad "the log does not verify after the kills"
    cat verify.out
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
