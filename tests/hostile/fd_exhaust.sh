#!/usr/bin/env bash
# Hostile clients at scale: stalled handshakes that use up the relay's file
# descriptors. The relay runs under a low `ulimit -n`; an attacker opens
# plain TCP connections that send 11 bytes of a ZMTP greeting and then
# nothing, and opens new ones as fast as the relay drops the old ones
# (--handshake-ms), for SECONDS. Meanwhile two partner daemons, connected
# before the attack, keep exchanging notices.
# Checks: the attack really exhausted the relay's descriptors (else the
# test tested nothing); the relay survives; every notice queued during the
# attack is delivered once; a node that was never connected gets in once
# the attacker stops; the relay stops cleanly and its log verifies.
# Reports (does not fail on): how often a node that was not connected got
# in while the descriptors were gone, and the checkpoint writes that failed.
# Usage: fd_exhaust.sh BUILD_DIR [SECONDS] [NOFILE] [HANDSHAKE_MS]
#        (CI: 10 s, 256 descriptors, --handshake-ms 1000)
set -u
B=$(realpath "$1") DUR=${2:-10} NOFILE=${3:-256} HS_MS=${4:-1000}
KEYS=$B/keys/renraku-keys RELAY=$B/relay/renraku-relay
D=$B/clients/renrakud R=$B/clients/renraku AUDIT=$B/clients/renraku-audit
T=$B/tests/testnode
W=$(mktemp -d /tmp/rk-fdex-XXXXXX)
RPID='' APID='' PIDS=()
pass=0 fail=0
cleanup() {
    for p in $APID $RPID "${PIDS[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null; done
    rm -rf "$W"
}
trap cleanup EXIT
# shellcheck source=tests/lib.sh
. "$(dirname "$(realpath "${BASH_SOURCE[0]}")")/../lib.sh"
ms() { date +%s%3N; }
for f in "$KEYS" "$RELAY" "$D" "$R" "$AUDIT" "$T"; do
    [ -x "$f" ] || { echo "fd_exhaust.sh: $f is not built"; exit 2; }
done
command -v python3 >/dev/null || { echo "fd_exhaust.sh: needs python3"; exit 2; }

cd "$W" || exit 1
nb="--not-before 2020-01-01T00:00:00Z"
"$KEYS" gen --id coordinator --role coordinator --out keys >/dev/null || exit 1
"$KEYS" roster init roster.json --framework fdex >/dev/null
for n in relay.test jp.nisc us.cisa late.x; do
    role=partner
    [ $n = relay.test ] && role=relay
    "$KEYS" gen --id $n --role $role --out keys >/dev/null || exit 1
    "$KEYS" roster add roster.json --pub keys/$n.pub --country JP --org "$n" $nb >/dev/null || exit 1
done
"$KEYS" roster sign roster.json --key keys/coordinator.key --out roster.signed >/dev/null || exit 1

(
    ulimit -n "$NOFILE" || exit 1
    exec "$RELAY" --key keys/relay.test.key --roster roster.signed --coordinator keys/coordinator.pub \
        --data data --bind tcp://127.0.0.1:0 --endpoint-file ep --handshake-ms $HS_MS \
        --checkpoint-every 1 >relay.log 2>&1
) &
RPID=$!
until_ok 20 grep -q tcp:// ep || { bad "relay starts (ulimit -n $NOFILE)"; tail relay.log; exit 1; }
EP=$(cat ep)
PORT=${EP##*:}
fds() { ls "/proc/$RPID/fd" 2>/dev/null | wc -l; }
# CPU seconds the relay used so far (user + system).
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.1f", ($14 + $15) / hz }' "/proc/$RPID/stat"; }
echo "relay open files before the attack: $(fds) (limit $NOFILE, --handshake-ms $HS_MS)"

for n in jp.nisc us.cisa; do
    "$D" --key keys/$n.key --roster roster.signed --coordinator keys/coordinator.pub \
        --state st-$n --relay "$EP" --resubmit-ms 1000 >$n.log 2>&1 &
    PIDS+=($!)
done
connected() { "$R" --state "st-$1" status --json | tr -d ' \n' | grep -q '"connected":true'; }
# stored MID: the relay has jp.nisc's notice MID on disk (or delivered it).
stored() {
    "$R" --state st-jp.nisc show "$1" --json 2>/dev/null | tr -d ' \n' |
        grep -Eq '"us.cisa":\{"state":"(stored|delivered|received|acknowledged)"'
}
until_ok 15 connected jp.nisc && until_ok 15 connected us.cisa || { bad "daemons connect"; exit 1; }
# stored_or_over MSG: MSG is stored, or the attack is over.
stored_or_over() { { [ -n "$1" ] && stored "$1"; } || ! kill -0 "$APID" 2>/dev/null; }
# late NODE TIMEOUT_MS: a node that was not connected sends one notice.
late() {
    "$T" send --key keys/late.x.key --roster roster.signed --coordinator keys/coordinator.pub \
        --relay "$EP" --relay-pub keys/relay.test.pub --timeout-ms "$1" --to us.cisa --text late
}

# The attacker: keeps up to NOFILE + 200 stalled connections open for DUR s
# (more than the relay's descriptors plus its listen backlog of 100),
# replacing those the relay drops; prints how many it held and replaced.
python3 - "$PORT" $((NOFILE + 200)) "$DUR" >attacker.out 2>&1 <<'PY' &
import select, socket, sys, time
port, want, dur = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
greeting = bytes([0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0x7F, 3])
held, opened, dropped, refused, peak = [], 0, 0, 0, 0
end = time.time() + dur
while time.time() < end:
    alive = []
    for s in held:
        try:
            if s.recv(64) == b"":
                dropped += 1
                s.close()
                continue
        except BlockingIOError:
            pass
        except OSError:
            dropped += 1
            s.close()
            continue
        alive.append(s)
    held = alive
    fails = 0
    while len(held) < want and fails < 3 and time.time() < end:
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=0.2)
            s.send(greeting)
            s.setblocking(False)
            held.append(s)
            opened += 1
        except OSError:
            fails += 1  # the relay's listen backlog is full
            refused += 1
    peak = max(peak, len(held))
    # Until the relay drops one of ours (it becomes readable: EOF), or
    # 100 ms pass (its listen backlog was full: try to connect again).
    p = select.poll()
    for s in held:
        p.register(s, select.POLLIN)
    p.poll(100)
