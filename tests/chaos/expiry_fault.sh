#!/usr/bin/env bash
# Chaos: the one fdatasync that covers an `expired` record fails, and the
# relay is later stopped cleanly (SIGTERM) and restarted. An expiry drops
# its message from the relay's queue at once; the failed sync cuts the
# record from the log and drops the sender's receipt. A state snapshot
# written at the stop would then hold a queue without the message, and the
# restart would never expire it again. The fault is one failed fdatasync
# (the LD_PRELOAD shim tests/chaos/failsync.c, trigger "sync 1", on the
# relay's data/log/ folder only), armed when the only write to come is the
# expiry: a sender node is online, the recipient is in the roster but never
# started. Checked, as an operator would:
#  - the shim failed exactly one sync; the relay logs the expiry, then
#    log_sync_failed and storage_failed, and state_snapshots_off;
#  - until the restart the sender does not see the notice expired (its
#    receipt was cut with the record);
#  - a notice sent afterwards is stored (storage_recovered, by itself);
#  - the clean stop writes no state snapshot (data/state is the one of the
#    earlier clean stop, before the fault), and the restart loads that one;
#  - after the restart the sender sees the notice expired for the offline
#    recipient, the relay's log holds an `expired` record naming it (and
#    one only), state_snapshots_off was logged once, and renraku-audit
#    verify passes on the log and counts that one expired record;
#  - the notices that did not expire are still queued: the recipient,
#    started last, gets both (one from the snapshot, one from the log
#    after it), and not the expired one.
# Usage: expiry_fault.sh BUILD_DIR SHIM.so
# Exit 77 (CTest: skipped) when the shim cannot be preloaded, with why.
set -u
B=$(realpath "$1") SHIM=$(realpath "$2")
KEYS=$B/keys/renraku-keys RELAY=$B/relay/renraku-relay
D=$B/clients/renrakud R=$B/clients/renraku AUDIT=$B/clients/renraku-audit
# shellcheck source=tests/lib.sh
. "$(dirname "$(realpath "${BASH_SOURCE[0]}")")/../lib.sh"
chaos_workdir expiry

cd "$W" || exit 1
# As storage_fault.sh: under ASan the runtime must come first in the
# library list; the shim is built without sanitizers. If the shim still
# cannot load, skip (77) and say why: that is not a pass.
export ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}verify_asan_link_order=0"
# The log's folder only: a checkpoint or the state snapshot is not hit.
PRE=(env LD_PRELOAD="$SHIM" FAILSYNC_DIR="$W/data/log/"
    FAILSYNC_TRIGGER="$W/fault" FAILSYNC_COUNT="$W/faults.txt")
skip_unless_preloads "fault shim (into the relay)" "${PRE[@]}" "$RELAY"

nb="--not-before 2020-01-01T00:00:00Z"
"$KEYS" gen --id coordinator --role coordinator --out keys >/dev/null
"$KEYS" gen --id relay.test --role relay --out keys >/dev/null
for n in jp.nisc kr.krcert; do "$KEYS" gen --id $n --role partner --out keys >/dev/null; done
"$KEYS" roster init roster.json --framework expiry >/dev/null
for n in relay.test jp.nisc kr.krcert; do
    "$KEYS" roster add roster.json --pub keys/$n.pub --country JP --org "$n" $nb >/dev/null
done
"$KEYS" roster sign roster.json --key keys/coordinator.key --out roster.signed >/dev/null

chaos_start_relay "${PRE[@]}" || { bad "relay starts"; cat relay.log; exit 1; }
"$D" --key keys/jp.nisc.key --roster roster.signed --coordinator keys/coordinator.pub \
    --state st-jp.nisc --relay "$EP" --resubmit-ms 500 >>jp.nisc.log 2>&1 &
PIDS+=($!)
connected() { "$R" --state "st-$1" status --json | tr -d ' \n' | grep -q '"connected":true'; }
until_ok 20 connected jp.nisc || bad "jp.nisc connects"

