#!/usr/bin/env bash
# Integration tests of renraku-audit compare: two real relays (A, B) on
# 127.0.0.1 with ephemeral ports, renrakud nodes that submit to both (as
# node.sh's tworelays does), testnode for what only one relay must see,
# fresh test keys made here, bounded waits, everything stopped at the end.
# Usage: compare.sh BUILD_DIR SCENARIO
# Scenarios:
#   agree       both relays stored and delivered everything (relay A even
#               killed and back meanwhile): exit 0; bad options: exit 2;
#               swapped keys, a tampered copy, a missing log: exit 1
#   differ      a message stored by relay A only while B ran on (runs
#               past), a copy of B's log taken before later messages
#               (ends before), a recipient neither relay reached: exit 3;
#               --since/--until; --json
#   contradict  one msg id with two envelopes (one per relay), and two
#               rosters with one serial (one per relay): exit 1
#   late        relay B started (a new data folder) after relay A stored a
#               message (starts after); a recipient whose renrakud uses
#               relay A only (delivered by one, info): exit 3, and exit 0
#               in the window B covers
#   refused     a roster (serial 2, a new partner) installed by SIGHUP at
#               relay A only (roster in one); relay B refuses the notice to
#               that partner (unknown-recipient), and, stopped meanwhile,
#               one that expired before it was back (expired, with the
#               stop named); a notice sent to A alone while B was stopped
#               (runs past, the stop named): exit 3
set -u
B=$(realpath "$1") SCENARIO=$2
KEYS=$B/keys/renraku-keys RELAY=$B/relay/renraku-relay AUDIT=$B/clients/renraku-audit
D=$B/clients/renrakud R=$B/clients/renraku T=$B/tests/testnode
# until_ok (bounded polls), kill_tree, chaos_workdir (W, PIDS, cleanup at
# exit of every PIDS entry with its children); ok and bad are our own.
# shellcheck source=tests/lib.sh
. "$(dirname "$(realpath "${BASH_SOURCE[0]}")")/../lib.sh"
chaos_workdir compare
declare -A RP EP DPID

