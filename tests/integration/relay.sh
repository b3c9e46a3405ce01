#!/usr/bin/env bash
# Integration tests of renraku-relay: real processes on 127.0.0.1 with an
# ephemeral port, fresh test keys made here (never secrets), bounded waits.
# Usage: relay.sh RENRAKU_KEYS RENRAKU_RELAY TESTNODE SCENARIO
# Scenarios: deliver group offline handshake hostile replay expiry kill9
#            checkpoint revoke verifyat
set -u
KEYS=$(realpath "$1") RELAY=$(realpath "$2") T=$(realpath "$3") SCENARIO=$4
W=$(mktemp -d /tmp/rk-relay-XXXXXX)
RPID=
pass=0 fail=0

cleanup() {
    [ -n "$RPID" ] && kill -9 "$RPID" 2>/dev/null
    jobs -p | xargs -r kill -9 2>/dev/null
    rm -rf "$W"
}
trap cleanup EXIT

ok() { pass=$((pass + 1)); echo "ok: $1"; }
bad() {
    fail=$((fail + 1))
    echo "FAIL: $1"
    [ -f "$W/relay.log" ] && tail -20 "$W/relay.log" | sed 's/^/  relay| /'
}
# expect DESC FILE REGEX: FILE has a line matching REGEX.
expect() { if grep -Eq "$3" "$2"; then ok "$1"; else bad "$1"; sed 's/^/  out| /' "$2"; fi; }
# wait_for FILE REGEX SECONDS: poll (bounded) until FILE matches.
wait_for() {
    local i
    for ((i = 0; i < $3 * 20; i++)); do grep -Eq "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
    return 1
}

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
    node us.cisa recv --expect 2 >r.out 2>&1 &
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
}

scenario_expiry() {
    start_relay
    node jp.nisc send --to sg.csa --expires-in-ms 1500 --receipts 1 >s.out 2>&1
    expect "stored before expiry" s.out '^stored index='
    expect "the sender is told it expired undelivered" s.out 'recipient=sg.csa status=expired'
    node sg.csa recv --expect 1 --timeout-ms 1500 >r.out 2>&1
    expect "an expired message is not delivered" r.out '^timeout got=0'
    expect "the expiry is logged" relay.log 'event=expired '
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
    stop_relay
    expect "a clean stop signs a final checkpoint" relay.log 'event=stopped'
    ls data/checkpoints/*.note >/dev/null 2>&1 && ok "checkpoints are on disk" || bad "checkpoints are on disk"
}

# A node revoked in a newer roster is refused from then on (SIGHUP reload).
scenario_revoke() {
    start_relay
    cp roster.signed roster-serial1.signed
    node jp.nisc send --to us.cisa >s.out 2>&1
    expect "before: accepted" s.out '^stored index='
    node jp.nisc recv --expect 1 --timeout-ms 3000 >rj.out 2>&1 &
    local rjp=$!
    wait_for rj.out welcome 10 || bad "jp.nisc connects before its revocation"
    "$KEYS" roster revoke roster.json --id jp.nisc --reason test >/dev/null
    "$KEYS" roster sign roster.json --key keys/coordinator.key --out roster.signed >/dev/null
    kill -HUP "$RPID"
    wait_for relay.log 'event=roster_installed serial=2' 10 && ok "SIGHUP installs the newer roster" || bad "SIGHUP installs the newer roster"
    wait_for relay.log 'event=connections_reset nodes=jp.nisc' 10 &&
        ok "the revoked node, connected, is cut off" || bad "the revoked node, connected, is cut off"
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

setup
case "$SCENARIO" in
deliver | group | offline | handshake | hostile | replay | expiry | kill9 | checkpoint | revoke | verifyat)
    "scenario_$SCENARIO" ;;
*) echo "unknown scenario $SCENARIO"; exit 2 ;;
esac
[ -n "$RPID" ] && stop_relay
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