send() { # TITLE [OPTIONS...] -> msg id on stdout
    local t=$1
    shift
    "$R" --state st-jp.nisc send --to kr.krcert --title "$t" "$@" |
        sed -n 's/^queued \([0-9a-f]*\).*/\1/p'
}
state_is() { # MSG STATE: jp.nisc's record of MSG says STATE for kr.krcert
    "$R" --state st-jp.nisc show "$1" --json | tr -d ' \n' |
        grep -q "\"kr.krcert\":{\"state\":\"$2\""
}

# A notice that does not expire, then a clean stop: a good snapshot that
# holds it. The restart after the fault must start from this one.
keep1=$(send "before the snapshot")
until_ok 20 state_is "$keep1" stored || bad "the first notice is stored"
chaos_stop_relay
[ "$(count 'event=state_saved' relay.log)" = 1 ] && [ -s data/state ] &&
    ok "a clean stop before the fault writes a state snapshot" ||
    bad "a clean stop before the fault writes a state snapshot"
snap_size=$(sed -n 's/.*event=state_saved log_size=\([0-9]*\).*/\1/p' relay.log)
snap_sum=$(sha256sum <data/state)
chaos_start_relay "${PRE[@]}" || { bad "relay restarts"; cat relay.log; exit 1; }
welcomed() { [ "$(count 'event=welcome' jp.nisc.log)" -ge 2 ]; }
until_ok 20 welcomed || bad "jp.nisc is welcomed again after the restart"

# The notice that expires while its recipient is offline. Once it is
# stored nothing else writes the log (no other submits, no recipient
# online), so the next fdatasync under data/log/ is that of the expired
# record's batch (checked below from the relay's log).
msg=$(send "expires into a failed sync" --expires 3s)
[ -n "$msg" ] || bad "the notice that expires is queued"
until_ok 20 state_is "$msg" stored && ok "the notice that expires (3 s) is stored" ||
    bad "the notice that expires is stored"
echo "sync 1" >fault.tmp && mv fault.tmp fault
until_ok 15 grep -q 'event=storage_failed' relay.log &&
    ok "the relay logs storage_failed" || bad "the relay logs storage_failed"
rm -f fault
nfaults=$(grep -c . faults.txt 2>/dev/null || echo 0)
[ "$nfaults" = 1 ] && ok "the shim failed one fdatasync" ||
    bad "the shim failed one fdatasync (it failed $nfaults)"
# In order: the expiry, the sync that failed with it, storage_failed.
order=$(grep -oE 'event=(expired|log_sync_failed|storage_failed|state_snapshots_off)' \
    relay.log | tr '\n' ' ')
[ "$order" = "event=expired event=log_sync_failed event=storage_failed event=state_snapshots_off " ] &&
    ok "the failed sync is the expired record's: $order" ||
    bad "the failed sync is the expired record's: $order"
grep -q 'event=log_sync_failed dropped=1 ' relay.log &&
    ok "the log cut the one expired record" || bad "the log cut the one expired record"

# After the fault a notice is stored again; the sender still has no
# receipt for the expired one (cut with its record).
nst=$(count 'event=stored' jp.nisc.log)
keep2=$(send "after the fault")
until_ok 20 state_is "$keep2" stored && ok "a notice sent after the fault is stored" ||
    bad "a notice sent after the fault is stored"
until_ok 10 grep -q 'event=storage_recovered' relay.log &&
    ok "the relay logs storage_recovered by itself" ||
    bad "the relay logs storage_recovered by itself"
[ "$(count 'event=stored' jp.nisc.log)" -gt "$nst" ] || bad "jp.nisc logs stored"
state_is "$msg" stored &&
    ok "before the restart the sender does not see it expired (receipt cut)" ||
    bad "before the restart the sender does not see it expired (receipt cut)"