bad() {
    fail=$((fail + 1))
    echo "FAIL: $1"
    for f in "$W"/*.log; do [ -f "$f" ] && tail -8 "$f" | sed "s#^#  $(basename "$f")| #"; done
}
# expect DESC FILE REGEX: FILE has a line matching REGEX.
expect() { if grep -Eq -- "$3" "$2"; then ok "$1"; else bad "$1"; sed 's/^/  out| /' "$2"; fi; }
# refute DESC FILE REGEX: no line of FILE matches REGEX.
refute() { if grep -Eq -- "$3" "$2"; then bad "$1"; sed 's/^/  out| /' "$2"; else ok "$1"; fi; }

setup() {
    cd "$W" || exit 1
    local nb="--not-before 2020-01-01T00:00:00Z" n
    "$KEYS" gen --id coordinator --role coordinator --out keys >/dev/null || exit 1
    for n in relay.test relay.b; do
        "$KEYS" gen --id $n --role relay --out keys >/dev/null || exit 1
    done
    for n in jp.nisc us.cisa sg.csa; do
        "$KEYS" gen --id $n --role partner --out keys >/dev/null || exit 1
    done
    "$KEYS" roster init roster.json --framework test >/dev/null
    "$KEYS" roster add roster.json --pub keys/relay.test.pub --country JP --org "Relay A" $nb >/dev/null
    "$KEYS" roster add roster.json --pub keys/relay.b.pub --country SG --org "Relay B" $nb >/dev/null
    "$KEYS" roster add roster.json --pub keys/jp.nisc.pub --country JP --org NISC --group g7 $nb >/dev/null
    "$KEYS" roster add roster.json --pub keys/us.cisa.pub --country US --org CISA --group g7 $nb >/dev/null
    "$KEYS" roster add roster.json --pub keys/sg.csa.pub --country SG --org CSA $nb >/dev/null
    "$KEYS" roster sign roster.json --key keys/coordinator.key --out roster.signed >/dev/null || exit 1
    cp roster.signed roster-a.signed
    cp roster.signed roster-b.signed
    VA=$("$RELAY" --print-vkey --key keys/relay.test.key) || exit 1
    VB=$("$RELAY" --print-vkey --key keys/relay.b.key) || exit 1
}

# start_relay a|b: relay A (relay.test, data-a) or B (relay.b, data-b),
# each with its own roster file (roster-a.signed, roster-b.signed). A
# restart reuses the port, as a real relay would.
start_relay() {
    local r=$1 key=relay.test
    [ "$r" = b ] && key=relay.b
    rm -f "ep-$r"
    "$RELAY" --key "keys/$key.key" --roster "roster-$r.signed" \
        --coordinator keys/coordinator.pub --data "data-$r" \
        --bind "${EP[$r]:-tcp://127.0.0.1:0}" --endpoint-file "ep-$r" \
        --checkpoint-every 1 >>"relay-$r.log" 2>&1 &
    RP[$r]=$!
    PIDS+=("${RP[$r]}")
    until_ok 10 grep -q tcp:// "ep-$r" || { bad "relay $r starts"; exit 1; }
    EP[$r]=$(cat "ep-$r")
}
# stop_relay a|b: SIGTERM, and it is gone with status 0 within 20 s.
stop_relay() {
    local p=${RP[$1]}
    kill -TERM "$p"
    if until_ok 20 eval "! kill -0 $p"; then
        wait "$p" || bad "relay $1 exits 0 after SIGTERM"
    else
        bad "relay $1 stops within 20 s"
        kill -9 "$p"
    fi
}
# start_node ID [a]: renrakud submitting to both relays (a: to relay A
# only, and taking its messages from A only).
start_node() {
    local id=$1 relays=(--relay "relay.test=${EP[a]}")
    [ "${2:-}" = a ] || relays+=(--relay "relay.b=${EP[b]}")
    rm -f "st-$id/control.sock"
    "$D" --key "keys/$id.key" --roster roster.signed --coordinator keys/coordinator.pub \
        --state "st-$id" "${relays[@]}" \
        --resubmit-ms 500 >>"$id.log" 2>&1 &
    DPID[$id]=$!
    PIDS+=("${DPID[$id]}")
    until_ok 10 test -S "st-$id/control.sock" || bad "renrakud $id starts"
}
stop_node() {
    kill -TERM "${DPID[$1]}" 2>/dev/null
    until_ok 20 eval "! kill -0 ${DPID[$1]}" || kill -9 "${DPID[$1]}"
    wait "${DPID[$1]}" 2>/dev/null
}
rk() { local id=$1; shift; "$R" --state "st-$id" "$@"; }
both_up() { rk "$1" status >st.out 2>&1 && [ "$(grep -c '^Relay .*connected since' st.out)" = 2 ]; }
# tn ID a|b CMD ARGS...: testnode as ID, connected to relay a or b only.
tn() {
    local id=$1 r=$2 cmd=$3 pub=relay.test
    shift 3
    [ "$r" = b ] && pub=relay.b
    "$T" "$cmd" --key "keys/$id.key" --roster roster.signed \
        --coordinator keys/coordinator.pub --relay "${EP[$r]}" \
        --relay-pub "keys/$pub.pub" --timeout-ms 8000 "$@"
}
# in_log DIR REGEX: the timeline of the (live) log in DIR has a matching line.
in_log() { "$AUDIT" timeline "$1" 2>/dev/null | grep -Eq -- "$2"; }
# sent ID TEXT: jp.nisc's renrakud sends a notice to ID; prints its msg id.
sent() { rk jp.nisc send --to "$1" --title "$2" "${@:3}" | sed -n 's/^queued \([0-9a-f]*\).*/\1/p'; }
# everywhere MSG TO: both logs hold MSG accepted and delivered to TO.
everywhere() {
    local d
    for d in data-a data-b; do
        until_ok 20 in_log "$d" "accepted .* msg=$1 " || { bad "$d accepted $1"; return 1; }
        until_ok 20 in_log "$d" "delivered .* -> $2 .* msg=$1 " || { bad "$d delivered $1 to $2"; return 1; }
    done
    ok "both relays stored ${1:0:8}... and delivered it to $2"
}
# time_of DIR MSG TYPE: relay time (ms) of MSG's TYPE record in DIR's log.
time_of() {
    "$AUDIT" export "$1" --format jsonl --msg "$2" | python3 -c '
import json, sys
print(next(o["time_ms"] for o in map(json.loads, sys.stdin) if o["type"] == sys.argv[1]))' "$3"
}
# first_accepted MSG: the earlier relay time of MSG's accepted records.
first_accepted() {
    local a b
    a=$(time_of data-a "$1" accepted)
    b=$(time_of data-b "$1" accepted)
    echo $((a < b ? a : b))
}
# cmp_run OUT [ARGS...]: renraku-audit compare ARGS (keys and coordinator
# appended) to OUT; its exit code in $?.
cmp_run() {
    local out=$1
    shift
    "$AUDIT" compare "$@" --vkey "$VA" --vkey "$VB" --coordinator keys/coordinator.pub >"$out" 2>&1
}
# exit_is DESC WANT GOT OUT
exit_is() { if [ "$3" = "$2" ]; then ok "$1 (exit $2)"; else bad "$1: exit $3, not $2"; sed 's/^/  out| /' "$4"; fi; }
# copy_log SRC DST: a copy as docs/OPERATIONS.md says, checkpoints/ first.
copy_log() { rm -rf "$2" && mkdir "$2" && cp -a "$1/checkpoints" "$2/" && cp -a "$1/log" "$2/"; }

start_all() {
    start_relay a
    start_relay b
    start_node jp.nisc
    start_node us.cisa
    until_ok 15 both_up jp.nisc && until_ok 15 both_up us.cisa &&
        ok "both nodes are connected to both relays" || bad "both nodes are connected to both relays"
}

scenario_agree() {
    local m1 m2 m3 rc
    start_all
    m1=$(sent us.cisa "first, via two relays")
    everywhere "$m1" us.cisa
    m2=$(sent g7 "to the group")
    everywhere "$m2" us.cisa
    # Relay A killed: B carries the next notice; A stores it once back.
    kill -9 "${RP[a]}"
    wait "${RP[a]}" 2>/dev/null
    m3=$(sent us.cisa "relay A is down")
    until_ok 20 in_log data-b "delivered .* msg=$m3 " || bad "relay B delivers while A is down"
    start_relay a
    everywhere "$m3" us.cisa
    stop_node jp.nisc
    stop_node us.cisa
    stop_relay a
    stop_relay b

    cmp_run c.out data-a data-b
    rc=$?
    exit_is "logs that agree" 0 "$rc" c.out
    expect "the summary counts 3 messages in both, none in one only" c.out '^messages: 3 in both, 0 only in A, 0 only in B$'
    expect "it names each log as verified" c.out "^log B: data-b: verified, [0-9]+ records .*relay ${VB%%+*}"
    expect "the verdict says agree" c.out '^agree: every message is in both logs with the same bytes'
    refute "no difference or contradiction line" c.out '^[0-9TZ:.-]+ (difference|contradiction) '
    "$AUDIT" compare data-a data-b --vkey "$VA" --vkey "$VB" --coordinator keys/coordinator.pub --json >j.out 2>&1
    rc=$?
    exit_is "--json, logs that agree" 0 "$rc" j.out
    python3 - j.out <<'PY' && ok "--json: one object, verdict agree, 3 in both, no findings of weight" || { bad "--json agree"; cat j.out; }
import json, sys
o = json.load(open(sys.argv[1]))
assert o["verdict"] == "agree", o["verdict"]
assert o["counts"]["in_both"] == 3 and o["counts"]["only_in_a"] == 0, o["counts"]
assert o["logs"]["a"]["verified"] and o["logs"]["b"]["verified"]
assert all(f["severity"] == "info" for f in o["findings"]), o["findings"]
PY

    # A folder name that is not UTF-8 still appears in --json (escaped).
    copy_log data-b "$(printf 'data-\377')"
    "$AUDIT" compare data-a "$(printf 'data-\377')" --vkey "$VA" --vkey "$VB" --coordinator keys/coordinator.pub --json >j.out 2>&1
    rc=$?
    exit_is "--json, log B in a folder whose name is not UTF-8" 0 "$rc" j.out
    python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); assert o["logs"]["b"]["dir"].startswith("data-"), o["logs"]["b"]' j.out &&
        ok "--json still names that folder" || { bad "--json still names that folder"; cat j.out; }

    # A window that holds no message: the verdict says nothing was compared.
    cmp_run c.out data-a data-b --since 2099-01-01T00:00:00Z
    rc=$?
    exit_is "a window without a message" 0 "$rc" c.out
    expect "the verdict says there was no message to compare" c.out '^agree: no message to compare \(neither log holds one in the window\), no contradiction'
    refute "and claims nothing of messages" c.out '^agree: every message'

    # Keys in the wrong order: neither log verifies, each is named.
    "$AUDIT" compare data-a data-b --vkey "$VB" --vkey "$VA" --coordinator keys/coordinator.pub >c.out 2>&1
    rc=$?
    exit_is "the two --vkey swapped" 1 "$rc" c.out
    expect "log A is named as not verifying" c.out '^log A \(data-a\) does not verify: checkpoints/[0-9]+\.note: checkpoint not signed by the relay key'
    expect "and nothing is compared" c.out '^NOT COMPARED: log A \(data-a\) does not verify; an unverified log proves nothing'
    refute "no verdict on the comparison" c.out '^(agree|DIFFER|CONTRADICTION):'

    # A tampered copy of B: a byte in the middle of a record, its check
    # bytes redone as a relay rewriting it would.
    copy_log data-b bad-b
    python3 - bad-b/log/00000000000000000000.seg <<'PY' || bad "tamper with a copy"
import hashlib, struct, sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read()); off = 16; fr = []
while off + 8 <= len(b):
    (n,) = struct.unpack(">I", b[off:off + 4]); fr.append((off, n)); off += 8 + n
