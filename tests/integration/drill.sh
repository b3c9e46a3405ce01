#!/usr/bin/env bash
# Drills end to end: renraku-relay, the controller's renrakud, simulated
# participants (renraku-drill simulate: one renrakud each, answering after
# a fixed delay), renraku-drill run / ping, and the report. Real processes
# on 127.0.0.1, fresh test keys, bounded waits, everything stopped.
# Usage: drill.sh BUILD_DIR SCENARIO   (scenarios: scripted ping msel scale)
set -u
B=$(realpath "$1") SCENARIO=$2
KEYS=$B/keys/renraku-keys RELAY=$B/relay/renraku-relay
D=$B/clients/renrakud DRILL=$B/clients/renraku-drill
W=$(mktemp -d /tmp/rk-drill-XXXXXX)
PIDS=()
pass=0 fail=0

cleanup() {
    for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -TERM "$p" 2>/dev/null; done
    for p in "${PIDS[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null; done
    rm -rf "$W"
}
trap cleanup EXIT
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
    "$D" --key keys/ctl.test.key --roster roster.signed --coordinator keys/coordinator.pub \
        --state ctl --relay "$EP" >ctl.log 2>&1 &
    PIDS+=($!)
    until_ok 10 test -S ctl/control.sock || bad "controller daemon starts"
}

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
scripted | ping | msel | scale) "scenario_$SCENARIO" ;;
*) echo "unknown scenario $SCENARIO"; exit 2 ;;
esac
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
