#!/usr/bin/env bash
# Integration tests of renraku-relay: real processes on 127.0.0.1 with an
# ephemeral port, fresh test keys made here (never secrets), bounded waits.
# Usage: relay.sh RENRAKU_KEYS RENRAKU_RELAY TESTNODE SCENARIO
# Scenarios: deliver group offline handshake hostile replay expiry kill9
#            checkpoint revoke verifyat ratelimit state operator disconnect
set -u
KEYS=$(realpath "$1") RELAY=$(realpath "$2") T=$(realpath "$3") SCENARIO=$4
W=$(mktemp -d /tmp/rk-relay-XXXXXX)
RPID=
pass=0 fail=0

cleanup() {
    [ -n "$RPID" ] && kill -9 "$RPID" 2>/dev/null
    # A background `node` is a subshell: its testnode first.
    for p in $(jobs -p); do pkill -9 -P "$p" 2>/dev/null; done
    jobs -p | xargs -r kill -9 2>/dev/null
    rm -rf "$W"
}
trap cleanup EXIT
# until_ok (bounded polls), kill_tree; ok and bad are this script's own.
# shellcheck source=tests/lib.sh
. "$(dirname "$(realpath "${BASH_SOURCE[0]}")")/../lib.sh"

ok() { pass=$((pass + 1)); echo "ok: $1"; }
bad() {
    fail=$((fail + 1))
    echo "FAIL: $1"
    [ -f "$W/relay.log" ] && tail -20 "$W/relay.log" | sed 's/^/  relay| /'
}
# expect DESC FILE REGEX: FILE has a line matching REGEX.
expect() { if grep -Eq "$3" "$2"; then ok "$1"; else bad "$1"; sed 's/^/  out| /' "$2"; fi; }
# wait_for FILE REGEX SECONDS: poll (bounded) until FILE matches.
wait_for() { until_ok "$3" grep -Eq "$2" "$1"; }

setup() {
    cd "$W" || exit 1
    "$KEYS" gen --id coordinator --role coordinator --out keys >/dev/null || exit 1
    "$KEYS" gen --id relay.test --role relay --out keys >/dev/null || exit 1
    for n in jp.nisc us.cisa sg.csa outsider.x; do
        "$KEYS" gen --id $n --role partner --out keys >/dev/null || exit 1
    done
    "$KEYS" roster init roster.json --framework test >/dev/null
    # Keys valid from 2020, so that only the replay window judges old times.
    local nb="--not-before 2020-01-01T00:00:00Z"
    "$KEYS" roster add roster.json --pub keys/relay.test.pub --country JP --org Relay $nb >/dev/null
    "$KEYS" roster add roster.json --pub keys/jp.nisc.pub --country JP --org NISC --group g7 --group asean $nb >/dev/null
    "$KEYS" roster add roster.json --pub keys/us.cisa.pub --country US --org CISA --group g7 $nb >/dev/null
    "$KEYS" roster add roster.json --pub keys/sg.csa.pub --country SG --org CSA --group asean $nb >/dev/null
    "$KEYS" roster sign roster.json --key keys/coordinator.key --out roster.signed >/dev/null || exit 1
    VKEY=$("$RELAY" --print-vkey --key keys/relay.test.key) || exit 1
}

start_relay() {
    rm -f "$W/ep"
    "$RELAY" --key keys/relay.test.key --roster roster.signed \
        --coordinator keys/coordinator.pub --data data --bind tcp://127.0.0.1:0 \
        --endpoint-file ep --checkpoint-every 1 --log-level debug "$@" >>relay.log 2>&1 &
    RPID=$!
    if ! wait_for ep "tcp://" 10; then bad "relay starts"; exit 1; fi
    EP=$(cat ep)
}
stop_relay() {
    kill -TERM "$RPID"
    if wait "$RPID" 2>/dev/null; then ok "the relay stops cleanly (exit 0)"; else bad "the relay stops cleanly"; fi
    RPID=
}
kill9_relay() { kill -9 "$RPID"; wait "$RPID" 2>/dev/null; RPID=; }

# node ID COMMAND [ARGS]: testnode as node ID.
node() {
    local id=$1 cmd=$2
    shift 2
    "$T" "$cmd" --key "keys/$id.key" --roster roster.signed \
        --coordinator keys/coordinator.pub --relay "$EP" \
        --relay-pub keys/relay.test.pub --timeout-ms 8000 "$@"
}

# A recipient connected first, then the sender; the sender waits for the
# stored answer and the per-recipient receipt.
scenario_deliver() {
    start_relay
    node us.cisa recv --expect 1 >r.out 2>&1 &
    local rp=$!
    wait_for r.out welcome 10 || bad "recipient connects"
    node jp.nisc send --to us.cisa --text "ransomware at port" --receipts 1 >s.out 2>&1
    wait "$rp"
    expect "sender gets stored with a log index" s.out '^stored index=[0-9]+ msg=[0-9a-f]{32}$'
    expect "recipient verifies, opens and reads it" r.out '^deliver index=[0-9]+ msg=.* from=jp.nisc text="ransomware at port #0"$'
    expect "sender sees the per-recipient receipt" s.out '^receipt msg=.* recipient=us.cisa status=delivered'
    local m1 m2
    m1=$(sed -n 's/^stored index=[0-9]* msg=//p' s.out)
    m2=$(sed -n 's/^deliver index=[0-9]* msg=\([0-9a-f]*\).*/\1/p' r.out)
    if [ -n "$m1" ] && [ "$m1" = "$m2" ]; then ok "same msg id end to end"; else bad "same msg id end to end ($m1 vs $m2)"; fi
}

scenario_group() {
    start_relay
    node jp.nisc recv --expect 1 >a.out 2>&1 &
    local pa=$!
    node us.cisa recv --expect 1 >b.out 2>&1 &
    local pb=$!
    wait_for a.out welcome 10 && wait_for b.out welcome 10 || bad "recipients connect"
    node sg.csa send --to g7 --text "alert to the G7" --receipts 2 >s.out 2>&1
    wait "$pa" "$pb"
    expect "jp.nisc gets the group alert" a.out 'from=sg.csa text="alert to the G7 #0"'
    expect "us.cisa gets the group alert" b.out 'from=sg.csa text="alert to the G7 #0"'
    expect "receipt from jp.nisc" s.out 'recipient=jp.nisc status=delivered'
    expect "receipt from us.cisa" s.out 'recipient=us.cisa status=delivered'
}