o, n = max(fr, key=lambda f: f[1])  # the largest record: an envelope
b[o + 4 + n // 2] ^= 0x10
b[o + 4 + n:o + 8 + n] = hashlib.sha256(b"\0" + bytes(b[o + 4:o + 4 + n])).digest()[:4]
open(p, "wb").write(b)
PY
    cmp_run c.out data-a bad-b
    rc=$?
    exit_is "a tampered copy of log B" 1 "$rc" c.out
    expect "log B is named, with verify's problem" c.out '^log B \(bad-b\) does not verify: log/00000000000000000000\.seg offset [0-9]+ record [0-9]+: '
    expect "NOT COMPARED names log B" c.out '^NOT COMPARED: log B \(bad-b\) does not verify'
    refute "log A is not blamed" c.out '^log A .*does not verify'
    "$AUDIT" compare data-a bad-b --vkey "$VA" --vkey "$VB" --coordinator keys/coordinator.pub --json >j.out 2>&1
    rc=$?
    exit_is "--json, a tampered copy" 1 "$rc" j.out
    python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); assert o["verdict"]=="unverified" and not o["logs"]["b"]["verified"] and o["logs"]["a"]["verified"] and "problem" in o["logs"]["b"]' j.out &&
        ok "--json says unverified, log B with its problem" || { bad "--json unverified"; cat j.out; }
    cmp_run c.out nowhere data-b
    rc=$?
    exit_is "a missing log" 1 "$rc" c.out
    expect "the error names log A and the folder" c.out '^renraku-audit: error: log A \(nowhere\): nowhere/log: no such folder'
    # A relay's .pub as --coordinator: named at once as the wrong role (exit
    # 1, as any --coordinator it cannot use), not as rosters refused for
    # their signature in both logs, which reads as tampering.
    "$AUDIT" compare data-a data-b --vkey "$VA" --vkey "$VB" --coordinator keys/relay.b.pub >c.out 2>&1
    rc=$?
    exit_is "a relay's .pub as --coordinator" 1 "$rc" c.out
    expect "the error names the file, its role and the role needed" c.out \
        "^renraku-audit: error: --coordinator keys/relay.b.pub: the key of 'relay.b', role relay; --coordinator needs the coordinator's key \\(role coordinator\\)"
    [ "$(wc -l <c.out)" = 1 ] && ok "... in one line, nothing compared" || { bad "... in one line, nothing compared"; sed 's/^/  out| /' c.out; }

    # Usage: each bad option or argument is named, exit 2.
    usage() {
        local desc=$1 re=$2
        shift 2
        "$AUDIT" compare "$@" >u.out 2>&1
        local rc=$?
        if [ $rc = 2 ] && grep -Eq -- "^renraku-audit: error: $re" u.out; then ok "usage: $desc (exit 2, named)"; else
            bad "usage: $desc (exit $rc)"; sed 's/^/  out| /' u.out
        fi
    }
    local co="--coordinator keys/coordinator.pub"
    usage "one --vkey" "compare needs two --vkey, .*\\(1 given\\)" data-a data-b --vkey "$VA" $co
    usage "a third --vkey" "--vkey given a third time" data-a data-b --vkey "$VA" --vkey "$VB" --vkey "$VA" $co
    usage "no --coordinator" "--coordinator is required" data-a data-b --vkey "$VA" --vkey "$VB"
    usage "one LOGDIR" "compare needs LOGDIR_A and LOGDIR_B" data-a --vkey "$VA" --vkey "$VB" $co
    usage "three LOGDIRs" "compare needs LOGDIR_A and LOGDIR_B" data-a data-b data-a --vkey "$VA" --vkey "$VB" $co
    usage "the same folder twice" "LOGDIR_A and LOGDIR_B are the same folder" data-a ./data-a --vkey "$VA" --vkey "$VB" $co
    ln -sfn data-a link-a
    usage "the same folder through a symlink" "LOGDIR_A and LOGDIR_B are the same folder" data-a link-a --vkey "$VA" --vkey "$VB" $co
    # A copy of relay A's log held against itself would agree by construction.
    copy_log data-a copy-a
    usage "one relay key twice" "the two --vkey are one key \\(relay ${VA%%+*}\\)" data-a copy-a --vkey "$VA" --vkey "$VA" $co
    usage "a bad --since" "--since yesterday: use an RFC 3339" data-a data-b --vkey "$VA" --vkey "$VB" $co --since yesterday
    usage "--until before --since" "--until must come after --since" data-a data-b --vkey "$VA" --vkey "$VB" $co --since 2000 --until 1000
    usage "--until at the epoch" "--until 0: the epoch" data-a data-b --vkey "$VA" --vkey "$VB" $co --until 0
    usage "a bad --threads" "--threads 0: a number from 1 to 64" data-a data-b --vkey "$VA" --vkey "$VB" $co --threads 0
    usage "an unknown option" "unknown option --all" data-a data-b --vkey "$VA" --vkey "$VB" $co --all
    usage "--json with a value" "--json takes no value" data-a data-b --vkey "$VA" --vkey "$VB" $co --json=yes
    "$AUDIT" compare --help >h.out 2>&1 && grep -q '^usage: renraku-audit compare LOGDIR_A LOGDIR_B' h.out &&
        grep -q '3 differences without contradiction' h.out && ok "compare --help shows usage and exit codes" || bad "compare --help"
    "$AUDIT" --help | grep -q '^  compare LOGDIR_A LOGDIR_B' && ok "the command list names compare" || bad "the command list names compare"
}

