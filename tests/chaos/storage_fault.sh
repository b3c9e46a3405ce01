#!/usr/bin/env bash
# Chaos: the relay's log storage fails with EIO while two partner daemons
# exchange notices both ways: fdatasync/fsync (MODE sync), or every write
# (MODE write), while a trigger file exists, or one fdatasync only (MODE
# once: Linux reports a writeback error once and the next fsync succeeds,
# the fsyncgate case). The fault is injected by the LD_PRELOAD shim
# tests/chaos/failsync.c on the relay's data folder only, turned on and off
# CYCLES times. Checked, as an operator would:
#  - while it is on, submissions are refused with the `storage` code and
#    the senders keep them in their outbox (never `stored`);
#  - the relay logs storage_failed, stats say storage_ok false, and, once
#    the fault is gone, storage_recovered, by itself (no restart);
#  - notices stored before the fault are delivered during it;
#  - afterwards every notice queued is in its recipient's inbox exactly
#    once and the sender sees it delivered;
#  - every `stored` answer names the index where the log holds that
#    message, and no message is in the log twice;
#  - renraku-audit verify passes on the log.
# Usage: storage_fault.sh BUILD_DIR SHIM.so sync|write|once [CYCLES]
# Exit 77 (CTest: skipped) when the shim cannot be preloaded, with why.
set -u
B=$(realpath "$1") SHIM=$(realpath "$2") MODE=$3 CYCLES=${4:-3}
KEYS=$B/keys/renraku-keys RELAY=$B/relay/renraku-relay
D=$B/clients/renrakud R=$B/clients/renraku AUDIT=$B/clients/renraku-audit
# shellcheck source=tests/lib.sh
. "$(dirname "$(realpath "${BASH_SOURCE[0]}")")/../lib.sh"
chaos_workdir storage
grew() { [ "$(count "$1" "$2")" -gt "$3" ]; } # PATTERN FILE N: more than N now
case "$MODE" in
sync) FAULT="sync" ;;
write) FAULT="write" ;;
once) FAULT="sync 1" ;;
*) echo "usage: storage_fault.sh BUILD SHIM sync|write|once [CYCLES]"; exit 2 ;;
esac

cd "$W" || exit 1
# The relay runs with the shim preloaded. Under ASan the runtime must come
# first in the library list; the shim is built without sanitizers, so the
# order check can be relaxed. If the shim still cannot load, skip (77)
# and say why: that is not a pass.
export ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}verify_asan_link_order=0"
# One failed sync must hit the log itself, not a checkpoint file.
FDIR=$W/data/
[ "$MODE" = once ] && FDIR=$W/data/log/
PRE=(env LD_PRELOAD="$SHIM" FAILSYNC_DIR="$FDIR" FAILSYNC_TRIGGER="$W/fault"
    FAILSYNC_COUNT="$W/faults.txt")
skip_unless_preloads "fault shim (into the relay)" "${PRE[@]}" "$RELAY"

nb="--not-before 2020-01-01T00:00:00Z"
"$KEYS" gen --id coordinator --role coordinator --out keys >/dev/null
"$KEYS" gen --id relay.test --role relay --out keys >/dev/null
for n in jp.nisc us.cisa kr.krcert; do "$KEYS" gen --id $n --role partner --out keys >/dev/null; done
"$KEYS" roster init roster.json --framework storage >/dev/null
for n in relay.test jp.nisc us.cisa kr.krcert; do
    "$KEYS" roster add roster.json --pub keys/$n.pub --country JP --org "$n" $nb >/dev/null
done
"$KEYS" roster sign roster.json --key keys/coordinator.key --out roster.signed >/dev/null
"${PRE[@]}" "$RELAY" --key keys/relay.test.key --roster roster.signed \
    --coordinator keys/coordinator.pub --data data --bind tcp://127.0.0.1:0 \
    --endpoint-file ep --checkpoint-every 1 >relay.log 2>&1 &
RPID=$!
PIDS+=($RPID)
until_ok 20 grep -q tcp:// ep || { bad "relay starts"; cat relay.log; exit 1; }
EP=$(cat ep)
start_daemon() {
    "$D" --key keys/$1.key --roster roster.signed --coordinator keys/coordinator.pub \
        --state st-$1 --relay "$EP" --resubmit-ms 500 >>$1.log 2>&1 &
    PIDS+=($!)
}
connected() { "$R" --state "st-$1" status --json | tr -d ' \n' | grep -q '"connected":true'; }
start_daemon jp.nisc
start_daemon us.cisa
until_ok 20 connected jp.nisc && until_ok 20 connected us.cisa || bad "daemons connect"