# The recipient is offline at send time; it gets the message when it comes;
# the sender gets the receipt after reconnecting.
scenario_offline() {
    start_relay
    node jp.nisc send --to sg.csa --text "while you were away" --count 3 >s.out 2>&1
    expect "stored while the recipient is offline" s.out '^stored index='
    node sg.csa recv --expect 3 >r.out 2>&1
    expect "welcome says 3 are pending" r.out 'welcome node=sg.csa pending=3'
    expect "offline recipient gets the first on connect" r.out 'text="while you were away #0"'
    expect "and the last, in order" r.out 'text="while you were away #2"'
    local order
    order=$(sed -n 's/.*away #\([0-9]\)"$/\1/p' r.out | tr -d '\n')
    if [ "$order" = "012" ]; then ok "delivered in log order"; else bad "delivered in log order ($order)"; fi
    node jp.nisc wait --receipts 3 --receipts-after 0 >w.out 2>&1
    expect "receipts reach the sender when it reconnects" w.out 'recipient=sg.csa status=delivered'
}

scenario_handshake() {
    start_relay
    node outsider.x send --to us.cisa >o.out 2>&1
    expect "a key not in the roster is refused at the handshake" o.out '^handshake refused'
    expect "the relay logs the refusal with the key id" relay.log 'event=handshake_refused .*transport_key_id=[0-9a-f]{16}'
    node jp.nisc send --to us.cisa >s.out 2>&1
    expect "roster nodes are still admitted" s.out '^stored index='
}

# Every kind of bad input gets its own code while honest traffic goes on.
scenario_hostile() {
    start_relay
    node jp.nisc send --to us.cisa --sender us.cisa >h1.out 2>&1
    expect "claiming another node's id: sender-mismatch" h1.out 'rejected code=sender-mismatch'
    node jp.nisc send --to us.cisa --tamper signature >h2.out 2>&1
    expect "forged signature: bad-signature" h2.out 'rejected code=bad-signature'
    node jp.nisc send --to us.cisa --tamper ciphertext >h3.out 2>&1
    expect "changed ciphertext: bad-signature (relay sees it without the key)" h3.out 'rejected code=bad-signature'
    node jp.nisc send --to nobody.x >h4.out 2>&1
    expect "unknown recipient: unknown-recipient" h4.out 'rejected code=unknown-recipient'
    node jp.nisc raw --random 300 >h5.out 2>&1
    expect "random bytes: malformed" h5.out 'rejected code=malformed'
    node jp.nisc raw --oversize 1080000 >h6.out 2>&1
    expect "oversized frame: too-large" h6.out 'rejected code=too-large'
    node jp.nisc raw --parts >h7.out 2>&1
    expect "multi-part message: malformed" h7.out 'rejected code=malformed'
    node jp.nisc send --to us.cisa --created-offset-ms -3600000 >h8.out 2>&1
    expect "created an hour ago: stale" h8.out 'rejected code=stale'
    node jp.nisc send --to us.cisa --created-offset-ms 3600000 >h9.out 2>&1
    expect "created an hour ahead: future" h9.out 'rejected code=future'
    node jp.nisc send --to sg.csa --created-offset-ms 30000 >k1.out 2>&1
    expect "a clock 30 s ahead (inside the 60 s skew) is accepted" k1.out '^stored index='
    node jp.nisc send --to sg.csa --created-offset-ms -300000 >k2.out 2>&1
    expect "created 5 min ago (inside the 10 min window) is accepted" k2.out '^stored index='
    node jp.nisc send --to us.cisa --expires-in-ms 1 --created-offset-ms -5000 >h10.out 2>&1
    expect "already expired: expired" h10.out 'rejected code=expired'
    # Honest traffic during and after.
    node us.cisa recv --expect 1 >r.out 2>&1 &
    local rp=$!
    wait_for r.out welcome 10 || bad "recipient connects"
    node sg.csa send --to us.cisa --text honest >s.out 2>&1
    wait "$rp"
    expect "honest traffic still flows" r.out 'from=sg.csa text="honest #0"'
    expect "refusals are logged with their reason" relay.log 'event=refused node=jp.nisc code=bad-signature'
    "$RELAY" stats --data data >stats.out 2>&1
    expect "stats count refusals by reason" stats.out '"bad-signature":2'
}

# --verify-at recipients: the relay no longer checks signatures (a forged
# one is stored and delivered, for the recipient to quarantine), but every
# other check stays.
scenario_verifyat() {
    "$RELAY" --key keys/relay.test.key --roster roster.signed \
        --coordinator keys/coordinator.pub --data data --verify-at nowhere >v0.out 2>&1
    [ $? -eq 2 ] && ok "a wrong --verify-at value is a usage error (exit 2)" || bad "a wrong --verify-at value is a usage error (exit 2)"
    expect "and the error names it" v0.out 'verify-at nowhere: expected relay or recipients'
    start_relay --verify-at recipients
    expect "the relay warns that it does not check signatures" relay.log 'event=verify_at_recipients'
    node us.cisa recv --expect 2 --timeout-ms 30000 >r.out 2>&1 &
    local rp=$!
    wait_for r.out welcome 10 || bad "recipient connects"
    node jp.nisc send --to us.cisa --tamper signature >v1.out 2>&1
    expect "a forged signature is stored (left to the recipient)" v1.out '^stored index='
    node jp.nisc send --to us.cisa --sender us.cisa >v2.out 2>&1
    expect "a sender id not the authenticated node is still refused" v2.out 'rejected code=sender-mismatch'
    node jp.nisc send --to nobody.x >v3.out 2>&1
    expect "an unknown recipient is still refused" v3.out 'rejected code=unknown-recipient'
    node jp.nisc send --to us.cisa --created-offset-ms -3600000 >v4.out 2>&1
    expect "a stale envelope is still refused" v4.out 'rejected code=stale'
    node jp.nisc send --to us.cisa --text honest >v5.out 2>&1
    expect "an honest message is stored" v5.out '^stored index='
    wait "$rp"
    expect "the honest one reaches the recipient" r.out 'text="honest #0"'
    expect "the forged one reaches it too, and the recipient refuses it" r.out '^deliver-refused .*reason="signature does not verify'
}