scenario_differ() {
    local m1 m2 m3 m4 m5 rc t2 t3 t5 lastb
    start_all
    m1=$(sent us.cisa "first, via two relays")
    everywhere "$m1" us.cisa
    # Stored by relay A only (testnode speaks to one relay), relay B up.
    tn sg.csa a send --to us.cisa --text "to relay A only" >m2.out 2>&1
    m2=$(sed -n 's/^stored index=[0-9]* msg=//p' m2.out)
    [ -n "$m2" ] && ok "relay A alone stored a notice" || { bad "relay A alone stored a notice"; cat m2.out; }
    until_ok 20 in_log data-a "delivered .* msg=$m2 " || bad "relay A delivered it"
    m3=$(sent us.cisa "after it, via two relays")
    everywhere "$m3" us.cisa
    # A copy of B's log now, while it runs; later messages are not in it.
    copy_log data-b old-b
    m4=$(sent us.cisa "after the copy of B")
    everywhere "$m4" us.cisa
    # To a node no daemon runs for: it expires on both relays.
    m5=$(sent sg.csa "never fetched" --expires 1s)
    for d in data-a data-b; do
        until_ok 20 in_log "$d" "expired .* -> sg.csa .* msg=$m5 " || bad "$d expires $m5"
    done
    stop_node jp.nisc
    stop_node us.cisa
    stop_relay a
    stop_relay b

    cmp_run c.out data-a data-b
    rc=$?
    exit_is "a message relay A alone stored, a recipient never reached" 3 "$rc" c.out
    expect "the finding names it: only in A, B ran past it, with sender and index" c.out \
        "^[0-9T:.-]+Z difference only-in-a runs-past msg=$m2 sg\\.csa -> us\\.cisa kind=notice a\\.index=[0-9]+ b\\.index=-: not in B's log, though relay B logged on past it \\(until [0-9T:.-]+Z, index [0-9]+\\): relay B (never stored it|had not stored it by then)"
    expect "the recipient neither relay delivered to" c.out \
        "^[0-9T:.-]+Z difference not-reached expired msg=$m5 jp\\.nisc -> sg\\.csa kind=notice a\\.index=[0-9]+ b\\.index=[0-9]+: sg\\.csa never got it \\(expired wherever logged\\): in A expired \\(record [0-9]+\\), in B expired \\(record [0-9]+\\)"
    expect "summary: 4 in both, 1 only in A" c.out '^messages: 4 in both, 1 only in A, 0 only in B$'
    expect "summary: 1 recipient not reached, expired" c.out '^recipients not reached: 1 \(1 expired, 0 still open'
    expect "summary: no contradiction" c.out '^contradictions: 0$'
    expect "verdict DIFFER" c.out '^DIFFER: 1 message in one log only, 1 recipient not reached; no contradiction$'
    # Findings in time order: m2 before m5.
    [ "$(grep -n "msg=$m2" c.out | cut -d: -f1)" -lt "$(grep -n "msg=$m5" c.out | cut -d: -f1)" ] &&
        ok "findings in time order" || bad "findings in time order"
    # B's older copy: what came after it is "ends before", m2 still "runs past".
    cmp_run c.out data-a old-b
    rc=$?
    exit_is "against an older copy of B" 3 "$rc" c.out
    expect "a later message: B's copy ends before it" c.out \
        "difference only-in-a ends-before msg=$m4 jp\\.nisc -> us\\.cisa kind=notice a\\.index=[0-9]+ b\\.index=-: not in B's log, which ends before it .*B's copy is older"
    expect "the message A alone stored still runs past" c.out "difference only-in-a runs-past msg=$m2 "
    expect "summary: 2 in both, 3 only in A" c.out '^messages: 2 in both, 3 only in A, 0 only in B$'
    expect "a note on the time B's copy covers" c.out '^note: 2 messages only in A fall outside the time log B covers; --since [0-9T:.-]+Z --until [0-9T:.-]+Z compares only that time$'
    # --until the end of B's copy: the later messages are left out.
    lastb=$("$AUDIT" export old-b --format jsonl | tail -1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["time_ms"] + 1)')
    cmp_run c.out data-a old-b --until "$lastb"
    rc=$?
    exit_is "--until the end of B's copy: m2 still differs" 3 "$rc" c.out
    refute "--until leaves out what came after" c.out "msg=($m4|$m5)"
    expect "--until: the window is named" c.out '^window: messages accepted before [0-9T:.-]+Z'
    # A window around m3 and m4 only: the logs agree there. A message in
    # both is in the window by the earlier of its two acceptance times.
    t3=$(first_accepted "$m3")
    t5=$(first_accepted "$m5")
    cmp_run c.out data-a data-b --since "$t3" --until "$t5"
    rc=$?
    exit_is "a window where the logs agree" 0 "$rc" c.out
    expect "2 in both within it" c.out '^messages: 2 in both, 0 only in A, 0 only in B$'
    t2=$(time_of data-a "$m2" accepted)
    cmp_run c.out data-a data-b --until "$((t2 + 1))" --since "$t2"
    rc=$?
    exit_is "a window of m2 alone" 3 "$rc" c.out
    # B as LOGDIR_A: the same message is "only in B".
    "$AUDIT" compare data-b data-a --vkey "$VB" --vkey "$VA" --coordinator keys/coordinator.pub >c.out 2>&1
    rc=$?
    exit_is "the logs named the other way round" 3 "$rc" c.out
    expect "it is only in B, A ran past it" c.out "difference only-in-b runs-past msg=$m2 .* a\\.index=- b\\.index=[0-9]+: not in A's log, though relay A logged on past it"
    # --json: one object with the same findings.
    "$AUDIT" compare data-a old-b --vkey "$VA" --vkey "$VB" --coordinator keys/coordinator.pub --json >j.out 2>&1
    rc=$?
    exit_is "--json against the older copy" 3 "$rc" j.out
    python3 - j.out "$m2" "$m4" "$m5" <<'PY' && ok "--json: verdict differ, counts, each finding with its class and indexes" || { bad "--json differ"; cat j.out; }
import json, sys
o = json.load(open(sys.argv[1])); m2, m4, m5 = sys.argv[2:5]
assert o["verdict"] == "differ"
c = o["counts"]
assert c["in_both"] == 2 and c["only_in_a"] == 3 and c["only_in_a_outside_b"] == 2 and c["contradictions"] == 0, c
f = {(x["finding"], x["msg_id"]): x for x in o["findings"]}
x = f[("only-in-a", m2)]
assert x["class"] == "runs-past" and x["from"] == "sg.csa" and x["to"] == ["us.cisa"], x
assert isinstance(x["a_index"], int) and x["b_index"] is None and x["severity"] == "difference", x
assert f[("only-in-a", m4)]["class"] == "ends-before"
assert f[("only-in-a", m5)]["class"] == "ends-before"
assert f[("not-reached", m5)]["to"] == ["sg.csa"] and f[("not-reached", m5)]["class"] == "expired"
times = [x["time_ms"] for x in o["findings"]]
assert times == sorted(times), "time order"
PY
    full_out() {
        "$AUDIT" compare data-a data-b --vkey "$VA" --vkey "$VB" --coordinator keys/coordinator.pub >/dev/full 2>u.out
        local rc=$?
        [ $rc = 1 ] && grep -q '^renraku-audit: error: writing to stdout' u.out
    }
    full_out && ok "a verdict that cannot be written: exit 1, not 3" || { bad "compare to a full stdout"; cat u.out; }
}