# Stored before any fault, for a node that is not running yet: delivered
# during the first fault.
: >queued.txt
for i in 1 2 3 4 5; do
    "$R" --state st-jp.nisc send --to kr.krcert --title "before the fault $i" |
        sed -n 's/^queued \([0-9a-f]*\).*/jp.nisc kr.krcert \1/p' >>queued.txt
done
early=$(awk '{print $3}' queued.txt)
is_state() { # SENDER RECIPIENT STATE MSG
    "$R" --state "st-$1" show "$4" --json | tr -d ' \n' | grep -Eq "\"$2\":\{\"state\":\"$3\""
}
all_state() { # SENDER RECIPIENT STATE MSGS...
    local s=$1 r=$2 st=$3 m
    shift 3
    for m in "$@"; do is_state "$s" "$r" "$st" "$m" || return 1; done
}
# shellcheck disable=SC2086
until_ok 20 all_state jp.nisc kr.krcert stored $early &&
    ok "5 notices for kr.krcert (not running) are stored before the fault" ||
    bad "5 notices for kr.krcert are stored before the fault"

# Every notice queued is in its recipient's inbox; its sender sees it
# delivered (the relay's receipt).
all_in() {
    local n
    for n in jp.nisc us.cisa kr.krcert; do
        "$R" --state st-$n inbox --json >inbox-$n.json 2>/dev/null || return 1
    done
    while read -r s r m; do grep -q "\"msg_id\": \"$m\"" inbox-$r.json || return 1; done <queued.txt
}
all_delivered() {
    while read -r s r m; do is_state "$s" "$r" delivered "$m" || { echo "$s $r $m" >undelivered.txt; return 1; }; done <queued.txt
}
if [ "$MODE" = once ]; then
    # One failed fdatasync: armed when all is quiet, then one notice is
    # sent, so the failed sync is that notice's batch.
    start_daemon kr.krcert
else
# Steady load: the partners send to each other in turn, each notice once
# the relay has answered the one before (its sender logs stored, or a
# refusal it will retry, naming it): one in flight, whatever the fault.
(
    i=0
    while :; do
        if ((i % 2)); then s=jp.nisc r=us.cisa; else s=us.cisa r=jp.nisc; fi
        m=$("$R" --state st-$s send --to $r --title "load $i" 2>/dev/null |
            sed -n 's/^queued \([0-9a-f]*\).*/\1/p')
        [ -n "$m" ] && echo "$s $r $m" >>queued.txt &&
            until_ok 10 grep -Eq "event=(stored|rejected_will_retry) msg=$m" $s.log
        i=$((i + 1))
    done
) &
LOAD=$!
fi

kr_has_early() {
    "$R" --state st-kr.krcert inbox --json >kr-inbox.json 2>/dev/null || return 1
    for m in $early; do grep -q "\"msg_id\": \"$m\"" kr-inbox.json || return 1; done
}
sent_refused() { # fresh storage refusals seen by either sender since the mark
    [ "$(($(count 'rejected_will_retry .*code=storage' jp.nisc.log) +
        $(count 'rejected_will_retry .*code=storage' us.cisa.log)))" -gt "$1" ]
}
stored_since() { # a sender logged more stored answers than N
    [ "$(($(count 'event=stored' jp.nisc.log) + $(count 'event=stored' us.cisa.log)))" -gt "$1" ]
}
stats_say() { "$RELAY" stats --data data 2>/dev/null | grep -q "\"storage_ok\":$1"; }
for ((c = 1; c <= CYCLES; c++)); do
    nf=$(count 'event=storage_failed' relay.log)
    nr=$(count 'event=storage_recovered' relay.log)
    nrej=$(($(count 'rejected_will_retry .*code=storage' jp.nisc.log) +
        $(count 'rejected_will_retry .*code=storage' us.cisa.log)))
    if [ "$MODE" = once ]; then
        until_ok 30 all_in && until_ok 30 all_delivered || bad "cycle $c: quiet before the fault"
    fi
    # With no other traffic (once), the one notice may be refused, retried
    # and stored before the refusal is even seen: count stored answers
    # before it is sent. Under load, count them when the fault has bitten.
    nst=$(($(count 'event=stored' jp.nisc.log) + $(count 'event=stored' us.cisa.log)))
    echo "$FAULT" >fault.tmp && mv fault.tmp fault # a new file: a new budget
    if [ "$MODE" = once ]; then
        "$R" --state st-jp.nisc send --to us.cisa --title "into one failed sync $c" |
            sed -n 's/^queued \([0-9a-f]*\).*/jp.nisc us.cisa \1/p' >>queued.txt
    fi
    until_ok 20 grew 'event=storage_failed' relay.log "$nf" &&
        ok "cycle $c: the relay logs storage_failed" ||
        bad "cycle $c: the relay logs storage_failed"
    until_ok 20 sent_refused "$nrej" &&
        ok "cycle $c: a sender is refused with the storage code and will retry" ||
        bad "cycle $c: a sender is refused with the storage code"
    if [ "$MODE" != once ]; then
        stats_say false && ok "cycle $c: relay stats say storage_ok false" ||
            bad "cycle $c: relay stats say storage_ok false"
    fi
    if [ "$c" = 1 ] && [ "$MODE" != once ]; then
        start_daemon kr.krcert
        until_ok 30 kr_has_early && test -e fault &&
            ok "the 5 notices stored before the fault are delivered during it" ||
            bad "the 5 notices stored before the fault are delivered during it"
    elif [ "$MODE" != once ]; then
        # Let the load hit the fault again: one more refusal, not a guess.
        nrej=$(($(count 'rejected_will_retry .*code=storage' jp.nisc.log) +
            $(count 'rejected_will_retry .*code=storage' us.cisa.log)))
        until_ok 20 sent_refused "$nrej" ||
            bad "cycle $c: the load keeps meeting the fault"
    fi
    [ "$MODE" != once ] &&
        nst=$(($(count 'event=stored' jp.nisc.log) + $(count 'event=stored' us.cisa.log)))
    rm -f fault
    until_ok 30 grew 'event=storage_recovered' relay.log "$nr" &&
        ok "cycle $c: fault gone, the relay logs storage_recovered by itself" ||
        bad "cycle $c: the relay logs storage_recovered by itself"
    # Traffic flows again before the next fault: a sender sees a new stored.
    until_ok 30 stored_since "$nst" ||
        bad "cycle $c: a notice is stored after the fault is gone"
