#!/usr/bin/env bash
# The relay's deferred sync of confirms (docs/LOG-FORMAT.md, "When the
# relay writes each record"): a batch that logged only `delivered` records
# is not synced at once; its records become durable with the next batch's
# fdatasync or with one of their own 5 ms later, and the sender's
# `delivered` receipt waits for that sync. Checked as a sender, an operator
# or an auditor would, with testnode (tests/integration/testnode.c, --stamp:
# each line carries its CLOCK_MONOTONIC time, shared by the processes here)
# and the relay's `stats`:
#  timer  nothing else goes on after a recipient's confirm (no submit, no
#         other node): the sender still gets its receipt, soon (median well
#         under the relay's 200 ms idle wake-up), each time after exactly
#         the two syncs of its own notice (the submit's, then the confirm's
#         own, fired by the relay's poll timeout, not by more traffic);
#  fault  the one fdatasync that covers a deferred confirm fails (the shim
#         tests/chaos/failsync.c, "sync 1", on data/log/ only): the sender
#         gets no receipt for that confirm; the relay sends the delivery
#         again, the recipient confirms it again, and the sender gets one
#         receipt, after that second confirm; the log holds one delivered
#         record, renraku-audit verify passes, and after a restart nothing
#         is owed to the recipient any more;
#  stop   the relay's wall clock is held still (tests/chaos/skewclock.c,
#         SKEW_FREEZE_FILE), so its 5 ms never run out: a confirm's record
#         waits, unsynced and without a receipt, until another node's
#         submit, whose one fdatasync covers both; then a clean stop
#         (SIGTERM) while another confirm waits: its delivered record is in
#         the log (renraku-audit), and after the restart the recipient is
#         owed nothing and the sender gets the receipt; last, a roster
#         reload (SIGHUP) while a confirm waits: the receipt still comes.
#         (The deferral counts on rk_now_ms, the wall clock. Were it to
#         count on a monotonic clock, the first check here would fail, and
#         this mode would need another way to hold the wait open.)
# Usage: confirm_defer.sh BUILD_DIR FAILSYNC.so SKEWCLOCK.so timer|fault|stop
# Exit 77 (CTest: skipped) when a shim cannot be preloaded, with why.
set -u
B=$(realpath "$1") FAILSYNC=$(realpath "$2") SKEW=$(realpath "$3") MODE=$4
KEYS=$B/keys/renraku-keys RELAY=$B/relay/renraku-relay
T=$B/tests/testnode AUDIT=$B/clients/renraku-audit
# shellcheck source=tests/lib.sh
. "$(dirname "$(realpath "${BASH_SOURCE[0]}")")/../lib.sh"
chaos_workdir defer

cd "$W" || exit 1
# The shims are built without sanitizers: under ASan the runtime's
# link-order check is relaxed (as storage_fault.sh, skew.sh).
export ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}verify_asan_link_order=0"
PRE=()
case "$MODE" in
timer) ;;
fault)
    PRE=(env LD_PRELOAD="$FAILSYNC" FAILSYNC_DIR="$W/data/log/"
        FAILSYNC_TRIGGER="$W/fault" FAILSYNC_COUNT="$W/faults.txt")
    skip_unless_preloads "fault shim (into the relay)" "${PRE[@]}" "$RELAY"
    ;;
stop)
    PRE=(env LD_PRELOAD="$SKEW" SKEW_FREEZE_FILE="$W/freeze")
    skip_unless_preloads "clock shim (into the relay)" "${PRE[@]}" "$RELAY"
    ;;
*)
    echo "usage: confirm_defer.sh BUILD FAILSYNC.so SKEWCLOCK.so timer|fault|stop"
    exit 2
    ;;
esac

nb="--not-before 2020-01-01T00:00:00Z"
"$KEYS" gen --id coordinator --role coordinator --out keys >/dev/null || exit 1
"$KEYS" gen --id relay.test --role relay --out keys >/dev/null || exit 1
for n in jp.nisc us.cisa sg.csa kr.krcert; do
    "$KEYS" gen --id $n --role partner --out keys >/dev/null || exit 1
done
"$KEYS" roster init roster.json --framework defer >/dev/null
for n in relay.test jp.nisc us.cisa sg.csa kr.krcert; do
    "$KEYS" roster add roster.json --pub keys/$n.pub --country JP --org "$n" $nb >/dev/null