# The per-node rate limit: a burst beyond --rate-burst is refused
# rate-limited (before any signature check), counted and summed up in one
# log line a second, never logged as records; other nodes are not limited,
# and the node may send again once its bucket refills.
scenario_ratelimit() {
    start_relay --rate-limit 5 --rate-burst 10
    node jp.nisc send --to us.cisa --count 40 >r1.out 2>&1
    local st lim
    st=$(grep -c '^stored index=' r1.out)
    lim=$(grep -c 'rejected code=rate-limited' r1.out)
    [ "$st" -ge 10 ] && [ "$st" -le 15 ] && ok "a burst of 40: the first 10 (+ refill) are stored ($st)" ||
        bad "a burst of 40: the first 10 (+ refill) are stored ($st)"
    [ $((st + lim)) -eq 40 ] && ok "the rest are refused rate-limited ($lim)" || bad "the rest are refused rate-limited ($lim)"
    expect "the refusal says why" r1.out 'rejected code=rate-limited.*more than 5 submits a second from this node \(burst 10\)'
    node sg.csa send --to us.cisa --count 3 >r2.out 2>&1
    [ "$(grep -c '^stored index=' r2.out)" -eq 3 ] && ok "another node is not limited" || bad "another node is not limited"
    expect "the relay logs a summary line" relay.log 'event=rate_limited node=jp.nisc refused=[0-9]+'
    if grep -q 'event=refused node=jp.nisc code=rate-limited' relay.log; then
        bad "no refusal line or record per rate-limited submit"
    else ok "no refusal line or record per rate-limited submit"; fi
    "$RELAY" stats --data data >s.out 2>&1
    expect "stats count them" s.out "\"rate-limited\":$lim"
    # The bucket refills at 5 a second: poll (bounded) until a submit is
    # stored again, rather than sleep a guess.
    local i
    for ((i = 0; i < 50; i++)); do
        node jp.nisc send --to us.cisa >r3.out 2>&1
        grep -q '^stored index=' r3.out && break
        grep -q 'rejected code=rate-limited' r3.out || break
    done
    expect "once its bucket refills the node sends again" r3.out '^stored index='
    stop_relay
    # What the relay holds in memory for one sender (envelopes to a
    # recipient that does not confirm) is bounded: then busy, until the
    # recipient confirms.
    rm -rf data
    start_relay --max-held-node-mb 1
    local big
    big=$(head -c 75000 /dev/urandom | base64 -w0)
    node jp.nisc send --to us.cisa --count 16 --text "$big" >q1.out 2>&1
    st=$(grep -c '^stored index=' q1.out)
    [ "$st" -ge 8 ] && [ "$st" -le 10 ] && ok "100 kB notices to an absent node: $st stored within 1 MiB" ||
        bad "100 kB notices to an absent node: $st stored within 1 MiB"
    expect "then busy, saying why" q1.out 'rejected code=busy.*not yet delivered from this node \(limit 1 MiB\)'
    node sg.csa send --to us.cisa --text small >q2.out 2>&1
    expect "another sender is not affected" q2.out '^stored index='
    "$RELAY" stats --data data >s2.out 2>&1
    expect "stats show the bytes held" s2.out '"held_bytes":[0-9]{6,}'
    node us.cisa recv --expect $((st + 1)) >q3.out 2>&1
    node jp.nisc send --to us.cisa --text "$big" >q4.out 2>&1
    expect "once the recipient confirmed, the sender may send again" q4.out '^stored index='
}