scenario_contradict() {
    local id=0123456789abcdef0123456789abcdef ia ib rc
    start_relay a
    start_relay b
    # One msg id, two envelopes: each relay accepts the one it was sent.
    tn jp.nisc a send --to us.cisa --msg-id "$id" --text "the version A got" >e1.out 2>&1
    tn jp.nisc b send --to us.cisa --msg-id "$id" --text "the version B got" >e2.out 2>&1
    ia=$(sed -n 's/^stored index=\([0-9]*\) .*/\1/p' e1.out)
    ib=$(sed -n 's/^stored index=\([0-9]*\) .*/\1/p' e2.out)
    [ -n "$ia" ] && [ -n "$ib" ] && ok "each relay stored its version" || { bad "each relay stored its version"; cat e1.out e2.out; }
    # The very same bytes to both: no contradiction there.
    tn jp.nisc a send --to us.cisa --text "the same for both" --save same.env >e3.out 2>&1 &&
        tn jp.nisc b resend --file same.env >e4.out 2>&1 && ok "one envelope stored by both" ||
        { bad "one envelope stored by both"; cat e3.out e4.out; }
    # Two rosters with serial 2: roster.json revokes sg.csa, its fork
    # suspends it instead; relay A installs one, relay B the other.
    cp roster.json fork.json
    "$KEYS" roster revoke roster.json --id sg.csa --reason test >/dev/null
    "$KEYS" roster sign roster.json --key keys/coordinator.key --out roster-a.signed >/dev/null
    "$KEYS" roster suspend fork.json --id sg.csa >/dev/null
    "$KEYS" roster sign fork.json --key keys/coordinator.key --out roster-b.signed >/dev/null
    cmp -s roster-a.signed roster-b.signed && bad "the two rosters differ"
    kill -HUP "${RP[a]}" "${RP[b]}"
    for r in a b; do
        until_ok 10 grep -q 'event=roster_installed serial=2' "relay-$r.log" || bad "relay $r installs serial 2"
    done
    stop_relay a
    stop_relay b

    cmp_run c.out data-a data-b
    rc=$?
    exit_is "one msg id with two envelopes, two rosters with one serial" 1 "$rc" c.out
    expect "the envelope contradiction names both records" c.out \
        "^[0-9T:.-]+Z contradiction envelopes-differ msg=$id jp\\.nisc -> us\\.cisa kind=notice a\\.index=$ia b\\.index=$ib: relays A and B logged different envelopes under one msg id .*jp\\.nisc signed two messages with one msg id"
    expect "the roster contradiction names both records" c.out \
        "^[0-9T:.-]+Z contradiction rosters-differ serial=2 a\\.index=[0-9]+ b\\.index=[0-9]+: relays A and B installed two different rosters with serial 2"
    expect "summary: 2 contradictions" c.out '^contradictions: 2$'
    expect "the same bytes in both count as in both" c.out '^messages: 1 in both, 0 only in A, 0 only in B$'
    expect "verdict CONTRADICTION" c.out '^CONTRADICTION: 2 contradictions between the logs$'
    "$AUDIT" compare data-a data-b --vkey "$VA" --vkey "$VB" --coordinator keys/coordinator.pub --json >j.out 2>&1
    rc=$?
    exit_is "--json, contradictions" 1 "$rc" j.out
    python3 - j.out "$id" "$ia" "$ib" <<'PY' && ok "--json: verdict contradiction, both findings with both indexes" || { bad "--json contradict"; cat j.out; }
import json, sys
o = json.load(open(sys.argv[1])); mid, ia, ib = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
assert o["verdict"] == "contradiction" and o["counts"]["contradictions"] == 2
e = [f for f in o["findings"] if f["finding"] == "envelopes-differ"]
assert len(e) == 1 and e[0]["msg_id"] == mid and (e[0]["a_index"], e[0]["b_index"]) == (ia, ib), e
r = [f for f in o["findings"] if f["finding"] == "rosters-differ"]
assert len(r) == 1 and r[0]["serial"] == 2 and r[0]["severity"] == "contradiction", r
PY
}