done
"$KEYS" roster sign roster.json --key keys/coordinator.key --out roster.signed >/dev/null || exit 1
VKEY=$("$RELAY" --print-vkey --key keys/relay.test.key) || exit 1

# No periodic checkpoint during the test (each one syncs waiting records).
RELAY_FLAGS="--checkpoint-every 3600"
# node ID COMMAND [ARGS]: testnode as node ID, every line stamped.
node() {
    local id=$1 cmd=$2
    shift 2
    "$T" "$cmd" --key "keys/$id.key" --roster roster.signed \
        --coordinator keys/coordinator.pub --relay "$EP" \
        --relay-pub keys/relay.test.pub --stamp "$@"
}
# snap FILE: the relay's stats now; field NAME FILE: one number of them.
snap() { "$RELAY" stats --data data >"$1" 2>&1; }
field() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" "$2"; }
# The msg id of the stored answer in FILE; the mono_ms of a line in FILE.
stored_msg() { sed -n 's/^stored index=[0-9]* msg=\([0-9a-f]*\) .*/\1/p' "$1" | head -1; }
stored_index() { sed -n 's/^stored index=\([0-9]*\) .*/\1/p' "$1" | head -1; }
mono_of() { grep -E -- "$1" "$2" | head -1 | sed -n 's/.* mono_ms=\([0-9]*\)$/\1/p'; }
receipt_re() { echo "^receipt msg=$1 recipient=us.cisa status=delivered "; }
# audit_counts MSG: "accepted A delivered D" for MSG in the relay's log.
audit_counts() {
    "$AUDIT" export data --format jsonl --msg "$1" >"export-$1.jsonl" 2>export.err ||
        { echo "export failed: $(cat export.err)"; return; }
    echo "accepted $(count '"type": *"accepted"' "export-$1.jsonl")" \
        "delivered $(count '"type": *"delivered"' "export-$1.jsonl")"
}
verify_log() {
    "$AUDIT" verify data --vkey "$VKEY" --coordinator keys/coordinator.pub >verify.out 2>&1 &&
        ok "renraku-audit verify passes on the relay's log" ||
        { bad "renraku-audit verify passes on the relay's log"; cat verify.out; }
}
# A recipient that stays connected (its confirms are the only traffic).
start_recipient() { # EXPECT
    node us.cisa recv --expect "$1" --timeout-ms 120000 >r.out 2>&1 &
    RECV=$!
    PIDS+=("$RECV")
    until_ok 20 grep -q '^welcome node=us.cisa' r.out || { bad "us.cisa connects"; cat r.out; exit 1; }
}

mode_timer() {
    local k=5 i m rc tc tr gap nsync gaps=()
    chaos_start_relay || { bad "the relay starts"; cat relay.log; exit 1; }
    start_recipient $((k + 1))
    # One notice at a time: after the recipient's confirm nothing reaches
    # the relay until the sender has its receipt (stats is asked before
    # and after, never in between: a request wakes the relay too).
    for ((i = 1; i <= k; i++)); do
        snap st0.json
        node jp.nisc send --to us.cisa --text "trip $i" --receipts 1 \
            --timeout-ms 5000 >s$i.out 2>&1
        rc=$?
        snap st1.json
        m=$(stored_msg s$i.out)
        if [ "$rc" != 0 ] || [ -z "$m" ] || ! grep -q "$(receipt_re "$m")" s$i.out; then
            bad "notice $i: the sender gets its delivered receipt within 5 s, nothing else going on"
            sed 's/^/  sender| /' s$i.out
            tail -5 relay.log | sed 's/^/  relay| /'
            break
        fi
        nsync=$(($(field fsyncs st1.json) - $(field fsyncs st0.json)))
        [ "$nsync" = 2 ] ||
            bad "notice $i: the relay synced its log twice for it (submit, confirm), not $nsync times"
        tc=$(mono_of "^confirm index=[0-9]* msg=$m " r.out)
        tr=$(mono_of "$(receipt_re "$m")" s$i.out)
        gap=$((tr - tc))
        [ "$gap" -ge 0 ] || bad "notice $i: the receipt came after the confirm ($gap ms)"
        gaps+=("$gap")
    done
    if [ "${#gaps[@]}" = "$k" ]; then
        ok "each of $k senders gets its delivered receipt by itself (within 5 s)"
        ok "each notice costs the relay two syncs: its submit's, and its confirm's own"
        local sorted median max
        sorted=$(printf '%s\n' "${gaps[@]}" | sort -n)
        median=$(echo "$sorted" | sed -n "$(((k + 1) / 2))p")
        max=$(echo "$sorted" | tail -1)
        echo "confirm -> receipt (ms): $(echo "$sorted" | tr '\n' ' ')"
        # The bound is generous for a loaded machine (5 ms of deferral and
        # one fdatasync), and still below the 200 ms the relay's loop
        # sleeps when it has nothing to do: a deferred sync left to that
        # wake-up would be above it every time.
        [ "$median" -lt 150 ] &&
            ok "the receipt follows the confirm soon: median $median ms (< 150), max $max ms" ||
            bad "the receipt follows the confirm soon: median $median ms (< 150), max $max ms"
    fi
    kill_tree "$RECV"
    chaos_stop_relay
    verify_log
    if [ "${#gaps[@]}" = "$k" ]; then
        grep -q "^records .*delivered $k," verify.out &&
            ok "the log holds $k delivered records" ||
            bad "the log holds $k delivered records: $(head -1 verify.out)"
    fi
}

