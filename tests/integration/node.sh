#!/usr/bin/env bash
# End-to-end tests of the partner node: renraku-relay, renrakud and the
# renraku command as real processes on 127.0.0.1 (ephemeral port), with
# fresh test keys made here, bounded waits, and everything stopped at the
# end. Usage: node.sh BUILD_DIR SCENARIO
# Scenarios: flow offline kill9 journal tamper stix hook errors refused reset
# tworelays rejected_norecord resubmit redeliver receipts unlisted refusals
# diskfull rotate relay_revoked relay_rekey_trust undeliverable
set -u
B=$(realpath "$1") SCENARIO=$2
KEYS=$B/keys/renraku-keys RELAY=$B/relay/renraku-relay
D=$B/clients/renrakud R=$B/clients/renraku AUDIT=$B/clients/renraku-audit
W=$(mktemp -d /tmp/rk-node-XXXXXX)
RPID='' RB='' # RB: the pid of a second relay, where a scenario starts one
declare -A DPID
pass=0 fail=0

cleanup() {
    [ -n "$RPID" ] && kill -9 "$RPID" 2>/dev/null
    [ -n "$RB" ] && kill -9 "$RB" 2>/dev/null
    for p in "${DPID[@]}"; do kill -9 "$p" 2>/dev/null; done
    rm -rf "$W"
}
trap cleanup EXIT

