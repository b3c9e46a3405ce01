#!/usr/bin/env bash
# Integration tests of renraku-audit on a log written by a real relay run:
# fresh test keys (never secrets), renraku-relay on 127.0.0.1 with an
# ephemeral port, traffic from testnode, a revocation by SIGHUP, then the
# relay stopped. Every tampering works on a copy of that log.
# Usage: audit.sh RENRAKU_KEYS RENRAKU_RELAY TESTNODE RENRAKU_AUDIT
#                 AUDIT_FORGE SCENARIO
# Scenarios: clean tamper proof replay. SHOW=1 prints the first problem
# line of each tampered copy.
set -u
KEYS=$(realpath "$1") RELAY=$(realpath "$2") T=$(realpath "$3")
AUDIT=$(realpath "$4") FORGE=$(realpath "$5") SCENARIO=$6
W=$(mktemp -d /tmp/rk-audit-XXXXXX)
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
    "$KEYS" gen --id relay.test --role relay --out keys2 >/dev/null || exit 1
    "$KEYS" gen --id jp.nisc --role partner --out keys2 >/dev/null || exit 1
    "$KEYS" gen --id coordinator --role coordinator --out keys2 >/dev/null || exit 1
    for n in jp.nisc us.cisa sg.csa; do
        "$KEYS" gen --id $n --role partner --out keys >/dev/null || exit 1
    done
    "$KEYS" roster init roster.json --framework test >/dev/null
    local nb="--not-before 2020-01-01T00:00:00Z"
    "$KEYS" roster add roster.json --pub keys/relay.test.pub --country JP --org Relay $nb >/dev/null
    "$KEYS" roster add roster.json --pub keys/jp.nisc.pub --country JP --org NISC --group g7 $nb >/dev/null
    "$KEYS" roster add roster.json --pub keys/us.cisa.pub --country US --org CISA --group g7 $nb >/dev/null
    "$KEYS" roster add roster.json --pub keys/sg.csa.pub --country SG --org CSA $nb >/dev/null
    "$KEYS" roster sign roster.json --key keys/coordinator.key --out roster.signed >/dev/null || exit 1
    VKEY=$("$RELAY" --print-vkey --key keys/relay.test.key) || exit 1
    ORIGIN=${VKEY%%+*}
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
stop_relay() { kill -TERM "$RPID"; wait "$RPID" 2>/dev/null; RPID=; }

node() {
    local id=$1 cmd=$2
    shift 2
    "$T" "$cmd" --key "keys/$id.key" --roster roster.signed \
        --coordinator keys/coordinator.pub --relay "$EP" \
        --relay-pub keys/relay.test.pub --timeout-ms 8000 "$@"
}

# A log with every record type: rosters, relay events, accepted, delivered,
# expired, refused; a revocation by SIGHUP in the middle.
make_log() {
    start_relay
    node us.cisa recv --expect 2 >r.out 2>&1 &
    local rp=$!
    wait_for r.out welcome 10 || bad "recipient connects"
    node jp.nisc send --to us.cisa --text "ransomware at port" --count 2 >s1.out 2>&1
    wait "$rp"
    node sg.csa send --to g7 --text "to the G7" >s2.out 2>&1
    node jp.nisc send --to us.cisa --tamper signature >s3.out 2>&1
    node jp.nisc send --to sg.csa --expires-in-ms 1500 --receipts 1 >s4.out 2>&1
    "$KEYS" roster revoke roster.json --id jp.nisc --reason test >/dev/null
    "$KEYS" roster sign roster.json --key keys/coordinator.key --out roster.signed >/dev/null
    kill -HUP "$RPID"
    wait_for relay.log 'event=roster_installed serial=2' 10 || bad "SIGHUP installs serial 2"
    node sg.csa send --to jp.nisc >s5.out 2>&1
    node sg.csa send --to us.cisa --text after >s6.out 2>&1
    stop_relay
    expect "traffic stored" s1.out '^stored index='
    expect "a forged signature was refused" s3.out 'rejected code=bad-signature'
    expect "a message expired" s4.out 'status=expired'
    expect "the revoked node cannot be sent to" s5.out 'rejected code=recipient-inactive'
    MSG=$(sed -n 's/^stored index=[0-9]* msg=//p' s1.out | head -1)
    SEG=00000000000000000000.seg
}

# audit_verify DIR OUT: runs verify; its exit code in $?.
audit_verify() {
    "$AUDIT" verify "$1" --vkey "$VKEY" --coordinator keys/coordinator.pub "${@:3}" >"$2" 2>&1
}

# verify_fails DESC DIR REGEX: verify exits 1 and its problem line matches.
verify_fails() {
    local rc
    [ -n "${SHOW:-}" ] && { audit_verify "$2" v.out; head -1 v.out | sed "s/^/  show| /"; }
    audit_verify "$2" v.out
    rc=$?
    if [ "$rc" = 1 ] && grep -Eq "$3" v.out; then ok "$1"; else
        bad "$1 (exit $rc)"; sed 's/^/  out| /' v.out
    fi
}

# full_stdout ARGS...: renraku-audit ARGS with stdout on /dev/full (every
# write fails with ENOSPC) exits 1 with an error line naming stdout.
full_stdout() {
    local rc
    "$AUDIT" "$@" >/dev/full 2>u.out
    rc=$?
    if [ "$rc" = 1 ] && grep -q '^renraku-audit: error: writing to stdout: No space left on device' u.out; then
        ok "$1 $2 to a full stdout: exit 1, the error names stdout"
    else
        bad "$* >/dev/full (exit $rc)"; sed 's/^/  err| /' u.out
    fi
}