mode_fault() {
    local m idx n2 t2 tr order
    chaos_start_relay "${PRE[@]}" || { bad "the relay starts"; cat relay.log; exit 1; }
    # Stored while its recipient is away.
    node jp.nisc send --to us.cisa --text "confirmed into a failed sync" >s.out 2>&1 ||
        { bad "the notice is stored"; cat s.out; }
    m=$(stored_msg s.out) idx=$(stored_index s.out)
    [ -n "$m" ] && ok "the notice is stored while us.cisa is offline" ||
        { bad "the notice is stored"; exit 1; }
    # The sender waits, connected, for receipts after that index (for two:
    # it stays connected, and a second one would be seen).
    node jp.nisc wait --receipts 2 --receipts-after "$idx" --timeout-ms 60000 >w.out 2>&1 &
    local wpid=$!
    PIDS+=("$wpid")
    until_ok 20 grep -q '^welcome node=jp.nisc' w.out || bad "jp.nisc waits, connected"
    # From here the only record is the confirm's, and the next fdatasync
    # under data/log/ is the one that covers it (checked below).
    echo "sync 1" >fault.tmp && mv fault.tmp fault
    start_recipient 2
    until_ok 10 grep -q 'event=storage_recovered' relay.log &&
        ok "the relay logs storage_recovered by itself" ||
        bad "the relay logs storage_recovered by itself"
    until_ok 10 grep -q "$(receipt_re "$m")" w.out &&
        ok "the sender gets a delivered receipt in the end" ||
        { bad "the sender gets a delivered receipt in the end"; cat w.out; }
    rm -f fault
    n2=$(grep -c "^deliver index=$idx msg=$m from=jp.nisc" r.out)
    [ "$n2" = 2 ] && ok "the relay sends the delivery again after the failed sync" ||
        { bad "the relay sends the delivery again after the failed sync ($n2 deliveries)"; cat r.out; }
    [ "$(grep -c . faults.txt 2>/dev/null)" = 1 ] && ok "the shim failed one fdatasync" ||
        bad "the shim failed one fdatasync (it failed $(grep -c . faults.txt 2>/dev/null))"
    order=$(grep -oE 'event=(log_sync_failed dropped=[0-9]+|storage_failed|storage_recovered)' \
        relay.log | tr '\n' ' ')
    [ "$order" = "event=log_sync_failed dropped=1 event=storage_failed event=storage_recovered " ] &&
        ok "the failed sync cut the one delivered record: $order" ||
        bad "the failed sync cut the one delivered record: $order"
    # The receipt is for the second confirm, whose record was synced: it
    # came after that confirm left the recipient.
    t2=$(grep "^confirm index=$idx msg=$m " r.out | sed -n '2s/.* mono_ms=\([0-9]*\)$/\1/p')
    tr=$(mono_of "$(receipt_re "$m")" w.out)
    [ -n "$t2" ] && [ -n "$tr" ] && [ "$tr" -ge "$t2" ] &&
        ok "the receipt came after the second confirm (first receipt $((tr - t2)) ms after it)" ||
        { bad "the receipt came after the second confirm (${tr:-none} vs ${t2:-none})"; cat w.out r.out; }
    kill_tree "$RECV"
    # Any other receipt would have been sent before this stats answer, to
    # the sender still connected.
    snap st.json
    [ "$(field receipts_sent st.json)" = 1 ] && [ "$(field delivered st.json)" = 1 ] &&
        [ "$(field fsync_failures st.json)" = 1 ] && grep -q '"storage_ok":true' st.json &&
        ok "stats: one receipt sent, one delivery confirmed, one failed sync, storage ok" ||
        { bad "stats: one receipt sent, one delivery confirmed, one failed sync, storage ok"; cat st.json; }
    [ "$(count '^receipt ' w.out)" = 1 ] && ok "the sender got one receipt, not two" ||
        { bad "the sender got one receipt, not two"; cat w.out; }
    kill_tree "$wpid"
    chaos_stop_relay
    [ "$(audit_counts "$m")" = "accepted 1 delivered 1" ] &&
        ok "the log holds the notice accepted once and delivered once" ||
        bad "the log holds the notice accepted once and delivered once: $(audit_counts "$m")"
    verify_log
    chaos_start_relay || { bad "the relay restarts"; cat relay.log; exit 1; }
    snap st2.json
    grep -q '"queued":{}' st2.json && ok "after a restart nothing is owed to anyone" ||
        { bad "after a restart nothing is owed to anyone"; cat st2.json; }
    chaos_stop_relay
}