ok() { pass=$((pass + 1)); echo "ok: $1"; }
bad() {
    fail=$((fail + 1))
    echo "FAIL: $1"
    for f in "$W"/*.log; do [ -f "$f" ] && tail -8 "$f" | sed "s#^#  $(basename "$f")| #"; done
}
expect() { if grep -Eq -- "$3" "$2"; then ok "$1"; else bad "$1"; sed 's/^/  out| /' "$2"; fi; }
# until SECONDS CMD...: run CMD every 50 ms until it succeeds (bounded).
until_ok() {
    local i n=$(($1 * 20))
    shift
    for ((i = 0; i < n; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.05; done
    return 1
}
# holds MS CMD...: CMD stays true for MS milliseconds, polled every 50 ms;
# fails at once when it turns false. For what must NOT happen (no copy
# sent, nothing given up): there is no event to wait on, so the window is
# bounded and ends early on a failure.
holds() {
    local end=$(($(date +%s%3N) + $1))
    shift
    while [ "$(date +%s%3N)" -lt "$end" ]; do "$@" >/dev/null 2>&1 || return 1; sleep 0.05; done
    "$@" >/dev/null 2>&1
}

setup() {
    cd "$W" || exit 1
    local nb="--not-before 2020-01-01T00:00:00Z"
    "$KEYS" gen --id coordinator --role coordinator --out keys >/dev/null || exit 1
    "$KEYS" gen --id relay.test --role relay --out keys >/dev/null || exit 1
    for n in jp.nisc us.cisa sg.csa; do
        "$KEYS" gen --id $n --role partner --out keys >/dev/null || exit 1
    done
    "$KEYS" roster init roster.json --framework test >/dev/null
    "$KEYS" roster add roster.json --pub keys/relay.test.pub --country JP --org Relay $nb >/dev/null
    "$KEYS" roster add roster.json --pub keys/jp.nisc.pub --country JP --org NISC --group g7 $nb >/dev/null
    "$KEYS" roster add roster.json --pub keys/us.cisa.pub --country US --org CISA --group g7 $nb >/dev/null
    "$KEYS" roster add roster.json --pub keys/sg.csa.pub --country SG --org CSA $nb >/dev/null
    "$KEYS" roster sign roster.json --key keys/coordinator.key --out roster.signed >/dev/null || exit 1
}

start_relay() {
    rm -f ep
    "$RELAY" --key keys/relay.test.key --roster roster.signed \
        --coordinator keys/coordinator.pub --data relaydata --bind "${BIND:-tcp://127.0.0.1:0}" \
        --endpoint-file ep "$@" >>relay.log 2>&1 &
    RPID=$!
    until_ok 10 grep -q tcp:// ep || { bad "relay starts"; exit 1; }
    EP=$(cat ep)
    BIND=$EP # a restart reuses the port, as a real relay would
}
STOP_FAILS=0
stop_relay() {
    [ -n "$RPID" ] || return 0
    kill -TERM "$RPID"
    wait "$RPID" 2>/dev/null || STOP_FAILS=$((STOP_FAILS + 1))
    RPID=
}

# start_node ID [extra flags]
start_node() {
    local id=$1 relay=(--relay "$EP")
    shift
    case " $* " in *" --relay "*) relay=() ;; esac # the caller names its relays
    rm -f "st-$id/control.sock" # a killed daemon's socket file is no sign of life
    "$D" --key "keys/$id.key" --roster roster.signed --coordinator keys/coordinator.pub \
        --state "st-$id" "${relay[@]}" --resubmit-ms 500 "$@" >>"$id.log" 2>&1 &
    DPID[$id]=$!
    until_ok 10 test -S "st-$id/control.sock" || bad "renrakud $id starts"
}
stop_node() {
    kill -TERM "${DPID[$1]}" 2>/dev/null
    wait "${DPID[$1]}" 2>/dev/null || STOP_FAILS=$((STOP_FAILS + 1))
    unset "DPID[$1]"
}
kill9_node() { kill -9 "${DPID[$1]}" 2>/dev/null; wait "${DPID[$1]}" 2>/dev/null; unset "DPID[$1]"; }
rk() { local id=$1; shift; "$R" --state "st-$id" "$@"; }
# queued_ids FILE: the msg ids of the `queued MSG_ID` lines renraku send
# wrote to FILE, one a line.
queued_ids() { sed -n 's/^queued \([0-9a-f]*\).*/\1/p' "$1"; }

# recipient_state SENDER MSG RECIPIENT STATE: the sender's status shows it.
recipient_state() {
    rk "$1" status --json | grep -q . &&
        rk "$1" show "$2" --json | tr -d ' \n' | grep -q "\"$3\":{\"state\":\"$4\""
}
connected() { rk "$1" status --json | tr -d ' \n' | grep -q '"connected":true'; }
# no_daemon_fast DIR WHAT: with no renrakud on DIR (WHAT: how), renraku
# status exits 3 and renraku-drill ping exits 1, each within 3 s (not the
# control socket's 10 s wait), saying renrakud is not running for DIR.
no_daemon_fast() {
    local t0 ms rc
    t0=$(date +%s%N)
    "$R" --state "$1" status >nd.out 2>&1; rc=$?
    ms=$((($(date +%s%N) - t0) / 1000000))
    [ $rc = 3 ] && [ $ms -lt 3000 ] && ok "$2: renraku status exits 3 at once (${ms} ms)" ||
        bad "$2: renraku status exits 3 at once (exit $rc after ${ms} ms)"
    expect "... saying renrakud is not running for that folder" nd.out \
        "^renraku: error: renrakud is not running for $1 "
    t0=$(date +%s%N)
    "$B/clients/renraku-drill" ping us.cisa --state "$1" --out nd-drill >nd.out 2>&1; rc=$?
    ms=$((($(date +%s%N) - t0) / 1000000))
    [ $rc = 1 ] && [ $ms -lt 3000 ] && ok "$2: renraku-drill ping exits 1 at once (${ms} ms)" ||
        bad "$2: renraku-drill ping exits 1 at once (exit $rc after ${ms} ms)"
    expect "... saying so too" nd.out "error: renrakud is not running for $1 "
}

scenario_flow() {
    start_relay
    start_node jp.nisc
    start_node us.cisa
    until_ok 10 connected jp.nisc && until_ok 10 connected us.cisa || bad "nodes connect"
    rk jp.nisc send --to us.cisa --title "Ransomware at a port operator" --tlp AMBER \
        --severity high --category malicious-code --type ransomware \
        --indicator ipv4-addr=203.0.113.7 --indicator domain-name=bad.example \
        --action "Block the indicators and report sightings" >send.out 2>&1
    expect "send says queued" send.out '^queued [0-9a-f]{32} notice to us.cisa'
    MID=$(queued_ids send.out)
    until_ok 15 recipient_state jp.nisc "$MID" us.cisa delivered &&
        ok "the relay's receipt shows the notice delivered to us.cisa" ||
        bad "the relay's receipt shows the notice delivered to us.cisa"
    rk us.cisa inbox >inbox.out 2>&1
    expect "us.cisa's inbox lists it, unread" inbox.out "${MID:0:12} +jp.nisc +notice +AMBER +high .*Ransomware at a port operator +\(new\)"
    rk us.cisa show "${MID:0:10}" --json >show.out 2>&1
    expect "show opens it by a prefix of its id" show.out '"value": "203.0.113.7"'
    rk us.cisa inbox --unread >unread.out 2>&1
    expect "after show it is no longer unread" unread.out '^no unread messages'
    rk us.cisa ack "${MID:0:10}" --status acknowledged --comment "blocking now" >ack.out 2>&1
    expect "ack is queued" ack.out '^queued [0-9a-f]{32} \(acknowledged\)'
    until_ok 15 recipient_state jp.nisc "$MID" us.cisa acknowledged &&
        ok "jp.nisc sees us.cisa's acknowledgement" ||
        bad "jp.nisc sees us.cisa's acknowledgement"
    rk jp.nisc status >status.out 2>&1
    expect "status shows the relay connection" status.out '^Relay +relay.test at tcp://127.0.0.1:[0-9]+: connected since'
    expect "status shows the recipient's state" status.out "us.cisa +acknowledged"
    rk jp.nisc alert --to g7 --title "Exploited VPN vulnerability" >alert.out 2>&1
    expect "a group alert goes to the other members, not back to the sender" alert.out 'alert to us.cisa$'
    # A record cut short in the state folder is named, never silently left
    # out of the inbox or shown as an empty message.
    echo '{"msg_id": "cut sh' >"st-us.cisa/inbox/$MID.json"
    echo '[]' >"st-jp.nisc/sent/$MID.json"
    rk us.cisa inbox >cut-inbox.out 2>&1
    expect "inbox lists an unreadable record by name" cut-inbox.out "^${MID:0:12} RECORD UNREADABLE: inbox/$MID.json: malformed"
    rk us.cisa show "$MID" >cut-show.out 2>&1 && bad "show of an unreadable record: exit 1" ||
        ok "show of an unreadable record: exit 1"
    expect "... naming the file" cut-show.out "^renraku: error: $MID: its inbox record inbox/$MID.json cannot be read"
    rk jp.nisc status >cut-status.out 2>&1
    expect "status lists an unreadable sent record" cut-status.out "^${MID:0:12} RECORD UNREADABLE: sent/$MID.json"
    expect "the daemon logs it at level error" us.cisa.log "level=error event=record_unreadable box=inbox msg=$MID"
    # A folder that cannot be listed (not a folder; a link to nowhere) is
    # named with the OS error, never shown as empty: exit 1, and the
    # daemon logs it. (The alert must have arrived before.)
    local rc A b
    A=$(queued_ids alert.out)
    until_ok 15 recipient_state jp.nisc "$A" us.cisa delivered || bad "the alert is delivered"
    mv st-us.cisa/inbox st-us.cisa/inbox.away && touch st-us.cisa/inbox
    rk us.cisa inbox >hole.out 2>hole.err; rc=$?
    [ $rc = 1 ] && ok "inbox, when inbox/ is not a folder: exit 1" ||
        bad "inbox, when inbox/ is not a folder: exit 1 ($rc)"
    expect "... listing the folder as unreadable, with the OS error" hole.out '^FOLDER UNREADABLE: inbox/ cannot be listed: Not a directory$'
    expect "... and saying so on stderr" hole.err '^renraku: error: st-us.cisa/inbox/ cannot be listed: Not a directory$'
    rk us.cisa inbox --json >hole-json.out 2>/dev/null; rc=$?
    [ $rc = 1 ] && ok "inbox --json: exit 1" || bad "inbox --json: exit 1 ($rc)"
    expect "... an entry with box and unreadable" hole-json.out '"unreadable": "inbox/ cannot be listed: Not a directory"'
    rk us.cisa show "$MID" >hole-show.out 2>&1; rc=$?
    [ $rc = 1 ] && ok "show: exit 1" || bad "show: exit 1 ($rc)"
    expect "... naming the folder, not \"no such message\"" hole-show.out "^renraku: error: $MID: cannot look it up: inbox/ cannot be listed: Not a directory$"
    expect "the daemon logs it at level error" us.cisa.log 'level=error event=box_unreadable box=inbox reason="cannot list st-us.cisa/inbox: Not a directory"'
    rm st-us.cisa/inbox && ln -s "$W/nowhere" st-us.cisa/inbox
    rk us.cisa inbox >hole-link.out 2>&1; rc=$?
    [ $rc = 1 ] && ok "inbox, when inbox/ is a link to nowhere: exit 1" ||
        bad "inbox, when inbox/ is a link to nowhere: exit 1 ($rc)"
    expect "... saying so" hole-link.out '^FOLDER UNREADABLE: inbox/ cannot be listed: No such file or directory$'
    rm st-us.cisa/inbox && mv st-us.cisa/inbox.away st-us.cisa/inbox
    for b in outbox sent quarantine; do mv "st-jp.nisc/$b" "st-jp.nisc/$b.away" && touch "st-jp.nisc/$b"; done
    rk jp.nisc status >hole-status.out 2>hole-status.err; rc=$?
    for b in outbox sent quarantine; do rm "st-jp.nisc/$b" && mv "st-jp.nisc/$b.away" "st-jp.nisc/$b"; done
    [ $rc = 1 ] && ok "status, when outbox/, sent/ and quarantine/ are not folders: exit 1" ||
        bad "status, when outbox/, sent/ and quarantine/ are not folders: exit 1 ($rc)"
    expect "... not \"0 waiting\" in the outbox" hole-status.out '^Outbox +FOLDER UNREADABLE: outbox/ cannot be listed: Not a directory$'
    expect "... nor an empty quarantine" hole-status.out '^Quarantine FOLDER UNREADABLE: quarantine/ cannot be listed: Not a directory$'
    expect "... nor no sent messages" hole-status.out '^FOLDER UNREADABLE: sent/ cannot be listed: Not a directory$'
    [ "$(grep -c '^renraku: error: st-jp.nisc/[a-z]*/ cannot be listed: Not a directory$' hole-status.err)" = 3 ] &&
        ok "... each named on stderr" || { bad "... each named on stderr"; sed 's/^/  err| /' hole-status.err; }
    expect "the daemon logs it at level error" jp.nisc.log 'level=error event=box_unreadable box=sent reason="cannot list st-jp.nisc/sent: Not a directory"'
}

scenario_offline() {
    start_relay
    start_node jp.nisc
    until_ok 10 connected jp.nisc || bad "jp.nisc connects"
    rk jp.nisc send --to sg.csa --title "While you were away" >send.out 2>&1
    MID=$(queued_ids send.out)
    until_ok 15 recipient_state jp.nisc "$MID" sg.csa stored &&
        ok "stored at the relay while sg.csa is down" || bad "stored at the relay while sg.csa is down"
    # A backlog: sg.csa takes these in bursts (read together, written
    # with one sync, then confirmed).
    for i in $(seq 1 40); do
        rk jp.nisc send --to sg.csa --title "backlog $i" >>send.out 2>&1
    done
    LAST=$(queued_ids send.out | tail -1)
    until_ok 15 recipient_state jp.nisc "$LAST" sg.csa stored || bad "the backlog is stored"
    start_node sg.csa
    until_ok 15 recipient_state jp.nisc "$MID" sg.csa delivered &&
        ok "delivered when sg.csa comes up" || bad "delivered when sg.csa comes up"
    until_ok 15 recipient_state jp.nisc "$LAST" sg.csa delivered || bad "the backlog is delivered"
    rk sg.csa inbox >inbox.out 2>&1
    expect "in sg.csa's inbox" inbox.out 'While you were away'
    n=$(find st-sg.csa/inbox -name '*.json' | wc -l)
    [ "$n" -eq 41 ] && ok "the backlog of 41 is in the inbox, each once" ||
        bad "the backlog of 41 is in the inbox, each once (found $n)"
    n=$(grep -c 'event=received ' sg.csa.log)
    [ "$n" -eq 41 ] && ok "each was received once (41 log lines)" ||
        bad "each was received once ($n log lines)"
    n=$(find st-sg.csa -name '*.tmp.*' | wc -l)
    [ "$n" -eq 0 ] && ok "no temporary file is left" || bad "no temporary file is left ($n)"
    # A sent record edited by hand (a recipient with no state) must not
    # crash renrakud when the relay stores its message: it would again at
    # every start, as the outbox is submitted each time.
    stop_relay
    rk jp.nisc send --to sg.csa --title "Edited by hand" >edit.out 2>&1
    E=$(queued_ids edit.out)
    stop_node jp.nisc
    sed -i '/"state": "queued"/d' "st-jp.nisc/sent/$E.json"
    start_relay
    start_node jp.nisc
    until_ok 15 grep -q "event=stored msg=$E" jp.nisc.log && sleep 0.2
    kill -0 "${DPID[jp.nisc]}" 2>/dev/null && ok "... renrakud still runs after it is stored" ||
        { bad "... renrakud still runs after it is stored"; unset "DPID[jp.nisc]"; return; }
    # (its keys are then in another order than recipient_state expects)
    until_ok 15 eval "rk jp.nisc show $E --json | python3 -c 'import json,sys; sys.exit(json.load(sys.stdin)[\"recipients\"][\"sg.csa\"][\"state\"] != \"delivered\")'" &&
        ok "a recipient with no state in a sent record: stored, delivered" ||
        bad "a recipient with no state in a sent record: stored, delivered"
}

# Told "queued", then SIGKILL; after restart the notice goes out, and the
# recipient holds it exactly once.
scenario_kill9() {
    start_relay
    start_node us.cisa
    start_node jp.nisc
    until_ok 10 connected jp.nisc || bad "jp.nisc connects"
    # 1. relay up: killed right after queued (it may or may not have left).
    rk jp.nisc send --to us.cisa --title "first, killed at once" >s1.out 2>&1
    kill9_node jp.nisc
    expect "queued before the kill" s1.out '^queued '
    # Its control socket file stays behind, and nothing listens on it.
    [ -S st-jp.nisc/control.sock ] && ok "the killed daemon left its control socket" ||
        bad "the killed daemon left its control socket"
    no_daemon_fast st-jp.nisc "a killed daemon's socket file"
    # 2. relay down: it cannot have left; only the outbox on disk has it.
    stop_relay
    start_node jp.nisc
    rk jp.nisc send --to us.cisa --title "second, relay down" >s2.out 2>&1
    expect "queued while the relay is down" s2.out '^queued '
    rk jp.nisc status >st.out 2>&1
    expect "status says the relay is not connected" st.out 'NOT CONNECTED'
    expect "and that it waits in the outbox" st.out '^Outbox +[12] waiting'
    kill9_node jp.nisc
    start_relay
    start_node jp.nisc
    M1=$(queued_ids s1.out)
    M2=$(queued_ids s2.out)
    until_ok 20 recipient_state jp.nisc "$M2" us.cisa delivered &&
        ok "after restart the outbox is sent and delivered" || bad "after restart the outbox is sent and delivered"
    until_ok 20 recipient_state jp.nisc "$M1" us.cisa delivered &&
        ok "the first one too" || bad "the first one too"
    rk us.cisa inbox --json >inbox.json 2>&1
    local n1 n2
    n1=$(grep -c "\"msg_id\": \"$M1\"" inbox.json)
    n2=$(grep -c "\"msg_id\": \"$M2\"" inbox.json)
    [ "$n1" = 1 ] && [ "$n2" = 1 ] && ok "each is in the inbox exactly once" ||
        bad "each is in the inbox exactly once ($n1, $n2)"
}

scenario_tamper() {
    start_relay --test-tamper-deliveries
    start_node jp.nisc
    start_node us.cisa
    until_ok 10 connected jp.nisc || bad "jp.nisc connects"
    rk jp.nisc send --to us.cisa --title "altered on the way" >s.out 2>&1
    until_ok 15 bash -c "'$R' --state st-us.cisa status --json | grep -q reason" &&
        ok "the altered envelope is quarantined" || bad "the altered envelope is quarantined"
    rk us.cisa status >st.out 2>&1
    expect "status shows the quarantine with its reason" st.out 'from jp.nisc: signature does not verify'
    rk us.cisa inbox >inbox.out 2>&1
    expect "nothing altered reaches the inbox" inbox.out '^no messages'
    expect "the daemon logs it as an error" us.cisa.log 'level=error event=quarantined'
}

scenario_stix() {
    start_relay
    start_node jp.nisc
    start_node us.cisa
    until_ok 10 connected jp.nisc || bad "jp.nisc connects"
    rk jp.nisc send --to us.cisa --title "Phishing wave against ministries" --tlp GREEN \
        --severity medium --category fraud --type phishing \
        --indicator url=https://login.bad.example/x --indicator domain-name=bad.example >s.out 2>&1
    MID=$(queued_ids s.out)
    until_ok 15 recipient_state jp.nisc "$MID" us.cisa delivered || bad "delivered"
    rk us.cisa export "$MID" --format stix --out bundle.json 2>/dev/null
    expect "export writes a STIX 2.1 bundle" bundle.json '"type": "bundle"'
    expect "with the incident" bundle.json '"type": "incident"'
    expect "and the TLP:GREEN marking" bundle.json 'marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb'
    rk us.cisa import bundle.json --out draft.json 2>/dev/null
    expect "import gives back the title" draft.json '"title": "Phishing wave against ministries"'
    expect "and the TLP" draft.json '"tlp": "GREEN"'
    expect "and the indicators" draft.json 'https://login.bad.example/x'
    rk us.cisa send --to jp.nisc --file draft.json >s2.out 2>&1
    expect "the draft can be sent as it is" s2.out '^queued '
    # alert --file: a file without a severity goes out as high, the
    # alert's default (it went out without one).
    echo '{"title":"Alert from a file","tlp":"AMBER","incident_id":"f-3"}' >a.json
    rk us.cisa alert --to jp.nisc --file a.json >a.out 2>&1
    AID=$(queued_ids a.out)
    until_ok 15 recipient_state us.cisa "$AID" jp.nisc delivered || bad "the alert from a file is delivered"
    rk jp.nisc show "$AID" --json >a.show 2>&1
    expect "alert --file without a severity is sent as high" a.show '"severity": "high"'
}

# send_stored N WORD: jp.nisc sends N notices titled "WORD i" to us.cisa
# (down) and waits until the relay has stored the last.
send_stored() {
    local i last
    for i in $(seq 1 "$1"); do
        rk jp.nisc send --to us.cisa --title "$2 $i" >>"s-$2.out" 2>&1
    done
    last=$(queued_ids "s-$2.out" | tail -1)
    until_ok 15 recipient_state jp.nisc "$last" us.cisa stored || bad "the $1 '$2' notices are stored"
}

scenario_hook() {
    start_relay
    start_node jp.nisc
    start_node us.cisa --hook "cat > '$W/hook.json'"
    until_ok 10 connected jp.nisc || bad "jp.nisc connects"
    rk jp.nisc send --to us.cisa --title "for the ticketing system" >s.out 2>&1
    until_ok 15 grep -q "for the ticketing system" hook.json &&
        ok "the hook gets the notice as JSON on stdin" || bad "the hook gets the notice as JSON on stdin"
    expect "with who sent it" hook.json '"from": *"jp.nisc"'
    stop_node us.cisa
    # A burst (a backlog after an outage) brings more notices than hooks
    # may run at once (16): the rest wait their turn, none is skipped.
    send_stored 30 burst
    # Each run lasts 2 s, so the 30 overlap however slowly they start.
    start_node us.cisa --hook "sleep 2; grep -o 'burst [0-9]*' >> '$W/hooks.txt'"
    # Every run of the burst finished (31 with the first notice's).
    until_ok 20 bash -c "[ \$(grep -c 'event=hook_done' '$W/us.cisa.log') -ge 31 ]"
    n=$(sort -u hooks.txt | wc -l)
    [ "$n" -eq 30 ] && ok "a hook ran for each of the 30 notices of a burst" ||
        bad "a hook ran for each of the 30 notices of a burst ($n)"
    n=$(wc -l <hooks.txt)
    [ "$n" -eq 30 ] && ok "each hook ran once" || bad "each hook ran once ($n runs)"
    expect "hooks past the 16 running waited their turn" us.cisa.log 'event=hook_queued'
    if grep -q 'event=hook_skipped' us.cisa.log; then bad "no hook was skipped"; else ok "no hook was skipped"; fi
    until_ok 5 bash -c "[ \$(find '$W/st-us.cisa/hooks' -name '*.json' | wc -l) -eq 0 ]" &&
        ok "no hook is left due once all have run" || bad "no hook is left due once all have run"
    # Killed right after them (the journal may still hold their markers):
    # the hooks that ran do not run again at the next start (checked with
    # the count of resumed hooks below).
    kill9_node us.cisa
    # The daemon is killed while its hooks run: they are due still, and
    # run when it starts again, each once, for its notice.
    send_stored 10 crash
    start_node us.cisa --hook "for i in \$(seq 600); do [ -e '$W/hookstop' ] && break; sleep 0.1; done # rk-hook-crash-$$"
    until_ok 15 bash -c "[ \$(grep -c 'event=received' '$W/us.cisa.log') -ge 41 ]" ||
        bad "the ten reach the inbox"
    n=$(find st-us.cisa/hooks -name '*.json' | wc -l)
    [ "$n" -eq 10 ] && ok "ten hooks are due while they run" || bad "ten hooks are due while they run ($n)"
    kill9_node us.cisa
    touch hookstop # the killed daemon's hooks end by themselves
    until_ok 10 bash -c "! pgrep -f 'rk-hook-cras[h]-$$' >/dev/null" || bad "the killed daemon's hooks end"
    : >>hooks3.txt
    start_node us.cisa --hook "grep -o 'crash [0-9]*' >> '$W/hooks3.txt'"
    until_ok 20 bash -c "[ \$(sort -u '$W/hooks3.txt' | wc -l) -ge 10 ]"
    until_ok 10 bash -c "[ \$(find '$W/st-us.cisa/hooks' -name '*.json' | wc -l) -eq 0 ]" &&
        ok "none is due once they ran" || bad "none is due once they ran"
    n=$(sort -u hooks3.txt | wc -l)
    [ "$n" -eq 10 ] && ok "after a kill -9, each of the ten hooks ran" ||
        bad "after a kill -9, each of the ten hooks ran ($n)"
    n=$(wc -l <hooks3.txt)
    [ "$n" -eq 10 ] && ok "each of them once" || bad "each of them once ($n runs)"
    n=$(grep -c 'event=hook_resumed' us.cisa.log)
    [ "$n" -eq 10 ] && ok "the daemon resumed those ten, not the hooks that had run" ||
        bad "the daemon resumed those ten, not the hooks that had run ($n)"

    # A hook that reads its stdin late (or never) does not hold renrakud
    # up, however big the notice: more than a pipe's 64 KiB.
    stop_node us.cisa
    start_node us.cisa --hook "for i in \$(seq 600); do [ -e '$W/bigstop' ] && break; sleep 0.1; done; wc -c > '$W/big.len.'\$\$ # rk-hook-big-$$"
    local big=() i
    for i in 1 2 3 4 5 6 7 8; do big+=(--indicator "url=https://bad.example/$i/$(head -c 1900 /dev/zero | tr '\0' a)"); done
    rk jp.nisc send --to us.cisa --title "big one" --body "$(head -c 60000 /dev/zero | tr '\0' x)" "${big[@]}" >big.out 2>&1
    expect "a notice of 75 KB is queued" big.out '^queued '
    until_ok 15 bash -c "grep -l 'big one' st-us.cisa/inbox/*.json" || bad "the big notice reaches the inbox"
    until_ok 5 pgrep -f "rk-hook-bi[g]-$$" || bad "its hook starts"
    rk jp.nisc send --to us.cisa --title "after the big one" >>big.out 2>&1
    until_ok 15 bash -c "grep -l 'after the big one' st-us.cisa/inbox/*.json" &&
        ok "the next notice is received while the big one's hook has not read its stdin" ||
        bad "the next notice is received while the big one's hook has not read its stdin"
    touch bigstop
    until_ok 10 bash -c "cat big.len.* | awk '\$1 > 75000 {f=1} END {exit !f}'" &&
        ok "the hook reads the whole big notice when it gets to it" ||
        bad "the hook reads the whole big notice when it gets to it ($(cat big.len.* 2>/dev/null | tr '\n' ' '))"

    # A hook over its time is killed with what its shell started, not the
    # shell alone (which would leave the command running, orphaned).
    stop_node us.cisa
    start_node us.cisa --hook-timeout-ms 1000 --hook "sleep 61.$$; echo late >'$W/late.txt'"
    rk jp.nisc send --to us.cisa --title "slow hook" >slow.out 2>&1
    until_ok 15 grep -q 'event=hook_killed' us.cisa.log &&
        ok "a hook over --hook-timeout-ms is killed" || bad "a hook over --hook-timeout-ms is killed"
    expect "and says so" us.cisa.log 'event=hook_killed .*ran over 1000 ms'
    until_ok 5 bash -c "! pgrep -f '^sleep 61[.]$$'" &&
        ok "what the hook started is killed with it" || bad "what the hook started is killed with it"
    pkill -f "^sleep 61[.]$$" 2>/dev/null

    # A hook still running when renrakud stops is stopped with it (else it
    # would run on, and again at the next start: twice at once), and runs
    # again, whole, at the next start.
    stop_node us.cisa
    start_node us.cisa --hook "grep -q 'at the stop' && { sleep 62.$$; echo done >>'$W/stop1.txt'; }; exit 0"
    rk jp.nisc send --to us.cisa --title "running at the stop" >stop.out 2>&1
    until_ok 15 pgrep -f "^sleep 62[.]$$" || bad "the hook is running"
    stop_node us.cisa
    until_ok 5 bash -c "! pgrep -f '^sleep 62[.]$$'" &&
        ok "a hook running at the stop is stopped with the daemon" ||
        bad "a hook running at the stop is stopped with the daemon"
    expect "and postponed, not failed" us.cisa.log 'event=hook_postponed .*still running when the daemon stopped'
    start_node us.cisa --hook "grep -q 'at the stop' && echo resumed >>'$W/stop2.txt'; exit 0"
    until_ok 15 test -s stop2.txt &&
        ok "it runs again at the next start" || bad "it runs again at the next start"
    [ ! -e stop1.txt ] && [ "$(wc -l <stop2.txt)" = 1 ] &&
        ok "once, and the stopped run did not finish" ||
        bad "once, and the stopped run did not finish ($(cat stop1.txt stop2.txt 2>/dev/null | tr '\n' ' '))"
    pkill -f "^sleep 62[.]$$" 2>/dev/null
}

# The relay refuses our key (revoked in its newer roster): the daemon says
# so, keeps the message in its outbox, and retries with a new socket.
# refusals ID: how many relay_handshake_refused lines ID logged.
refusals() { grep -c 'event=relay_handshake_refused' "$1.log"; }
scenario_refused() {
    local n s
    # relay.b is in the roster but not running: a node told relay.b is at
    # relay.test's endpoint fails every handshake (the relay's key is not
    # the roster's relay.b key), which libzmq retried by itself every
    # 0.5 s, an error line each time, while status said "retrying in 60 s".
    "$KEYS" gen --id relay.b --role relay --out keys >/dev/null || exit 1
    "$KEYS" roster add roster.json --pub keys/relay.b.pub --country SG --org "Relay B" \
        --not-before 2020-01-01T00:00:00Z >/dev/null
    "$KEYS" roster sign roster.json --key keys/coordinator.key --out roster.signed >/dev/null
    start_relay
    cp roster.signed roster-serial2.signed
    "$KEYS" roster revoke roster.json --id jp.nisc --reason test >/dev/null
    "$KEYS" roster sign roster.json --key keys/coordinator.key --out roster.signed >/dev/null
    kill -HUP "$RPID"
    until_ok 10 grep -q 'event=roster_installed serial=3' relay.log || bad "relay installs serial 3"
    cp roster-serial2.signed roster.signed # the node still holds serial 2
    start_node jp.nisc --relay "relay.test=$EP" # two relays in the roster
    start_node sg.csa --relay "relay.b=$EP" --resubmit-ms 200 # reminders every 4 s
    until_ok 15 grep -q 'event=relay_handshake_refused' jp.nisc.log &&
        ok "the daemon logs that the relay refused its key" || bad "the daemon logs that the relay refused its key"
    rk jp.nisc send --to us.cisa --title "stuck" >s.out 2>&1
    expect "a notice is still queued on disk" s.out '^queued '
    rk jp.nisc status >st.out 2>&1
    expect "status names the refusal" st.out 'NOT CONNECTED: relay refused the handshake'
    expect "and the waiting outbox" st.out '^Outbox +1 waiting'
    until_ok 15 bash -c "[ \$(grep -c event=relay_socket_recreated '$W/jp.nisc.log') -ge 1 ]" &&
        ok "it recreates its socket to retry" || bad "it recreates its socket to retry"
    # Let jp.nisc in again: its next try (after the backoff) is welcomed,
    # and the end of the refusals is said.
    "$KEYS" roster activate roster.json --id jp.nisc >/dev/null
    "$KEYS" roster sign roster.json --key keys/coordinator.key --out roster-4.signed >/dev/null
    cp roster-4.signed roster.signed
    kill -HUP "$RPID"
    until_ok 15 grep -q 'event=relay_handshake_recovered' jp.nisc.log &&
        ok "a handshake accepted after refusals is logged" || bad "a handshake accepted after refusals is logged"
    expect "... with how many tries were refused and for how long" jp.nisc.log \
        'level=info event=relay_handshake_recovered relay_id=relay.test refused_attempts=[1-9][0-9]* refused_for_ms=[0-9]+$'
    until_ok 15 connected jp.nisc && ok "... and the node is connected" || bad "... and the node is connected"
    # sg.csa has been refused for about 7 s by now (tries at 0, 1, 3 and
    # 7 s): one error line, and a reminder, not one line per libzmq retry.
    until_ok 15 grep -q 'event=relay_handshake_still_refused' sg.csa.log &&
        ok "a reminder while the handshake is still refused" || bad "a reminder while the handshake is still refused"
    expect "... at level error, with since when, the tries and those not logged" sg.csa.log \
        'level=error event=relay_handshake_still_refused relay=tcp://127.0.0.1:[0-9]+ relay_id=relay.b zmq_event=[0-9]+ since=[0-9T:.-]+Z attempts=[3-9] repeats=[2-8] retry_in_ms=[0-9]+$'
    n=$(refusals sg.csa)
    [ "$n" = 1 ] && ok "relay_handshake_refused logged once, not at each try" ||
        bad "relay_handshake_refused logged once, not at each try ($n times)"
    n=$(grep -c 'level=info event=relay_socket_recreated' sg.csa.log)
    [ "$n" = 1 ] && ok "relay_socket_recreated at info only for the first retry" ||
        bad "relay_socket_recreated at info only for the first retry ($n times)"
    # What status says is what happens: the next try is the backoff's, and
    # the count of tries is that of a backoff, not of libzmq's 0.5 s.
    rk sg.csa status >st2.out 2>&1
    expect "status says how often it was refused, since when, and when it tries next" st2.out \
        '^Relay +relay.b at tcp://127.0.0.1:[0-9]+: NOT CONNECTED: relay refused the handshake \(our key not in its roster, or a wrong relay key\), [3-5] times since [0-9T:.-]+Z; next try in ([1-9]|[1-5][0-9]|60) s$'
    s=$(rk sg.csa status --json | python3 -c 'import json,sys; r=json.load(sys.stdin)["relays"][0]; print(r["handshake_refusals"], r["retry_in_ms"])')
    [ "${s%% *}" -ge 3 ] && [ "${s%% *}" -le 5 ] && [ "${s#* }" -le 16000 ] &&
        ok "status --json: handshake_refusals and retry_in_ms ($s)" ||
        bad "status --json: handshake_refusals and retry_in_ms ($s)"
    kill9_node sg.csa # refused for good, it keeps retrying; not a clean stop
}

# A partner revoked while connected is cut off; the others reconnect by
# themselves and traffic goes on.
scenario_reset() {
    start_relay
    start_node jp.nisc
    start_node us.cisa
    start_node sg.csa
    until_ok 10 connected jp.nisc && until_ok 10 connected us.cisa && until_ok 10 connected sg.csa ||
        bad "nodes connect"
    "$KEYS" roster revoke roster.json --id sg.csa --reason "key compromise" >/dev/null
    "$KEYS" roster sign roster.json --key keys/coordinator.key --out roster.signed >/dev/null
    kill -HUP "$RPID"
    until_ok 10 grep -q 'event=connections_reset nodes=sg.csa' relay.log &&
        ok "the relay cuts the revoked node off" || bad "the relay cuts the revoked node off"
    until_ok 15 grep -q 'event=relay_handshake_refused' sg.csa.log &&
        ok "the revoked node's daemon is refused at its next handshake" ||
        bad "the revoked node's daemon is refused at its next handshake"
    until_ok 15 connected jp.nisc && until_ok 15 connected us.cisa &&
        ok "the others reconnect by themselves" || bad "the others reconnect by themselves"
    rk jp.nisc send --to us.cisa --title "after the reset" >s.out 2>&1
    MID=$(queued_ids s.out)
    until_ok 15 recipient_state jp.nisc "$MID" us.cisa delivered &&
        ok "and traffic goes on" || bad "and traffic goes on"
    kill9_node sg.csa # refused, it keeps retrying; not part of the clean stops
}

# Two independent relays: nodes submit to both, recipients drop the
# duplicates; with one relay down, the other carries the traffic, and the
# outbox keeps each message until every relay has stored it.
scenario_tworelays() {
    "$KEYS" gen --id relay.b --role relay --out keys >/dev/null || exit 1
    "$KEYS" roster add roster.json --pub keys/relay.b.pub --country SG --org "Relay B" \
        --not-before 2020-01-01T00:00:00Z >/dev/null
    "$KEYS" roster sign roster.json --key keys/coordinator.key --out roster.signed >/dev/null
    start_relay
    "$RELAY" --key keys/relay.b.key --roster roster.signed --coordinator keys/coordinator.pub \
        --data relaydata-b --bind tcp://127.0.0.1:0 --endpoint-file ep-b >>relay-b.log 2>&1 &
    local rb=$!
    until_ok 10 grep -q tcp:// ep-b || bad "relay B starts"
    local epb
    epb=$(cat ep-b)
    start_node jp.nisc --relay "relay.test=$EP" --relay "relay.b=$epb"
    start_node us.cisa --relay "relay.test=$EP" --relay "relay.b=$epb"
    until_ok 10 connected jp.nisc && until_ok 10 connected us.cisa || bad "nodes connect"
    # connected says one relay welcomed the node; the second may lag.
    both_up() { rk jp.nisc status >st.out 2>&1 && [ "$(grep -c '^Relay .*connected since' st.out)" = 2 ]; }
    until_ok 15 both_up && ok "status shows both relays connected" ||
        { bad "status shows both relays connected"; cat st.out; }
    rk jp.nisc send --to us.cisa --title "via two relays" >s1.out 2>&1
    M1=$(queued_ids s1.out)
    until_ok 15 recipient_state jp.nisc "$M1" us.cisa delivered && ok "delivered" || bad "delivered"
    until_ok 15 bash -c "'$R' --state st-jp.nisc show $M1 --json | tr -d ' \n' | grep -q '\"relays\":{\"relay.test\":\"stored\",\"relay.b\":\"stored\"}\|\"relays\":{\"relay.b\":\"stored\",\"relay.test\":\"stored\"}'" &&
        ok "both relays stored it" || bad "both relays stored it"
    until_ok 15 grep -q "duplicate_dropped msg=$M1" us.cisa.log &&
        ok "the recipient dropped the second copy" || bad "the recipient dropped the second copy"
    # Relay A goes down: relay B carries the next notice.
    kill -9 "$RPID"; wait "$RPID" 2>/dev/null; RPID=
    rk jp.nisc send --to us.cisa --title "relay A is down" >s2.out 2>&1
    M2=$(queued_ids s2.out)
    until_ok 15 recipient_state jp.nisc "$M2" us.cisa delivered &&
        ok "with relay A down, relay B delivers" || bad "with relay A down, relay B delivers"
    rk jp.nisc status >st2.out 2>&1
    expect "it stays in the outbox for relay A" st2.out '^Outbox +1 waiting'
    start_relay
    until_ok 20 bash -c "'$R' --state st-jp.nisc status | grep -q '^Outbox *0 waiting'" &&
        ok "once relay A is back it stores it too and the outbox empties" ||
        bad "once relay A is back it stores it too and the outbox empties"
    rk us.cisa inbox --json >inbox.json 2>&1
    [ "$(grep -c "\"msg_id\": \"$M1\"" inbox.json)" = 1 ] &&
        [ "$(grep -c "\"msg_id\": \"$M2\"" inbox.json)" = 1 ] &&
        ok "each notice is in the inbox exactly once" || bad "each notice is in the inbox exactly once"
    # Two sends whose sent records are gone when relay B stores them: one
    # deleted, one corrupt (evidence: never rewritten). Each stays in the
    # outbox until relay A stored it too; it used to leave at relay B's
    # stored, and relay A never got it.
    kill -9 "$RPID"; wait "$RPID" 2>/dev/null; RPID=
    kill -TERM "$rb"; wait "$rb" 2>/dev/null
    rk jp.nisc send --to us.cisa --title "its record deleted" >s3.out 2>&1
    rk jp.nisc send --to us.cisa --title "its record corrupt" >s4.out 2>&1
    local m3 m4 n
    m3=$(queued_ids s3.out)
    m4=$(queued_ids s4.out)
    rm -f "st-jp.nisc/sent/$m3.json"
    printf '{"msg_id": "%s", "state": ' "$m4" >"st-jp.nisc/sent/$m4.json"
    cp "st-jp.nisc/sent/$m4.json" corrupt.copy
    "$RELAY" --key keys/relay.b.key --roster roster.signed --coordinator keys/coordinator.pub \
        --data relaydata-b --bind "$epb" >>relay-b.log 2>&1 &
    rb=$!
    until_ok 20 grep -q "event=stored msg=$m3 relay_id=relay.b" jp.nisc.log &&
        until_ok 20 grep -q "event=stored msg=$m4 relay_id=relay.b" jp.nisc.log &&
        ok "relay B stores both" || bad "relay B stores both"
    [ -f "st-jp.nisc/outbox/$m3.env" ] && [ -f "st-jp.nisc/outbox/$m4.env" ] &&
        ok "without their records, both stay in the outbox for relay A" ||
        bad "without their records, both stay in the outbox for relay A"
    expect "... and the daemon says so (record deleted)" jp.nisc.log \
        "level=warn event=outbox_without_record msg=$m3 relay_id=relay.b answer=stored record=missing answered=1 relays=2 action=\"kept in the outbox until every relay answered\""
    expect "... (record corrupt)" jp.nisc.log \
        "level=warn event=outbox_without_record msg=$m4 relay_id=relay.b answer=stored record=unreadable answered=1 relays=2 action="
    start_relay
    outbox_gone() { [ ! -e "st-jp.nisc/outbox/$m3.env" ] && [ ! -e "st-jp.nisc/outbox/$m4.env" ]; }
    until_ok 20 outbox_gone && ok "once relay A stored them too, they leave the outbox" ||
        bad "once relay A stored them too, they leave the outbox"
    expect "... and the daemon says so" jp.nisc.log \
        "level=warn event=outbox_without_record msg=$m3 relay_id=relay.test answer=stored record=missing answered=2 relays=2 action=\"removed from the outbox\""
    n=$(grep -c "event=outbox_without_record msg=$m3 relay_id=relay.b" jp.nisc.log)
    [ "$n" = 1 ] && ok "relay B's answer is logged once, not at each resubmission" ||
        bad "relay B's answer is logged once, not at each resubmission ($n times)"
    [ ! -e "st-jp.nisc/sent/$m3.json" ] && ok "no record is made up for the deleted one" ||
        bad "no record is made up for the deleted one"
    cmp -s corrupt.copy "st-jp.nisc/sent/$m4.json" && ok "the corrupt record is left as it was" ||
        bad "the corrupt record is left as it was"
    n=$(grep -c "event=record_unreadable box=sent msg=$m4" jp.nisc.log)
    [ "$n" = 1 ] && ok "the corrupt record is logged once, not at each resubmission and answer" ||
        bad "the corrupt record is logged once, not at each resubmission and answer ($n times)"
    kill -TERM "$rb"; wait "$rb" 2>/dev/null
}

# three_periods: three of jp.nisc's resubmit periods (500 ms) pass. No
# line marks them: what waits in the outbox waits for relay A, which is
# down, and relay B, which refused it for good, is not sent it again
# (before, each pass sent it to B, and B refused each copy).
three_periods() { sleep 1.6; }

# A send whose sent record is gone (deleted) when a relay refuses it for
# good. Relay B still runs the roster before de.bsi joined, so it refuses
# a notice to de.bsi (unknown-recipient, final) while relay A, with the
# newer roster, can store it: the notice stays in the outbox until relay
# A has answered too, and de.bsi gets it once. Then a notice every relay
# refuses for good (expired before any relay saw it): it leaves the
# outbox, and the daemon says it was sent to no one.
# start_relay_b: relay.b with roster-b.signed, data relaydata-b, log
# relay-b.log, in RB; on an ephemeral port at first, then on the same one
# (EPB), so that the node finds it again.
start_relay_b() {
    rm -f ep-b
    "$RELAY" --key keys/relay.b.key --roster roster-b.signed --coordinator keys/coordinator.pub \
        --data relaydata-b --bind "${EPB:-tcp://127.0.0.1:0}" --endpoint-file ep-b >>relay-b.log 2>&1 &
    RB=$!
    until_ok 10 grep -q tcp:// ep-b || bad "relay B starts"
    EPB=$(cat ep-b)
}

scenario_rejected_norecord() {
    local m0 m1 m2 n t_exp
    "$KEYS" gen --id relay.b --role relay --out keys >/dev/null || exit 1
    "$KEYS" roster add roster.json --pub keys/relay.b.pub --country SG --org "Relay B" \
        --not-before 2020-01-01T00:00:00Z >/dev/null
    "$KEYS" roster sign roster.json --key keys/coordinator.key --out roster-b.signed >/dev/null
    "$KEYS" gen --id de.bsi --role partner --out keys >/dev/null || exit 1
    "$KEYS" roster add roster.json --pub keys/de.bsi.pub --country DE --org BSI \
        --not-before 2020-01-01T00:00:00Z >/dev/null
    "$KEYS" roster sign roster.json --key keys/coordinator.key --out roster.signed >/dev/null
    start_relay
    start_relay_b
    start_node jp.nisc --relay "relay.test=$EP" --relay "relay.b=$EPB"
    start_node de.bsi --relay "relay.test=$EP"
    until_ok 10 connected jp.nisc && until_ok 10 connected de.bsi || bad "nodes connect"
    # Both relays down while the notice is queued and its record deleted.
    kill -9 "$RPID"; wait "$RPID" 2>/dev/null; RPID=
    kill -TERM "$RB"; wait "$RB" 2>/dev/null
    # m0 keeps its sent record, to compare.
    rk jp.nisc send --to de.bsi --title "with its record" >r0.out 2>&1
    rk jp.nisc send --to de.bsi --title "relay B does not know de.bsi" >r1.out 2>&1
    m0=$(queued_ids r0.out)
    m1=$(queued_ids r1.out)
    [ -n "$m0" ] && [ -n "$m1" ] || bad "the notices to de.bsi are queued"
    rm -f "st-jp.nisc/sent/$m1.json"
    start_relay_b
    until_ok 20 grep -q "event=rejected msg=$m1 relay_id=relay.b" jp.nisc.log &&
        ok "relay B refuses it for good" || bad "relay B refuses it for good"
    expect "... at level error, with the relay's code and reason" jp.nisc.log \
        "level=error event=rejected msg=$m1 relay_id=relay.b code=unknown-recipient reason=\"recipient de.bsi: not in the roster\""
    expect "... and the daemon says the record is missing and the notice kept" jp.nisc.log \
        "level=warn event=outbox_without_record msg=$m1 relay_id=relay.b answer=rejected record=missing answered=1 relays=2 action=\"kept in the outbox until every relay answered\""
    three_periods
    records_are "relay B is not sent it again: one refused record in its log" relaydata-b "$m1" \
        "accepted=0 refused=1 codes=unknown-recipient"
    records_are "... nor the notice with a record" relaydata-b "$m0" "accepted=0 refused=1 codes=unknown-recipient"
    [ -f "st-jp.nisc/outbox/$m1.env" ] &&
        ok "without its record, it stays in the outbox for relay A" ||
        bad "without its record, it stays in the outbox for relay A"
    # An operator alerted on errors hears of it once, not every
    # --resubmit-ms while relay A is away.
    n=$(grep -c "level=error event=rejected msg=$m1 relay_id=relay.b" jp.nisc.log)
    [ "$n" = 1 ] && ok "relay B's refusal is an error once, not at each resubmission" ||
        bad "relay B's refusal is an error once, not at each resubmission ($n times)"
    n=$(grep -c "event=outbox_without_record msg=$m1 relay_id=relay.b" jp.nisc.log)
    [ "$n" = 1 ] && ok "... and the kept notice is said once" ||
        bad "... and the kept notice is said once ($n times)"
    n=$(grep -c "level=error event=rejected msg=$m0 relay_id=relay.b" jp.nisc.log)
    [ "$n" = 1 ] && ok "... as is its refusal of the notice with a record" ||
        bad "... as is its refusal of the notice with a record ($n times)"
    # Relay A may still store it: not "rejected" yet, and still queued.
    rk jp.nisc status >rn-st1.out 2>&1
    expect "status: the notice with a record is still queued, its recipient too" rn-st1.out \
        "^${m0:0:12} +notice +queued +de.bsi +queued "
    expect "... with relay B's refusal, naming it, and that it waits for the others" rn-st1.out \
        '^ +relay.b refused it for good: unknown-recipient: recipient de.bsi: not in the roster; it waits in the outbox for the other relays$'
    start_relay
    until_ok 20 bash -c "[ ! -e '$W/st-jp.nisc/outbox/$m1.env' ]" &&
        ok "once relay A stored it, it leaves the outbox" ||
        bad "once relay A stored it, it leaves the outbox"
    expect "... and the daemon says so" jp.nisc.log \
        "level=warn event=outbox_without_record msg=$m1 relay_id=relay.test answer=stored record=missing answered=2 relays=2 action=\"removed from the outbox\""
    until_ok 20 inbox_once de.bsi "$m0" "$m1" && ok "de.bsi got it (and the other), once" ||
        bad "de.bsi got it (and the other), once"
    rk jp.nisc show "$m0" --json | tr -d ' \n' >m0.json
    expect "the other's record says stored" m0.json '^\{"msg_id":"[0-9a-f]+","kind":"notice","to":\["de.bsi"\],"created":"[^"]*","state":"stored"'
    expect "... with relay B's refusal and relay A's stored" m0.json '"relays":\{"relay.b":"rejected","relay.test":"stored"\}'
    expect "... and relay B's reason" m0.json '"last_rejection":\{"code":"unknown-recipient","reason":"recipientde.bsi:notintheroster","relay":"relay.b"\}'
    rk jp.nisc status >rn-st2.out 2>&1
    expect "status: stored, with relay B's refusal as a note naming it and who stored it" rn-st2.out \
        '^ +relay.b refused it for good: unknown-recipient: recipient de.bsi: not in the roster; stored by relay.test$'
    rk jp.nisc show "$m0" >rn-sh.out 2>&1
    expect "show: each relay's answer" rn-sh.out '^Relays +relay.b rejected, relay.test stored$'
    expect "... and relay B's refusal" rn-sh.out \
        '^Refusal +relay.b refused it for good: unknown-recipient: recipient de.bsi: not in the roster; stored by relay.test$'
    [ ! -e "st-jp.nisc/outbox/$m0.env" ] && ok "... and it left the outbox too" ||
        bad "... and it left the outbox too"
    [ ! -e "st-jp.nisc/sent/$m1.json" ] && ok "no record is made up for it" ||
        bad "no record is made up for it"

    # Refused for good by both relays: it expired before either saw it.
    kill -9 "$RPID"; wait "$RPID" 2>/dev/null; RPID=
    kill -TERM "$RB"; wait "$RB" 2>/dev/null
    rk jp.nisc send --to us.cisa --title "expires before any relay sees it" --expires 1s >r2.out 2>&1
    m2=$(queued_ids r2.out)
    [ -n "$m2" ] || bad "the short-lived notice is queued"
    rm -f "st-jp.nisc/sent/$m2.json"
    # Its expiry is the clock's event: wait until it has passed.
    t_exp=$(($(date +%s%N) / 1000000 + 1500))
    until_ok 5 bash -c "[ \$((\$(date +%s%N) / 1000000)) -gt $t_exp ]"
    start_relay_b
    until_ok 20 grep -q "event=outbox_without_record msg=$m2 relay_id=relay.b answer=rejected" jp.nisc.log &&
        ok "relay B refuses the expired one for good" || bad "relay B refuses the expired one for good"
    expect "... at level error, with the relay's code and reason" jp.nisc.log \
        "level=error event=rejected msg=$m2 relay_id=relay.b code=expired reason=\"the message expired before it arrived\""
    three_periods
    records_are "... relay B is not sent it again" relaydata-b "$m2" "accepted=0 refused=1 codes=expired"
    [ -f "st-jp.nisc/outbox/$m2.env" ] && ok "... it stays in the outbox for relay A" ||
        bad "... it stays in the outbox for relay A"
    start_relay
    until_ok 20 bash -c "[ ! -e '$W/st-jp.nisc/outbox/$m2.env' ]" &&
        ok "once relay A refused it too, it leaves the outbox" ||
        bad "once relay A refused it too, it leaves the outbox"
    expect "... relay A's refusal at level error too" jp.nisc.log \
        "level=error event=rejected msg=$m2 relay_id=relay.test code=expired "
    # The record that would say "rejected" is gone: the log line that
    # ends the notice's story says no relay took it.
    expect "... and the daemon says every relay refused it, so no one gets it" jp.nisc.log \
        "level=warn event=outbox_without_record msg=$m2 relay_id=relay.test answer=rejected record=missing answered=2 relays=2 action=\"removed from the outbox: every relay refused it for good, no one gets it\""
    n=$(grep -c "level=error event=rejected msg=$m2 relay_id=relay.b" jp.nisc.log)
    [ "$n" = 1 ] && ok "... relay B's refusal an error once" ||
        bad "... relay B's refusal an error once ($n times)"
    kill -TERM "$RB"; wait "$RB" 2>/dev/null; RB=
}

# stop_relay_b: SIGTERM to relay B (RB); it exits 0.
stop_relay_b() {
    kill -TERM "$RB"
    wait "$RB" 2>/dev/null || STOP_FAILS=$((STOP_FAILS + 1))
    RB=
}
# records DIR MSG: MSG's records in the relay log in DIR, as
# "accepted=N refused=N codes=CODE,..." (renraku-audit export).
records() {
    "$AUDIT" export "$1" --format jsonl --msg "$2" 2>/dev/null | python3 -c '
import json, sys
r = [json.loads(l) for l in sys.stdin if l.strip()]
print("accepted=%d refused=%d codes=%s" % (
    sum(o["type"] == "accepted" for o in r), sum(o["type"] == "refused" for o in r),
    ",".join(o["code"] for o in r if o["type"] == "refused")))'
}
# records_are DESC DIR MSG WANT: records DIR MSG prints WANT.
records_are() {
    local got
    got=$(records "$2" "$3")
    [ "$got" = "$4" ] && ok "$1" || bad "$1 (relay log: $got, not $4)"
}
# sent_field ID MSG EXPR: EXPR (Python, over the sent record r) from
# renraku show MSG --json of node ID.
sent_field() {
    rk "$1" show "$2" --json | python3 -c '
import json, sys
r = json.load(sys.stdin)
print(eval(sys.argv[1]))' "$3"
}
# dups DIR: how many retries of what it had accepted the relay on DIR
# answered since it started (renraku-relay stats: duplicates).
dups() { "$RELAY" stats --data "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["duplicates"])' 2>&1; }
# dups_are DESC DIR N: dups DIR is N.
dups_are() {
    local got
    got=$(dups "$2")
    [ "$got" = "$3" ] && ok "$1" || bad "$1 (duplicates: $got, not $3)"
}
# field_is DESC ID MSG EXPR WANT
field_is() {
    local got
    got=$(sent_field "$2" "$3" "$4" 2>&1)
    [ "$got" = "$5" ] && ok "$1" || bad "$1 ($4 is $got, not $5)"
}
in_log() { "$AUDIT" timeline "$1" 2>/dev/null | grep -Eq -- "$2"; }
outbox_empty() { [ -z "$(ls -A st-jp.nisc/outbox)" ]; }

# Two relays, relay B down: what relay A stored stays in the outbox for B
# and is not sent to A again, neither by the timer's pass nor when A is
# welcomed again after a restart. It used to be, every --resubmit-ms and
# at each welcome: A answered the copies of the delivered one (duplicates)
# and refused those of the expired one (code=expired, a refused record
# each in its log), and the node put A's "rejected" over its "stored".
# Once B is back it gets them (stores one, refuses the expired one) and
# the outbox empties.
scenario_resubmit() {
    local m3 m4 m5 n d0
    "$KEYS" gen --id relay.b --role relay --out keys >/dev/null || exit 1
    "$KEYS" roster add roster.json --pub keys/relay.b.pub --country SG --org "Relay B" \
        --not-before 2020-01-01T00:00:00Z >/dev/null
    "$KEYS" roster sign roster.json --key keys/coordinator.key --out roster.signed >/dev/null
    cp roster.signed roster-b.signed # both relays run one roster here
    start_relay
    start_relay_b
    start_node jp.nisc --relay "relay.test=$EP" --relay "relay.b=$EPB" --resubmit-ms 300
    # us.cisa resubmits only at a welcome: relay A's duplicates are then
    # jp.nisc's alone.
    start_node us.cisa --relay "relay.test=$EP" --relay "relay.b=$EPB" --resubmit-ms 600000
    both_up() { rk "$1" status >st.out 2>&1 && [ "$(grep -c '^Relay .*connected since' st.out)" = 2 ]; }
    one_up() { rk "$1" status >st.out 2>&1 && [ "$(grep -c '^Relay .*connected since' st.out)" = 1 ]; }
    until_ok 15 both_up jp.nisc && until_ok 15 both_up us.cisa &&
        ok "both nodes are connected to both relays" || bad "both nodes are connected to both relays"
    stop_relay_b
    until_ok 15 one_up jp.nisc && ok "relay B stopped: jp.nisc sees it gone" ||
        { bad "relay B stopped: jp.nisc sees it gone"; cat st.out; }
    # m3 to sg.csa (no daemon runs for it): relay A holds it until it
    # expires. m4 to us.cisa: relay A delivers it (a copy sent again would
    # be a duplicate, answered stored again).
    rk jp.nisc send --to sg.csa --title "expires while relay B is down" --expires 2s >s3.out 2>&1
    rk jp.nisc send --to us.cisa --title "delivered while relay B is down" >s4.out 2>&1
    m3=$(queued_ids s3.out)
    m4=$(queued_ids s4.out)
    until_ok 15 grep -q "event=stored msg=$m3 relay_id=relay.test" jp.nisc.log &&
        until_ok 15 grep -q "event=stored msg=$m4 relay_id=relay.test" jp.nisc.log &&
        ok "relay A stores both" || bad "relay A stores both"
    d0=$(dups relaydata)
    until_ok 15 recipient_state jp.nisc "$m4" us.cisa delivered &&
        ok "relay A delivers the one to us.cisa" || bad "relay A delivers the one to us.cisa"
    until_ok 20 in_log relaydata "expired .* -> sg\\.csa .* msg=$m3 " &&
        ok "relay A expires the one to sg.csa" || bad "relay A expires the one to sg.csa"
    # No event marks a copy not sent: relay A's log must show no refusal
    # of either and no duplicate over 7 periods of the timer's pass
    # (300 ms each) past the expiry. Before the fix each pass sent relay A
    # both again, and it refused the expired one's copy at once.
    no_second_copy() {
        [ "$(dups relaydata)" = "$d0" ] && ! grep -q "event=rejected msg=$m3 relay_id=relay.test" jp.nisc.log
    }
    holds 2100 no_second_copy
    [ -e "st-jp.nisc/outbox/$m3.env" ] && [ -e "st-jp.nisc/outbox/$m4.env" ] &&
        ok "both stay in the outbox for relay B" || bad "both stay in the outbox for relay B"
    records_are "relay A's log: the expired one accepted once, never refused" relaydata "$m3" "accepted=1 refused=0 codes="
    records_are "relay A's log: the delivered one accepted once, never refused" relaydata "$m4" "accepted=1 refused=0 codes="
    dups_are "relay A got no copy again (it answered none with stored again)" relaydata "$d0"
    field_is "the sent record keeps relay A's stored (expired one)" jp.nisc "$m3" 'r["relays"]["relay.test"]' stored
    field_is "the sent record keeps relay A's stored (delivered one)" jp.nisc "$m4" 'r["relays"]["relay.test"]' stored
    field_is "... and no rejection (expired one)" jp.nisc "$m3" '(r["state"], "last_rejection" in r)' "('stored', False)"
    field_is "... and no rejection (delivered one)" jp.nisc "$m4" '(r["state"], "last_rejection" in r)' "('stored', False)"
    n=$(grep -Ec "event=(rejected|repeat_refused) msg=($m3|$m4) relay_id=relay.test" jp.nisc.log)
    [ "$n" = 0 ] && ok "jp.nisc logs no refusal by relay A" || bad "jp.nisc logs no refusal by relay A ($n lines)"
    # Relay A restarted (its log is durable): welcomed again, it is not
    # sent what it stored. Meanwhile us.cisa sent jp.nisc a notice: jp.nisc
    # confirms relay A's delivery of it on the connection the welcome's
    # pass used, after that pass, so relay A's delivered record marks the
    # end of whatever the pass sent it.
    stop_relay
    rk us.cisa send --to jp.nisc --title "while relay A restarts" >s5.out 2>&1
    m5=$(queued_ids s5.out)
    start_relay
    until_ok 20 in_log relaydata "delivered .* -> jp\\.nisc .* msg=$m5 " &&
        ok "relay A, restarted, delivers a notice to jp.nisc" || bad "relay A, restarted, delivers a notice to jp.nisc"
    n=$(grep -c 'event=welcome relay_id=relay.test' jp.nisc.log)
    [ "$n" = 2 ] && ok "relay A welcomed jp.nisc again" || bad "relay A welcomed jp.nisc again ($n welcomes)"
    records_are "relay A's log after its restart: still one accepted, no refused (expired one)" relaydata "$m3" "accepted=1 refused=0 codes="
    records_are "relay A's log after its restart: still one accepted, no refused (delivered one)" relaydata "$m4" "accepted=1 refused=0 codes="
    dups_are "relay A, restarted, got no copy again" relaydata 0
    # Relay B back: jp.nisc's welcome pass brings it m3 and m4, us.cisa's
    # m5.
    start_relay_b
    until_ok 20 outbox_empty && ok "once relay B answered them all, the outbox is empty" ||
        { bad "once relay B answered them all, the outbox is empty"; ls st-jp.nisc/outbox; }
    records_are "relay B refuses the expired one: expired, once" relaydata-b "$m3" "accepted=0 refused=1 codes=expired"
    records_are "relay B stores the delivered one" relaydata-b "$m4" "accepted=1 refused=0 codes="
    records_are "relay B stores us.cisa's notice sent while it was down" relaydata-b "$m5" "accepted=1 refused=0 codes="
    field_is "the expired one: relay A stored, relay B refused, state stored" jp.nisc "$m3" \
        '(r["relays"]["relay.test"], r["relays"]["relay.b"], r["state"])' "('stored', 'rejected', 'stored')"
    field_is "... with relay B's reason" jp.nisc "$m3" \
        '(r["last_rejection"]["relay"], r["last_rejection"]["code"])' "('relay.b', 'expired')"
    rk jp.nisc status >rs-st.out 2>&1
    expect "status: the expired one is stored (relay A has it)" rs-st.out \
        "^${m3:0:12} +notice +stored +sg.csa +[a-z]+ "
    expect "... relay B's refusal a note naming it and who stored it" rs-st.out \
        '^ +relay.b refused it for good: expired: the message expired before it arrived; stored by relay.test$'
    rk jp.nisc show "$m3" >rs-sh.out 2>&1
    expect "show: each relay's answer" rs-sh.out '^Relays +relay.test stored, relay.b rejected$'
    expect "... and relay B's refusal" rs-sh.out \
        '^Refusal +relay.b refused it for good: expired: the message expired before it arrived; stored by relay.test$'
    field_is "the delivered one: both relays stored it" jp.nisc "$m4" \
        '(r["relays"]["relay.test"], r["relays"]["relay.b"])' "('stored', 'stored')"
    until_ok 15 grep -q "duplicate_dropped msg=$m4" us.cisa.log &&
        ok "us.cisa drops relay B's copy" || bad "us.cisa drops relay B's copy"
    records_are "relay A's log at the end: still one accepted, no refused (expired one)" relaydata "$m3" "accepted=1 refused=0 codes="
    records_are "relay A's log at the end: still one accepted, no refused (delivered one)" relaydata "$m4" "accepted=1 refused=0 codes="
    stop_relay_b
}

# What the operator sees of refusals, one relay: a passing refusal
# (rate-limited) says "for now" while the notice waits in the outbox, and
# is gone once the relay stored it; a refusal for good (expired while the
# relay was down) marks the notice and its recipient "rejected" (it left
# the outbox: queued nowhere), and status and show say which relay refused
# it, with its code and reason.
scenario_refusals() {
    local m1 m2 m3 t_exp
    # One submit a second, none in reserve; jp.nisc resubmits only at a
    # welcome, so a refused notice waits for the relay's restart.
    start_relay --rate-limit 1 --rate-burst 1
    start_node jp.nisc --resubmit-ms 600000
    until_ok 10 connected jp.nisc || bad "jp.nisc connects"
    rk jp.nisc send --to us.cisa --title "first in the second" >r1.out 2>&1
    rk jp.nisc send --to us.cisa --title "over the rate limit" >r2.out 2>&1
    m1=$(queued_ids r1.out)
    m2=$(queued_ids r2.out)
    until_ok 10 grep -q "event=rejected_will_retry msg=$m2 relay_id=relay.test code=rate-limited" jp.nisc.log &&
        ok "the relay refuses the second for now (rate-limited)" ||
        bad "the relay refuses the second for now (rate-limited)"
    rk jp.nisc status >rf-st1.out 2>&1
    expect "status: it is queued, its recipient too" rf-st1.out "^${m2:0:12} +notice +queued +us.cisa +queued "
    expect "... with the relay's refusal, for now" rf-st1.out \
        "^ +relay.test refused it for now: rate-limited: .*; it is sent again\$"
    rk jp.nisc show "$m2" >rf-sh1.out 2>&1
    expect "show says so too" rf-sh1.out "^Refusal +relay.test refused it for now: rate-limited: .*; it is sent again\$"
    # Expires while the relay is down: refused for good once it is back.
    stop_relay
    rk jp.nisc send --to us.cisa --title "expires while the relay is down" --expires 1s >r3.out 2>&1
    m3=$(queued_ids r3.out)
    t_exp=$(($(date +%s%N) / 1000000 + 1500))
    until_ok 5 bash -c "[ \$((\$(date +%s%N) / 1000000)) -gt $t_exp ]"
    start_relay
    until_ok 15 recipient_state jp.nisc "$m2" us.cisa stored &&
        ok "relay back: it stores the rate-limited one" || bad "relay back: it stores the rate-limited one"
    until_ok 15 grep -q "event=rejected msg=$m3 relay_id=relay.test code=expired" jp.nisc.log &&
        ok "... and refuses the expired one for good" || bad "... and refuses the expired one for good"
    until_ok 10 bash -c "[ -z \"\$(ls -A '$W/st-jp.nisc/outbox')\" ]" &&
        ok "... and the outbox is empty" || bad "... and the outbox is empty"
    field_is "the stored one keeps no refusal" jp.nisc "$m2" '(r["state"], "last_rejection" in r)' "('stored', False)"
    rk jp.nisc status >rf-st2.out 2>&1
    rk jp.nisc show "$m2" >rf-sh2.out 2>&1
    # (A refusal line follows the message's one recipient line.)
    if grep -A1 "^${m2:0:12} " rf-st2.out | grep -q "refused" || grep -q "^Refusal" rf-sh2.out; then
        bad "status and show say no refusal of a stored notice"
        sed 's/^/  out| /' rf-st2.out rf-sh2.out
    else ok "status and show say no refusal of a stored notice"; fi
    expect "status: the expired one is rejected, and its recipient" rf-st2.out \
        "^${m3:0:12} +notice +rejected +us.cisa +rejected "
    expect "... naming the relay, the code and the reason" rf-st2.out \
        '^ +relay.test refused it for good: expired: the message expired before it arrived$'
    expect "... and the first one stored" rf-st2.out "^${m1:0:12} +notice +stored +us.cisa +stored "
    rk jp.nisc show "$m3" >rf-sh3.out 2>&1
    expect "show: rejected" rf-sh3.out '^State +rejected$'
    expect "... each relay's answer" rf-sh3.out '^Relays +relay.test rejected$'
    expect "... the refusal, naming the relay, the code and the reason" rf-sh3.out \
        '^Refusal +relay.test refused it for good: expired: the message expired before it arrived$'
    expect "... and its recipient rejected" rf-sh3.out '^us.cisa +rejected '
    field_is "show --json: the recipient rejected, the refusal naming the relay" jp.nisc "$m3" \
        '(r["recipients"]["us.cisa"]["state"], r["last_rejection"]["relay"], r["last_rejection"]["code"])' \
        "('rejected', 'relay.test', 'expired')"
}

# A full disk (the LD_PRELOAD shim tests/chaos/failsync.c failing every
# write under one folder with ENOSPC): send, ack and export --out say "No
# space left on device", naming the file, not "input/output error".
scenario_diskfull() {
    local shim=$B/tests/libfailsync.so rc n0 mid rw
    rw=$(realpath "$W") # the shim compares the real paths of open files
    local pre=(env LD_PRELOAD="$shim" FAILSYNC_TRIGGER="$W/fault" FAILSYNC_ERRNO=28)
    # Under ASan the runtime must come first; the shim is built without
    # sanitizers, so the order check can be relaxed.
    export ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}verify_asan_link_order=0"
    if ! "${pre[@]}" "$R" --help >preload.out 2>&1 ||
        grep -qiE 'cannot be preloaded|ERROR: AddressSanitizer' preload.out; then
        echo "SKIP: the fault shim cannot be preloaded here:"; sed 's/^/  | /' preload.out | head -5
        exit 77
    fi
    start_relay
    start_node us.cisa
    until_ok 10 connected us.cisa || bad "us.cisa connects"
    rk us.cisa send --to jp.nisc --title "to be answered" >df0.out 2>&1
    mid=$(queued_ids df0.out)
    # jp.nisc's outbox/ is full.
    start_node_pre() { # ID FOLDER: jp.nisc with writes under FOLDER failing
        local id=$1
        rm -f "st-$id/control.sock"
        "${pre[@]}" FAILSYNC_DIR="$rw/st-$id/$2/" "$D" --key "keys/$id.key" --roster roster.signed \
            --coordinator keys/coordinator.pub --state "st-$id" --relay "$EP" >>"$id.log" 2>&1 &
        DPID[$id]=$!
        until_ok 10 connected "$id" || bad "renrakud $id starts (writes under $2/ failing)"
    }
    start_node_pre jp.nisc outbox
    until_ok 15 test -e "st-jp.nisc/inbox/$mid.json" &&
        ok "jp.nisc receives a notice" || bad "jp.nisc receives a notice"
    echo write >fault
    n0=$(ls st-jp.nisc/sent | wc -l)
    rk jp.nisc send --to us.cisa --title "disk full" >df1.out 2>&1; rc=$?
    [ $rc = 1 ] && ok "send to a full outbox: exit 1" || bad "send to a full outbox: exit 1 ($rc)"
    expect "... naming the outbox file and the full disk" df1.out \
        "^renraku: error: cannot write st-jp.nisc/outbox/[0-9a-f]{32}\.env: No space left on device; nothing was sent\$"
    [ "$(ls st-jp.nisc/sent | wc -l)" = "$n0" ] && ok "... and leaves no sent record" ||
        bad "... and leaves no sent record"
    rk jp.nisc ack "$mid" --status received >df2.out 2>&1; rc=$?
    [ $rc = 1 ] && ok "ack to a full outbox: exit 1" || bad "ack to a full outbox: exit 1 ($rc)"
    expect "... naming the outbox file and the full disk" df2.out \
        "^renraku: error: cannot write st-jp.nisc/outbox/[0-9a-f]{32}\.env: No space left on device; nothing was sent\$"
    stop_node jp.nisc
    start_node_pre jp.nisc sent
    rk jp.nisc send --to us.cisa --title "disk full" >df3.out 2>&1; rc=$?
    [ $rc = 1 ] && ok "send with a full sent/: exit 1" || bad "send with a full sent/: exit 1 ($rc)"
    expect "... naming the sent record, not the outbox" df3.out \
        "^renraku: error: cannot write st-jp.nisc/sent/[0-9a-f]{32}\.json: No space left on device; nothing was sent\$"
    mkdir -p exports
    "${pre[@]}" FAILSYNC_DIR="$rw/exports/" "$R" --state st-jp.nisc export "$mid" --format stix \
        --out exports/x.json >df4.out 2>&1; rc=$?
    [ $rc = 1 ] && ok "export --out to a full disk: exit 1" || bad "export --out to a full disk: exit 1 ($rc)"
    expect "... naming the file and the full disk" df4.out \
        '^renraku: error: --out exports/x.json: No space left on device$'
    rm -f fault
    rk jp.nisc send --to us.cisa --title "space again" >df5.out 2>&1
    expect "space again: the send is queued" df5.out '^queued [0-9a-f]{32} '
}

# log_since ID LINES: the daemon's log past its first LINES lines.
log_since() { tail -n +$(($2 + 1)) "$1.log"; }
# same_files SNAPDIR DIR: every file of SNAPDIR is in DIR, byte for byte;
# prints the ones that are not.
same_files() {
    local f rc=0
    for f in "$1"/*; do
        cmp -s "$f" "$2/${f##*/}" || { echo "  differs or missing: ${f##*/}"; rc=1; }
    done
    return $rc
}
# inbox_once ID MSG...: `renraku inbox --json` lists each MSG once, and
# nothing else.
inbox_once() {
    local id=$1 m c rc=0
    shift
    rk "$id" inbox --json >inbox.json 2>&1 || { echo "  renraku inbox failed"; return 1; }
    for m in "$@"; do
        c=$(grep -c "\"msg_id\": \"$m\"" inbox.json)
        [ "$c" = 1 ] || { echo "  $m listed $c times"; rc=1; }
    done
    c=$(grep -c '"msg_id": "' inbox.json)
    [ "$c" = $# ] || { echo "  $c messages listed, $# expected"; rc=1; }
    return $rc
}

# The receiving daemon killed (SIGKILL) right after a burst, before its
# idle checkpoint (made 60 s here, so that a slow shell cannot miss it), so
# that its journal still holds the burst; then
# what a crash of a file system without a journal can leave: one inbox
# record gone, one envelope cut to 0 bytes. The restart puts them back
# from the journal. Then a journal of garbage: ignored, nothing lost.
# inbox_holds DIR N: DIR holds at least N records.
inbox_holds() {
    local f=("$1"/*.json)
    [ "${#f[@]}" -ge "$2" ]
}
scenario_journal() {
    local n=8 i m lines out files rec='' env='' M
    local in=st-us.cisa/inbox jn=st-us.cisa/journal
    start_relay
    start_node jp.nisc
    until_ok 10 connected jp.nisc || bad "jp.nisc connects"
    # us.cisa is down: the notices wait at the relay and come as a burst.
    for i in $(seq 1 $n); do
        rk jp.nisc send --to us.cisa --title "journal $i" >>s.out 2>&1
    done
    mapfile -t M < <(queued_ids s.out)
    [ "${#M[@]}" = $n ] || { bad "all $n notices are queued (${#M[@]})"; return; }
    for m in "${M[@]}"; do
        until_ok 15 recipient_state jp.nisc "$m" us.cisa stored || bad "$m is stored at the relay"
    done
        start_node us.cisa --checkpoint-idle-ms 60000
    # Frozen (SIGSTOP) as soon as the last record is in the inbox, well
    # before the idle checkpoint; then SIGKILL.
    shopt -s nullglob
    local have=()
    until_ok 15 inbox_holds "$in" $n
    kill -STOP "${DPID[us.cisa]}"
    have=("$in"/*.json)
    [ "${#have[@]}" -ge $n ] || { bad "the burst reaches us.cisa's inbox (${#have[@]} of $n)"; return; }
    if [ -s "$jn" ]; then ok "the journal still holds the burst when the daemon is stopped ($(stat -c %s "$jn") bytes)"; else
        bad "the journal still holds the burst when the daemon is stopped (it is empty: the checkpoint came first)"
    fi
    kill9_node us.cisa
    rm -rf snap && cp -a "$in" snap
    # The damage, on files the journal holds (their names are in it).
    for m in "${M[@]}"; do
        if [ -z "$rec" ] && grep -aqF "$m.json" "$jn"; then rec=$m
        elif [ -z "$env" ] && grep -aqF "$m.env" "$jn"; then env=$m; fi
    done
    [ -n "$rec" ] && [ -n "$env" ] || { bad "the journal names the burst's files"; return; }
    rm "$in/$rec.json"
    : >"$in/$env.env"
    lines=$(wc -l <us.cisa.log)
    start_node us.cisa
    until_ok 10 bash -c "tail -n +$((lines + 1)) '$W/us.cisa.log' | grep -q event=store_replayed"
    out=$(log_since us.cisa "$lines" | grep -o 'event=store_replayed files=[0-9]* ignored_bytes=[0-9]*')
    files=$(sed -n 's/.*files=\([0-9]*\).*/\1/p' <<<"$out")
    [ "${files:-0}" -ge 2 ] && ok "the restart replays the journal ($out)" ||
        bad "the restart replays the journal, files >= 2 (${out:-no event=store_replayed})"
    [ ! -s "$jn" ] && ok "the journal is empty after the restart" ||
        bad "the journal is empty after the restart ($(stat -c %s "$jn") bytes)"
    have=("$in"/*.json)
    [ "${#have[@]}" = $n ] && ok "the inbox holds $n records" || bad "the inbox holds $n records (${#have[@]})"
    out=$(same_files snap "$in") && ok "the deleted record and the emptied envelope are back, every file byte for byte" ||
        { bad "the deleted record and the emptied envelope are back, every file byte for byte"; echo "$out"; }
    out=
    for m in "${M[@]}"; do
        until_ok 15 recipient_state jp.nisc "$m" us.cisa delivered || out="$out $m"
    done
    [ -z "$out" ] && ok "the relay's receipts show every notice delivered" ||
        bad "the relay's receipts show every notice delivered (not:$out)"
    out=$(inbox_once us.cisa "${M[@]}") && ok "renraku inbox lists each notice once" ||
        { bad "renraku inbox lists each notice once"; echo "$out"; }
    # A journal of garbage (no entry checks): ignored, and nothing lost.
    stop_node us.cisa
    head -c 300 /dev/urandom >"$jn"
    lines=$(wc -l <us.cisa.log)
    start_node us.cisa
    until_ok 10 bash -c "tail -n +$((lines + 1)) '$W/us.cisa.log' | grep -q event=store_replayed"
    out=$(log_since us.cisa "$lines" | grep -o 'event=store_replayed files=[0-9]* ignored_bytes=[0-9]*')
    [ "$out" = "event=store_replayed files=0 ignored_bytes=300" ] &&
        ok "a journal of 300 garbage bytes is ignored ($out)" ||
        bad "a journal of 300 garbage bytes is ignored (${out:-no event=store_replayed})"
    [ ! -s "$jn" ] && ok "and emptied" || bad "and emptied ($(stat -c %s "$jn") bytes)"
    out=$(same_files snap "$in") && ok "nothing in the inbox is lost or changed" ||
        { bad "nothing in the inbox is lost or changed"; echo "$out"; }
    out=$(inbox_once us.cisa "${M[@]}") && ok "renraku inbox still lists each notice once" ||
        { bad "renraku inbox still lists each notice once"; echo "$out"; }
    shopt -u nullglob
}

# The node cannot store a delivery (here: a folder has its envelope's
# name), so it does not confirm it; once it can again, the relay sends it
# again (--redeliver-ms) while the connection stays up.
scenario_redeliver() {
    local id n
    start_relay --redeliver-ms "${REDELIVER_MS:-2000}"
    start_node jp.nisc
    start_node us.cisa
    until_ok 10 connected us.cisa || bad "us.cisa connects"
    stop_node us.cisa
    rk jp.nisc send --to us.cisa --title "kept on the second try" >r.out 2>&1
    id=$(queued_ids r.out)
    until_ok 15 recipient_state jp.nisc "$id" us.cisa stored || bad "the notice is stored"
    mkdir -p "st-us.cisa/inbox/$id.env/x"
    start_node us.cisa
    until_ok 15 grep -q 'event=store_commit_failed' us.cisa.log &&
        ok "the node cannot store the delivery, and says so" ||
        bad "the node cannot store the delivery, and says so"
    until_ok 15 grep -q 'event=store_write_failed box=inbox .*not confirmed' us.cisa.log &&
        ok "nor confirms it" || bad "nor confirms it"
    [ ! -e "st-us.cisa/inbox/$id.json" ] && ok "it is not in the inbox" || bad "it is not in the inbox"
    rm -rf "st-us.cisa/inbox/$id.env"
    until_ok 15 test -e "st-us.cisa/inbox/$id.json" &&
        ok "the relay sends it again while the node stays connected, and it is kept" ||
        bad "the relay sends it again while the node stays connected, and it is kept"
    expect "the relay says it sends it again, and why" relay.log 'event=redelivering node=us.cisa deliveries=1 reason="not confirmed within'
    n=$(grep -c 'event=welcome' us.cisa.log)
    [ "$n" = 2 ] && ok "without a reconnection" || bad "without a reconnection ($n welcomes)"
    until_ok 15 recipient_state jp.nisc "$id" us.cisa delivered &&
        ok "and the sender gets its delivery receipt" || bad "and the sender gets its delivery receipt"
}

# A receipt the relay could not send (the sender's queue full: here the
# relay's test switch refuses the first) is sent again on the same
# connection, and the receipts after it wait for it: the node keeps only
# the highest index it has seen.
scenario_receipts() {
    local a b la lb
    start_relay --test-refuse-receipts 1
    start_node jp.nisc
    start_node us.cisa
    until_ok 10 connected us.cisa || bad "us.cisa connects"
    stop_node us.cisa
    rk jp.nisc send --to us.cisa --title "first" >ra.out 2>&1
    rk jp.nisc send --to us.cisa --title "second" >rb.out 2>&1
    a=$(queued_ids ra.out)
    b=$(queued_ids rb.out)
    until_ok 15 recipient_state jp.nisc "$b" us.cisa stored || bad "both are stored"
    start_node us.cisa
    until_ok 15 recipient_state jp.nisc "$a" us.cisa delivered &&
        until_ok 15 recipient_state jp.nisc "$b" us.cisa delivered &&
        ok "both delivery receipts reach the sender, the refused one too" ||
        bad "both delivery receipts reach the sender, the refused one too"
    expect "the relay sends the refused one again, and says so" relay.log 'event=receipts_resent node=jp.nisc'
    la=$(grep -n "event=receipt msg=$a" jp.nisc.log | head -1 | cut -d: -f1)
    lb=$(grep -n "event=receipt msg=$b" jp.nisc.log | head -1 | cut -d: -f1)
    [ -n "$la" ] && [ -n "$lb" ] && [ "$la" -lt "$lb" ] &&
        ok "in order: the first's receipt before the second's" ||
        bad "in order: the first's receipt before the second's (lines $la, $lb)"
}

# A recipient revoked (or removed) from the roster while a message waits
# for it: the relay gives it up, logs it, and tells the sender, who shows
# it undeliverable with the reason; the other recipients are unaffected;
# it holds across a relay restart; renraku-audit verify agrees.
live() { "$RELAY" stats --data relaydata | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["live_messages"], d["undeliverable"])' 2>&1; }
scenario_undeliverable() {
    local m1 m2 rc vkey n
    start_relay
    start_node jp.nisc
    start_node sg.csa
    until_ok 10 connected jp.nisc && until_ok 10 connected sg.csa || bad "nodes connect"
    # us.cisa is offline: the relay holds M1 for it.
    rk jp.nisc send --to us.cisa --to sg.csa --title "for both" >u1.out 2>&1
    m1=$(queued_ids u1.out)
    until_ok 15 recipient_state jp.nisc "$m1" sg.csa delivered &&
        until_ok 5 recipient_state jp.nisc "$m1" us.cisa stored &&
        ok "M1 delivered to sg.csa, stored for us.cisa (offline)" ||
        bad "M1 delivered to sg.csa, stored for us.cisa (offline)"
    [ "$(live)" = "1 0" ] && ok "the relay holds one live message" || bad "the relay holds one live message ($(live))"
    "$KEYS" roster suspend roster.json --id us.cisa --reason "maintenance" >/dev/null
    "$KEYS" roster sign roster.json --key keys/coordinator.key --out roster.signed >/dev/null
    kill -HUP "$RPID"
    until_ok 10 grep -q 'event=roster_installed serial=2' relay.log || bad "roster 2 installed"
    # Given up at the next turn if at all: watch 1.5 s of turns.
    still_held() { [ "$(live)" = "1 0" ]; }
    holds 1500 still_held && recipient_state jp.nisc "$m1" us.cisa stored &&
        ok "a suspended recipient is not given up: still stored, still held" ||
        bad "a suspended recipient is not given up ($(live))"
    "$KEYS" roster revoke roster.json --id us.cisa --reason "key compromise" >/dev/null
    "$KEYS" roster sign roster.json --key keys/coordinator.key --out roster.signed >/dev/null
    kill -HUP "$RPID"
    until_ok 15 recipient_state jp.nisc "$m1" us.cisa undeliverable &&
        ok "revoked: the sender shows M1 undeliverable for us.cisa" ||
        bad "revoked: the sender shows M1 undeliverable for us.cisa"
    recipient_state jp.nisc "$m1" sg.csa delivered &&
        ok "... and still delivered for sg.csa" || bad "... and still delivered for sg.csa"
    rk jp.nisc show "$m1" --json >u1.json 2>&1
    expect "show --json gives the reason revoked" u1.json '"reason": "revoked"'
    rk jp.nisc show "$m1" >u1.txt 2>&1
    expect "show says it will never get it" u1.txt '^us.cisa +undeliverable .*revoked from the roster: it will never get it'
    rk jp.nisc status >st.txt 2>&1
    expect "status lists it undeliverable, revoked" st.txt ' us.cisa +undeliverable +[0-9T:.Z-]+ +revoked$'
    expect "the sender's log warns" jp.nisc.log "level=warn.*event=undeliverable msg=$m1 .*recipient=us.cisa reason=revoked|event=undeliverable msg=$m1 .*recipient=us.cisa reason=revoked"
    expect "the relay logs event=undeliverable" relay.log "event=undeliverable .*msg=$m1 .*recipient=us.cisa reason=revoked roster_serial=3"
    until_ok 5 test "$(live)" = "0 1" && ok "the relay no longer holds it (live_messages 0, undeliverable 1)" ||
        bad "the relay no longer holds it ($(live))"
    # Removed: sg.csa offline, M2 waits for it, then it leaves the roster.
    stop_node sg.csa
    rk jp.nisc send --to sg.csa --title "for sg only" >u2.out 2>&1
    m2=$(queued_ids u2.out)
    until_ok 15 recipient_state jp.nisc "$m2" sg.csa stored || bad "M2 stored"
    # Removed while the relay is down: the roster file it starts with
    # (newer than its log's) gives M2 up at start.
    stop_relay
    "$KEYS" roster remove roster.json --id sg.csa >/dev/null
    "$KEYS" roster sign roster.json --key keys/coordinator.key --out roster.signed >/dev/null
    start_relay
    until_ok 15 recipient_state jp.nisc "$m2" sg.csa undeliverable &&
        ok "removed (roster changed while the relay was down): the sender shows M2 undeliverable for sg.csa" ||
        bad "removed (roster changed while the relay was down): the sender shows M2 undeliverable for sg.csa"
    rk jp.nisc show "$m2" --json >u2.json 2>&1
    expect "... with the reason removed" u2.json '"reason": "removed"'
    until_ok 5 test "$(live)" = "0 1" && ok "... live_messages 0 (undeliverable 1 since the restart)" ||
        bad "... live_messages 0 (undeliverable 1 since the restart) ($(live))"
    # A restart: rebuilt from the snapshot or the log, nothing given up
    # twice, nothing delivered again.
    n=$(grep -c 'event=undeliverable ' relay.log)
    for how in snapshot log; do
        stop_relay
        [ $how = log ] && rm -f relaydata/state
        start_relay
        r0=$(grep -c "event=receipt msg=" jp.nisc.log)
        until_ok 10 connected jp.nisc || bad "jp.nisc reconnects"
        nothing_live() { [ "$(live)" = "0 0" ]; }
        holds 1500 nothing_live && ok "after a restart (from the $how): nothing live, nothing given up again" ||
            bad "after a restart (from the $how): nothing live, nothing given up again ($(live))"
        [ "$(grep -c 'event=undeliverable ' relay.log)" = "$n" ] && ok "... no new event=undeliverable" ||
            bad "... no new event=undeliverable"
        # The receipts resent after the hello say undeliverable still (a
        # delivered one would move the state on).
        receipts_again() { [ "$(grep -c "event=receipt msg=" jp.nisc.log)" -gt "$r0" ]; }
        until_ok 5 receipts_again || bad "... the relay resends the receipts after the hello"
        recipient_state jp.nisc "$m1" us.cisa undeliverable && recipient_state jp.nisc "$m2" sg.csa undeliverable &&
            ok "... and the sender's states hold" || bad "... and the sender's states hold"
    done
    expect "the first restart read the snapshot" relay.log 'event=state_loaded'
    stop_relay
    vkey=$("$RELAY" --print-vkey --key keys/relay.test.key)
    "$AUDIT" verify relaydata --vkey "$vkey" --coordinator keys/coordinator.pub >av.out 2>&1; rc=$?
    [ $rc = 0 ] && ok "renraku-audit verify passes: exit 0" ||
        { bad "renraku-audit verify passes: exit 0 ($rc)"; sed 's/^/  out| /' av.out; }
    expect "... counting two undeliverable records" av.out '^records .*, undeliverable 2\)'
    "$AUDIT" export relaydata --format jsonl >ax.out 2>&1
    expect "export shows the undeliverable record, its recipient and reason" ax.out \
        "\"type\":\"undeliverable\",\"from\":\"jp.nisc\",\"to\":\[\"us.cisa\"\],\"kind\":\"notice\",\"msg_id\":\"$m1\".*\"accepted_index\":2,.*\"reason\":\"revoked \(roster serial 3\)\""
    start_relay
}

# Every error is one clear line, with the documented exit code.
scenario_errors() {
    local rc
    "$R" --state "$W/nowhere" status >e1.out 2>&1; rc=$?
    [ $rc = 3 ] && ok "daemon not running: exit 3" || bad "daemon not running: exit 3 ($rc)"
    expect "and says so" e1.out '^renraku: error: renrakud is not running'
    mkdir -p nosock
    no_daemon_fast nosock "no control socket file"
    start_relay
    start_node jp.nisc
    # Another user: the state folder is 0700, so the socket cannot even be
    # looked at. renrakud runs: not "not running", but the permission. It
    # needs root to act as another user.
    if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
        chmod o+x "$W"
        setpriv --reuid=65534 --regid=65534 --clear-groups \
            "$R" --state "$W/st-jp.nisc" status >e0.out 2>&1; rc=$?
        chmod o-x "$W"
        [ $rc = 3 ] && ok "another user's daemon: exit 3" || bad "another user's daemon: exit 3 ($rc)"
        expect "... naming the permission, not a daemon not running" e0.out \
            "^renraku: error: cannot reach renrakud's control socket $W/st-jp.nisc/control.sock: Permission denied"
    else
        echo "skip: another user's daemon (needs root and setpriv)"
    fi
    rk jp.nisc send --to us.cisa --title x --tlp AMBR >e2.out 2>&1; rc=$?
    [ $rc = 2 ] && ok "misspelt TLP: exit 2" || bad "misspelt TLP: exit 2 ($rc)"
    expect "naming the field and the choices" e2.out "notice.tlp: unknown value 'AMBR'"
    rk jp.nisc send --to nobody.x --title x >e3.out 2>&1; rc=$?
    [ $rc = 1 ] && ok "unknown node: exit 1" || bad "unknown node: exit 1 ($rc)"
    expect "naming the node" e3.out 'nobody.x: no such node or group'
    # A notice flag beside --file would be ignored for the file's value:
    # a --tlp RED must not go out as the file's CLEAR.
    echo '{"title":"From a file","tlp":"CLEAR","incident_id":"f-1"}' >f1.json
    rk jp.nisc send --to us.cisa --file f1.json --tlp RED >e10.out 2>&1; rc=$?
    [ $rc = 2 ] && ok "--tlp beside --file: exit 2" || bad "--tlp beside --file: exit 2 ($rc)"
    expect "naming the flag and the file" e10.out "^renraku: error: --tlp: give the notice's fields in --file f1.json or as flags, not both"
    echo '{"to":"us.cisa","notice":{"title":"t","tlp":"CLEAR","incident_id":"f-2"}}' >f2.json
    rk jp.nisc alert --file f2.json >e11.out 2>&1; rc=$?
    [ $rc = 2 ] && ok "a file's \"to\" that is not a list: exit 2" || bad "a file's \"to\" that is not a list: exit 2 ($rc)"
    expect "naming the file and the key" e11.out '^renraku: error: --file f2.json: "to" must be a list'
    # 213503982334602 days times 86400 wraps to 61184 s: refused, not 17 h.
    rk jp.nisc send --to us.cisa --title x --expires 213503982334602d >e12.out 2>&1; rc=$?
    [ $rc = 2 ] && ok "--expires past a year (wrapping): exit 2" || bad "--expires past a year (wrapping): exit 2 ($rc)"
    expect "naming the flag" e12.out '^renraku: error: --expires 213503982334602d: use a duration'
    # Output that cannot be written (a full disk) is a failure, not exit 0.
    rk jp.nisc status >/dev/full 2>e13.out; rc=$?
    [ $rc = 1 ] && ok "status to a full disk: exit 1" || bad "status to a full disk: exit 1 ($rc)"
    expect "... saying so" e13.out '^renraku: error: cannot write the output: No space left'
    echo '{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[{"type":"incident","spec_version":"2.1","id":"incident--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061","created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z","name":"A draft"}]}' >b1.json
    rk jp.nisc import b1.json >e14.json 2>/dev/null && rk jp.nisc import b1.json >/dev/full 2>e14.out; rc=$?
    [ $rc = 1 ] && ok "import to a full disk: exit 1" || bad "import to a full disk: exit 1 ($rc)"
    expect "... saying so" e14.out '^renraku: error: cannot write the output'
    rk jp.nisc ack 0000000000 --status acknowledged >e4.out 2>&1; rc=$?
    [ $rc = 1 ] && ok "ack of an unknown message: exit 1" || bad "ack of an unknown message: exit 1 ($rc)"
    rk jp.nisc ack 00000000 --status maybe >e5.out 2>&1; rc=$?
    [ $rc = 2 ] && ok "bad ack status: exit 2" || bad "bad ack status: exit 2 ($rc)"
    # A flag without its value is named as such, with what it takes: not
    # "does not apply here", nor taken for an unknown option.
    local args
    rk jp.nisc ack 00000000 --status >e15.out 2>&1; rc=$?
    [ $rc = 2 ] && ok "ack --status without its value: exit 2" || bad "ack --status without its value: exit 2 ($rc)"
    expect "... saying it needs one, and which" e15.out '^renraku: error: --status needs a value: received, acknowledged, in-progress, resolved or denied$'
    # Nor is an empty value, or the next flag taken for the status: that
    # said "--status : use ..." and "--status --comment: use ...".
    for args in "ack 00000000 --status=" "ack 00000000 --status --comment x" \
        "ack 00000000 --comment x --status -y"; do
        rk jp.nisc $args >e23.out 2>&1; rc=$?
        [ $rc = 2 ] && ok "renraku $args: exit 2" || bad "renraku $args: exit 2 ($rc)"
        expect "... saying --status needs a value, and which" e23.out \
            '^renraku: error: --status needs a value: received, acknowledged, in-progress, resolved or denied$'
        [ "$(wc -l <e23.out)" = 1 ] || bad "renraku $args: exactly one line"
    done
    rk jp.nisc export 00000000 --format= >e24.out 2>&1; rc=$?
    [ $rc = 2 ] && ok "export --format= (empty): exit 2" || bad "export --format= (empty): exit 2 ($rc)"
    expect "... saying it needs a value" e24.out '^renraku: error: --format needs a value: stix$'
    rk jp.nisc export 00000000 >e25.out 2>&1; rc=$?
    [ $rc = 2 ] && ok "export without --format: exit 2" || bad "export without --format: exit 2 ($rc)"
    expect "... saying it needs one" e25.out '^renraku: error: export needs --format stix'
    rk jp.nisc send --to us.cisa --title >e16.out 2>&1; rc=$?
    [ $rc = 2 ] && ok "send --title without its value: exit 2" || bad "send --title without its value: exit 2 ($rc)"
    expect "... saying it needs one" e16.out '^renraku: error: --title needs a value'
    "$R" --state >e17.out 2>&1; rc=$?
    [ $rc = 2 ] && ok "--state without its value: exit 2" || bad "--state without its value: exit 2 ($rc)"
    expect "... saying it needs one" e17.out '^renraku: error: --state needs a value'
    rk jp.nisc inbox --comment x >e18.out 2>&1; rc=$?
    [ $rc = 2 ] && ok "a flag that does not apply: exit 2" || bad "a flag that does not apply: exit 2 ($rc)"
        expect "... naming the flag, not its value" e18.out '^renraku: error: option --comment does not apply here'
    rk jp.nisc inbox --bogus >e20.out 2>&1; rc=$?
    [ $rc = 2 ] && ok "an unknown flag: exit 2" || bad "an unknown flag: exit 2 ($rc)"
    expect "... called unknown, not one that does not apply" e20.out '^renraku: error: unknown option --bogus '
    rk jp.nisc status -x >e21.out 2>&1; rc=$?
        expect "... a short one too" e21.out '^renraku: error: unknown option -x '
    rk jp.nisc inbox --json=1 >e22.out 2>&1
    expect "a value for a flag that takes none is named as such" e22.out '^renraku: error: --json takes no value '
    # A bad short flag inside a cluster after a long flag is the one named:
    # not the long flag ("unknown option --json"), nor its value ("unknown
    # option t"). And send names a value given to --json as such.
    for args in "inbox --json -xy" "inbox --unread -xy" "send --to us.cisa --title t -xy"; do
        rk jp.nisc $args >e26.out 2>&1; rc=$?
        [ $rc = 2 ] && ok "renraku $args: exit 2" || bad "renraku $args: exit 2 ($rc)"
        expect "... naming -x" e26.out '^renraku: error: unknown option -x \(see --help\)$'
    done
    rk jp.nisc send --to us.cisa --title t --json=1 >e27.out 2>&1; rc=$?
    [ $rc = 2 ] && ok "send --json=1: exit 2" || bad "send --json=1: exit 2 ($rc)"
    expect "... saying --json takes no value" e27.out '^renraku: error: --json takes no value \(see --help\)$'
    # An argument a command does not take is refused, named, never
    # ignored (inbox and status went on as if it were not there).
    for args in "inbox foo" "inbox --unread foo" "status foo" "show 00000000 foo" \
        "ack 00000000 foo --status received" "export 00000000 foo --format stix" \
        "import b1.json foo" "send --to us.cisa --title x foo"; do
        rk jp.nisc $args >e19.out 2>&1; rc=$?
        [ $rc = 2 ] && ok "renraku $args: exit 2" || bad "renraku $args: exit 2 ($rc)"
        expect "... naming it" e19.out '^renraku: error: unexpected argument "foo" \(see --help\)$'
        [ "$(wc -l <e19.out)" = 1 ] || bad "renraku $args: exactly one line"
    done
    rk jp.nisc frobnicate >e6.out 2>&1; rc=$?
    [ $rc = 2 ] && ok "unknown command: exit 2" || bad "unknown command: exit 2 ($rc)"
    for f in e1 e2 e3 e4 e5 e6 e10 e11 e12 e15 e16 e17 e18; do
        [ "$(wc -l <$f.out)" = 1 ] || bad "$f: exactly one line"
    done
    "$D" --key keys/jp.nisc.key >e7.out 2>&1; rc=$?
    [ $rc = 2 ] && ok "renrakud without its flags: exit 2" || bad "renrakud without its flags: exit 2 ($rc)"
    "$D" --key keys/jp.nisc.key --checkpoint-idle-ms 50 >e9.out 2>&1; rc=$?
    [ $rc = 2 ] && ok "--checkpoint-idle-ms below 100: exit 2" || bad "--checkpoint-idle-ms below 100: exit 2 ($rc)"
    expect "... naming the flag" e9.out "checkpoint-idle-ms 50: not a number from 100"
    # A partner's .pub as --coordinator is named at start as a key of the
    # wrong role, not later as a roster not signed by the pinned key.
    "$D" --key keys/us.cisa.key --roster roster.signed --coordinator keys/jp.nisc.pub \
        --state st-role --relay "$EP" >e20.out 2>&1; rc=$?
    [ $rc = 2 ] && ok "a partner's .pub as --coordinator: exit 2" || bad "a partner's .pub as --coordinator: exit 2 ($rc)"
    expect "... naming the file, its role and the role needed" e20.out \
        "^renrakud: error: --coordinator keys/jp.nisc.pub: the key of 'jp.nisc', role partner; --coordinator needs the coordinator's key \\(role coordinator\\)"
    [ "$(wc -l <e20.out)" = 1 ] && ok "... in one line" || bad "... in one line"
    # The relay's own key (from the same keys/ folder) or the coordinator's
    # is no node's: refused at start, not welcomed as node relay.test and
    # shown by the relay as its key stolen.
    local kid
    for kid in relay.test:relay coordinator:coordinator; do
        timeout 10 "$D" --key "keys/${kid%%:*}.key" --roster roster.signed --coordinator keys/coordinator.pub \
            --state st-role --relay "$EP" >e28.out 2>&1; rc=$?
        [ $rc = 1 ] && ok "renrakud --key of role ${kid#*:}: exit 1" ||
            bad "renrakud --key of role ${kid#*:}: exit 1 ($rc)"
        expect "... naming the file, its id and role, and the roles a node runs with" e28.out \
            "^renrakud: error: --key keys/${kid%%:*}.key: the key of '${kid%%:*}', role ${kid#*:}; renrakud needs a node's key \\(role partner, controller or auditor\\)"
        [ "$(wc -l <e28.out)" = 1 ] && ok "... in one line" || bad "... in one line"
    done
    [ -e st-role ] && bad "nothing made for the refused keys (st-role exists)" ||
        ok "nothing made for the refused keys"
    grep -q 'node=relay.test' relay.log && bad "the relay never welcomed a node relay.test" ||
        ok "the relay never welcomed a node relay.test"
    # Folders and key files mixed up: each named for what it is, and
    # nothing left behind in the other program's folder.
    timeout 10 "$D" --key keys/us.cisa.pub --roster roster.signed --coordinator keys/coordinator.pub \
        --state st-pub --relay "$EP" >e29.out 2>&1; rc=$?
    [ $rc = 1 ] && ok "renrakud --key NODE.pub: exit 1" || bad "renrakud --key NODE.pub: exit 1 ($rc)"
    expect "... saying it is a public key file where the secret one belongs, not its mode" e29.out \
        "^renrakud: error: key file keys/us.cisa.pub: a public key file \\(.pub of 'us.cisa', role partner\\), not a secret key file: give the .key file that renraku-keys gen wrote beside it$"
    timeout 10 "$D" --key keys/us.cisa.key --roster roster.signed --coordinator keys/coordinator.pub \
        --state relaydata --relay "$EP" >e30.out 2>&1; rc=$?
    [ $rc = 1 ] && ok "renrakud --state <the relay's data folder>: exit 1" ||
        bad "renrakud --state <the relay's data folder>: exit 1 ($rc)"
    expect "... naming it a relay's data folder, not another renrakud" e30.out \
        "^renrakud: error: relaydata is a relay's data folder \\(its log/ holds the relay's log\\), not a node's state folder: give --state a folder of renrakud's own$"
    [ -e relaydata/outbox ] || [ -e relaydata/journal ] && bad "... nothing made in the relay's folder" ||
        ok "... nothing made in the relay's folder"
    timeout 15 "$R" --state relaydata status >e31.out 2>&1; rc=$?
    [ $rc = 3 ] && ok "renraku --state <the relay's data folder>: exit 3" ||
        bad "renraku --state <the relay's data folder>: exit 3 ($rc)"
    expect "... naming it a relay's data folder, not \"unknown command\"" e31.out \
        "^renraku: error: relaydata is a relay's data folder \\(renraku-relay --data\\), not a node's state folder: give --state the folder renrakud runs with$"
    timeout 10 "$RELAY" --key keys/relay.test.key --roster roster.signed --coordinator keys/coordinator.pub \
        --data st-jp.nisc --bind tcp://127.0.0.1:0 >e32.out 2>&1; rc=$?
    [ $rc = 1 ] && ok "renraku-relay --data <a node's state folder>: exit 1" ||
        bad "renraku-relay --data <a node's state folder>: exit 1 ($rc)"
    expect "... naming it a node's state folder, not a log open elsewhere" e32.out \
        "^renraku-relay: error: st-jp.nisc is a node's state folder \\(renrakud --state: it holds its journal and boxes\\), not a relay's data folder: give --data a folder of the relay's own$"
    [ -e st-jp.nisc/log ] || [ -e st-jp.nisc/checkpoints ] && bad "... no log/ or checkpoints/ made in the node's folder" ||
        ok "... no log/ or checkpoints/ made in the node's folder"
    timeout 15 "$RELAY" stats --data st-jp.nisc >e33.out 2>&1; rc=$?
    [ $rc = 1 ] && ok "renraku-relay stats --data <a node's state folder>: exit 1" ||
        bad "renraku-relay stats --data <a node's state folder>: exit 1 ($rc)"
    expect "... naming it a node's state folder" e33.out \
        "^renraku-relay: error: --data st-jp.nisc is a node's state folder \\(renrakud --state\\), not a relay's data folder"
    for f in e29 e30 e31 e32 e33; do
        [ "$(grep -vc 'level=' $f.out)" = 1 ] || bad "$f: exactly one error line"
    done
    "$D" --key keys/jp.nisc.key --roster roster.signed --coordinator keys/coordinator.pub \
        --state st-jp.nisc --relay "$EP" >e8.out 2>&1; rc=$?
    [ $rc = 1 ] && ok "a second renrakud on one state folder: exit 1" || bad "second renrakud: exit 1 ($rc)"
    expect "says another is running" e8.out 'another renrakud'
}

# An outbox that cannot be listed is logged when it starts failing, then
# only as a reminder (every 20 resubmission periods: 2 s here) while it
# lasts, again at once for another reason, and when it is back: not a
# line at every resubmission (it was one every 200 ms, each turn of the
# loop), which buried every other event.
# unlisted_lines REASON: how many box_unreadable lines jp.nisc logged for
# its outbox with REASON; unlisted_more REASON N: more than N.
unlisted_lines() { grep -c "event=box_unreadable box=outbox $1" jp.nisc.log; }
unlisted_more() { [ "$(unlisted_lines "$1")" -gt "$2" ]; }
scenario_unlisted() {
    local rc n n0 notdir='reason="cannot list st-jp.nisc/outbox: Not a directory"'
    local noent='reason="cannot list st-jp.nisc/outbox: No such file or directory"'
    start_relay
    start_node jp.nisc --resubmit-ms 100
    until_ok 10 connected jp.nisc || bad "jp.nisc connects"
    # (A listing between the mv and the touch logs "No such file or
    # directory" first: the counts below are per reason.)
    mv st-jp.nisc/outbox st-jp.nisc/outbox.away && touch st-jp.nisc/outbox
    until_ok 15 grep -q 'event=box_still_unreadable box=outbox' jp.nisc.log &&
        ok "a reminder while the outbox cannot be listed" ||
        bad "a reminder while the outbox cannot be listed"
    expect "... at level error, with the reason, since when and how many retries failed" jp.nisc.log \
        "level=error event=box_still_unreadable box=outbox $notdir since=[0-9T:.-]+Z repeats=[1-9][0-9]*\$"
    n=$(unlisted_lines "$notdir")
    [ "$n" = 1 ] && ok "box_unreadable logged once, not at every resubmission" ||
        bad "box_unreadable logged once, not at every resubmission ($n times)"
    expect "... at level error, with the reason" jp.nisc.log "level=error event=box_unreadable box=outbox $notdir\$"
    # The operator still sees it, whatever the log says.
    rk jp.nisc status >unl-status.out 2>&1; rc=$?
    [ $rc = 1 ] && ok "status meanwhile: exit 1" || bad "status meanwhile: exit 1 ($rc)"
    expect "... naming the outbox" unl-status.out '^Outbox +FOLDER UNREADABLE: outbox/ cannot be listed: Not a directory$'
    # Another reason is a new line at once.
    n0=$(unlisted_lines "$noent")
    rm st-jp.nisc/outbox && ln -s "$W/nowhere" st-jp.nisc/outbox
    until_ok 10 unlisted_more "$noent" "$n0" &&
        ok "another reason is logged at once" || bad "another reason is logged at once"
    rm st-jp.nisc/outbox && mv st-jp.nisc/outbox.away st-jp.nisc/outbox
    until_ok 10 grep -q 'event=box_recovered box=outbox' jp.nisc.log &&
        ok "the recovery is logged" || bad "the recovery is logged"
    expect "... at level info, with how long and how many listings failed" jp.nisc.log \
        'level=info event=box_recovered box=outbox unreadable_for_ms=[0-9]+ failed_listings=[1-9][0-9]*$'
    n=$(unlisted_lines "$noent")
    [ "$n" = $((n0 + 1)) ] && ok "the new reason logged once" || bad "the new reason logged once ($((n - n0)) times)"
    rk jp.nisc send --to us.cisa --title "After the outbox is back" >unl-send.out 2>&1
    MID=$(queued_ids unl-send.out)
    until_ok 15 recipient_state jp.nisc "$MID" us.cisa stored &&
        ok "a notice sent then is stored at the relay" || bad "a notice sent then is stored at the relay"
}

# Key rotation as README and OPERATIONS.md describe it (roster update --rotate,
# sign, SIGHUP the relay): a partner's, then the relay's.
scenario_rotate() {
    local n0 n1 n2 n3 n4 rc old_vkey new_vkey
    start_relay
    start_node jp.nisc
    start_node us.cisa
    until_ok 10 connected jp.nisc && until_ok 10 connected us.cisa || bad "nodes connect"
    # jp.nisc away; a notice to it is sealed to its only key of then.
    stop_node jp.nisc
    rk us.cisa send --to jp.nisc --title "Before the rotation" >n1.out 2>&1
    n1=$(queued_ids n1.out)
    until_ok 10 recipient_state us.cisa "$n1" jp.nisc stored || bad "n1 is stored"
    "$KEYS" gen --id jp.nisc --role partner --out new >/dev/null &&
        "$KEYS" roster update roster.json --id jp.nisc --rotate new/jp.nisc.pub >/dev/null &&
        "$KEYS" roster sign roster.json --key keys/coordinator.key --out roster.signed >/dev/null ||
        bad "the coordinator rotates jp.nisc's keys"
    kill -HUP "$RPID"
    until_ok 10 grep -q "event=roster_installed serial=2" us.cisa.log || bad "us.cisa installs roster 2"
    # The overlap: jp.nisc still runs with its previous key file.
    start_node jp.nisc
    until_ok 10 connected jp.nisc || bad "jp.nisc connects with its previous key"
    until_ok 10 recipient_state us.cisa "$n1" jp.nisc delivered || bad "n1 is delivered"
    rk jp.nisc show "$n1" >n1-show.out 2>&1
    expect "one sent before the rotation and delivered before the switch is opened" n1-show.out 'Before the rotation'
    rk jp.nisc send --to us.cisa --title "Signed with the previous key" >n0.out 2>&1
    n0=$(queued_ids n0.out)
    until_ok 10 recipient_state jp.nisc "$n0" us.cisa delivered &&
        ok "in the overlap, what jp.nisc signs with its previous key is accepted and opened" ||
        bad "in the overlap, what jp.nisc signs with its previous key is accepted and opened"
    rk us.cisa send --to jp.nisc --title "After the rotation, early" >n2.out 2>&1
    n2=$(queued_ids n2.out)
    until_ok 10 recipient_state us.cisa "$n2" jp.nisc delivered || bad "n2 is delivered"
    expect "a notice sent after the rotation is sealed to the new key: the previous key file cannot open it, and says why" jp.nisc.log \
        "event=quarantined .*from us.cisa: sealed to another encryption key of this node than the key file's"
    stop_node jp.nisc
    rk us.cisa send --to jp.nisc --title "After the rotation" >n3.out 2>&1
    n3=$(queued_ids n3.out)
    cp new/jp.nisc.key keys/jp.nisc.key
    start_node jp.nisc
    until_ok 10 connected jp.nisc && ok "renrakud starts and connects with jp.nisc's new key file" ||
        bad "renrakud starts and connects with jp.nisc's new key file"
    until_ok 10 recipient_state us.cisa "$n3" jp.nisc delivered || bad "n3 is delivered"
    rk jp.nisc show "$n3" >n3-show.out 2>&1
    expect "jp.nisc opens a notice sent after the rotation (sealed to its new key)" n3-show.out 'After the rotation'
    rk jp.nisc send --to us.cisa --title "Signed with the new key" >n4.out 2>&1
    n4=$(queued_ids n4.out)
    until_ok 10 recipient_state jp.nisc "$n4" us.cisa delivered &&
        ok "us.cisa verifies and opens what jp.nisc signs with its new key" ||
        bad "us.cisa verifies and opens what jp.nisc signs with its new key"

    # The relay's keys: the nodes get the roster listing both sets, the
    # relay restarts with its new key file on its data folder.
    old_vkey=$("$RELAY" --print-vkey --key keys/relay.test.key)
    "$KEYS" gen --id relay.test --role relay --out newr >/dev/null &&
        "$KEYS" roster update roster.json --id relay.test --rotate newr/relay.test.pub >/dev/null &&
        "$KEYS" roster sign roster.json --key keys/coordinator.key --out roster.signed >/dev/null ||
        bad "the coordinator rotates the relay's keys"
    kill -HUP "$RPID"
    until_ok 10 grep -q "event=roster_installed serial=3" us.cisa.log &&
        until_ok 10 grep -q "event=roster_installed serial=3" jp.nisc.log || bad "the nodes install roster 3"
    stop_relay
    cp newr/relay.test.key keys/relay.test.key
    new_vkey=$("$RELAY" --print-vkey --key keys/relay.test.key)
    start_relay
    expect "the relay takes its checkpoint signed by its previous key" relay.log \
        "event=checkpoint_earlier_key file=checkpoints/[0-9]+.note key=renraku/relay.test"
    until_ok 10 connected us.cisa && until_ok 10 connected jp.nisc &&
        ok "the nodes (pushed roster) connect to the relay on its new key" ||
        bad "the nodes (pushed roster) connect to the relay on its new key"
    stop_node us.cisa
    start_node us.cisa
    until_ok 10 connected us.cisa && ok "... and after a restart of renrakud" ||
        bad "... and after a restart of renrakud"
    rk us.cisa send --to jp.nisc --title "Through the re-keyed relay" >n5.out 2>&1
    until_ok 10 recipient_state us.cisa "$(queued_ids n5.out)" jp.nisc delivered &&
        ok "a notice is delivered through the re-keyed relay" ||
        bad "a notice is delivered through the re-keyed relay"
    for id in "${!DPID[@]}"; do stop_node "$id"; done
    stop_relay
    "$AUDIT" verify relaydata --vkey "$new_vkey" --vkey "$old_vkey" \
        --coordinator keys/coordinator.pub >av.out 2>&1; rc=$?
    [ $rc = 0 ] && ok "renraku-audit verify with both relay keys: exit 0" ||
        { bad "renraku-audit verify with both relay keys: exit 0 ($rc)"; sed 's/^/  out| /' av.out; }
    "$AUDIT" verify relaydata --vkey "$new_vkey" \
        --coordinator keys/coordinator.pub >av1.out 2>&1; rc=$?
    [ $rc = 1 ] && ok "with the new key only: exit 1" || bad "with the new key only: exit 1 ($rc)"
    expect "... naming the checkpoints of the previous key, and --vkey" av1.out \
        "checkpoint not signed by the relay key renraku/relay.test\+[0-9a-f]{8} .*give each with --vkey"
}

# The coordinator revokes the relay (its key stolen, say) while nodes are
# connected: once the roster is pushed, renrakud talks to it no more on a
# key the roster no longer vouches for (a thief holding it could answer
# "stored" and drop the message), nor reconnects on it; a send waits in
# the outbox, and status says why.
not_connected() { ! connected "$1"; }
scenario_relay_revoked() {
    local m
    start_relay
    start_node jp.nisc
    until_ok 10 connected jp.nisc || bad "jp.nisc connects"
    "$KEYS" roster revoke roster.json --id relay.test --reason "key compromise" >/dev/null &&
        "$KEYS" roster sign roster.json --key keys/coordinator.key --out roster.signed >/dev/null ||
        bad "the coordinator revokes the relay"
    kill -HUP "$RPID"
    until_ok 10 grep -q "event=roster_installed serial=2" jp.nisc.log || bad "jp.nisc installs roster 2"
    until_ok 5 grep -q 'event=relay_not_usable relay_id=relay.test .*action="disconnected until it lists one"' jp.nisc.log &&
        ok "renrakud says the relay has no usable key set left and disconnects" ||
        bad "renrakud says the relay has no usable key set left and disconnects"
    until_ok 5 not_connected jp.nisc && ok "... status: not connected" || bad "... status: not connected"
    rk jp.nisc status --json >st.out 2>&1
    expect "... status names why" st.out '"last_error": "the roster lists no usable key set for this relay'
    rk jp.nisc send --to us.cisa --title "after the relay's revocation" >s.out 2>&1
    m=$(queued_ids s.out)
    # Several --resubmit-ms periods and reconnect attempts: it must stay
    # queued and unconnected all along.
    queued_apart() { recipient_state jp.nisc "$m" us.cisa queued && not_connected jp.nisc; }
    holds 2500 queued_apart && recipient_state jp.nisc "$m" us.cisa queued &&
        ok "a send is not handed to the revoked relay: it stays queued" ||
        { bad "a send is not handed to the revoked relay: it stays queued"; rk jp.nisc show "$m" | sed 's/^/  out| /'; }
    not_connected jp.nisc && ok "... and renrakud does not reconnect on the revoked key" ||
        bad "... and renrakud does not reconnect on the revoked key"
    [ "$(grep -c 'event=relay_not_usable' jp.nisc.log)" = 1 ] &&
        ok "... said once, not at every check" || bad "... said once, not at every check"
}

# After a rotation of the relay's keys, the checkpoint it signed with its
# previous key vouches for its log only while the roster lists that set
# as active: a revoked or suspended set (a stolen key) does not, and the
# relay refuses to start, saying so; an expired one (not_after now, after
# a compromise, OPERATIONS.md) still does.
# prev_set STATUS [NOT_AFTER [NOT_BEFORE]]: relay.test's first key set so,
# signed anew.
prev_set() {
    python3 - "$1" "${2:-}" "${3:-}" <<'PY' || bad "edit roster.json"
import json, sys
r = json.load(open("roster.json"))
k = [n for n in r["nodes"] if n["id"] == "relay.test"][0]["keys"][0]
k["status"] = sys.argv[1]
if sys.argv[2]:
    k["not_after"] = sys.argv[2]
if sys.argv[3]:
    k["not_before"] = sys.argv[3]
open("roster.json", "w").write(json.dumps(r, indent=2) + "\n")
PY
    "$KEYS" roster sign roster.json --key keys/coordinator.key --out roster.signed >/dev/null ||
        bad "sign the roster"
}
scenario_relay_rekey_trust() {
    local rc st
    start_relay
    stop_relay # its newest checkpoint is signed by its first key
    "$KEYS" gen --id relay.test --role relay --out newr >/dev/null &&
        "$KEYS" roster update roster.json --id relay.test --rotate newr/relay.test.pub >/dev/null ||
        bad "rotate the relay's keys"
    cp newr/relay.test.key keys/relay.test.key
    for st in revoked suspended future; do
        case $st in
        future) # active, but valid only from tomorrow: it signed nothing yet
            prev_set active "$(date -u -d '+2 day' +%Y-%m-%dT%H:%M:%S.000Z)" \
                "$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%S.000Z)" ;;
        *) prev_set "$st" ;;
        esac
        timeout 10 "$RELAY" --key keys/relay.test.key --roster roster.signed \
            --coordinator keys/coordinator.pub --data relaydata --bind tcp://127.0.0.1:0 >r-$st.log 2>&1
        rc=$?
        [ $rc != 0 ] && [ $rc != 124 ] && ok "previous set $st: the relay refuses its checkpoint and does not start (exit $rc)" ||
            bad "previous set $st: the relay refuses its checkpoint and does not start (exit $rc)"
        expect "... saying what the roster must list" r-$st.log \
            "checkpoints/[0-9]+.note: refused: signed by none of this relay's keys \(not by --key's renraku/relay.test\+[0-9a-f]{8}, nor by the 0 other key sets the roster lists as active for it, from their not_before on\)"
    done
    prev_set active "$(date -u -d '-1 min' +%Y-%m-%dT%H:%M:%S.000Z)" \
        "$(date -u -d '-1 day' +%Y-%m-%dT%H:%M:%S.000Z)"
    start_relay
    expect "previous set active, expired a minute ago: its checkpoint is taken" relay.log \
        "event=checkpoint_earlier_key file=checkpoints/[0-9]+.note key=renraku/relay.test"
    stop_relay
}

setup
case "$SCENARIO" in
flow | offline | kill9 | journal | tamper | stix | hook | errors | refused | reset | tworelays | \
    rejected_norecord | resubmit | redeliver | receipts | unlisted | refusals | diskfull | rotate | \
    relay_revoked | relay_rekey_trust | undeliverable)
    "scenario_$SCENARIO"
    ;;
*) echo "unknown scenario $SCENARIO"; exit 2 ;;
esac
for id in "${!DPID[@]}"; do stop_node "$id"; done
stop_relay
# Clean stops exit 0 (under the sanitizers, also: no leak at exit).
[ "$STOP_FAILS" = 0 ] && ok "every daemon and the relay stopped cleanly" ||
    bad "every daemon and the relay stopped cleanly ($STOP_FAILS did not)"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