cat >"$W/mut.py" <<'PY'
# mut.py CMD SEGMENT ...: frames | flip OFF | delete K | swap K |
#   keep K (the first K records) | cut OFF | split K OUTDIR
import struct, sys
cmd, path = sys.argv[1], sys.argv[2]
b = bytearray(open(path, "rb").read())
fr, off = [], 16
while off + 8 <= len(b):
    (n,) = struct.unpack(">I", b[off:off + 4])
    fr.append((off, n)); off += 8 + n
def rec(k): o, n = fr[k]; return bytes(b[o:o + 8 + n])
def write(frames, head=bytes(b[:16])):
    open(path, "wb").write(head + b"".join(frames))
a = [int(x) for x in sys.argv[3:4]]
if cmd == "frames":
    for k, (o, n) in enumerate(fr): print(k, o, n)
elif cmd == "flip":
    b[a[0]] ^= 0x10; open(path, "wb").write(b)
elif cmd == "delete":
    write([rec(k) for k in range(len(fr)) if k != a[0]])
elif cmd == "swap":
    order = list(range(len(fr))); order[a[0]], order[a[0] + 1] = order[a[0] + 1], order[a[0]]
    write([rec(k) for k in order])
elif cmd == "keep":
    write([rec(k) for k in range(a[0])])