print(f"opened {opened} dropped-by-relay {dropped} peak-held {peak} "
      f"connect-timeouts {refused}", flush=True)
PY
APID=$!
t_attack=$(ms) cpu0=$(cpu)

# Traffic during the attack: jp.nisc sends a notice, waits until the relay
# has stored it (at most 2 s, or until the attack ends), then the next.
: >queued.txt
peak=0 tries=0 got_in=0
while kill -0 "$APID" 2>/dev/null; do
    mid=$("$R" --state st-jp.nisc send --to us.cisa --title "under fd attack $(ms)" 2>/dev/null |
        sed -n 's/^queued \([0-9a-f]*\).*/\1/p')
    [ -n "$mid" ] && echo "$mid" >>queued.txt
    f=$(fds)
    [ "$f" -gt "$peak" ] && peak=$f
    # While the descriptors are gone, can a node that was not connected
    # get in? (Bounded tries; counted, not judged.)
    if [ "$f" -ge $((NOFILE - 8)) ]; then
        tries=$((tries + 1))
        late 1500 >late.out 2>&1 && got_in=$((got_in + 1))
    else
        until_ok 2 stored_or_over "$mid" || true
    fi
done
wait "$APID"
APID=
t_end=$(ms) cpu1=$(cpu)
cat attacker.out
echo "relay CPU during the $(((t_end - t_attack) / 1000)) s attack: $(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { printf "%.1f", b - a }') s (libzmq retries accept while no descriptor is free)"
echo "relay open files at the peak: $peak of $NOFILE"
if [ "$peak" -ge $((NOFILE - 8)) ]; then
    ok "the stalled connections used up the relay's descriptors ($peak of $NOFILE)"
else
    bad "the attack never exhausted the relay's descriptors (peak $peak of $NOFILE): nothing was tested"
fi
echo "a node that was not connected got in during the attack: $got_in of $tries tries (1.5 s each)"

if kill -0 "$RPID" 2>/dev/null; then ok "the relay survived"; else bad "the relay died"; tail -20 relay.log; fi
# After the attack: the relay drops what is left within --handshake-ms,
# then a node that was never connected gets in.
until_ok 20 late 2000 && ok "a new node gets in $(($(ms) - t_end)) ms after the attack stops" ||
    bad "a new node still cannot get in 20 s after the attack stopped"
nq=$(grep -c . queued.txt)
all_in() {
    "$R" --state st-us.cisa inbox --json >inbox.json 2>/dev/null || return 1
    while read -r m; do grep -q "\"msg_id\": \"$m\"" inbox.json || return 1; done <queued.txt
}
if [ "$nq" -gt 0 ] && until_ok 60 all_in; then
    ok "all $nq notices queued during the $(((t_end - t_attack) / 1000)) s attack were delivered"
else
    bad "notices queued during the attack were not all delivered ($nq queued)"
fi
dups=$(grep -o '"msg_id": "[0-9a-f]*"' inbox.json 2>/dev/null | sort | uniq -d | wc -l)
[ "$dups" = 0 ] && ok "none twice" || bad "duplicated: $dups"
echo "checkpoint writes that failed during the attack: $(grep -c 'event=log_checkpoint_failed' relay.log)" \
    "($(grep -m1 -o 'event=log_checkpoint_failed.*' relay.log || echo none))"

for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
PIDS=()
kill -TERM "$RPID"
if wait "$RPID"; then ok "the relay stops cleanly (exit 0)"; else bad "the relay stops cleanly"; tail -20 relay.log; fi
RPID=
VKEY=$("$RELAY" --print-vkey --key keys/relay.test.key)
if "$AUDIT" verify data --vkey "$VKEY" --coordinator keys/coordinator.pub >verify.out 2>&1; then
    ok "the log verifies after the attack"
else
    bad "the log does not verify after the attack"
    cat verify.out
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
