#!/usr/bin/env bash
# Drills end to end: renraku-relay, the controller's renrakud, simulated
# participants (renraku-drill simulate: one renrakud each, answering after
# a fixed delay, or partner daemons answered by hand with renraku ack),
# renraku-drill run / ping, and the report. Real processes on 127.0.0.1,
# fresh test keys, bounded waits, everything stopped.
# Usage: drill.sh BUILD_DIR SCENARIO   (scenarios: scripted late ping
# answers stall unknown refused msel sim_exit scale; scripted, ping and
# msel each run further checks after their own: see the case at the end)
set -u
B=$(realpath "$1") SCENARIO=$2
KEYS=$B/keys/renraku-keys RELAY=$B/relay/renraku-relay
D=$B/clients/renrakud DRILL=$B/clients/renraku-drill CLI=$B/clients/renraku
ROOT=$(mktemp -d /tmp/rk-drill-XXXXXX)
W=$ROOT
PIDS=()
CTL_PID=
PROXY=
pass=0 fail=0

stop_all() {
    # A daemon left stopped (SIGSTOP) by a check cut short would not end.
    for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -CONT "$p" 2>/dev/null; done
    for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -TERM "$p" 2>/dev/null; done
    for p in "${PIDS[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null; done
    PIDS=()
}
cleanup() {
    stop_all
    rm -rf "$ROOT"
}
trap cleanup EXIT
# fresh: stop the processes of the checks before, and work in a new folder.
fresh() {
    stop_all
    W=$(mktemp -d "$ROOT/s-XXXXXX")
    cd "$W" || exit 1
}
ok() { pass=$((pass + 1)); echo "ok: $1"; }
bad() {
    fail=$((fail + 1))
    echo "FAIL: $1"
    for f in "$W"/*.log; do [ -f "$f" ] && tail -5 "$f" | sed "s#^#  $(basename "$f")| #"; done
}
expect() { if grep -Eq -- "$3" "$2"; then ok "$1"; else bad "$1"; sed 's/^/  out| /' "$2" | head -40; fi; }
until_ok() {
    local i n=$(($1 * 20))
    shift
    for ((i = 0; i < n; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.05; done
    return 1
}

# setup N: coordinator, relay, controller ctl.test and partners p1..pN in
# group "drill".
setup() {
    local n=$1 nb="--not-before 2020-01-01T00:00:00Z"
    cd "$W" || exit 1
    "$KEYS" gen --id coordinator --role coordinator --out keys >/dev/null || exit 1
    "$KEYS" gen --id relay.test --role relay --out keys >/dev/null || exit 1
    "$KEYS" gen --id ctl.test --role controller --out keys >/dev/null || exit 1
    "$KEYS" roster init roster.json --framework test >/dev/null
    "$KEYS" roster add roster.json --pub keys/relay.test.pub --country JP --org Relay $nb >/dev/null
    "$KEYS" roster add roster.json --pub keys/ctl.test.pub --country JP --org Control $nb >/dev/null
    for ((i = 1; i <= n; i++)); do
        "$KEYS" gen --id p$i --role partner --out keys >/dev/null || exit 1
        "$KEYS" roster add roster.json --pub keys/p$i.pub --country JP --org "Partner $i" \
            --group drill $nb >/dev/null || exit 1
    done
    "$KEYS" roster sign roster.json --key keys/coordinator.key --out roster.signed >/dev/null || exit 1
    "$RELAY" --key keys/relay.test.key --roster roster.signed --coordinator keys/coordinator.pub \
        --data relaydata --bind tcp://127.0.0.1:0 --endpoint-file ep >relay.log 2>&1 &
    PIDS+=($!)
    until_ok 10 grep -q tcp:// ep || { bad "relay starts"; exit 1; }
    EP=$(cat ep)
    start_ctl
}
start_ctl() {
    "$D" --key keys/ctl.test.key --roster roster.signed --coordinator keys/coordinator.pub \
        --state ctl --relay "$EP" >>ctl.log 2>&1 &
    CTL_PID=$!
    PIDS+=($!)
    until_ok 10 test -S ctl/control.sock || bad "controller daemon starts"
}

# node ID: a partner daemon that answers only when told (renraku ack).
node() {
    "$D" --key "keys/$1.key" --roster roster.signed --coordinator keys/coordinator.pub \
        --state "st.$1" --relay "$EP" >"$1.log" 2>&1 &
    PIDS+=($!)
    until_ok 10 test -S "st.$1/control.sock" || bad "$1 starts"
}

# inbox_id NODE DRILL INJECT: the id of the message that brought INJECT of
# drill DRILL to NODE's inbox (nothing while it has not arrived).
inbox_id() {
    python3 - "st.$1/inbox" "$2" "$3" <<'PY'
import glob, json, os, sys
for f in glob.glob(sys.argv[1] + '/*.json'):
    try:
        d = json.load(open(f))
    except Exception:
        continue
    p = d.get('payload', {})
    i = p.get('drill_inject', {}).get('inject_id') or p.get('comm_check', {}).get('check_id')
    if d.get('drill_id') == sys.argv[2] and i == sys.argv[3]:
        print(os.path.basename(f)[:-5])
        break
PY
}
arrived() { [ -n "$(inbox_id "$@")" ]; }
# delivered_to STATE MSG NODE: the sender's record says the relay
# delivered MSG to NODE (confirmed: on NODE's disk).
delivered_to() {
    "$CLI" --state "$1" show "$2" --json | tr -d ' \n' | grep -q "\"$3\":{\"state\":\"delivered\""
}
# answer NODE DRILL INJECT STATUS: NODE answers as a person would.
answer() {
    "$CLI" --state "st.$1" ack "$(inbox_id "$1" "$2" "$3")" --status "$4" >/dev/null 2>>"$1.log" ||
        bad "$1 answers $3 with $4"
}
gone() { ! kill -0 "$1" 2>/dev/null; }
# wait_exit PID SECONDS: the exit code of a background job; 124 (and the
# job killed) if it is still running after SECONDS.
wait_exit() {
    if until_ok "$2" gone "$1"; then
        wait "$1"
        return $?
    fi
    kill -KILL "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    return 124
}
# field DIR P I KEY: KEY of the report row of participant P and inject I.
field() {
    python3 - "$1/report.json" "$2" "$3" "$4" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for x in r['results']:
    if x['participant'] == sys.argv[2] and x['inject'] == sys.argv[3]:
        print(json.dumps(x.get(sys.argv[4])).strip('"'))
PY
}
is() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1 (got '$2', expected '$3')"; fi; }

# simulate ARGS...: simulated participants in the background until "ready".
simulate() {
    "$DRILL" simulate --keys keys --roster roster.signed --coordinator keys/coordinator.pub \
        --relay "$EP" --state-root sim "$@" >sim.out 2>sim.log &
    PIDS+=($!)
    until_ok 90 grep -q '^ready' sim.out || bad "simulated participants start"
}

scenario_scripted() {
    setup 3
    # p1 answers after 300 ms (in time), p2 after 4000 ms (deadline 3 s:
    # missed whatever the machine's speed), p3 never started (offline:
    # unreachable). The deadline counts from the send to the answer at the
    # controller: two relay syncs, two node commits and their sends on top
    # of p1's 300 ms, which a loaded machine under ASan may stretch.
    simulate --node p1=300 --node p2=4000 --node p3 --offline p3
    cat >scenario.json <<'EOF'
{
  "exercise": "test-drill",
  "name": "Scripted test drill",
  "participants": ["drill"],
  "time_scale": 1,
  "injects": [
    {"id": "i1", "at": "PT0S", "kind": "notice",
     "title": "Ransomware at a port operator (scenario)",
     "text": "Scenario inject one.", "tlp": "AMBER", "severity": "high",
     "expect": {"status": "acknowledged", "within": "PT3S"}},
    {"id": "i2", "at": "PT1S", "after": "i1", "kind": "alert",
     "title": "Follow-up: second wave", "expect": {"status": "acknowledged", "within": "PT5S"}}
  ]
}
EOF
    "$DRILL" run scenario.json --state ctl --out out >run.out 2>run.log
    local rc=$?
    [ $rc = 0 ] && ok "the drill runs to its end by itself" || bad "the drill runs to its end by itself (exit $rc)"
    for f in report.txt report.json report.csv report.html results.json; do
        [ -s "out/$f" ] && ok "writes $f" || bad "writes $f"
    done
    expect "the report says EXERCISE" out/report.txt 'EXERCISE'
    expect "the HTML page has an SVG chart" out/report.html '<svg'
    # Times measured against the fixed answer delays (200 ms resolution).
    python3 - out/results.json <<'PY' >times.out 2>&1
import json, sys, datetime
d = json.load(open(sys.argv[1]))
def t(s): return datetime.datetime.strptime(s.replace('Z', '+0000'), '%Y-%m-%dT%H:%M:%S.%f%z') if '.' in s else datetime.datetime.strptime(s.replace('Z', '+0000'), '%Y-%m-%dT%H:%M:%S%z')
i1 = [i for i in d['injects'] if i['id'] == 'i1'][0]['recipients']
for p in ('p1', 'p2'):
    r = i1[p]
    print(p, 'answer_ms', int((t(r['answered']) - t(r['delivered'])).total_seconds() * 1000))
print('p3', 'delivered' in i1['p3'])
i2 = [i for i in d['injects'] if i['id'] == 'i2'][0]['recipients']
print('i2p1', 'sent' in i2.get('p1', {}), 'i2p3', 'sent' in i2.get('p3', {}))
PY
    local ms1 ms2
    ms1=$(sed -n 's/^p1 answer_ms //p' times.out)
    ms2=$(sed -n 's/^p2 answer_ms //p' times.out)
    [ -n "$ms1" ] && [ "$ms1" -ge 250 ] && [ "$ms1" -le 2500 ] &&
        ok "p1 answered about 300 ms after delivery ($ms1 ms)" || bad "p1 answer time ($ms1) vs 300 ms"
    [ -n "$ms2" ] && [ "$ms2" -ge 3900 ] && [ "$ms2" -le 6000 ] &&
        ok "p2 answered about 4000 ms after delivery ($ms2 ms)" || bad "p2 answer time ($ms2) vs 4000 ms"
    expect "the offline participant was never delivered" times.out '^p3 False'
    expect "the follow-up went to p1 after its answer, never to the offline p3" times.out '^i2p1 True i2p3 False'
    expect "the report calls p3 unreachable" out/report.txt 'never reached.*p3'
    expect "p1 met its deadline" out/report.csv 'p1.*i1.*(met|yes|true)'
    expect "p2 missed its deadline" out/report.csv 'p2.*i1.*(missed|no|false)'
    expect "the controller's daemon marked the traffic as exercise" ctl.log 'event=queued .*kind=drill-inject'
}

scenario_ping() {
    setup 2
    simulate --nodes-from-roster --delay-ms 150 --answer received
    "$DRILL" ping drill --state ctl --deadline 10s --out out >ping.out 2>ping.log
    local rc=$?
    [ $rc = 0 ] && ok "a communication check runs" || bad "a communication check runs (exit $rc)"
    expect "both answered" out/results.json '"answer": "received"'
    [ "$(grep -c '"answer": "received"' out/results.json)" = 2 ] && ok "each of the two answered" || bad "each of the two answered"
}

scenario_msel() {
    cd "$W" || exit 1
    cat >bad.csv <<'EOF'
Seq,Time,Inject type,From,To,Description,Expected action
1,00:00,notice,EXCON,drill,First inject,Acknowledge within 30 min
2,25:61,notice,EXCON,drill,Second inject,Acknowledge
3,00:10,carrier pigeon,EXCON,drill,Third inject,Acknowledge
EOF
    "$DRILL" validate bad.csv >v.out 2>v.err
    local rc=$?
    [ $rc = 2 ] && ok "a MSEL with errors is refused (exit 2)" || bad "a MSEL with errors is refused (exit $rc)"
    expect "the bad time is named with its line and field" v.err 'bad.csv:3: time'
    expect "the bad inject type too, in the same run" v.err 'bad.csv:4: .*type'
    sed -i '3d;4d' bad.csv
    "$DRILL" validate bad.csv >v2.out 2>v2.err
    rc=$?
    [ $rc = 0 ] && ok "once fixed it validates" || { bad "once fixed it validates ($rc)"; cat v2.err; }
}

# A follow-up without "to" goes to the participants who got its trigger
# and answered; one the trigger never went to is not waited for (the
# runner used to wait for p2 forever). Runs after scenario_scripted, with
# its simulated p1 (answers after 300 ms) and p2.
check_after_default_to() {
    cat >after.json <<'EOF'
{"exercise": "after-drill", "participants": ["p1", "p2"],
 "injects": [
  {"id": "t1", "at": "PT0S", "to": ["p1"], "kind": "notice", "title": "Trigger",
   "expect": {"status": "acknowledged", "within": "PT5S"}},
  {"id": "t2", "at": "PT0S", "after": "t1", "kind": "notice", "title": "Follow-up",
   "expect": {"status": "acknowledged", "within": "PT5S"}}]}
EOF
    timeout 60 "$DRILL" run after.json --state ctl --out after >after.out 2>after.log
    is "a follow-up whose trigger skipped p2 does not keep the drill running" "$?" 0
    is "p1 got the follow-up and answered it" "$(field after p1 t2 outcome)" met
    is "p2 was never sent the follow-up" "$(field after p2 t2 outcome)" not-sent
    # A follow-up addressed to someone its trigger does not go to (groups
    # expanded with the roster) is refused when the run starts, before
    # anything is sent.
    cat >after2.json <<'EOF'
{"exercise": "after2-drill", "participants": ["p1", "p2"],
 "injects": [
  {"id": "t1", "at": "PT0S", "to": ["p1"], "kind": "notice", "title": "Trigger"},
  {"id": "t2", "at": "PT0S", "after": "t1", "to": ["p2"], "kind": "notice", "title": "Follow-up"}]}
EOF
    timeout 60 "$DRILL" run after2.json --state ctl --out after2 >after2.out 2>after2.log
    is "a follow-up to someone its trigger skips is refused at the start" "$?" 1
    expect "... naming the injects and the participant, nothing sent" after2.log \
        'inject t2 follows t1 .*does not go to p2 .*nothing was sent'
    if grep -rq 'after2-drill' ctl/sent 2>/dev/null; then bad "nothing of that drill was sent"; else ok "nothing of that drill was sent"; fi
}

# Answers that come after the runner's old give-up point (deadline + 5 s)
# but before the drill ends count: i1 late, i2 met. i3 goes out at 7 s and
# keeps the drill running until about 15 s (its deadline + 5 s), well
# after the answers.
check_late_answers() {
    fresh
    setup 1
    node p1
    cat >late.json <<'EOF'
{"exercise": "late-drill", "participants": ["p1"],
 "injects": [
  {"id": "i1", "at": "PT0S", "kind": "notice", "title": "With a deadline",
   "expect": {"status": "acknowledged", "within": "PT1S"}},
  {"id": "i2", "at": "PT0S", "kind": "comm-check", "title": "No deadline",
   "expect": {"status": "received"}},
  {"id": "i3", "at": "PT7S", "kind": "notice", "title": "Keeps the drill going",
   "expect": {"status": "acknowledged", "within": "PT3S"}}]}
EOF
    "$DRILL" run late.json --state ctl --out late >late.out 2>late.log &
    local run=$!
    PIDS+=($run)
    # i3 arrives 7 s in: past i1's deadline + 5 s and i2's send + 5 s.
    until_ok 40 arrived p1 late-drill i3 || bad "i3 reaches p1"
    answer p1 late-drill i1 acknowledged
    answer p1 late-drill i2 received
    wait_exit $run 60
    is "the drill with late answers runs to its end" "$?" 0
    is "i1 answered after its deadline: late (not no-answer)" "$(field late p1 i1 outcome)" late
    is "i2 (no deadline) answered 7 s in: met" "$(field late p1 i2 outcome)" met
    is "i3 not answered: no-answer" "$(field late p1 i3 outcome)" no-answer
}

# A first answer below the expected status does not end the watch: the
# later, sufficient one is credited at its own time, and the controller's
# daemon keeps both answers.
check_answer_upgrade() {
    cat >up.json <<'EOF'
{"exercise": "upgrade-drill", "participants": ["p1"],
 "injects": [{"id": "u1", "at": "PT0S", "kind": "notice", "title": "Upgrade",
              "expect": {"status": "acknowledged", "within": "PT20S"}}]}
EOF
    RENRAKU_LOG_LEVEL=info "$DRILL" run up.json --state ctl --out up >up.out 2>up.log &
    local run=$! id
    PIDS+=($run)
    until_ok 20 arrived p1 upgrade-drill u1 || bad "u1 reaches p1"
    id=$(inbox_id p1 upgrade-drill u1)
    answer p1 upgrade-drill u1 received
    until_ok 20 grep -q '"received"' "ctl/sent/$id.json" || bad "the controller records p1's first answer"
    until_ok 20 grep -q 'event=answer_seen drill=upgrade-drill inject=u1 participant=p1 answers=1' up.log ||
        bad "the runner sees p1's first answer"
    # A runner that stopped at a first answer (it used to) ends within a
    # tick of seeing it; this one keeps watching (the drill's deadline is
    # 20 s away).
    if until_ok 2 gone $run; then bad "the runner keeps watching after a first answer below the expected"; else
        ok "the runner keeps watching after a first answer below the expected"
    fi
    answer p1 upgrade-drill u1 acknowledged
    wait_exit $run 40
    is "the drill ends once the expected answer came" "$?" 0
    is "received, then acknowledged in time: met" "$(field up p1 u1 outcome)" met
    is "the first answer is still the one shown" "$(field up p1 u1 answer)" received
    python3 - up/results.json >up.times 2>&1 <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))['injects'][0]['recipients']['p1']
a = r.get('answers', [])
print('statuses', ' '.join(x['status'] for x in a))
print('distinct_times', len(set(x['at'] for x in a)) == len(a))
PY
    expect "the results keep each answer" up.times '^statuses received acknowledged$'
    expect "each answer with its own time" up.times '^distinct_times True$'
    if field up p1 u1 answered_as_expected_after_ms | grep -Eq '^[0-9]+$'; then
        ok "the report gives when the expected answer came"
    else
        bad "the report gives when the expected answer came"
    fi
}

# run_one NAME INJECT: drill NAME-drill of one inject, INJECT to p1 at
# once, acknowledged expected within the hour, run in the background with
# NAME.json, NAME.log and its report in NAME/; sets RUN once INJECT reached
# p1.
run_one() {
    cat >"$1.json" <<EOF
{"exercise": "$1-drill", "participants": ["p1"],
 "injects": [{"id": "$2", "at": "PT0S", "kind": "notice", "title": "$1",
              "expect": {"status": "acknowledged", "within": "PT1H"}}]}
EOF
    "$DRILL" run "$1.json" --state ctl --out "$1" >"$1.out" 2>"$1.log" &
    RUN=$!
    PIDS+=($RUN)
    until_ok 20 arrived p1 "$1-drill" "$2" || bad "$2 reaches p1"
}

# Ctrl-C: the report is partial and an open deadline is pending, not missed.
check_interrupt() {
    run_one int c1
    kill -INT $RUN
    wait_exit $RUN 20
    is "Ctrl-C stops the drill (exit 0, the report written)" "$?" 0
    expect "the report says partial" int/report.json '"partial": true'
    expect "the results say stopped" int/results.json '"stopped": true'
    is "the open deadline is pending, not missed" "$(field int p1 c1 outcome)" pending
    expect "the run says its report is partial" int.log 'partial'
}

# The controller's daemon killed mid-drill: the run stops within a bounded
# time with an error naming the control socket, writes a partial report
# saying why, and exits 3 (it used to wait out the deadline and report p1
# as never reached, exit 0). Kills the controller's daemon: run it last.
check_ctl_lost() {
    run_one lost l1
    kill -KILL "$CTL_PID"
    wait_exit $RUN 60
    is "losing the controller's daemon stops the run with exit 3" "$?" 3
    expect "the error names the control socket" lost.log 'error: .*ctl/control.sock'
    expect "the report is partial" lost/report.json '"partial": true'
    expect "the report says why" lost/report.json '"stop_reason": "lost the controller.s renrakud'
    is "the open deadline is pending, not missed" "$(field lost p1 l1 outcome)" pending
}

# The controller's daemon stalls (SIGSTOP) for longer than a send's 10 s
# timeout just as s2 falls due: the runner cannot tell whether the daemon
# took the send. It tries the same request again (its request_id), the
# daemon answers with the envelope it sent, if it did, rather than sending
# a second, and the drill goes on to its end. It used to stop the run
# (exit 3) saying s2 was not sent, whether or not it had been.
check_send_stall() {
    cat >stall.json <<'EOF'
{"exercise": "stall-drill", "participants": ["p1"],
 "injects": [{"id": "s1", "at": "PT0S", "kind": "notice", "title": "Before",
              "expect": {"status": "acknowledged", "within": "PT1H"}},
             {"id": "s2", "at": "PT8S", "kind": "notice", "title": "During",
              "expect": {"status": "acknowledged", "within": "PT1H"}}]}
EOF
    RENRAKU_LOG_LEVEL=info "$DRILL" run stall.json --state ctl --out stall --lost-after 60s \
        >stall.out 2>stall.log &
    local run=$! n
    PIDS+=($run)
    # Stopped once s1 went out, well before s2 falls due at 8 s; a send
    # waits 10 s for its answer.
    until_ok 20 grep -q 'event=inject_sent.*inject=s1' stall.log || bad "s1 is sent"
    kill -STOP "$CTL_PID"
    until_ok 60 grep -q 'event=inject_send_retry.*inject=s2' stall.log ||
        bad "the runner tries s2's send again"
    kill -CONT "$CTL_PID"
    until_ok 30 arrived p1 stall-drill s2 || bad "s2 reaches p1"
    answer p1 stall-drill s1 acknowledged
    answer p1 stall-drill s2 acknowledged
    wait_exit $run 60
    is "the drill runs to its end (exit 0)" "$?" 0
    if grep -q '"partial": true' stall/report.json; then bad "the report is complete"; else ok "the report is complete"; fi
    is "s2 is met" "$(field stall p1 s2 outcome)" met
    n=$(grep -l '"inject_id": *"s2"' st.p1/inbox/*.json 2>/dev/null | wc -l)
    is "p1 got s2 once" "$n" 1
    n=$(grep -l '"request_id": *"drill-' ctl/sent/*.json 2>/dev/null | wc -l)
    is "the controller sent two envelopes, each with its request id" "$n" 2
}

# The controller's renrakud killed (its control socket file left behind)
# and started again while an inject falls due, well within --lost-after:
# the runner tries the send until the daemon is back, and the drill goes
# on. A socket file nothing listens on was taken for "not running" and
# stopped the run at the send's first try (exit 3, "not sent").
check_ctl_restarted() {
    cat >restart.json <<'EOF'
{"exercise": "restart-drill", "participants": ["p1"],
 "injects": [{"id": "r1", "at": "PT0S", "kind": "notice", "title": "Before",
              "expect": {"status": "acknowledged", "within": "PT1H"}},
             {"id": "r2", "at": "PT5S", "kind": "notice", "title": "During",
              "expect": {"status": "acknowledged", "within": "PT1H"}}]}
EOF
    RENRAKU_LOG_LEVEL=info "$DRILL" run restart.json --state ctl --out restart --lost-after 60s \
        >restart.out 2>restart.log &
    local run=$!
    PIDS+=($run)
    until_ok 20 grep -q 'event=inject_sent.*inject=r1' restart.log || bad "r1 is sent"
    kill -KILL "$CTL_PID"
    wait "$CTL_PID" 2>/dev/null
    [ -S ctl/control.sock ] && ok "the killed daemon left its control socket" ||
        bad "the killed daemon left its control socket"
    until_ok 20 grep -q 'event=inject_send_retry.*inject=r2' restart.log ||
        bad "r2 falls due with renrakud down: its send is tried again"
    start_ctl
    until_ok 30 arrived p1 restart-drill r2 || bad "r2 reaches p1 once renrakud is back"
    answer p1 restart-drill r1 acknowledged
    answer p1 restart-drill r2 acknowledged
    wait_exit $run 60
    is "the drill runs to its end (exit 0)" "$?" 0
    is "r2 is met" "$(field restart p1 r2 outcome)" met
}

# proxy_start MODE [TEXT]: ctlproxy in front of the controller's daemon
# (its control socket moved aside), losing, holding or refusing its sends,
# or stopping itself after the roster (freeze); proxy_stop puts the
# daemon's socket back.
proxy_start() {
    mv ctl/control.sock ctl/daemon.sock
    "$B/tests/ctlproxy" ctl ipc://ctl/daemon.sock "$@" >proxy.out 2>proxy.log &
    PROXY=$!
    PIDS+=($!)
    until_ok 10 test -S ctl/control.sock || bad "the control-socket proxy starts"
}
proxy_stop() {
    kill -TERM "$PROXY" 2>/dev/null
    wait "$PROXY" 2>/dev/null
    rm -f ctl/control.sock
    mv ctl/daemon.sock ctl/control.sock
}
# one_inject NAME INJECT: NAME.json, drill NAME-drill of one inject to p1
# at once, acknowledged expected within the hour.
one_inject() {
    cat >"$1.json" <<EOF
{"exercise": "$1-drill", "participants": ["p1"],
 "injects": [{"id": "$2", "at": "PT0S", "kind": "notice", "title": "$1",
              "expect": {"status": "acknowledged", "within": "PT1H"}}]}
EOF
}
# sent_with DRILL: how many of the controller's sent records belong to DRILL.
sent_with() { grep -l "\"drill_id\": *\"$1\"" ctl/sent/*.json 2>/dev/null | wc -l; }
# report_value DIR EXPR: a value of DIR/report.json (EXPR in Python, on r).
report_value() {
    python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
        "$1/report.json" "$2"
}

# The daemon takes a send and carries it out, but its answer is lost
# (ctlproxy lose-answer), every try, until the runner counts the daemon as
# lost. The runner finds the send in the daemon's sent records by its
# request id and reports it sent, with its message, pending. It used to
# report it not-sent, which p1, who got it, would contradict.
check_answer_lost() {
    local msg
    proxy_start lose-answer
    one_inject lostans a1
    "$DRILL" run lostans.json --state ctl --out lostans --lost-after 1s >lostans.out 2>lostans.log &
    local run=$!
    PIDS+=($run)
    wait_exit $run 90
    is "a send whose answers are lost stops the run with exit 3" "$?" 3
    proxy_stop
    msg=$(sed -n 's/^send lose-answer request=drill-[0-9a-f]* msg=\([0-9a-f]*\)$/\1/p' proxy.out | head -1)
    [ -n "$msg" ] && ok "the daemon took the send (msg $msg)" || bad "the daemon took the send"
    is "the inject is reported sent, its deadline open: pending (not not-sent)" \
        "$(field lostans p1 a1 outcome)" pending
    is "... with the message the daemon sent" "$(field lostans p1 a1 msg_id)" "$msg"
    expect "the stop reason says it was sent, found by its request id" lostans/report.json \
        "\"stop_reason\": \"inject a1 was sent \(msg $msg, found by its request_id drill-[0-9a-f]{24} in ctl/sent\)"
    until_ok 20 arrived p1 lostans-drill a1 || bad "p1 got a1"
    is "the daemon sent it once" "$(sent_with lostans-drill)" 1
}

# The send reaches something that never answers and never passes it on
# (ctlproxy hold): whether the daemon sent it cannot be known. The report
# says so (outcome unknown, and why) instead of not-sent.
check_send_held() {
    proxy_start hold
    one_inject held h1
    "$DRILL" run held.json --state ctl --out held --lost-after 1s >held.out 2>held.log &
    local run=$!
    PIDS+=($run)
    wait_exit $run 90
    is "a send that is never answered stops the run with exit 3" "$?" 3
    proxy_stop
    expect "the send was tried again with its request id" proxy.out \
        '^send hold request=(drill-[0-9a-f]{24})$'
    is "the outcome is unknown, not not-sent" "$(field held p1 h1 outcome)" unknown
    expect "... saying why, with the request id to look for" held/report.json \
        '"error": "renrakud took the send \(request_id drill-[0-9a-f]{24}\) but did not answer, and no record in ctl/sent has that request_id yet'
    is "the summary counts it unknown" "$(report_value held "r['summary']['unknown']")" 1
    is "... and not among the not sent" "$(report_value held "r['summary']['not_sent']")" 0
    expect "the table says it plainly" held/report.txt '^p1 +h1 .*UNKNOWN whether sent'
    expect "the stop reason says it is unknown whether it was sent" held/report.json \
        '"stop_reason": "inject h1: unknown whether it was sent: renrakud took the request \(request_id drill-[0-9a-f]{24}\) but did not answer, and no record in ctl/sent has that request_id yet'
    is "(the daemon never got it)" "$(sent_with held-drill)" 0
}

# renrakud refuses a send with a long reason in Japanese: the stop reason
# in the report keeps it, cut between characters, and report.txt is valid
# UTF-8. A cut inside a character ended in '?' in the JSON and split the
# character in the text.
check_send_refused_utf8() {
    local why
    why=$(python3 -c 'print("送信を拒否しました。" * 40)')
    proxy_start refuse "$why"
    one_inject refused r1
    timeout 60 "$DRILL" run refused.json --state ctl --out refused >refused.out 2>refused.log
    is "a refused send stops the run with exit 3" "$?" 3
    proxy_stop
    python3 - refused "$why" >refused.check 2>&1 <<'PY'
import json, sys
d, why = sys.argv[1], sys.argv[2]
r = json.load(open(d + '/report.json'))
reason = r['stop_reason']
head = 'inject r1: renrakud refused to send it: '
print('reason_head', reason.startswith(head))
cut = reason[len(head):]
print('reason_cut_whole', len(cut) > 100 and why.startswith(cut) and '?' not in reason)
row = [x for x in r['results'] if x['inject'] == 'r1'][0]
print('row_error', row['outcome'], (row.get('error') or '').startswith('renrakud refused to send it: 送信'))
try:
    open(d + '/report.txt', encoding='utf-8', errors='strict').read()
    print('txt_utf8 True')
except UnicodeDecodeError as e:
    print('txt_utf8 False', e)
PY
    expect "the stop reason names the inject and the refusal" refused.check '^reason_head True$'
    expect "... and keeps the reason, cut between characters" refused.check '^reason_cut_whole True$'
    expect "the row is not-sent with the refusal as its error" refused.check '^row_error not-sent True$'
    expect "report.txt is valid UTF-8" refused.check '^txt_utf8 True$'
    is "nothing was sent" "$(sent_with refused-drill)" 0
}

# The controller's daemon stops (SIGSTOP) between the drill's roster
# request and its inject's send: it never takes the request (no connection
# completes), so the inject was not sent, and the report says so with the
# reason. The stop is ctlproxy freeze's own, right after the roster's
# answer: a SIGSTOP sent by the test when it saw drill_started lost the
# race with the inject 2 s later whenever the test was that slow.
check_send_not_taken() {
    cat >untaken.json <<'EOF'
{"exercise": "untaken-drill", "participants": ["p1"],
 "injects": [{"id": "n1", "at": "PT0S", "kind": "notice", "title": "untaken",
              "expect": {"status": "acknowledged", "within": "PT1H"}}]}
EOF
    proxy_start freeze
    "$DRILL" run untaken.json --state ctl --out untaken --lost-after 1s \
        >untaken.out 2>untaken.log &
    local run=$!
    PIDS+=($run)
    wait_exit $run 90
    is "a daemon that never takes the send stops the run with exit 3" "$?" 3
    expect "the stand-in daemon stopped after the roster" proxy.out '^frozen$'
    kill -CONT "$PROXY"
    proxy_stop
    if grep -q '^send' proxy.out; then bad "no try of the send reached it"; else ok "no try of the send reached it"; fi
    is "the inject is not-sent" "$(field untaken p1 n1 outcome)" not-sent
    expect "... saying the daemon never took it" untaken/report.json \
        '"error": "not sent: the controller.s renrakud never took the request'
    expect "the stop reason says so" untaken/report.json \
        '"stop_reason": "inject n1: not sent: renrakud never took the request'
    until_ok 20 "$CLI" --state ctl status || bad "the daemon answers again"
    is "(the daemon never sent it)" "$(sent_with untaken-drill)" 0
}

# What a daemon stopped between its two writes of a send leaves: the sent
# record, "queued" and with the request id, but no envelope in the outbox
# (it never goes out). The record alone is no proof: the outcome is
# unknown, saying why, not sent. (The record is put there while the
# runner's tries of the held send time out, 10 s each.)
check_record_without_envelope() {
    local req msg=0123456789abcdef0123456789abcdef
    proxy_start hold
    one_inject halfway w1
    "$DRILL" run halfway.json --state ctl --out halfway --lost-after 1s >halfway.out 2>halfway.log &
    local run=$!
    PIDS+=($run)
    until_ok 20 grep -q '^send hold request=' proxy.out || bad "the held send reaches the proxy"
    req=$(sed -n 's/^send hold request=//p' proxy.out | head -1)
    printf '{"msg_id": "%s", "kind": "drill-inject", "to": ["p1"], "created": "%s", "state": "queued", "drill_id": "halfway-drill", "request_id": "%s", "recipients": {"p1": {"state": "queued"}}}\n' \
        "$msg" "$(date -u +%Y-%m-%dT%H:%M:%S.000Z)" "$req" >"ctl/sent/$msg.json"
    wait_exit $run 90
    is "a send whose record has no envelope stops the run with exit 3" "$?" 3
    proxy_stop
    rm -f "ctl/sent/$msg.json"
    is "the outcome is unknown, not sent" "$(field halfway p1 w1 outcome)" unknown
    expect "... saying the record has no envelope" halfway/report.json \
        "\"error\": \"renrakud took the send \\(request_id $req\\) but did not answer, and its sent record \\(msg $msg\\) says queued, but ctl/outbox holds no envelope $msg.env"
}

# As check_send_held, with two sent records the runner cannot use: one
# not JSON, one whose msg_id is not its file's name. Either may be the
# send's, so "no record has that request_id" is not the whole truth: the
# reason counts them and names the first (it skipped them in silence).
check_send_held_unreadable() {
    local a=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa b=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
    proxy_start hold
    one_inject unread u1
    "$DRILL" run unread.json --state ctl --out unread --lost-after 1s >unread.out 2>unread.log &
    local run=$!
    PIDS+=($run)
    until_ok 20 grep -q '^send hold request=' proxy.out || bad "the held send reaches the proxy"
    printf '{"msg_id": "%s", "request_id": ' "$a" >"ctl/sent/$a.json"
    printf '{"msg_id": "%s", "state": "queued"}\n' "$a" >"ctl/sent/$b.json"
    wait_exit $run 90
    is "a held send stops the run with exit 3" "$?" 3
    proxy_stop
    rm -f "ctl/sent/$a.json" "ctl/sent/$b.json"
    is "the outcome is unknown" "$(field unread p1 u1 outcome)" unknown
    expect "... and the reason counts the records that could not be read, naming the first" \
        unread/report.json \
        "\"error\": \"renrakud took the send \\(request_id drill-[0-9a-f]{24}\\) but did not answer, and no record in ctl/sent has that request_id yet, and 2 records there could not be read \\(first: ($a.json: not JSON|$b.json: its msg_id is not its file's name)\\)"
    expect "... in the stop reason too" unread/report.json \
        '"stop_reason": "inject u1: unknown whether it was sent: .* and 2 records there could not be read \(first: '
    expect "... and in the log" unread.log \
        'event=inject_send_unknown drill=unread-drill inject=u1 request=drill-[0-9a-f]{24} reason=".* and 2 records there could not be read'
}

# renraku send --request-id: the same id again is answered with the first
# send's message and nothing is sent twice, also after the daemon
# restarted (it looks through its sent records then).
check_request_id() {
    local a out before
    before=$(ls ctl/sent/*.json | wc -l)
    a=$("$CLI" --state ctl send --to p1 --title "Once" --request-id inc-2026-42 --json |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["msg_id"])')
    out=$("$CLI" --state ctl send --to p1 --title "Once" --request-id inc-2026-42 2>&1)
    is "the same --request-id again: exit 0" "$?" 0
    expect "... says it was sent already, with the first id" <(echo "$out") \
        "^already sent with --request-id inc-2026-42 \(now [a-z]+\): queued $a "
    "$CLI" --state ctl send --to p1 --title "Another" --request-id inc-2026-42 >other.out 2>other.err
    is "the same id for another notice is refused" "$?" 1
    expect "... saying the id was used for another send" other.err \
        "request_id inc-2026-42 was used for another send \(msg $a\)"
    kill -TERM "$CTL_PID"
    wait "$CTL_PID" 2>/dev/null
        rm -f ctl/control.sock
    start_ctl
    # The ids are read from the sent records at the first send with one:
    # when they cannot be, the send is refused rather than risk a second.
    mv ctl/sent ctl/sent.away
    "$CLI" --state ctl send --to p1 --title "Once" --request-id inc-2026-42 >gone.out 2>gone.err
    is "sent records unreadable: a send with a request id is refused" "$?" 1
    expect "... saying why" gone.err \
        "request_id inc-2026-42 cannot be checked: sent/ cannot be listed: No such file or directory; nothing was sent"
    mv ctl/sent.away ctl/sent
    is "... and nothing was sent" "$(ls ctl/sent/*.json | wc -l)" $((before + 1))
    out=$("$CLI" --state ctl send --to p1 --title "Once" --request-id inc-2026-42 --json)
    expect "after a restart, found in the sent records" <(echo "$out") "\"msg_id\": \"$a\""
    expect "... marked a repeat" <(echo "$out") '"repeat": true'
    is "one envelope was sent" "$(ls ctl/sent/*.json | wc -l)" $((before + 1))
    # Once the relay's receipt says p1 has it, a second copy would be
    # there too (the outbox never held one).
    until_ok 20 delivered_to ctl "$a" p1 || bad "p1 gets it"
    is "p1 got it once" "$(grep -l '"title": *"Once"' st.p1/inbox/*.json | wc -l)" 1
    "$CLI" --state ctl send --to p1 --title "Bad" --request-id 'two words' >bad.out 2>bad.err
    is "a request id with a space is refused" "$?" 1
    expect "... naming request_id" bad.err 'request_id: 1 to 64 characters'
}

# --out is checked before anything is sent; results that cannot be written
# make the run fail. Needs scenario_ping's setup (simulated answers).
check_out_dir() {
    local before
    before=$(ls ctl/sent | wc -l)
    "$DRILL" ping drill --state ctl --deadline 10s --out /nonexistent/dir >o1.out 2>o1.err
    is "an --out that cannot be created is a usage error" "$?" 2
    expect "... named" o1.err '^renraku-drill: error: --out /nonexistent/dir: '
    is "... and nothing was sent" "$(ls ctl/sent | wc -l)" "$before"
    mkdir -p o2/results.json
    "$DRILL" ping drill --state ctl --deadline 10s --out o2 >o2.out 2>o2.err
    is "results.json that cannot be written fails the run" "$?" 1
    expect "... saying so" o2.err 'error: writing o2/results.json'
    if [ -s o2/report.json ]; then ok "... the report is still written"; else bad "... the report is still written"; fi
}

# usage NAME PATTERN ARGS...: renraku-drill ARGS exits 2 with one error
# line matching PATTERN.
usage() {
    local name=$1 pat=$2 rc
    shift 2
    "$DRILL" "$@" >u.out 2>u.err
    rc=$?
    if [ $rc = 2 ] && [ "$(wc -l <u.err)" = 1 ] && grep -Eq -- "$pat" u.err; then
        ok "$name"
    else
        bad "$name (exit $rc)"
        sed 's/^/  err| /' u.err
    fi
}

# Every wrong flag: one line naming it, exit 2; the validation of "after"
# recipients. No processes.
check_cli() {
    cd "$W" || exit 1
    cat >ok.json <<'EOF'
{"exercise": "cli-drill", "participants": ["p1"],
 "injects": [{"id": "i1", "at": "PT0S", "kind": "notice", "title": "t"}]}
EOF
    echo '{"started": "2026-11-22T07:00:00Z"}' >res.json
    usage "report --bogus is named" 'report: unknown .*option --bogus' report --bogus ok.json res.json
    usage "report --out without a value is named" '--out needs a value' report ok.json res.json --out
    usage "run --state without a value is named" '--state needs a value' run ok.json --state
    usage "run --time-scale below 1 is refused (no report could be made of it)" \
        '--time-scale 0.5: a number from 1 to 86400' run ok.json --state nodaemon --time-scale 0.5
    usage "run --lost-after 0 is refused" \
        '--lost-after 0: use 30s, 5m or PT30S' run ok.json --state nodaemon --lost-after 0
    usage "ping --lost-after without a unit's number is refused" \
        '--lost-after soon: ' ping p1 --state nodaemon --lost-after soon
    usage "run --out /nonexistent is refused before the daemon is asked" \
        '--out /nonexistent/dir: ' run ok.json --state nodaemon --out /nonexistent/dir
    usage "ping --deadline that would wrap is refused" \
        '--deadline 5124095576030432h: .*at most 30 days' ping p1 --state nodaemon --deadline 5124095576030432h
    usage "ping --deadline over 30 days is refused" '--deadline 31d' ping p1 --state nodaemon --deadline 31d
    usage "ping --deadline -5h is refused" '--deadline -5h' ping p1 --state nodaemon --deadline=-5h
    "$DRILL" ping p1 --state nodaemon --deadline 30d >u.out 2>u.err
    is "ping --deadline 30d is accepted (then no daemon: exit 1)" "$?" 1
    local sim=(simulate --keys k --roster r --coordinator c --relay tcp://127.0.0.1:1 --state-root sr)
    usage "simulate --delay-ms abc is refused" '--delay-ms abc' "${sim[@]}" --node p1 --delay-ms abc
    usage "simulate --node ID=abc is refused" '--node p1=abc' "${sim[@]}" --node p1=abc
    usage "simulate --answer maybe is refused" '--answer maybe' "${sim[@]}" --node p1 --answer maybe
    usage "simulate names what is missing" 'missing --roster --relay' simulate --keys k --coordinator c \
        --state-root sr --node p1
    # Each simulated renrakud refused it in its own log, and simulate
    # waited 60 s for them to connect.
    usage "simulate names a --coordinator that is no file, at once" \
        '^renraku-drill: error: --coordinator c: no such file, and not a verifier key' "${sim[@]}" --node p1
    # A relay's .pub as --coordinator: every renrakud would refuse each
    # roster as not signed by it; named at once as the wrong role, also
    # when it reads the roster itself (--nodes-from-roster).
    "$KEYS" gen --id relay.x --role relay --out ck >/dev/null || bad "gen relay.x"
    local role="^renraku-drill: error: --coordinator ck/relay.x.pub: the key of 'relay.x', role relay; --coordinator needs the coordinator's key \\(role coordinator\\)"
    usage "simulate names a --coordinator of role relay, at once" "$role" \
        simulate --keys k --roster r --coordinator ck/relay.x.pub --relay tcp://127.0.0.1:1 --state-root sr --node p1
    usage "simulate --nodes-from-roster names it the same" "$role" \
        simulate --keys k --roster r --coordinator ck/relay.x.pub --relay tcp://127.0.0.1:1 --state-root sr --nodes-from-roster
}

# sim_run ARGS...: renraku-drill simulate (keys, coordinator, state root
# sim) under timeout 30 (then KILL 5 s later: timeout signals the whole
# process group, so the daemons stop too); sets rc and ms (how long it
# took).
sim_run() {
    local t0
    t0=$(date +%s%N)
    timeout -k 5 30 "$DRILL" simulate --keys keys --coordinator keys/coordinator.pub \
        --state-root sim "$@" >sim.out 2>sim.err
    rc=$?
    ms=$((($(date +%s%N) - t0) / 1000000))
}
# not_running NODE: renraku says NODE's simulated renrakud is not running.
not_running() {
    "$CLI" --state "sim/$1" status >/dev/null 2>&1
    [ $? = 3 ]
}

# Simulated participants that exit while starting: simulate notices at
# once (it used to wait its full 60 s for them to connect), names each
# with how it ended and its log, and stops; Ctrl-C while they start stops
# it at once too.
check_sim_exits() {
    fresh
    setup 2
    # Every renrakud refuses the roster: all of them exit at once.
    echo "not a signed roster" >bad.signed
    sim_run --roster bad.signed --relay "$EP" --node p1 --node p2
    is "simulate fails when every simulated renrakud exits" "$rc" 1
    [ "$ms" -lt 15000 ] && ok "... within 15 s, not after its 60 s wait ($ms ms)" ||
        bad "... within 15 s, not after its 60 s wait ($ms ms)"
    for p in p1 p2; do
        expect "... naming $p, its exit status and its log" sim.err \
            "^renraku-drill: error: simulated participant $p: its renrakud exited with status 1 \(log: sim/logs/$p.log\)$"
    done
    expect "... with what renrakud said in its log" sim.err '^  \| renrakud: error: roster bad.signed'
    expect "... and that all of them exited" sim.err \
        '^renraku-drill: error: all 2 simulated participants exited while starting \(every log is in sim/logs\)$'
    if grep -q '^ready' sim.out; then bad "... and never says ready"; else ok "... and never says ready"; fi

    # One of three has no key file: the drill would measure nothing true
    # of it, so simulate fails at once too, and stops the two others.
    rm -rf sim
    sim_run --roster roster.signed --relay "$EP" --node p1 --node p2 --node ghost
    is "simulate fails when one simulated renrakud exits" "$rc" 1
    [ "$ms" -lt 15000 ] && ok "... within 15 s ($ms ms)" || bad "... within 15 s ($ms ms)"
    expect "... naming it, its exit status and its log" sim.err \
        '^renraku-drill: error: simulated participant ghost: its renrakud exited with status 1 \(log: sim/logs/ghost.log\)$'
    expect "... with what renrakud said (no key file)" sim.err '^  \| renrakud: error: key file keys/ghost.key'
    expect "... and that the others were stopped" sim.err \
        '^renraku-drill: error: 1 of 3 simulated participants exited while starting; the rest \(2\) were stopped'
    if grep -Eq 'participant p[12]:' sim.err; then bad "... not naming those it stopped"; else ok "... not naming those it stopped"; fi
    until_ok 10 not_running p1 && until_ok 10 not_running p2 &&
        ok "... whose daemons are no longer running" || bad "... whose daemons are no longer running"

    # Ctrl-C while the participants wait for a relay that is not there.
    rm -rf sim
    "$DRILL" simulate --keys keys --coordinator keys/coordinator.pub --state-root sim \
        --roster roster.signed --relay tcp://127.0.0.1:1 --node p1 --node p2 >sim.out 2>sim.err &
    local pid=$!
    PIDS+=("$pid")
    until_ok 10 grep -q 'starting' sim.err || bad "simulate starts its participants"
    until_ok 10 test -S sim/p1/control.sock || bad "p1's renrakud starts"
    kill -INT "$pid"
    if until_ok 10 gone "$pid"; then
        wait "$pid"
        is "Ctrl-C while the participants start stops simulate at once, exit 0" "$?" 0
    else
        bad "Ctrl-C while the participants start stops simulate at once (within 10 s)"
        # Its daemons first: they would outlive it.
        pkill -TERM -P "$pid"
        kill -KILL "$pid"
        wait "$pid" 2>/dev/null
    fi
    expect "... saying so" sim.err '^renraku-drill: stopped before the simulated participants were ready \(0 of 2 connected\)'
    until_ok 10 not_running p1 && until_ok 10 not_running p2 &&
        ok "... and its daemons" || bad "... and its daemons"
}

# A 200-participant drill on this 2-core machine.
scenario_scale() {
    local n=${RK_DRILL_SCALE_N:-200} nodes=()
    setup "$n"
    for ((i = 1; i <= n; i++)); do nodes+=(--node "p$i=$((i % 7 * 100))"); done
    simulate "${nodes[@]}"
    expect "all $n simulated participants connect" sim.log "$n connected"
    cat >scenario.json <<EOF
{"exercise": "scale-drill", "name": "Scale", "participants": ["drill"],
 "injects": [{"id": "c1", "at": "PT0S", "kind": "comm-check", "title": "Check",
              "expect": {"status": "acknowledged", "within": "PT30S"}}]}
EOF
    "$DRILL" run scenario.json --state ctl --out out >run.out 2>run.log
    [ $? = 0 ] && ok "the $n-participant drill runs" || bad "the $n-participant drill runs"
    local answered
    answered=$(grep -c '"answered"' out/results.json)
    [ "$answered" = "$n" ] && ok "all $n answered" || bad "all $n answered ($answered)"
}

case "$SCENARIO" in
scripted)
    scenario_scripted
    check_after_default_to
    ;;
late) check_late_answers ;;
ping)
    scenario_ping
    check_out_dir
    ;;
stall)
    fresh
    setup 1
    node p1
    check_send_stall
    check_ctl_restarted
    check_request_id
    ;;
unknown)
    fresh
    setup 1
    node p1
    check_answer_lost
    check_send_held
    check_send_held_unreadable
    check_record_without_envelope
    ;;
refused)
    fresh
    setup 1
    node p1
    check_send_refused_utf8
    check_send_not_taken
    ;;
answers)
    fresh
    setup 1
    node p1
    check_answer_upgrade
    check_interrupt
    check_ctl_lost
    ;;
msel)
    scenario_msel
    check_cli
    ;;
sim_exit) check_sim_exits ;;
scale) scenario_scale ;;
*) echo "unknown scenario $SCENARIO"; exit 2 ;;
esac
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