# The clean stop the defect needed. No snapshot may be written.
chaos_stop_relay
grep -q 'event=stopped' relay.log || bad "the relay logs stopped"
[ "$(count 'event=state_saved' relay.log)" = 1 ] && [ "$(sha256sum <data/state)" = "$snap_sum" ] &&
    ok "the clean stop after the fault writes no state snapshot" ||
    bad "the clean stop after the fault writes no state snapshot"
n0=$(count 'event=state_loaded' relay.log)
chaos_start_relay || { bad "relay restarts without the fault"; cat relay.log; exit 1; }
[ "$(count 'event=state_loaded' relay.log)" -gt "$n0" ] &&
    grep 'event=state_loaded' relay.log | tail -1 | grep -q "log_size=$snap_size " &&
    ok "the restart loads the snapshot from before the fault (log_size=$snap_size)" ||
    bad "the restart loads the snapshot from before the fault (log_size=$snap_size)"

until_ok 20 state_is "$msg" expired &&
    ok "after the restart the sender sees the notice expired for kr.krcert" ||
    { bad "after the restart the sender sees the notice expired for kr.krcert";
      "$R" --state st-jp.nisc show "$msg" --json; }
[ "$(count 'event=state_snapshots_off' relay.log)" = 1 ] &&
    ok "state_snapshots_off was logged once" ||
    bad "state_snapshots_off was logged once (not $(count 'event=state_snapshots_off' relay.log))"

# The recipient starts last: what did not expire is still queued for it.
"$D" --key keys/kr.krcert.key --roster roster.signed --coordinator keys/coordinator.pub \
    --state st-kr.krcert --relay "$EP" --resubmit-ms 500 >>kr.krcert.log 2>&1 &
PIDS+=($!)
kr_has() {
    "$R" --state st-kr.krcert inbox --json >kr-inbox.json 2>/dev/null &&
        grep -q "\"msg_id\": \"$keep1\"" kr-inbox.json &&
        grep -q "\"msg_id\": \"$keep2\"" kr-inbox.json
}
until_ok 20 kr_has && until_ok 20 state_is "$keep1" delivered &&
    until_ok 20 state_is "$keep2" delivered &&
    ok "kr.krcert gets the two notices that did not expire; the sender sees them delivered" ||
    bad "kr.krcert gets the two notices that did not expire"
grep -q "\"msg_id\": \"$msg\"" kr-inbox.json &&
    bad "kr.krcert got the expired notice" || ok "kr.krcert does not get the expired one"

for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
PIDS=()
chaos_stop_relay

# The relay's log: the accepted record and one expired record naming
# kr.krcert for it, and nothing delivered.
"$AUDIT" export data --format jsonl --msg "$msg" >msg.jsonl 2>export.err ||
    { bad "renraku-audit export"; cat export.err; }
python3 - msg.jsonl "$msg" >check.out <<'PY'
import json, sys
acc, exp, dlv = 0, [], 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("msg_id") != sys.argv[2]:
        continue
    t = r.get("type")
    if t == "accepted":
        acc += 1
    elif t == "expired":
        exp.append(r)
    elif t == "delivered":
        dlv += 1
names = [json.dumps(r.get("to")) for r in exp]
print("accepted %d expired %d delivered %d recipients %s" % (acc, len(exp), dlv, " ".join(names)))
PY
cat check.out
grep -q '^accepted 1 expired 1 delivered 0 recipients .*kr\.krcert' check.out &&
    ok "the relay's log holds the notice accepted, then expired for kr.krcert, once" ||
    { bad "the relay's log holds one expired record for the notice"; cat msg.jsonl; }
VKEY=$("$RELAY" --print-vkey --key keys/relay.test.key)
"$AUDIT" verify data --vkey "$VKEY" --coordinator keys/coordinator.pub >verify.out 2>&1 &&
    ok "the relay's log verifies" || { bad "the relay's log verifies"; cat verify.out; }
# Its summary counts that one expiry (the cut one is not in the log).
grep -q '^records .*expired 1,' verify.out &&
    ok "renraku-audit verify counts one expired record" ||
    bad "renraku-audit verify counts one expired record: $(head -1 verify.out)"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