scenario_late() {
    local m0 m1 rc win
    start_relay a
    # Stored by relay A before relay B ever ran: B's data folder is new.
    tn sg.csa a send --to us.cisa --text "before relay B existed" >m0.out 2>&1
    m0=$(sed -n 's/^stored index=[0-9]* msg=//p' m0.out)
    [ -n "$m0" ] && ok "relay A stored a notice before relay B started" ||
        { bad "relay A stored a notice before relay B started"; cat m0.out; }
    start_relay b
    # jp.nisc submits to both relays; us.cisa takes its messages from A only.
    start_node jp.nisc
    start_node us.cisa a
    until_ok 15 both_up jp.nisc && ok "jp.nisc is connected to both relays" || bad "jp.nisc is connected to both relays"
    m1=$(sent us.cisa "via both relays, to a node on relay A only")
    until_ok 20 in_log data-a "delivered .* -> us\\.cisa .* msg=$m1 " || bad "relay A delivers it to us.cisa"
    until_ok 20 in_log data-b "accepted .* msg=$m1 " || bad "relay B stores it too"
    until_ok 20 in_log data-a "delivered .* msg=$m0 " || bad "relay A delivers the first notice"
    stop_node jp.nisc
    stop_node us.cisa
    stop_relay a
    stop_relay b
    if in_log data-b "delivered .* msg=$m1 "; then bad "relay B holds it undelivered"; else ok "relay B holds it undelivered"; fi

    cmp_run c.out data-a data-b
    rc=$?
    exit_is "a message stored before relay B started" 3 "$rc" c.out
    expect "the finding: only in A, B starts after it" c.out \
        "^[0-9T:.-]+Z difference only-in-a starts-after msg=$m0 sg\\.csa -> us\\.cisa kind=notice a\\.index=[0-9]+ b\\.index=-: not in B's log, which begins after it \\(its first record at [0-9T:.-]+Z\\): relay B was not logging yet, so this says nothing against it$"
    expect "the recipient on relay A only: delivered by one, info" c.out \
        "^[0-9T:.-]+Z info delivered-by-one msg=$m1 jp\\.nisc -> us\\.cisa kind=notice a\\.index=[0-9]+ b\\.index=[0-9]+: us\\.cisa confirmed only one relay's copy: in A delivered \\(record [0-9]+\\), in B still open at the end of the log$"
    refute "it is not counted as not reached" c.out "not-reached .*msg=$m1 "
    expect "summary: 1 in both, 1 only in A" c.out '^messages: 1 in both, 1 only in A, 0 only in B$'
    expect "a note on the time B covers" c.out '^note: 1 message only in A falls outside the time log B covers; --since [0-9T:.-]+Z --until [0-9T:.-]+Z compares only that time$'
    expect "verdict DIFFER, the message in A only" c.out '^DIFFER: 1 message in one log only, 0 recipients not reached; no contradiction$'
    "$AUDIT" compare data-a data-b --vkey "$VA" --vkey "$VB" --coordinator keys/coordinator.pub --json >j.out 2>&1
    rc=$?
    exit_is "--json, relay B started late" 3 "$rc" j.out
    python3 - j.out "$m0" "$m1" <<'PY' && ok "--json: starts-after outside B, delivered-by-one as info" || { bad "--json late"; cat j.out; }
import json, sys
o = json.load(open(sys.argv[1])); m0, m1 = sys.argv[2:4]
assert o["verdict"] == "differ", o["verdict"]
c = o["counts"]
assert c["only_in_a"] == 1 and c["only_in_a_outside_b"] == 1 and c["in_both"] == 1, c
assert c["info"] == 1 and c["not_reached"] == 0, c
f = {(x["finding"], x["msg_id"]): x for x in o["findings"]}
x = f[("only-in-a", m0)]
assert x["class"] == "starts-after" and x["severity"] == "difference" and x["b_index"] is None, x
x = f[("delivered-by-one", m1)]
assert x["severity"] == "info" and x["to"] == ["us.cisa"] and x["from"] == "jp.nisc", x
assert isinstance(x["a_index"], int) and isinstance(x["b_index"], int), x
PY
    # The window the note gives: only m1; an info finding leaves it agreed.
    win=$(sed -n 's/^note: .*; \(--since [^ ]* --until [^ ]*\) compares only that time$/\1/p' c.out)
    # shellcheck disable=SC2086 # two options and their values
    cmp_run c.out data-a data-b $win
    rc=$?
    exit_is "the window B covers (${win:-no note})" 0 "$rc" c.out
    expect "there the logs agree" c.out '^agree: every message is in both logs with the same bytes, every recipient was delivered by a relay, no contradiction'
    expect "the info finding is still shown" c.out "^[0-9T:.-]+Z info delivered-by-one msg=$m1 "
    refute "and the message before B is left out" c.out "msg=$m0"
}

