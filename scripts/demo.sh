#!/usr/bin/env bash
# The README's main command (make demo): a coordinator, a relay and three
# partner CSIRTs on this machine (127.0.0.1), with fresh keys and a signed
# roster; a notice, a group alert, delivery receipts, an acknowledgement.
# Everything lives in BUILD/demo and every process is stopped at the end.
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
B="$root/$build"
KEYS=$B/keys/renraku-keys RELAY=$B/relay/renraku-relay
D=$B/clients/renrakud R=$B/clients/renraku DRILL=$B/clients/renraku-drill
demo="$B/demo"
PIDS=()

bold() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
say() { printf '%s\n' "$*"; }
run() { printf '\033[2m$ %s\033[0m\n' "$*"; "$@"; }
stop_all() {
    for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -TERM "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
}
trap stop_all EXIT
# wait_until SECONDS WHAT CMD...: poll until CMD succeeds, or give up loudly.
wait_until() {
    local secs=$1 what=$2 i
    shift 2
    for ((i = 0; i < secs * 10; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
    echo "demo: gave up waiting for $what (see the logs in $demo/logs)" >&2
    exit 1
}

for bin in "$KEYS" "$RELAY" "$D" "$R" "$DRILL" "$B/clients/renraku-audit"; do
    [ -x "$bin" ] || { echo "demo: $bin missing: run 'make demo'" >&2; exit 1; }
done
rm -rf "$demo"
mkdir -p "$demo/logs"
cd "$demo"

bold "1. Every organisation makes its own keys"
say "Three key pairs each: signing (Ed25519), end-to-end encryption (X25519),"
say "transport (CurveZMQ). Secret files stay with their owner (mode 0600)."
"$KEYS" gen --id coordinator --role coordinator --out keys
"$KEYS" gen --id relay.demo --role relay --out keys
for n in jp.nisc us.cisa sg.csa; do "$KEYS" gen --id $n --role partner --out keys; done
"$KEYS" gen --id ctl.exercise --role controller --out keys

bold "2. The coordinator builds and signs the contact directory (roster)"
K() { "$KEYS" "$@" >/dev/null; }
K roster init roster.json --framework demo-framework
K roster add roster.json --pub keys/relay.demo.pub --country JP --org "Framework relay operator"
K roster add roster.json --pub keys/jp.nisc.pub --country JP \
    --org "National center of Incident readiness and Strategy for Cybersecurity" \
    --group pilot --group g7 \
    --contact "name=NISC duty desk;email=soc@nisc.example;phone=+81-3-0000-0000;hours=24/7;tz=Asia/Tokyo;lang=ja,en"
K roster add roster.json --pub keys/us.cisa.pub --country US \
    --org "Cybersecurity and Infrastructure Security Agency" --group pilot --group g7 \
    --contact "name=CISA Central;email=central@cisa.example;hours=24/7;tz=America/New_York;lang=en"
K roster add roster.json --pub keys/sg.csa.pub --country SG \
    --org "Cyber Security Agency of Singapore" --group pilot \
    --contact "name=SingCERT;email=singcert@csa.example;hours=09:00-18:00;tz=Asia/Singapore;lang=en,zh"
K roster add roster.json --pub keys/ctl.exercise.pub --country JP --org "Exercise control cell"
run "$KEYS" roster sign roster.json --key keys/coordinator.key --out roster.signed
run "$KEYS" roster show roster.signed --coordinator keys/coordinator.pub

bold "3. The relay and three partner daemons start on 127.0.0.1"
"$RELAY" --key keys/relay.demo.key --roster roster.signed --coordinator keys/coordinator.pub \
    --data relay-data --bind tcp://127.0.0.1:0 --endpoint-file relay.endpoint \
    >logs/relay.log 2>&1 &
PIDS+=($!)
wait_until 10 "the relay" grep -q tcp:// relay.endpoint
EP=$(cat relay.endpoint)
say "relay.demo listens on $EP (CurveZMQ; only roster keys get in)"
say "its checkpoint key: $("$RELAY" --print-vkey --key keys/relay.demo.key)"
# For the drill at the end, each team's duty desk is played by an
# automatic answer after a delay (a real drill has people answering).
declare -A DELAY=([jp.nisc]=300 [us.cisa]=600 [sg.csa]=1600)
for n in jp.nisc us.cisa sg.csa; do
    "$D" --key keys/$n.key --roster roster.signed --coordinator keys/coordinator.pub \
        --state state-$n --relay "$EP" --auto-answer acknowledged \
        --answer-delay-ms "${DELAY[$n]}" >logs/$n.log 2>&1 &
    PIDS+=($!)
done
"$D" --key keys/ctl.exercise.key --roster roster.signed --coordinator keys/coordinator.pub \
    --state state-ctl.exercise --relay "$EP" >logs/ctl.exercise.log 2>&1 &
PIDS+=($!)
connected() { "$R" --state "state-$1" status --json | tr -d ' \n' | grep -q '"connected":true'; }
for n in jp.nisc us.cisa sg.csa ctl.exercise; do wait_until 15 "$n to connect" connected $n; done
say "jp.nisc, us.cisa, sg.csa and the exercise controller ctl.exercise are connected."
say "The relay's operator sees the same (renraku-relay nodes):"
run "$RELAY" nodes --data relay-data

bold "4. jp.nisc notifies us.cisa of an incident"
run "$R" --state state-jp.nisc send --to us.cisa \
    --title "Ransomware at a container terminal operator" --tlp AMBER --severity high \
    --category malicious-code --type ransomware \
    --body "Encryption of terminal OS servers since 02:10 JST; entry via VPN appliance." \
    --indicator ipv4-addr=203.0.113.7 --indicator domain-name=update-check.example \
    --action "Check your port operators for these indicators; report sightings." | tee send.out
MID=$(sed -n 's/^queued \([0-9a-f]*\).*/\1/p' send.out)
delivered() { "$R" --state state-jp.nisc show "$MID" --json | tr -d ' \n' | grep -q "\"us.cisa\":{\"state\":\"$1\""; }
wait_until 15 "the delivery receipt" delivered delivered
say "The relay stored it, us.cisa's daemon verified, opened and stored it,"
say "and the relay sent jp.nisc a receipt:"
run "$R" --state state-jp.nisc show "$MID"

bold "5. jp.nisc alerts the whole pilot group"
run "$R" --state state-jp.nisc alert --to pilot --title "Exploited VPN appliance vulnerability" \
    --body "Patch now; exploitation seen in the terminal operator case." | tee alert.out
AID=$(sed -n 's/^queued \([0-9a-f]*\).*/\1/p' alert.out)
both() { "$R" --state state-jp.nisc show "$AID" --json | tr -d ' \n' | grep -q '"sg.csa":{"state":"delivered"' &&
         "$R" --state state-jp.nisc show "$AID" --json | tr -d ' \n' | grep -q '"us.cisa":{"state":"delivered"'; }
wait_until 15 "both alert receipts" both
run "$R" --state state-jp.nisc show "$AID"

bold "6. us.cisa reads its inbox and acknowledges the notice"
run "$R" --state state-us.cisa inbox
run "$R" --state state-us.cisa show "${MID:0:12}"
run "$R" --state state-us.cisa ack "${MID:0:12}" --status acknowledged --comment "Checking US terminal operators now"
wait_until 15 "the acknowledgement" delivered acknowledged

bold "7. The acknowledgement has reached jp.nisc"
run "$R" --state state-jp.nisc status
say
say "The relay's counters:"
run "$RELAY" stats --data relay-data

bold "8. A cross-border drill run by the exercise controller"
say "ctl.exercise runs a scenario (examples/drill/demo-drill.json) at 60x: a"
say "communication check, then a ransomware inject two scenario minutes later,"
say "each to be acknowledged within one scenario minute (one real second)."
say "The teams' answers here come after 0.3 s (jp.nisc), 0.6 s (us.cisa) and"
say "1.6 s (sg.csa): sg.csa misses its deadlines. Every drill message is marked"
say "EXERCISE in its header and text, RSIT class \"test\"."
run "$DRILL" run "$root/examples/drill/demo-drill.json" --state state-ctl.exercise --out drill-report
say "(open $demo/drill-report/report.html in a browser for the timeline and chart)"

bold "9. An auditor verifies the relay's log offline"
say "Every record is a leaf of an RFC 6962 Merkle tree; the relay signs"
say "checkpoints (c2sp.org/tlog-checkpoint). With a copy of the log, the"
say "relay's checkpoint key and the coordinator's key, an auditor recomputes"
say "everything, checks every signature against the roster of its time, and"
say "can prove one message's place in the log (c2sp.org/tlog-proof):"
stop_all
PIDS=()
VKEY=$("$RELAY" --print-vkey --key keys/relay.demo.key)
AUDIT=$B/clients/renraku-audit
run "$AUDIT" verify relay-data --vkey "$VKEY" --coordinator keys/coordinator.pub
run "$AUDIT" prove relay-data "$MID" --vkey "$VKEY" --out notice.proof
run "$AUDIT" check-proof notice.proof --vkey "$VKEY"

bold "Where everything lives ($demo)"
say "  keys/             secret (.key, 0600) and public (.pub) keys of every node"
say "  roster.json       the contact directory people edit; roster.signed travels"
say "  relay-data/log    the relay's log segments; relay-data/checkpoints its signed checkpoints"
say "  state-<node>/     each node's outbox, sent, inbox, quarantine"
say "  logs/             one key=value line per event, per process"
say "  drill-report/     the drill report: text, JSON, CSV, HTML with SVG charts"
say "  notice.proof      a tlog-proof that the first notice is in the relay's log"
say
say "All processes stopped. Run it again any time: make demo"