elif cmd == "alter":  # a byte in the middle of record K, check bytes redone
    import hashlib
    o, n = fr[a[0]]
    b[o + 4 + n // 2] ^= 0x10
    b[o + 4 + n:o + 8 + n] = hashlib.sha256(b"\0" + bytes(b[o + 4:o + 4 + n])).digest()[:4]
    open(path, "wb").write(b)
elif cmd == "cut":
    open(path, "wb").write(b[:a[0]])
elif cmd == "split":
    k = a[0]
    write([rec(i) for i in range(k)])
    name = "%020d.seg" % k
    open(sys.argv[4] + "/" + name, "wb").write(b"RNRKLOG1" + struct.pack(">Q", k) + b"".join(rec(i) for i in range(k, len(fr))))
PY
mut() { python3 "$W/mut.py" "$@"; }
# copy NAME: a fresh copy of the log in NAME.
copy() { rm -rf "$1"; cp -a data "$1"; }

scenario_clean() {
    make_log
    audit_verify data v.out
    local rc=$?
    if [ "$rc" = 0 ]; then ok "a real relay's log verifies (exit 0)"; else bad "a real relay's log verifies (exit $rc)"; sed 's/^/  out| /' v.out; fi
    expect "summary counts records by type" v.out '^records [0-9]+ \(accepted [1-9][0-9]*, delivered [1-9][0-9]*, expired 1, refused [1-9][0-9]*, roster 2, relay [1-9]'
    expect "summary counts envelope signatures" v.out '^envelope signatures [1-9][0-9]* verified'
    expect "summary counts checkpoints" v.out '^checkpoints [1-9][0-9]* checked'
    expect "summary says rosters up to serial 2" v.out '^rosters 2 verified, last serial 2'
    expect "summary names the nodes" v.out '^nodes [3-9]'
    expect "summary shows the time range" v.out '^time 20[0-9-]+T'
    "$AUDIT" verify data --vkey "$VKEY" --coordinator keys/coordinator.pub --threads 1 >v1.out 2>&1 &&
        ok "one thread verifies the same log" || bad "one thread verifies the same log"
    # Two segments, as a relay that moved to a new one writes them.
    copy split
    mut split split/log/$SEG 5 split/log
    audit_verify split v.out && ok "a log in two segments verifies" || { bad "a log in two segments verifies"; cat v.out; }
    expect "two segments counted" v.out 'in 2 segments'
    rm split/log/00000000000000000005.seg
    verify_fails "a missing last segment: the log is shorter than its checkpoints" split 'shorter than this checkpoint'
    # A torn tail after the newest checkpoint is ignored and reported.
    copy torn
    printf '\000\000\001' >>torn/log/$SEG
    audit_verify torn v.out && ok "a torn tail beyond the checkpoints is ignored" || { bad "a torn tail beyond the checkpoints is ignored"; cat v.out; }
    expect "the torn tail is reported" v.out '^torn tail: 3 bytes at offset [0-9]+ of log/'
    # Records beyond the newest checkpoint (a copy taken while the relay
    # ran) verify, and the summary names them as not covered yet.
    copy behind
    rm "$(ls behind/checkpoints/*.note | tail -1)"
    local covered total
    covered=$(sed -n 2p "$(ls behind/checkpoints/*.note | tail -1)")
    total=$(sed -n 2p "$(ls data/checkpoints/*.note | tail -1)")
    audit_verify behind v.out && ok "records beyond the newest checkpoint: exit 0" || { bad "records beyond the newest checkpoint: exit 0"; cat v.out; }
    expect "and the summary says which are not covered" v.out "^not covered by a checkpoint: records $covered to $((total - 1)) \\($((total - covered))\\): checked, but no relay signature vouches for them yet"
    # No checkpoint at all: nothing the relay signed was checked, whatever
    # --vkey says. Never "verified".
    copy nocp
    rm -r nocp/checkpoints
    verify_fails "no checkpoints/ folder: a problem, not verified" nocp "^problem: checkpoints/: no checkpoint \\(the folder is missing or empty\\): nothing signed by the relay key $ORIGIN\\+[0-9a-f]{8} covers the log"
    audit_verify nocp v.out --all
    expect "--all: every record is named as not covered" v.out "^not covered by a checkpoint: records 0 to $((total - 1)) \\($total\\)"
    mkdir nocp/checkpoints
    verify_fails "an empty checkpoints/ folder: a problem" nocp '^problem: checkpoints/: no checkpoint'
    # A genuine checkpoint of size 0 (the empty tree's root) vouches for
    # no record.
    "$FORGE" sign-checkpoint keys/relay.test.key "$ORIGIN" 0 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU= \
        >nocp/checkpoints/00000000000000000000.note || bad "forge a checkpoint of size 0"
    verify_fails "only a checkpoint of size 0: a problem" nocp '^problem: checkpoints/: no checkpoint signed by the relay key .* matches the log'
    rm nocp/checkpoints/00000000000000000000.note
    local vkey2
    vkey2=$("$RELAY" --print-vkey --key keys2/relay.test.key)
    "$AUDIT" verify nocp --vkey "$vkey2" --coordinator keys/coordinator.pub >v.out 2>&1
    [ $? = 1 ] && grep -q '^problem: checkpoints/: no checkpoint' v.out && ok "no checkpoint and another relay's vkey: a problem" || { bad "no checkpoint and another relay's vkey: a problem"; cat v.out; }
    "$AUDIT" verify data --vkey "$vkey2" --coordinator keys/coordinator.pub --all >v.out 2>&1
    [ $? = 1 ] && grep -q '^problem: checkpoints/: no checkpoint signed by the relay key .* matches the log' v.out && ok "checkpoints all signed by another key: --all says none matches" || { bad "checkpoints all signed by another key: --all says none matches"; cat v.out; }
    # Several --vkey: the keys of one relay over a rotation. A checkpoint
    # signed by any of them counts, in either order; a key of another relay
    # (another name) is refused before anything is read, as are more than 8.
    "$AUDIT" verify data --vkey "$vkey2" --vkey "$VKEY" --coordinator keys/coordinator.pub >v.out 2>&1
    [ $? = 0 ] && ok "two --vkey of one relay, the signing one second: exit 0" || { bad "two --vkey of one relay, the signing one second: exit 0"; cat v.out; }
    "$KEYS" gen --id relay.other --role relay --out keys3 >/dev/null || bad "gen relay.other"
    local vother
    vother=$("$RELAY" --print-vkey --key keys3/relay.other.key)
    "$AUDIT" verify data --vkey "$VKEY" --vkey "$vother" --coordinator keys/coordinator.pub >u.out 2>&1
    [ $? = 2 ] && ok "a --vkey of another relay: exit 2" || { bad "a --vkey of another relay: exit 2"; cat u.out; }
    expect "... naming both relays" u.out "error: --vkey renraku/relay.other\+[0-9a-f]{8}\+.*: a key of renraku/relay.other, but the first --vkey is of ${VKEY%%+*}: several --vkey are the keys of one relay"
    "$AUDIT" verify data --vkey "$VKEY" --vkey "$vkey2" --vkey "$vkey2" --vkey "$vkey2" --vkey "$vkey2" \
        --vkey "$vkey2" --vkey "$vkey2" --vkey "$vkey2" --vkey "$vkey2" --coordinator keys/coordinator.pub >u.out 2>&1
    [ $? = 2 ] && grep -q -- "--vkey: at most 8" u.out && ok "nine --vkey: exit 2, at most 8" || { bad "nine --vkey: exit 2, at most 8"; cat u.out; }
    # Usage and bad input: one error line, exit 2 or 1.
    "$AUDIT" verify data --coordinator keys/coordinator.pub >u.out 2>&1
    [ $? = 2 ] && ok "verify without --vkey: exit 2" || bad "verify without --vkey: exit 2"
    expect "and says what is missing" u.out 'error: --vkey is required'
    "$AUDIT" verify nowhere --vkey "$VKEY" --coordinator keys/coordinator.pub >u.out 2>&1
    [ $? = 1 ] && ok "a missing log: exit 1" || bad "a missing log: exit 1"
    expect "names the folder" u.out 'error: nowhere/log: no such folder'
    "$AUDIT" verify data --vkey garbage --coordinator keys/coordinator.pub >u.out 2>&1
    [ $? = 1 ] && ok "a bad vkey: exit 1" || bad "a bad vkey: exit 1"
    # A --vkey that is neither a verifier key nor a file holding one is
    # named with what is wrong: the file's problem, or the key's (it said
    # "not a verifier key (name+hash+key) nor a readable file" for all).
    local vn=${VKEY%%+*} vh vk
    vh=${VKEY#*+} vh=${vh%%+*} vk=${VKEY#*+*+}
    mkdir -p vkey.d
    : >empty.vkey
    printf '%s\r\n' "$VKEY" >crlf.vkey
    printf '%s\n' "$vn+$vh+${vk%?}" >short.vkey
    bad_vkey() {
        local desc=$1 arg=$2 want=$3 rc
        "$AUDIT" verify data --vkey "$arg" --coordinator keys/coordinator.pub >u.out 2>&1
        rc=$?
        if [ $rc = 1 ] && [ "$(wc -l <u.out)" = 1 ] && grep -qF -- "renraku-audit: error: --vkey $arg: $want" u.out; then
            ok "--vkey $desc: exit 1, named"
        else
            bad "--vkey $desc: exit 1, named (exit $rc)"; sed 's/^/  out| /' u.out
        fi
    }
    bad_vkey "no such file" garbage "no such file, and not a verifier key (name+hash+key) either"
    bad_vkey "a folder" vkey.d "is a directory, not a verifier key file"
    bad_vkey "an empty file" empty.vkey "the file is empty, not a verifier key"
    bad_vkey "a file with CRLF" crlf.vkey "the file does not hold a verifier key on its first line: the key (after the second '+') is not base64: it has a carriage return (a CRLF line end?)"
    bad_vkey "a file with a key cut short" short.vkey "the file does not hold a verifier key on its first line: the key (after the second '+') is 43 characters of base64, not 44"
    # (A fixed key: base64 with a '+' in it would make the hash look
    # present but not hex.)
    bad_vkey "without its hash" PeterNeumann+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW \
        "not a verifier key: one '+', not two: a verifier key is name+hash+key (and no file of that name)"
    bad_vkey "a hash not hex" "$vn+xyz+$vk" "not a verifier key: the hash (after the first '+') is not 8 hex digits"
    bad_vkey "a hash of another key" "$vn+00000000+$vk" "not a verifier key: the hash 00000000 is not the key id of this name and key"
    bad_vkey "not base64" "$vn+$vh+${vk%?}!" "not a verifier key: the key (after the second '+') is not base64: it has '!'"
    bad_vkey "another key type" "$vn+$vh+Z${vk#?}" "not a verifier key: key type 0x65, not 0x01 (Ed25519)"
    "$AUDIT" frobnicate >u.out 2>&1
    [ $? = 2 ] && ok "an unknown command: exit 2" || bad "an unknown command: exit 2"
    for c in verify timeline export prove check-proof consistency replay; do
        "$AUDIT" $c --help >h.out 2>&1 && grep -q "^usage: renraku-audit $c" h.out || bad "$c --help"
    done
    ok "every command has --help"
    # The timeline and the export.
    "$AUDIT" timeline data >t.out 2>&1 || bad "timeline runs"
    expect "timeline: accepted, sender -> recipient" t.out "index=[0-9]+ accepted jp.nisc -> us.cisa kind=notice msg=$MSG size=[0-9]+"
    expect "timeline: delivered, with its sender" t.out "delivered jp.nisc -> us.cisa kind=notice msg=$MSG"
    expect "timeline: the refusal with code and reason" t.out 'refused jp.nisc -> - kind=- msg=[0-9a-f]+ size=[0-9]+ code=bad-signature reason="signature does not verify'
    expect "timeline: the expiry" t.out 'expired jp.nisc -> sg.csa kind=notice'
    expect "timeline: roster serial 2" t.out 'roster serial 2 size='
    "$AUDIT" timeline data --node sg.csa >t2.out 2>&1
    if grep -q 'accepted jp.nisc -> us.cisa' t2.out; then bad "--node sg.csa hides others' traffic"; else ok "--node sg.csa hides others' traffic"; fi
    expect "--node sg.csa shows its own" t2.out 'accepted sg.csa -> '
    "$AUDIT" timeline data --msg "$MSG" >t3.out 2>&1
    [ "$(wc -l <t3.out)" = 2 ] && ok "--msg: accepted and delivered, nothing else" || { bad "--msg: accepted and delivered"; cat t3.out; }
    "$AUDIT" timeline data --until 1000 >t4.out 2>&1
    [ ! -s t4.out ] && ok "--until before everything: nothing" || bad "--until before everything: nothing"
    "$AUDIT" timeline data --since yesterday >u.out 2>&1
    [ $? = 2 ] && ok "a bad --since: exit 2" || bad "a bad --since: exit 2"
    "$AUDIT" export data --format csv --out e.csv >/dev/null 2>&1 || bad "export csv"
    head -1 e.csv | grep -q '^time,time_ms,index,type,from,to,kind,msg_id,drill,size,created_ms,accepted_index,code,reason' && ok "csv header" || bad "csv header"
    python3 - e.csv t.out <<'PY' && ok "csv parses as RFC 4180, one row per record, quoted fields intact" || bad "csv parses as RFC 4180"
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
lines = open(sys.argv[2]).read().splitlines()
assert len(rows) == len(lines) + 1, (len(rows), len(lines))
assert any(r[3] == "accepted" and "," not in r[5] for r in rows[1:])
assert any(r[3] == "accepted" and r[5] == "jp.nisc,us.cisa" for r in rows[1:]), "group recipients"
assert any(r[3] == "refused" and r[12] == "bad-signature" for r in rows[1:])
PY
    "$AUDIT" export data --format jsonl >e.jsonl 2>&1 || bad "export jsonl"
    python3 - e.jsonl <<'PY' && ok "jsonl: one JSON object per record" || bad "jsonl: one JSON object per record"
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1])]
assert [o["index"] for o in objs] == list(range(len(objs)))
assert any(o["type"] == "accepted" and o["to"] == ["us.cisa"] for o in objs)
PY
    "$AUDIT" export data --format xml >u.out 2>&1
    [ $? = 2 ] && ok "export --format xml: exit 2" || bad "export --format xml: exit 2"
    # Output that cannot be written is a failure, named, on every command
    # that writes to stdout (/dev/full: every write fails with ENOSPC).
    "$AUDIT" prove data "$MSG" --vkey "$VKEY" --out p.tlog-proof >/dev/null 2>&1 || bad "prove for the stdout checks"
    local first newest
    first=$(ls data/checkpoints/*.note | head -1)
    newest=$(ls data/checkpoints/*.note | tail -1)
    full_stdout verify data --vkey "$VKEY" --coordinator keys/coordinator.pub
    full_stdout timeline data
    full_stdout export data --format csv
    full_stdout export data --format jsonl
    full_stdout replay data --speed max
    full_stdout prove data "$MSG" --vkey "$VKEY"
    full_stdout check-proof p.tlog-proof --vkey "$VKEY"
    full_stdout consistency "$first" "$newest" data --vkey "$VKEY"
    full_stdout verify --help
}

# Each tampering of a copy is detected, with its place and reason, exit 1.
scenario_tamper() {
    make_log
    mut frames data/log/$SEG >frames.txt
    local n last
    n=$(wc -l <frames.txt)
    last=$((n - 1))
    # Any single flipped byte: length, body and check bytes of several records.
    local k o l pos what
    for k in 0 2 4 $((n / 2)) $((n - 2)) $last; do
        read -r _ o l < <(sed -n "$((k + 1))p" frames.txt)
        for what in length body check; do
            case $what in
            length) pos=$((o + 2)) ;;
            body) pos=$((o + 4 + l / 2)) ;;
            check) pos=$((o + 4 + l + 1)) ;;
            esac
            copy flip
            mut flip flip/log/$SEG $pos
            if [ "$k" = "$last" ]; then
                verify_fails "flipped $what byte of the last record: a tail shorter than the checkpoint" flip 'checkpoints/[0-9]+\.note: the log is shorter than this checkpoint.*torn tail'
            else
                verify_fails "flipped $what byte of record $k: bad frame at offset $o" flip "^problem: log/$SEG offset $o record $k: bad frame"
            fi
        done
    done
    copy del
    mut delete del/log/$SEG 3
    verify_fails "a deleted record: a gap at its place" del "^problem: log/$SEG offset [0-9]+ record 3: record says index 4 at position 3: 1 record\(s\) missing"
    audit_verify del v.out --all
    expect "--all also shows the checkpoints it breaks" v.out 'inconsistent checkpoint'
    expect "--all counts the problems" v.out '^FAILED: [2-9][0-9]* problems found$'
    copy swap
    mut swap swap/log/$SEG 4
    verify_fails "two records swapped: out of order" swap "record 4: record says index 5 at position 4"
    audit_verify swap v.out --all
    expect "--all names the second one too" v.out 'record 5: record says index 4 at position 5'
    # Truncated after the last checkpoint: at a frame boundary, and torn.
    # The first checkpoint it breaks is named: the smallest one above n - 2
    # (the relay may have signed one at n - 1 too, depending on timing).
    local c cmin=
    for c in data/checkpoints/*.note; do
        c=$(sed -n 2p "$c")
        [ "$c" -gt $((n - 2)) ] && { [ -z "$cmin" ] || [ "$c" -lt "$cmin" ]; } && cmin=$c
    done
    copy cut
    mut keep cut/log/$SEG $((n - 2))
    verify_fails "a truncated tail: the log is shorter than the checkpoint" cut "checkpoints/0*$cmin\.note: the log is shorter than this checkpoint: it covers $cmin records, the log holds $((n - 2))"
    copy cut2
    read -r _ o l < <(sed -n "$n p" frames.txt)
    mut cut cut2/log/$SEG $((o + 5))
    verify_fails "a tail cut inside the last record: shorter than the checkpoint" cut2 "covers $n records, the log holds $((n - 1)) valid records and then a torn tail of 5 bytes"
    # Junk after the last record that reads as a 64 KiB frame length at
    # every fourth byte: finding (or ruling out) a valid frame in it would
    # hash 64 KiB at each of 16384 offsets (1 GiB; hours for a 64 MiB
    # segment). verify hashes within its budget, then says the rest went
    # unchecked: neither a torn tail nor exit 0. The bound is a guard
    # against a hang, not a benchmark.
    local end
    copy junk
    end=$(stat -c %s junk/log/$SEG)
    python3 -c 'import sys; sys.stdout.buffer.write(b"\x00\x01\x00\x00" * 32768)' >>junk/log/$SEG
    timeout 60 "$AUDIT" verify junk --vkey "$VKEY" --coordinator keys/coordinator.pub --threads 1 >v.out 2>&1
    local rc=$?
    if [ $rc = 1 ] && grep -Eq "^problem: log/$SEG offset $end record $n: bad frame: .*the search for a valid frame after it gave up at offset [0-9]+, having hashed [0-9]+ MiB .*so the 131072 bytes from offset $end to the end of the segment are not checked" v.out &&
        ! grep -q '^torn tail' v.out; then
        ok "a junk tail built to stall the frame search: reported as not checked, exit 1"
    else
        bad "a junk tail built to stall the frame search (exit $rc)"; sed 's/^/  out| /' v.out
    fi
    # A checkpoint signed by another relay key (same name, other key).
    local newest size root
    newest=$(ls data/checkpoints/*.note | tail -1)
    size=$(sed -n 2p "$newest")
    root=$(sed -n 3p "$newest")
    copy other
    "$FORGE" sign-checkpoint keys2/relay.test.key "$ORIGIN" "$size" "$root" >"other/checkpoints/$(basename "$newest")" || bad "forge a checkpoint"
    verify_fails "a checkpoint signed by another key" other "checkpoints/$(basename "$newest"): checkpoint not signed by the relay key"
    # A checkpoint inconsistent with earlier ones, signed by the real key.
    local first oldroot
    first=$(ls data/checkpoints/*.note | head -1)
    oldroot=$(sed -n 3p "$first")
    copy incons
    "$FORGE" sign-checkpoint keys/relay.test.key "$ORIGIN" "$size" "$oldroot" >"incons/checkpoints/$(basename "$newest")" || bad "forge a checkpoint"
    verify_fails "a checkpoint inconsistent with an earlier one" incons "checkpoints/$(basename "$newest"): inconsistent checkpoint: its root differs .* while the checkpoint of size [0-9]+ matches the log"
    # An envelope signed by a key the roster of its time does not list.
    # (jp.nisc is revoked by now: a roster with it active again, serial 3.)
    "$KEYS" roster activate roster.json --id jp.nisc >/dev/null
    "$KEYS" roster sign roster.json --key keys/coordinator.key --out roster3.signed >/dev/null
    "$FORGE" forge-log forged keys/relay.test.key keys/coordinator.pub roster3.signed keys2/jp.nisc.key us.cisa || bad "forge a log"
    verify_fails "an envelope not signed by the roster's key for its sender" forged "record 2: envelope signature does not match the roster of its time: sender jp.nisc key id [0-9a-f]+ is not usable"
    # The same log with the real key verifies: the forge is honest otherwise.
    rm -rf forged
    "$FORGE" forge-log forged keys/relay.test.key keys/coordinator.pub roster3.signed keys/jp.nisc.key us.cisa || bad "forge a log"
    audit_verify forged v.out && ok "the same log signed with the roster's key verifies" || { bad "the same log signed with the roster's key verifies"; cat v.out; }
    # A recipient both delivered and expired for one message.
    rm -rf forged
    "$FORGE" forge-log forged keys/relay.test.key keys/coordinator.pub roster3.signed keys/jp.nisc.key us.cisa closed-twice || bad "forge a log"
    verify_fails "a recipient both delivered and expired for one message" forged "record 4: us.cisa is both delivered \\(record 3\\) and expired \\(record 4\\) for the message accepted at index 2"
    # Given up for a recipient the roster in force lists as active: a
    # forged undeliverable record (a silent loss) fails verify.
    rm -rf forged
    "$FORGE" forge-log forged keys/relay.test.key keys/coordinator.pub roster3.signed keys/jp.nisc.key us.cisa undeliverable-revoked || bad "forge a log"
    verify_fails "an undeliverable record (revoked) for an active recipient" forged "record 3: undeliverable record says us.cisa was revoked, but the roster in force \\(serial 3\\) lists it as active: the relay gave up a message it could deliver"
    rm -rf forged
    "$FORGE" forge-log forged keys/relay.test.key keys/coordinator.pub roster3.signed keys/jp.nisc.key us.cisa undeliverable-removed || bad "forge a log"
    verify_fails "an undeliverable record (removed) for a recipient still listed" forged "record 3: undeliverable record says us.cisa was removed from the roster, but the roster in force \\(serial 3\\) still lists it"
    # Expired, then given up as well: the message names both closures.
    rm -rf forged
    "$FORGE" forge-log forged keys/relay.test.key keys/coordinator.pub roster3.signed keys/jp.nisc.key us.cisa expired-undeliverable || bad "forge a log"
    # (us.cisa is in roster 3, so record 4 is also "still lists it": --all.)
    audit_verify forged v.out --all
    if [ $? = 1 ] && grep -Eq "record 4: us.cisa is both expired \\(record 3\\) and undeliverable \\(record 4\\) for the message accepted at index 2" v.out; then
        ok "a recipient both expired and given up for one message"
    else bad "a recipient both expired and given up for one message"; sed 's/^/  out| /' v.out; fi
    # A recipient delivered twice; a delivery to, or an expiry for, a node
    # the sender never addressed: each under a correctly signed checkpoint.
    rm -rf forged
    "$FORGE" forge-log forged keys/relay.test.key keys/coordinator.pub roster3.signed keys/jp.nisc.key us.cisa delivered-twice || bad "forge a log"
    verify_fails "a recipient delivered twice for one message" forged "record 4: us.cisa is delivered twice \\(records 3 and 4\\) for the message accepted at index 2"
    for what in delivered expired; do
        rm -rf forged
        "$FORGE" forge-log forged keys/relay.test.key keys/coordinator.pub roster3.signed keys/jp.nisc.key us.cisa $what-other sg.csa || bad "forge a log"
                verify_fails "$what to a node that is not a recipient" forged "^problem: log/$SEG offset [0-9]+ record 3: $what record names sg.csa, which is not a recipient of msg [0-9a-f]{32} accepted at index 2"
    done
    # A message past its expiry, with the relay logging on long after,
    # and no expired record for its recipient: the expiry was lost (as a
    # cut expired record left it), and the sender never told.
    rm -rf forged
    "$FORGE" forge-log forged keys/relay.test.key keys/coordinator.pub roster3.signed keys/jp.nisc.key us.cisa expiry-lost || bad "forge a log"
    verify_fails "an expiry the relay lost" forged "record 2: msg [0-9a-f]{32} \\(accepted at index 2\\) expired at [0-9T:.-]+Z, but 1 of its recipients have neither a delivered nor an expired record, though the relay logged records until [0-9T:.-]+Z: an expiry the relay lost"
    rm -rf forged
    "$FORGE" forge-log forged keys/relay.test.key keys/coordinator.pub roster3.signed keys/jp.nisc.key us.cisa expiry-logged || bad "forge a log"
    audit_verify forged v.out && ok "the same with its expired record verifies" || { bad "the same with its expired record verifies"; cat v.out; }
    # A roster record not signed by the pinned coordinator (another
    # coordinator key of the same name).
    "$AUDIT" verify data --vkey "$VKEY" --coordinator keys2/coordinator.pub >v.out 2>&1
    [ $? = 1 ] && grep -q 'record 0: roster record (serial 1) refused' v.out && ok "a roster not signed by the pinned coordinator" || { bad "a roster not signed by the pinned coordinator"; cat v.out; }
    # A key of another role as --coordinator is named at once, not taken
    # and every roster record then called not signed by it (tampering).
    local f rc id role
    for f in keys2/jp.nisc.pub keys/relay.test.pub; do
        "$AUDIT" verify data --vkey "$VKEY" --coordinator $f >v.out 2>&1
        rc=$? id=$(basename $f .pub) role=partner
        [ "$id" = relay.test ] && role=relay
        if [ $rc = 1 ] && [ "$(wc -l <v.out)" = 1 ] &&
            grep -q "^renraku-audit: error: --coordinator $f: the key of '$id', role $role; --coordinator needs the coordinator's key (role coordinator)" v.out; then
            ok "a $role's .pub as --coordinator: exit 1, named as the wrong role"
        else
            bad "a $role's .pub as --coordinator: exit 1, named as the wrong role (exit $rc)"; sed 's/^/  out| /' v.out
        fi
    done
    # More envelopes than one chunk of the signature pool (256): one
    # altered deep in the log with its check bytes redone, as a relay
    # rewriting it would. Every thread count names that record first.
    start_relay
    node sg.csa send --to us.cisa --count 600 --text "$(printf 'ioc %.0s' {1..400})" >s7.out 2>&1 || bad "600 more notices stored"
    stop_relay
    local deep
    deep=$("$AUDIT" export data --format jsonl | python3 -c '
import json, sys
acc = [o["index"] for o in map(json.loads, sys.stdin) if o["type"] == "accepted"]
print(acc[-100])')
    copy alter
    mut alter alter/log/$SEG "$deep"
    local t d
    for t in 1 2 3; do
        d="an envelope altered at record $deep, check bytes redone, --threads $t: its signature does not verify"
        audit_verify alter v.out --threads $t
        if [ $? = 1 ] && head -1 v.out | grep -Eq "^problem: log/$SEG offset [0-9]+ record $deep: envelope signature does not verify: the key of sg.csa"; then
            ok "$d"
        else
            bad "$d"; sed 's/^/  out| /' v.out
        fi
    done
    audit_verify alter v.out --all --threads 2
    expect "--all: the altered envelope, then the checkpoints after it" v.out 'inconsistent checkpoint'
    local all
    audit_verify data c.out || bad "the log with 600 more notices verifies"
    all=$(sed -n 's/^envelope signatures \([0-9]*\) verified.*/\1/p' c.out)
    expect "--all: every other envelope verified ($((all - 1)) of $all)" v.out "^envelope signatures $((all - 1)) verified"
}