scenario_refused() {
    local m1 m2 m3 m4 rc
    start_all
    # The coordinator adds kr.kisa (serial 2); relay A's operator installs
    # it (SIGHUP), relay B's does not. Relay A pushes it to the nodes.
    "$KEYS" gen --id kr.kisa --role partner --out keys >/dev/null &&
        "$KEYS" roster add roster.json --pub keys/kr.kisa.pub --country KR --org KISA \
            --not-before 2020-01-01T00:00:00Z >/dev/null &&
        "$KEYS" roster sign roster.json --key keys/coordinator.key --out roster-a.signed >/dev/null ||
        bad "roster serial 2 with kr.kisa"
    kill -HUP "${RP[a]}"
    until_ok 10 grep -q 'event=roster_installed serial=2' relay-a.log || bad "relay A installs serial 2"
    until_ok 10 grep -q 'event=roster_installed serial=2' jp.nisc.log || bad "jp.nisc gets serial 2 from relay A"
    m1=$(sent kr.kisa "to the new partner")
    until_ok 20 in_log data-a "accepted .* msg=$m1 " || bad "relay A stores the notice to kr.kisa"
    until_ok 20 in_log data-b "refused jp\\.nisc .* msg=$m1 .*code=unknown-recipient" &&
        ok "relay B refuses it: kr.kisa is not in its roster" || bad "relay B refuses it: kr.kisa is not in its roster"
    m2=$(sent us.cisa "after the new roster")
    everywhere "$m2" us.cisa
    # Relay B stopped: a notice to sg.csa (no daemon runs for it) expires
    # at relay A meanwhile; sg.csa's testnode sends to relay A alone.
    stop_relay b
    m3=$(sent sg.csa "while relay B is stopped" --expires 1s)
    until_ok 20 in_log data-a "expired .* -> sg\\.csa .* msg=$m3 " || bad "relay A expires it"
    tn sg.csa a send --to us.cisa --text "to relay A only, relay B stopped" >m4.out 2>&1
    m4=$(sed -n 's/^stored index=[0-9]* msg=//p' m4.out)
    [ -n "$m4" ] && ok "relay A alone stored a notice while B was stopped" ||
        { bad "relay A alone stored a notice while B was stopped"; cat m4.out; }
    until_ok 20 in_log data-a "delivered .* msg=$m4 " || bad "relay A delivers it"
    # Back, relay B gets jp.nisc's outbox: the notice expired meanwhile.
    start_relay b
    until_ok 20 in_log data-b "refused jp\\.nisc .* msg=$m3 .*code=expired" &&
        ok "relay B, back, refuses the expired notice" || bad "relay B, back, refuses the expired notice"
    stop_node jp.nisc
    stop_node us.cisa
    stop_relay a
    stop_relay b

    cmp_run c.out data-a data-b
    rc=$?
    exit_is "refusals for good by relay B, a roster at relay A only" 3 "$rc" c.out
    expect "the notice to the new partner: only in A, refused, with B's record and code" c.out \
        "^[0-9T:.-]+Z difference only-in-a refused msg=$m1 jp\\.nisc -> kr\\.kisa kind=notice a\\.index=[0-9]+ b\\.index=-: not in B's log: relay B refused it \\(record [0-9]+ at [0-9T:.-]+Z, code=unknown-recipient\\); a node keeps resubmitting only until each relay stored or refused it$"
    expect "the roster B never installed: in one log, B logged on past it" c.out \
        "^[0-9T:.-]+Z info roster-in-one serial=2 a\\.index=[0-9]+ b\\.index=-: roster serial 2 is in A's log only, newer than B's newest \\(serial 1\\), though relay B logged on past it \\(until [0-9T:.-]+Z, index [0-9]+\\): relay B had not installed it .* judged keys by serial 1 meanwhile$"
    refute "it is not put down to an older copy of B" c.out "roster-in-one .*copy is older"
    expect "the expired notice: refused, the stop named, expired before B was back" c.out \
        "^[0-9T:.-]+Z difference only-in-a refused msg=$m3 jp\\.nisc -> sg\\.csa kind=notice a\\.index=[0-9]+ b\\.index=-: not in B's log: relay B refused it \\(record [0-9]+ at [0-9T:.-]+Z, code=expired\\); .*; relay B was stopped then \\(record [0-9]+ at [0-9T:.-]+Z\\) until [0-9T:.-]+Z \\(record [0-9]+\\), and the message expired at [0-9T:.-]+Z, before it was back$"
    expect "the notice to A alone: runs past, the stop named" c.out \
        "^[0-9T:.-]+Z difference only-in-a runs-past msg=$m4 sg\\.csa -> us\\.cisa kind=notice a\\.index=[0-9]+ b\\.index=-: not in B's log, though relay B logged on past it .*; relay B was stopped then \\(record [0-9]+ at [0-9T:.-]+Z\\) until [0-9T:.-]+Z \\(record [0-9]+\\)$"
    expect "summary: 1 in both, 3 only in A" c.out '^messages: 1 in both, 3 only in A, 0 only in B$'
    expect "summary: 2 not reached (kr.kisa open, sg.csa expired)" c.out '^recipients not reached: 2 \(1 expired, 1 still open'
    expect "summary: a roster serial in one log only" c.out '^rosters: 1 serial in both, 1 in one log only$'
    expect "verdict DIFFER" c.out '^DIFFER: 3 messages in one log only, 2 recipients not reached; no contradiction$'
    "$AUDIT" compare data-a data-b --vkey "$VA" --vkey "$VB" --coordinator keys/coordinator.pub --json >j.out 2>&1
    rc=$?
    exit_is "--json, refusals and a roster in one log" 3 "$rc" j.out
    python3 - j.out "$m1" "$m3" "$m4" <<'PY' && ok "--json: refused twice, runs-past, roster-in-one serial 2 as info" || { bad "--json refused"; cat j.out; }
import json, sys
o = json.load(open(sys.argv[1])); m1, m3, m4 = sys.argv[2:5]
assert o["verdict"] == "differ", o["verdict"]
c = o["counts"]
assert c["only_in_a"] == 3 and c["only_in_a_outside_b"] == 0, c
assert c["rosters_in_both"] == 1 and c["rosters_in_one"] == 1 and c["contradictions"] == 0, c
f = {(x["finding"], x["msg_id"]): x for x in o["findings"]}
assert f[("only-in-a", m1)]["class"] == "refused" and "code=unknown-recipient" in f[("only-in-a", m1)]["text"]
assert f[("only-in-a", m1)]["to"] == ["kr.kisa"]
assert f[("only-in-a", m3)]["class"] == "refused" and "code=expired" in f[("only-in-a", m3)]["text"]
assert f[("only-in-a", m4)]["class"] == "runs-past"
r = [x for x in o["findings"] if x["finding"] == "roster-in-one"]
assert len(r) == 1 and r[0]["serial"] == 2 and r[0]["severity"] == "info", r
assert isinstance(r[0]["a_index"], int) and r[0]["b_index"] is None and r[0]["msg_id"] == "", r
PY
}

setup
case "$SCENARIO" in
agree | differ | contradict | late | refused) "scenario_$SCENARIO" ;;
*) echo "unknown scenario $SCENARIO"; exit 2 ;;
esac
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