mode_stop() {
    local a c b ia ic l0 f0 r0 i
    chaos_start_relay "${PRE[@]}" || { bad "the relay starts"; cat relay.log; exit 1; }
    start_recipient 3
    : >freeze # the relay's wall clock stands still from its next reading
    snap st0.json
    l0=$(field log_size st0.json) f0=$(field fsyncs st0.json) r0=$(field receipts_sent st0.json)
    node jp.nisc send --to us.cisa --text "rides on the next sync" --receipts 1 \
        --timeout-ms 30000 >a.out 2>&1 &
    local apid=$!
    PIDS+=("$apid")
    until_ok 20 grep -q '^stored ' a.out || { bad "the first notice is stored"; cat a.out; }
    a=$(stored_msg a.out) ia=$(stored_index a.out)
    logged() { snap st.json && [ "$(field log_size st.json)" = "$1" ]; }
    until_ok 20 grep -q "^confirm index=$ia msg=$a " r.out && until_ok 20 logged $((l0 + 2)) &&
        ok "us.cisa confirms it; the relay logs its delivered record" ||
        { bad "us.cisa confirms it; the relay logs its delivered record"; cat r.out st.json; }
    # Twenty turns of the relay's loop (each stats request is answered in
    # one, after which a due deferral would be synced): with its clock
    # held, the 5 ms never pass, and no turn syncs the record.
    for ((i = 0; i < 20; i++)); do snap st1.json; done
    [ "$(field fsyncs st1.json)" = $((f0 + 1)) ] && [ "$(field receipts_sent st1.json)" = "$r0" ] &&
        ! grep -q '^receipt ' a.out &&
        ok "the delivered record waits unsynced, and the sender has no receipt yet" ||
        { bad "the delivered record waits unsynced, and the sender has no receipt yet"; cat st1.json a.out; }
    # Another node's submit: one fdatasync covers its record and the wait-
    # ing one, and then the sender gets its receipt.
    node sg.csa send --to kr.krcert --text "the next batch" --timeout-ms 20000 >b.out 2>&1 ||
        { bad "sg.csa's notice is stored"; cat b.out; }
    b=$(stored_msg b.out)
    until_ok 20 grep -q "$(receipt_re "$a")" a.out &&
        ok "the sender gets its receipt after the next submit's sync" ||
        { bad "the sender gets its receipt after the next submit's sync"; cat a.out; }
    snap st2.json
    [ "$(field fsyncs st2.json)" = $((f0 + 2)) ] && [ "$(field log_size st2.json)" = $((l0 + 3)) ] &&
        ok "one fdatasync made both records durable (fsyncs +2 in all, log +3)" ||
        { bad "one fdatasync made both records durable"; cat st2.json; }
    # A clean stop while a confirm waits (the clock still stands still).
    node jp.nisc send --to us.cisa --text "confirmed as the relay stops" --receipts 1 \
        --timeout-ms 30000 >c.out 2>&1 &
    PIDS+=($!)
    until_ok 20 grep -q '^stored ' c.out || { bad "the second notice is stored"; cat c.out; }
    c=$(stored_msg c.out) ic=$(stored_index c.out)
    until_ok 20 grep -q "^confirm index=$ic msg=$c " r.out && until_ok 20 logged $((l0 + 5)) &&
        [ "$(field fsyncs st.json)" = $((f0 + 3)) ] &&
        ok "us.cisa confirms the second one; its record waits unsynced" ||
        { bad "us.cisa confirms the second one; its record waits unsynced"; cat st.json; }
    chaos_stop_relay
    rm -f freeze
    kill_tree "$RECV"
    [ "$(audit_counts "$c")" = "accepted 1 delivered 1" ] &&
        ok "after the stop the log holds its delivered record" ||
        bad "after the stop the log holds its delivered record: $(audit_counts "$c")"
    [ "$(audit_counts "$a")" = "accepted 1 delivered 1" ] &&
        [ "$(audit_counts "$b")" = "accepted 1 delivered 0" ] &&
        ok "the log holds the first notice delivered once, sg.csa's accepted" ||
        bad "the log holds the first notice delivered once, sg.csa's accepted"
    verify_log
    chaos_start_relay || { bad "the relay restarts"; cat relay.log; exit 1; }
    snap st3.json
    grep -q '"queued":{"kr.krcert":1}' st3.json &&
        ok "after the restart nothing is owed to us.cisa (only sg.csa's notice to kr.krcert waits)" ||
        { bad "after the restart nothing is owed to us.cisa"; cat st3.json; }
    node jp.nisc wait --receipts 1 --receipts-after "$ic" --timeout-ms 10000 >w.out 2>&1
    grep -q "$(receipt_re "$c")" w.out &&
        ok "after the restart the sender gets its receipt for the second notice" ||
        { bad "after the restart the sender gets its receipt for the second notice"; cat w.out; }
    chaos_stop_relay
    # A roster reload (SIGHUP) while a confirm waits, the clock held and no
    # submit to carry the sync: the confirm's receipt still comes, and the
    # log stays whole.
    chaos_start_relay "${PRE[@]}" || { bad "the relay restarts"; cat relay.log; exit 1; }
    start_recipient 2
    : >freeze
    snap st0.json
    l0=$(field log_size st0.json)
    node jp.nisc send --to us.cisa --text "confirmed before a reload" --receipts 1 \
        --timeout-ms 30000 >d.out 2>&1 &
    PIDS+=($!)
    until_ok 20 grep -q '^stored ' d.out || { bad "the third notice is stored"; cat d.out; }
    local d id f1
    d=$(stored_msg d.out) id=$(stored_index d.out)
    until_ok 20 grep -q "^confirm index=$id msg=$d " r.out &&
        until_ok 20 logged $((l0 + 2)) || { bad "us.cisa confirms the third notice"; cat r.out st.json; }
    f1=$(field fsyncs st.json)
    for ((i = 0; i < 10; i++)); do snap st4.json; done
    [ "$(field fsyncs st4.json)" = "$f1" ] && ! grep -q '^receipt ' d.out &&
        ok "its record waits unsynced, no receipt yet" ||
        { bad "its record waits unsynced, no receipt yet"; cat st4.json d.out; }
    "$KEYS" roster sign roster.json --key keys/coordinator.key --out roster.signed >/dev/null
    kill -HUP "$RPID"
    until_ok 20 grep -q 'event=roster_installed serial=2' relay.log ||
        bad "SIGHUP installs roster serial 2"
    until_ok 20 grep -q "$(receipt_re "$d")" d.out &&
        ok "a roster reload syncs the waiting confirm: the sender gets its receipt" ||
        { bad "a roster reload syncs the waiting confirm: the sender gets its receipt"; cat d.out; }
    chaos_stop_relay
    rm -f freeze
    kill_tree "$RECV"
    [ "$(audit_counts "$d")" = "accepted 1 delivered 1" ] &&
        ok "the log holds the third notice delivered once" ||
        bad "the log holds the third notice delivered once: $(audit_counts "$d")"
    verify_log
}

"mode_$MODE"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