scenario_proof() {
    make_log
    "$AUDIT" prove data "$MSG" --vkey "$VKEY" --out p.tlog-proof >p.out 2>&1 || { bad "prove writes a proof"; cat p.out; }
    head -1 p.tlog-proof | grep -qx 'c2sp.org/tlog-proof@v1' && ok "the proof starts with the c2sp header" || bad "the proof starts with the c2sp header"
    sed -n 2p p.tlog-proof | grep -Eq '^extra [A-Za-z0-9+/=]+$' && ok "its second line is the extra record bytes" || bad "its second line is the extra record bytes"
    "$AUDIT" check-proof p.tlog-proof --vkey "$VKEY" >c.out 2>&1
    [ $? = 0 ] && ok "check-proof verifies it" || { bad "check-proof verifies it"; cat c.out; }
    expect "and prints what the record says" c.out "accepted jp.nisc -> us.cisa kind=notice msg=$MSG"
    # Independent check with the Python of docs/AUDIT.md's recipe.
    python3 - p.tlog-proof <<'PY' && ok "python recomputes the root from the proof" || bad "python recomputes the root from the proof"
import base64, hashlib, sys
lines = open(sys.argv[1], "rb").read().split(b"\n")
assert lines[0] == b"c2sp.org/tlog-proof@v1"
extra = base64.b64decode(lines[1][6:]); idx = int(lines[2][6:]); i = 3; proof = []
while lines[i]: proof.append(base64.b64decode(lines[i])); i += 1
size = int(lines[i + 2]); root = base64.b64decode(lines[i + 3])
H = lambda b: hashlib.sha256(b).digest()
h, fn, sn = H(b"\0" + extra), idx, size - 1
for p in proof:
    if fn & 1 or fn == sn:
        h = H(b"\1" + p + h)
        while not fn & 1 and fn: fn >>= 1; sn >>= 1
    else:
        h = H(b"\1" + h + p)
    fn >>= 1; sn >>= 1
assert h == root
PY
    local idx
    idx=$(sed -n 's/^index //p' p.tlog-proof)
    sed "s/^index $idx\$/index $((idx + 1))/" p.tlog-proof >wrong.tlog-proof
    "$AUDIT" check-proof wrong.tlog-proof --vkey "$VKEY" >c.out 2>&1
    [ $? = 1 ] && ok "a wrong index does not verify" || bad "a wrong index does not verify"
    expect "it says why" c.out 'proof does not verify'
    # Flip one bit in the extra line, in a proof hash, in the checkpoint.
    local line
    for line in 2 4 $(($(grep -n '^$' p.tlog-proof | head -1 | cut -d: -f1) + 3)); do
        python3 - p.tlog-proof flip.tlog-proof "$line" <<'PY'
import base64, sys
lines = open(sys.argv[1], "rb").read().split(b"\n"); k = int(sys.argv[3]) - 1
pre = b"extra " if lines[k].startswith(b"extra ") else b""
raw = bytearray(base64.b64decode(lines[k][len(pre):])); raw[len(raw) // 2] ^= 0x01
lines[k] = pre + base64.b64encode(bytes(raw))
open(sys.argv[2], "wb").write(b"\n".join(lines))
PY
        "$AUDIT" check-proof flip.tlog-proof --vkey "$VKEY" >c.out 2>&1
        [ $? = 1 ] && ok "a flipped bit on line $line does not verify" || { bad "a flipped bit on line $line does not verify"; cat c.out; }
    done
    "$AUDIT" check-proof p.tlog-proof --vkey "$("$RELAY" --print-vkey --key keys2/relay.test.key)" >c.out 2>&1
    [ $? = 1 ] && ok "another relay key does not verify it" || bad "another relay key does not verify it"
    "$AUDIT" prove data 00000000000000000000000000000000 --vkey "$VKEY" >c.out 2>&1
    [ $? = 1 ] && grep -q 'no accepted record of msg' c.out && ok "prove of an unknown msg: exit 1" || bad "prove of an unknown msg: exit 1"
    "$AUDIT" prove data nothex --vkey "$VKEY" >c.out 2>&1
    [ $? = 2 ] && ok "prove of a bad msg id: exit 2" || bad "prove of a bad msg id: exit 2"
    # Consistency between the oldest and the newest checkpoint.
    local first newest
    first=$(ls data/checkpoints/*.note | head -1)
    newest=$(ls data/checkpoints/*.note | tail -1)
    "$AUDIT" consistency "$first" "$newest" data --vkey "$VKEY" >k.out 2>&1
    [ $? = 0 ] && ok "the newest checkpoint extends the oldest" || { bad "the newest checkpoint extends the oldest"; cat k.out; }
    expect "consistency prints the proof" k.out '^consistent: the tree of size [0-9]+ extends the tree of size [0-9]+'
    "$AUDIT" consistency "$newest" "$first" data --vkey "$VKEY" >k.out 2>&1
    [ $? = 1 ] && ok "swapped checkpoints: exit 1" || bad "swapped checkpoints: exit 1"
    "$FORGE" sign-checkpoint keys/relay.test.key "$ORIGIN" "$(sed -n 2p "$newest")" "$(sed -n 3p "$first")" >fork.note
    "$AUDIT" consistency "$first" fork.note data --vkey "$VKEY" >k.out 2>&1
    [ $? = 1 ] && grep -q 'not consistent' k.out && ok "a checkpoint of another view is not consistent" || { bad "a checkpoint of another view is not consistent"; cat k.out; }
}

scenario_replay() {
    make_log
    "$AUDIT" replay data --speed max >r.jsonl 2>&1 || bad "replay runs"
    "$AUDIT" export data --format jsonl >e.jsonl 2>&1
    cmp -s r.jsonl e.jsonl && ok "replay at max speed plays every record in order" || bad "replay at max speed plays every record in order"
    local since
    since=$(python3 -c 'import json,sys; o=[json.loads(l) for l in open("e.jsonl")]; print(o[len(o)//2]["time_ms"])')
    "$AUDIT" replay data --speed max --since "$since" >r2.jsonl 2>&1
    python3 - r2.jsonl "$since" <<'PY' && ok "replay --since starts there" || bad "replay --since starts there"
import json, sys
o = [json.loads(l) for l in open(sys.argv[1])]
assert o and all(x["time_ms"] >= int(sys.argv[2]) for x in o)
PY
    # At 1000x the expiry's 1.5 s of relay time takes milliseconds: bounded.
    timeout 20 "$AUDIT" replay data --speed 1000x >r3.jsonl 2>&1
    [ $? = 0 ] && cmp -s r3.jsonl e.jsonl && ok "replay at 1000x finishes with the same records" || bad "replay at 1000x finishes with the same records"
    "$AUDIT" replay data --speed fast >u.out 2>&1
    [ $? = 2 ] && ok "a bad --speed: exit 2" || bad "a bad --speed: exit 2"
}

setup
case "$SCENARIO" in
clean | tamper | proof | replay) "scenario_$SCENARIO" ;;
*) echo "unknown scenario $SCENARIO"; exit 2 ;;
esac
[ -n "$RPID" ] && stop_relay
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