# A retry of the same bytes is answered stored again (same index); another
# message reusing the msg id is a replay.
scenario_replay() {
    start_relay
    node jp.nisc send --to us.cisa --save env.bin >s.out 2>&1
    local idx mid
    idx=$(sed -n 's/^stored index=\([0-9]*\).*/\1/p' s.out)
    mid=$(sed -n 's/^stored index=[0-9]* msg=//p' s.out)
    node jp.nisc resend --file env.bin >r1.out 2>&1
    expect "a retry of the same envelope is stored once, same index" r1.out "^stored index=$idx msg=$mid$"
    node jp.nisc send --to us.cisa --msg-id "$mid" --text other >r2.out 2>&1
    expect "another envelope with that msg id: replay" r2.out 'rejected code=replay'
    node us.cisa recv --expect 1 >d.out 2>&1
    local n
    n=$(grep -c '^deliver ' d.out)
    if [ "$n" = 1 ]; then ok "the recipient gets it exactly once"; else bad "the recipient gets it exactly once ($n)"; fi
    # Frames that arrive together, which the relay reads into one batch:
    # a new envelope submitted 20 times back to back is one message, every
    # answer naming its index; 20 envelopes sharing a fresh msg id are one
    # message and 19 replays.
    "$RELAY" stats --data data >s0.out 2>&1
    node jp.nisc send --to us.cisa --repeat 20 --text twin >r3.out 2>&1
    local first
    first=$(grep -m1 '^stored index=' r3.out)
    n=$(grep -c -x -- "$first" r3.out)
    [ -n "$first" ] && [ "$n" = 20 ] &&
        ok "one envelope 20 times back to back: 20 answers stored, one index" ||
        bad "one envelope 20 times back to back: $n of 20 answers are '$first'"
    local mid2 st rp
    mid2=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
    node jp.nisc send --to us.cisa --msg-id "$mid2" --count 20 --text burst >r4.out 2>&1
    st=$(grep -c "^stored index=[0-9]* msg=$mid2$" r4.out)
    rp=$(grep -c "rejected code=replay" r4.out)
    [ "$st" = 1 ] && [ "$rp" = 19 ] &&
        ok "20 envelopes sharing a msg id back to back: 1 stored, 19 replays" ||
        bad "20 envelopes sharing a msg id back to back: $st stored, $rp replays"
    "$RELAY" stats --data data >s1.out 2>&1
    local acc dup
    acc=$(grep -ho '"accepted":[0-9]*' s0.out s1.out | cut -d: -f2 | tr '\n' ' ')
    dup=$(grep -ho '"duplicates":[0-9]*' s0.out s1.out | cut -d: -f2 | tr '\n' ' ')
    # shellcheck disable=SC2086
    set -- $acc $dup
    [ $# = 4 ] && [ $(($2 - $1)) = 2 ] && [ $(($4 - $3)) = 19 ] &&
        ok "the relay counts 2 messages accepted and 19 duplicates" ||
        bad "the relay's counts before and after: accepted $acc, duplicates $dup"
    node us.cisa recv --expect 2 >d2.out 2>&1
    n=$(grep -c '^deliver ' d2.out)
    [ "$n" = 2 ] && ok "the recipient gets each of the two messages once" ||
        bad "the recipient gets $n deliveries for the two messages"
}

scenario_expiry() {
    start_relay
    node jp.nisc send --to sg.csa --expires-in-ms 1500 --receipts 1 >s.out 2>&1
    expect "stored before expiry" s.out '^stored index='
    expect "the sender is told it expired undelivered" s.out 'recipient=sg.csa status=expired'
    node sg.csa recv --expect 1 --timeout-ms 1500 >r.out 2>&1
    expect "an expired message is not delivered" r.out '^timeout got=0'
    expect "the expiry is logged" relay.log 'event=expired '
    # A confirm that arrives in the turn where its message expires: the log
    # holds the recipient's delivered record or the expiry listing it,
    # never both. 200 messages expire together, 8 s after they are made
    # (time enough to seal, store and deliver them all on a loaded machine);
    # the recipient holds its confirms, then sends them one every 12 ms
    # from 300 ms before their expiry (2.4 s in all, more than twice the
    # relay's 1 s between expiry scans), so a scan meets confirms in
    # flight. The sender waits for a receipt (delivered or expired) for
    # each of the 200.
    node jp.nisc send --to sg.csa --count 200 --expires-in-ms 8000 --text race \
        --receipts 200 --timeout-ms 30000 >s2.out 2>&1 &
    local spid=$!
    node sg.csa recv --expect 200 --credit 256 --confirm-from-expiry-ms -300 \
        --confirm-every-ms 12 --timeout-ms 30000 >r2.out 2>&1
    wait "$spid"
    expect "the 200 racing messages are stored" s2.out '^stored index='
    expect "the recipient confirms them across their expiry" r2.out '^confirmed 200 from expiry'
    local audit n
    audit=$(dirname "$RELAY")/../clients/renraku-audit
    n=$(grep -c 'status=\(delivered\|expired\)' s2.out)
    [ "$n" = 200 ] && ok "the sender has a receipt for each of the 200" ||
        bad "the sender has $n receipts of 200"
    "$audit" export data --format jsonl >x.jsonl 2>x.err || bad "renraku-audit export: $(cat x.err)"
    n=$(python3 - x.jsonl <<'PY'
import json, sys
deliv, exp = set(), set()
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["type"] == "delivered":
        deliv.update((r["accepted_index"], t) for t in r["to"])
    elif r["type"] == "expired":
        exp.update((r["accepted_index"], t) for t in r["to"])
print(len(deliv & exp), len(deliv), len(exp))
PY
)
    set -- $n
    [ "${1:-x}" = 0 ] && [ $(($2 + $3)) -ge 200 ] &&
        ok "no recipient is both delivered and expired ($2 delivered, $3 expired)" ||
        bad "recipients both delivered and expired: ${1:-?} ($2 delivered, $3 expired)"
    # The confirms straddled the scan: some came before it, some after.
    [ "${2:-0}" -gt 0 ] && [ "${3:-0}" -gt 1 ] &&
        ok "the confirm stream met the expiry scan (both outcomes seen)" ||
        bad "the confirm stream did not straddle the expiry scan"
}

# SIGKILL right after stored; the message survives and the new checkpoint
# extends the old one.
scenario_kill9() {
    start_relay
    node jp.nisc send --to sg.csa --text "survives kill -9" >s.out 2>&1
    expect "stored" s.out '^stored index='
    node jp.nisc checkpoint --relay-vkey "$VKEY" >c1.out 2>&1
    expect "checkpoint before the crash" c1.out 'verified=yes'
    local size1 root1
    size1=$(sed -n 's/.* size=\([0-9]*\) .*/\1/p' c1.out)
    root1=$(sed -n 's/.* root=\([0-9a-f]*\) .*/\1/p' c1.out)
    kill9_relay
    start_relay
    expect "restart recovers the log" relay.log 'event=queue_rebuilt live_messages=1'
    node sg.csa recv --expect 1 >r.out 2>&1
    expect "the message stored before the crash is delivered" r.out 'text="survives kill -9 #0"'
    node jp.nisc consistency --size1 "$size1" --root1 "$root1" --relay-vkey "$VKEY" >k.out 2>&1
    expect "the new checkpoint is consistent with the old" k.out 'verified=yes'
}

scenario_checkpoint() {
    start_relay
    node jp.nisc send --to us.cisa >s.out 2>&1
    local mid
    mid=$(sed -n 's/^stored index=[0-9]* msg=//p' s.out)
    node jp.nisc checkpoint --relay-vkey "$VKEY" >c.out 2>&1
    expect "checkpoint verifies with the printed vkey" c.out "origin=renraku/relay.test .*verified=yes"
    node jp.nisc prove --msg "$mid" --relay-vkey "$VKEY" >p.out 2>&1
    expect "inclusion proof of the message verifies" p.out 'verified=yes'
    node sg.csa prove --msg "$mid" --relay-vkey "$VKEY" >p2.out 2>&1
    expect "a node that neither sent nor received it gets no proof" p2.out 'rejected code=not-allowed'
    # Requests cannot make the relay sign and sync a file each: grow the
    # log (a refused frame is a record) and ask, 15 times in a row.
    local before after t0 t1 i
    before=$(ls data/checkpoints | wc -l)
    t0=$(date +%s)
    for ((i = 0; i < 15; i++)); do
        node jp.nisc raw --random 100 >/dev/null 2>&1
        node jp.nisc checkpoint --relay-vkey "$VKEY" >>c2.out 2>&1
    done
    t1=$(date +%s)
    after=$(ls data/checkpoints | wc -l)
    [ "$(grep -c 'verified=yes' c2.out)" -eq 15 ] && ok "each request gets a verified checkpoint" ||
        bad "each request gets a verified checkpoint"
    # At most one a second from requests, plus the periodic one (every 1 s
    # here) and one of rounding.
    [ $((after - before)) -le $((2 * (t1 - t0) + 2)) ] &&
        ok "15 requests after growth signed $((after - before)) files in $((t1 - t0)) s (at most two a second)" ||
        bad "15 requests after growth signed $((after - before)) files in $((t1 - t0)) s (at most two a second)"
    stop_relay
    expect "a clean stop signs a final checkpoint" relay.log 'event=stopped'
    ls data/checkpoints/*.note >/dev/null 2>&1 && ok "checkpoints are on disk" || bad "checkpoints are on disk"
}

# A node revoked in a newer roster is refused from then on (SIGHUP reload).
scenario_revoke() {
    start_relay
    cp roster.signed roster-serial1.signed
    cp roster.json roster-serial1.json
    node jp.nisc send --to us.cisa >s.out 2>&1
    expect "before: accepted" s.out '^stored index='
    # Connected until the relay cuts it off (killed once that is seen).
    node jp.nisc recv --expect 1 --timeout-ms 30000 >rj.out 2>&1 &
    local rjp=$!
    wait_for rj.out welcome 10 || bad "jp.nisc connects before its revocation"
    "$KEYS" roster revoke roster.json --id jp.nisc --reason test >/dev/null
    "$KEYS" roster sign roster.json --key keys/coordinator.key --out roster.signed >/dev/null
    cp roster.signed roster-serial2.signed
    kill -HUP "$RPID"
    wait_for relay.log 'event=roster_installed serial=2' 10 && ok "SIGHUP installs the newer roster" || bad "SIGHUP installs the newer roster"
    wait_for relay.log 'event=connections_reset nodes=jp.nisc' 10 &&
        ok "the revoked node, connected, is cut off" || bad "the revoked node, connected, is cut off"
    kill_tree "$rjp"
    wait "$rjp"
    node jp.nisc send --to us.cisa >s2.out 2>&1
    expect "after: the revoked node is refused" s2.out 'handshake refused|rejected code=sender-inactive'
    node sg.csa send --to jp.nisc >s3.out 2>&1
    expect "and cannot be sent to" s3.out 'rejected code=recipient-inactive'
    # A restart on the old roster file must not re-admit the revoked node.
    stop_relay
    cp roster-serial1.signed roster.signed
    start_relay
    expect "an older roster file is overruled by the logged one" relay.log 'event=roster_file_older .*logged_serial=2'
    node jp.nisc send --to us.cisa >s4.out 2>&1
    expect "the revoked node stays refused after the restart" s4.out 'handshake refused'
    # Another roster signed with serial 2 (from serial 1, sg.csa suspended
    # instead of jp.nisc revoked): the logged serial 2 stays in force, at
    # start and on SIGHUP, and the operator is told.
    "$KEYS" roster suspend roster-serial1.json --id sg.csa --reason test >/dev/null
    "$KEYS" roster sign roster-serial1.json --key keys/coordinator.key --out other2.signed >/dev/null
    grep -q '"serial": 2' other2.signed && ok "a second roster signed with serial 2" || bad "a second roster signed with serial 2"
    mark_log
    cp other2.signed roster.signed
    kill -HUP "$RPID"
    wait_for relay.log 'event=roster_(serial_conflict|unchanged|installed)' 10 || bad "SIGHUP reads the other serial-2 roster"
    expect_new "another roster with the serial in force is an error on SIGHUP" 'level=error event=roster_serial_conflict file=roster.signed serial=2 action="keeping the installed roster"'
    if since_mark | grep -q 'event=roster_unchanged'; then bad "the other roster is not called unchanged"; else ok "the other roster is not called unchanged"; fi
    stop_relay
    mark_log
    start_relay
    expect_new "and at start: the logged roster is used" 'level=error event=roster_serial_conflict file=roster.signed serial=2 action="using the logged roster"'
    node jp.nisc send --to us.cisa >s6.out 2>&1
    expect "the revoked node stays refused" s6.out 'handshake refused'
    node sg.csa send --to us.cisa --roster roster-serial2.signed >s7.out 2>&1
    expect "the node the other roster suspends still sends" s7.out '^stored index='
    # The logged roster with one more signature line (by another key, so
    # not checked) is the same roster, not a conflict.
    stop_relay
    { cat roster-serial2.signed; printf '\xe2\x80\x94 witness.test %s\n' "$(head -c 68 /dev/urandom | base64 -w0)"; } >roster.signed
    mark_log
    start_relay
    node jp.nisc send --to us.cisa >s8.out 2>&1
    expect "the logged roster in force with a second signature" s8.out 'handshake refused'
    if since_mark | grep -q 'roster_serial_conflict'; then bad "a second signature line is no conflict"; else ok "a second signature line is no conflict"; fi
    # A newer roster pushed over the wire (serial 3: us.cisa suspended).
    "$KEYS" roster suspend roster.json --id us.cisa --reason test >/dev/null
    "$KEYS" roster sign roster.json --key keys/coordinator.key --out roster3.signed >/dev/null
    node sg.csa push-roster --file roster-serial1.signed >p1.out 2>&1
    expect "an older roster pushed is refused" p1.out 'rejected code=roster .*not newer'
    node sg.csa push-roster --file roster3.signed >p3.out 2>&1
    expect "a newer signed roster pushed is installed and pushed back" p3.out '^roster accepted'
    wait_for relay.log 'event=roster_installed serial=3' 10 && ok "the relay logs serial 3" || bad "the relay logs serial 3"
    node sg.csa send --to us.cisa >s5.out 2>&1
    expect "the suspended node can no longer be sent to" s5.out 'rejected code=recipient-inactive'
    sed 's/"serial": 3/"serial": 4/' roster3.signed >forged.signed
    node sg.csa push-roster --file forged.signed >p4.out 2>&1
    expect "a roster altered after signing is refused" p4.out 'rejected code=roster .*signature'
}

# What the operator is told about the roster: a relay missing from the
# roster (or with other keys than the roster's) is reported, since nodes
# could not connect and the relay would never hear of it; a roster file
# older than the installed roster is reported on SIGHUP, not "unchanged".
scenario_operator() {
    # A passphrase file given for a key file that is not encrypted is not
    # used; the relay starts and says so, naming both files (the operator
    # may believe the key protected). An encrypted key says nothing.
    printf 'relay passphrase\n' >pass.txt
    start_relay --passphrase-file pass.txt
    expect "a passphrase file for a plain key file is a warning naming both" relay.log 'level=warn event=key_not_encrypted key=keys/relay.test.key reason="key file keys/relay.test.key is not encrypted, so the passphrase in pass.txt was not used'
    "$KEYS" gen --id relay.enc --role relay --out keys3 --passphrase-file pass.txt >/dev/null
    "$RELAY" --print-vkey --key keys3/relay.enc.key --passphrase-file pass.txt >pe.out 2>pe.err
    expect "an encrypted key opens with its passphrase file" pe.out '^renraku/relay.enc\+'
    if grep -q key_not_encrypted pe.err; then bad "an encrypted key gives no warning"; else ok "an encrypted key gives no warning"; fi
    # A signed roster file over the 1 MiB of a signed note is refused for
    # its size (it was "not a well-formed signed note").
    { printf 'renraku roster v1\n'; head -c 1100000 /dev/zero | tr '\0' a; printf '\n'; } >huge.signed
    "$RELAY" --key keys/relay.test.key --roster huge.signed \
        --coordinator keys/coordinator.pub --data data-huge >huge.out 2>&1
    [ $? -eq 1 ] && ok "a roster file over the size limit: exit 1" || bad "a roster file over the size limit: exit 1"
    expect "and the error names the file and the limit" huge.out 'roster huge.signed: more than the 1048576 bytes a signed roster may have'
    # The relay's own .pub as --coordinator: named at start as a key of
    # the wrong role, not later as a roster "not signed by the pinned
    # coordinator key", which reads as tampering.
    "$RELAY" --key keys/relay.test.key --roster roster.signed \
        --coordinator keys/relay.test.pub --data data-role >role.out 2>&1
    [ $? -eq 2 ] && ok "a relay's .pub as --coordinator: exit 2" || bad "a relay's .pub as --coordinator: exit 2"
    expect "and the error names the file, its role and the role needed" role.out \
        "^renraku-relay: error: --coordinator keys/relay.test.pub: the key of 'relay.test', role relay; --coordinator needs the coordinator's key \\(role coordinator\\)"
    if grep -q 'signed by' role.out; then bad "it is not called a roster not signed by the coordinator"; else ok "it is not called a roster not signed by the coordinator"; fi
    [ -e data-role ] && bad "nothing is created for a refused --coordinator" || ok "nothing is created for a refused --coordinator"
    if grep -q 'event=relay_not_in_roster' relay.log; then bad "a relay in the roster is not reported"; else ok "a relay in the roster is not reported"; fi
    cp roster.signed roster-serial1.signed
    mark_log
    "$KEYS" roster remove roster.json --id relay.test >/dev/null
    "$KEYS" roster sign roster.json --key keys/coordinator.key --out roster.signed >/dev/null
    kill -HUP "$RPID"
    wait_for relay.log 'event=roster_installed serial=2' 10 || bad "SIGHUP installs serial 2"
    expect_new "a roster without the relay is reported" 'level=error event=relay_not_in_roster node=relay.test roster_serial=2 reason="this relay is not in the roster'
    mark_log
    cp roster-serial1.signed roster.signed
    kill -HUP "$RPID"
    wait_for relay.log 'event=roster_(file_older|unchanged)' 10 || bad "SIGHUP reads the older file"
    expect_new "an older roster file on SIGHUP is a warning" 'level=warn event=roster_file_older file=roster.signed file_serial=1 serial=2'
    if since_mark | grep -q 'event=roster_unchanged'; then bad "an older file is not called unchanged"; else ok "an older file is not called unchanged"; fi
    stop_relay
    # Keys made again for the relay's id: the roster still lists the old.
    mkdir keys2
    "$KEYS" gen --id relay.test --role relay --out keys2 >/dev/null
    mark_log
    start_relay --key keys2/relay.test.key --data data2
    expect_new "a relay whose key is not the roster's is reported" 'event=relay_not_in_roster node=relay.test roster_serial=1 reason="no usable key set'
}

# Lines of relay.log from the last mark on: what the relay said since.
mark_log() { MARK=$(wc -l <relay.log); }
since_mark() { tail -n "+$((MARK + 1))" relay.log; }
# expect_new DESC REGEX: a line matching REGEX was logged since the mark.
expect_new() {
    if since_mark | grep -Eq "$2"; then ok "$1"; else bad "$1"; since_mark | sed 's/^/  new| /'; fi
}
# got_exactly DESC FILE TEXT N: FILE holds the N deliveries "TEXT #0".."#N-1",
# each once and in that order, and nothing else.
got_exactly() {
    local want got
    want=$(for ((i = 0; i < $4; i++)); do printf '%s #%d\n' "$3" "$i"; done)
    got=$(sed -n 's/^deliver index=[0-9]* msg=[0-9a-f]* from=[^ ]* text="\(.*\)"$/\1/p' "$2")
    if [ "$got" = "$want" ]; then ok "$1"; else
        bad "$1"
        sed 's/^/  out| /' "$2"
    fi
}
# nothing_more NODE: the relay owes NODE nothing (a fresh session gets no
# delivery within 1.5 s), so nothing was or will be delivered twice.
nothing_more() {
    node "$1" recv --expect 1 --timeout-ms 1500 >more.out 2>&1
    if grep -q '^timeout got=0' more.out; then ok "nothing more for $1 (exactly once)"; else
        bad "nothing more for $1 (exactly once)"
        sed 's/^/  out| /' more.out
    fi
}

# The state snapshot (DIR/state) and the leaf-hash cache (DIR/log/leaves):
# a restart from them owes exactly what the stopped relay owed; a damaged
# snapshot is ignored; a crash after a snapshot replays the log's tail; a
# record changed on disk behind the cache stops the relay.
scenario_state() {
    local idx mid n size rc t0

    # (a) Offline recipient, clean stop, restart from the snapshot.
    start_relay
    node jp.nisc send --to us.cisa --text "retry me" --save env.bin >d.out 2>&1
    idx=$(sed -n 's/^stored index=\([0-9]*\).*/\1/p' d.out)
    mid=$(sed -n 's/^stored index=[0-9]* msg=//p' d.out)
    node us.cisa recv --expect 1 >d-recv.out 2>&1
    got_exactly "us.cisa gets the message it will see retried" d-recv.out "retry me" 1
    node jp.nisc send --to sg.csa --text "before stop" --count 5 >a.out 2>&1
    n=$(grep -c '^stored index=' a.out)
    [ "$n" = 5 ] && ok "5 stored for the offline recipient" || bad "5 stored for the offline recipient ($n)"
    mark_log
    stop_relay
    [ -f data/state ] && ok "a clean stop writes DIR/state" || bad "a clean stop writes DIR/state"
    [ "$(stat -c %a data/state 2>/dev/null)" = 600 ] && ok "DIR/state is mode 0600" || bad "DIR/state is mode 0600"
    expect_new "the relay logs event=state_saved" 'event=state_saved log_size=[0-9]+ bytes=[0-9]+'
    size=$(since_mark | sed -n 's/.*event=stopped log_size=\([0-9]*\).*/\1/p' | tail -1)
    if [ -n "$size" ] && [ "$(stat -c %s data/log/leaves 2>/dev/null)" = $((size * 32)) ]; then
        ok "DIR/log/leaves holds 32 bytes per synced record ($size)"
    else bad "DIR/log/leaves holds 32 bytes per synced record ($size, $(stat -c %s data/log/leaves 2>/dev/null))"; fi
    mark_log
    start_relay
    expect_new "restart loads the snapshot" "event=state_loaded log_size=$size live_messages=5 "
    expect_new "and reuses the cached leaf hashes" "event=log_open .*hashes_reused=$size "
    node sg.csa recv --expect 5 >a-recv.out 2>&1
    expect "welcome says 5 are pending" a-recv.out 'welcome node=sg.csa pending=5'
    got_exactly "the recipient gets all 5, in order, once each" a-recv.out "before stop" 5
    nothing_more sg.csa
    # (d) A retried submit of a message confirmed before the snapshot is
    # answered stored with its index (the msg ids come from the snapshot),
    # not refused as a replay.
    node jp.nisc resend --file env.bin >d-retry.out 2>&1
    expect "a retry after the restart is answered stored, same index" d-retry.out "^stored index=$idx msg=$mid$"
    node jp.nisc send --to us.cisa --msg-id "$mid" --text other >d-other.out 2>&1
    expect "another envelope with that msg id is still a replay" d-other.out 'rejected code=replay'
    node jp.nisc prove --msg "$mid" --relay-vkey "$VKEY" >d-prove.out 2>&1
    expect "its inclusion proof is still found by msg id" d-prove.out 'verified=yes'
    nothing_more us.cisa
    wait_for relay.log 'event=log_scrubbed' 10 && ok "the scrub of the cached hashes finds nothing wrong" || bad "the scrub of the cached hashes finds nothing wrong"

    # (b) A damaged snapshot is ignored; the whole log still says it all.
    node jp.nisc send --to sg.csa --text "flipped" --count 3 >b.out 2>&1
    stop_relay
    size=$(stat -c %s data/state)
    printf '\xff' | dd of=data/state bs=1 seek=$((size / 2)) conv=notrunc status=none
    mark_log
    start_relay
    expect_new "a state file with a byte changed: event=state_ignored with a reason" 'event=state_ignored reason="[^"]+"'
    if since_mark | grep -q 'event=state_loaded'; then bad "and it is not loaded"; else ok "and it is not loaded"; fi
    expect_new "the queue is rebuilt from the whole log" 'event=queue_rebuilt live_messages=3$'
    node sg.csa recv --expect 3 >b-recv.out 2>&1
    got_exactly "all 3 are delivered once, and none of the earlier ones again" b-recv.out "flipped" 3
    nothing_more sg.csa
    node jp.nisc send --to sg.csa --text "truncated" --count 2 >b2.out 2>&1
    stop_relay
    size=$(stat -c %s data/state)
    truncate -s $((size - 40)) data/state
    mark_log
    start_relay
    expect_new "a truncated state file: event=state_ignored with a reason" 'event=state_ignored reason="[^"]+"'
    node sg.csa recv --expect 2 >b2-recv.out 2>&1
    got_exactly "both are delivered once" b2-recv.out "truncated" 2
    nothing_more sg.csa
    stop_relay
    : >data/state
    mark_log
    start_relay
    expect_new "an empty state file: event=state_ignored" 'event=state_ignored reason="[^"]+"'
    stop_relay

    # (c) Snapshot at a clean stop, then traffic, then kill -9: the restart
    # takes the older snapshot plus the log after it.
    start_relay
    node jp.nisc send --to sg.csa --text "in snapshot" --count 2 >c1.out 2>&1
    stop_relay
    mark_log
    start_relay
    expect_new "restart from the snapshot with 2 pending" 'event=state_loaded .*live_messages=2 '
    node sg.csa recv --expect 2 >c1-recv.out 2>&1
    got_exactly "the 2 in the snapshot are delivered" c1-recv.out "in snapshot" 2
    node jp.nisc send --to sg.csa --text "after snapshot" --count 3 >c2.out 2>&1
    n=$(grep -c '^stored index=' c2.out)
    [ "$n" = 3 ] && ok "3 more stored after the snapshot" || bad "3 more stored after the snapshot ($n)"
    kill9_relay
    mark_log
    start_relay
    expect_new "after kill -9 the older snapshot is loaded" 'event=state_loaded .*live_messages=2 '
    expect_new "and the log after it is applied" 'event=queue_rebuilt live_messages=3$'
    node sg.csa recv --expect 3 >c2-recv.out 2>&1
    got_exactly "the 3 sent after the snapshot are delivered once, the 2 confirmed ones not again" c2-recv.out "after snapshot" 3
    nothing_more sg.csa
    stop_relay

    # (e) A byte of a record's body changed on disk after a clean stop:
    # the relay trusts the cache to start, then its scrub finds the record
    # and the relay stops with a non-zero status.
    local seg len off
    seg=data/log/00000000000000000000.seg
    len=$(od -An -tu1 -j16 -N4 "$seg" | awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4 }')
    off=$((16 + 4 + len / 2)) # inside record 0's body, before its check bytes
    if [ "$len" -gt 2 ]; then ok "record 0 is $len bytes"; else bad "record 0 is $len bytes"; fi
    printf "\\x$(printf %02x $(($(od -An -tu1 -j$off -N1 "$seg") ^ 0x20)))" |
        dd of="$seg" bs=1 seek=$off conv=notrunc status=none
    mark_log
    start_relay
    ok "the relay starts on the cached hashes"
    t0=$SECONDS
    until_ok 15 relay_gone
    if kill -0 "$RPID" 2>/dev/null; then
        bad "the relay stops by itself within 15 s"
        kill9_relay
    else
        wait "$RPID"
        rc=$?
        RPID=
        [ "$rc" -ne 0 ] && ok "the relay stops by itself with status $rc (after $((SECONDS - t0)) s)" || bad "the relay stops with a non-zero status (got $rc)"
    fi
    expect_new "it logs event=log_corrupt naming record 0" 'event=log_corrupt error="log/00000000000000000000.seg: offset 16: record 0: '
    # Without the cache the same log is refused at start.
    rm -f data/log/leaves
    mark_log
    "$RELAY" --key keys/relay.test.key --roster roster.signed \
        --coordinator keys/coordinator.pub --data data --bind tcp://127.0.0.1:0 \
        --log-level debug >>relay.log 2>&1 &
    RPID=$!
    until_ok 15 relay_gone
    if kill -0 "$RPID" 2>/dev/null; then
        bad "without DIR/log/leaves the damaged log is refused at start"
        kill9_relay
    else
        wait "$RPID"
        rc=$?
        RPID=
        [ "$rc" -ne 0 ] && ok "without DIR/log/leaves the damaged log is refused at start (status $rc)" || bad "without DIR/log/leaves the damaged log is refused at start (status $rc)"
    fi
    expect_new "and the refusal names the damaged record" 'log/00000000000000000000.seg: offset 16: record 0: .*corruption before the tail'
    # Under ASan/UBSan a report exits 1 as well: the status alone is no proof.
    if grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:' relay.log; then
        bad "no sanitizer report from any of the relays"
    else ok "no sanitizer report from any of the relays"; fi
}

# A node that disconnects is seen gone without a send to it failing (the
# router's socket monitor names the closed descriptor, a probe to the
# node's routing id confirms it); a node still connected is not.
scenario_disconnect() {
    start_relay
    node jp.nisc recv --expect 1 --timeout-ms 30000 >a.out 2>&1 &
    local pa=$!
    node us.cisa recv --expect 1 --timeout-ms 30000 >b.out 2>&1 &
    local pb=$!
    wait_for a.out welcome 10 && wait_for b.out welcome 10 || bad "two nodes connect"
    "$RELAY" stats --data data >s0.out 2>&1
    expect "stats count both connected" s0.out '"connected":2,'
    # The testnode (a child of the function's subshell) dies: its TCP
    # connection closes, nothing is said.
    pkill -9 -P "$pb"
    wait "$pb" 2>/dev/null
    if wait_for relay.log "event=peer_disconnected node=us.cisa" 10; then
        ok "the relay logs us.cisa's disconnect by itself"
    else bad "the relay logs us.cisa's disconnect by itself"; fi
    "$RELAY" stats --data data >s1.out 2>&1
    expect "stats then count one connected: jp.nisc, still there" s1.out '"connected":1,'
    # A notice to the gone node waits in the queue: no send is tried.
    node sg.csa send --to us.cisa --text "to the gone node" >s.out 2>&1
    expect "a notice to the gone node is stored" s.out '^stored index='
    "$RELAY" stats --data data >s2.out 2>&1
    expect "and waits, with no send to it failing" s2.out '"send_failures":0,'
    expect "it counts as live in the queue" s2.out '"live_messages":1,'
    # sg.csa's testnode left after its send, closing its socket.
    if wait_for relay.log "event=peer_disconnected node=sg.csa" 10; then
        ok "a node that closes its connection is seen gone too"
    else bad "a node that closes its connection is seen gone too"; fi
    # renraku-relay nodes: who is connected now, who left, who never came.
    "$RELAY" nodes --data data >n1.out 2>&1
    expect "nodes: jp.nisc connected" n1.out '^jp\.nisc +partner +active +yes +20[0-9-]+T'
    expect "nodes: us.cisa left, one notice waits for it" n1.out '^us\.cisa +partner +active +no +20[0-9-]+T[^ ]+ +20[0-9-]+T[^ ]+ +1$'
    expect "nodes: sg.csa not connected now (its send is done)" n1.out '^sg\.csa +partner +active +no '
    expect "nodes: the relay's own entry" n1.out '^relay\.test +relay +active +self +- +- +0$'
    expect "nodes: the count, the relay aside" n1.out '^1 of 3 nodes connected \(roster serial 1\)$'
    "$RELAY" nodes --data data --json >n2.out 2>&1
    if python3 - n2.out s2.out <<'PY'
import json, sys
n = json.load(open(sys.argv[1]))
s = json.load(open(sys.argv[2]))
by = {x["id"]: x for x in n["nodes"]}
assert by["us.cisa"]["connected"] is False and by["us.cisa"]["queued"] == 1, by
assert by["jp.nisc"]["connected"] is True and by["jp.nisc"]["queued"] == 0, by
assert s["queued"] == {"us.cisa": 1}, s["queued"]
PY
    then ok "nodes --json and stats are JSON and agree on the queue"; else bad "nodes --json and stats are JSON and agree on the queue"; fi
    "$RELAY" nodes --data data --bogus >n3.out 2>&1
    rc=$?
    [ "$rc" -eq 2 ] && grep -q "nodes: unknown option --bogus" n3.out && ok "nodes: an unknown option is named (exit 2)" || { bad "nodes: an unknown option is named (exit 2, got $rc)"; cat n3.out; }
    # A bad short option after a long one with its value is the one named.
    "$RELAY" nodes --data=data -xj >n5.out 2>&1
    rc=$?
    [ "$rc" -eq 2 ] && grep -q "nodes: unknown option -x" n5.out && ok "nodes: -x in -xj after --data=DIR is named, not --data (exit 2)" || { bad "nodes: -x in -xj after --data=DIR is named, not --data (exit 2, got $rc)"; cat n5.out; }
    # A value for --json, even followed by a -j: the --json named (optopt
    # alone told a cluster "-j" from --json's val 'j'); abbreviated too.
    "$RELAY" nodes --data data --json=x -j >n8.out 2>&1
    rc=$?
    [ "$rc" -eq 2 ] && grep -q "nodes: --json takes no value" n8.out && ok "nodes: --json=x before -j is named (exit 2)" || { bad "nodes: --json=x before -j is named (exit 2, got $rc)"; cat n8.out; }
    "$RELAY" nodes --data data --js=1 >n9.out 2>&1
    rc=$?
    [ "$rc" -eq 2 ] && grep -q "nodes: --json takes no value" n9.out && ok "nodes: --js=1 is named as --json (exit 2)" || { bad "nodes: --js=1 is named as --json (exit 2, got $rc)"; cat n9.out; }
    "$RELAY" nodes --data >n7.out 2>&1
    rc=$?
    [ "$rc" -eq 2 ] && grep -q "nodes: --data needs a value" n7.out && ok "nodes: --data without its value is named (exit 2)" || { bad "nodes: --data without its value is named (exit 2, got $rc)"; cat n7.out; }
    # renraku-relay probe: asked about a node, the relay sends its connection
    # a pong (the node ignores it; testnode prints it) or finds it gone.
    "$RELAY" probe jp.nisc --data data >p1.out 2>&1
    rc=$?
    [ "$rc" -eq 0 ] && grep -q '^jp.nisc: connected' p1.out && ok "probe: jp.nisc connected (exit 0)" || { bad "probe: jp.nisc connected (exit 0, got $rc)"; cat p1.out; }
    wait_for a.out '^pong$' 5 && ok "and its connection got the pong" || bad "and its connection got the pong"
    "$RELAY" probe us.cisa --data data >p2.out 2>&1
    rc=$?
    [ "$rc" -eq 3 ] && grep -q '^us.cisa: not connected' p2.out && ok "probe: us.cisa not connected (exit 3)" || { bad "probe: us.cisa not connected (exit 3, got $rc)"; cat p2.out; }
    "$RELAY" probe no.such --data data >p3.out 2>&1
    rc=$?
    [ "$rc" -eq 1 ] && grep -q 'no node of that id in the roster' p3.out && ok "probe: an unknown node is named an error (exit 1)" || { bad "probe: an unknown node is an error (exit 1, got $rc)"; cat p3.out; }
    "$RELAY" stats --data data >s3.out 2>&1
    expect "after the probe jp.nisc still counts as connected" s3.out '"connected":1,'
    # jp.nisc, still connected, was not taken for gone: it gets a notice.
    node sg.csa send --to jp.nisc --text "to the live node" --receipts 1 >s3.out 2>&1
    wait "$pa"
    expect "the node still connected gets its notice" a.out 'from=sg.csa text="to the live node #0"'
    expect "and its receipt reaches the sender" s3.out 'recipient=jp.nisc status=delivered'
    # us.cisa comes back and gets what waited for it.
    node us.cisa recv --expect 1 >b2.out 2>&1
    expect "us.cisa, back, gets the notice that waited" b2.out 'from=sg.csa text="to the gone node #0"'
    # Someone connects with the relay's own key: nodes says so.
    node relay.test recv --expect 1 --timeout-ms 30000 >r.out 2>&1 &
    local pr=$!
    wait_for r.out welcome 10 || bad "a client with the relay's key connects"
    # Once the partners' testnodes, done, are seen gone (jp.nisc's, and
    # us.cisa's second connection): only it is left.
    gone_twice() { [ "$(grep -c 'event=peer_disconnected node=us.cisa' relay.log)" -ge 2 ]; }
    wait_for relay.log 'event=peer_disconnected node=jp\.nisc' 10 && until_ok 10 gone_twice ||
        bad "the partners' testnodes, done, are seen gone"
    "$RELAY" nodes --data data >n4.out 2>&1
    expect "nodes: the relay's own key in use is flagged" n4.out '^relay\.test +relay +active +SELF! '
    expect "nodes: and warned about, not counted" n4.out '^warning: a node is connected with this relay.s own key'
    expect "nodes: the count leaves it out" n4.out '^0 of 3 nodes connected'
    kill_tree "$pr"
    wait "$pr" 2>/dev/null
}

setup
case "$SCENARIO" in
deliver | group | offline | handshake | hostile | replay | expiry | kill9 | checkpoint | revoke | verifyat | state | ratelimit | operator | disconnect)
    "scenario_$SCENARIO" ;;
*) echo "unknown scenario $SCENARIO"; exit 2 ;;
esac
[ -n "$RPID" ] && stop_relay
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