done
[ -n "$LOAD" ] && kill "$LOAD" 2>/dev/null && wait "$LOAD" 2>/dev/null
LOAD=
stats_say true && ok "relay stats say storage_ok true" || bad "relay stats say storage_ok true"
echo "faults injected: $(grep -c . faults.txt 2>/dev/null || echo 0) ($MODE)"
[ -s faults.txt ] && ok "the shim failed $(grep -c . faults.txt) calls" || bad "the shim never bit"

nq=$(grep -c . queued.txt)
# Everything queued reaches its recipient exactly once...
until_ok 90 all_in && ok "all $nq notices queued are in their recipient's inbox" ||
    bad "not every notice queued reached its recipient"
dups=$(cat inbox-*.json | grep -o '"msg_id": "[0-9a-f]*"' | sort | uniq -d | wc -l)
[ "$dups" = 0 ] && ok "none twice" || bad "in an inbox twice: $dups"
# ...and its sender sees it delivered (the relay's receipt).
# ...and its sender sees it delivered (the relay's receipt).
until_ok 60 all_delivered && ok "every sender sees each of its notices delivered" ||
    { bad "a sender does not see its notice delivered: $(cat undelivered.txt)"; }

for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
PIDS=()
# Every `stored` answer names the log index that holds that message, and
# no message is accepted twice.
"$AUDIT" export data --format jsonl --kind accepted >accepted.jsonl 2>export.err ||
    "$AUDIT" export data --format jsonl >accepted.jsonl 2>export.err
grep -ho 'event=stored msg=[0-9a-f]* relay_id=[^ ]* index=[0-9]*' jp.nisc.log us.cisa.log |
    sed 's/event=stored msg=\([0-9a-f]*\) .* index=\([0-9]*\)/\1 \2/' | sort -u >stored.txt
python3 - accepted.jsonl stored.txt >check.out <<'PY'
import json, sys
idx, seen, twice = {}, {}, []
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("type") != "accepted":
        continue
    m = r["msg_id"]
    if m in seen:
        twice.append(m)
    seen[m] = r["index"]
    idx[r["index"]] = m
wrong = []
n = 0
for line in open(sys.argv[2]):
    m, i = line.split()
    n += 1
    if idx.get(int(i)) != m:
        wrong.append("%s@%s (log has %s)" % (m, i, idx.get(int(i))))
print("stored %d accepted %d wrong %d twice %d" % (n, len(seen), len(wrong), len(twice)))
for w in wrong[:5]: print("wrong", w)
for t in twice[:5]: print("twice", t)
PY
cat check.out
grep -q ' wrong 0 ' check.out && ! grep -q '^stored 0 ' check.out &&
    ok "each 'stored' answer names the index where the log holds that message" ||
    bad "a 'stored' answer names an index that does not hold that message"
grep -q ' twice 0$' check.out && ok "no message is accepted twice in the log" ||
    bad "a message is accepted twice in the log"
VKEY=$("$RELAY" --print-vkey --key keys/relay.test.key)
"$AUDIT" verify data --vkey "$VKEY" --coordinator keys/coordinator.pub >verify.out 2>&1 &&
    ok "the relay's log verifies after the faults" || { bad "the log verifies"; cat verify.out; }
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
