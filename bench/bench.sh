#!/usr/bin/env bash
# The relay benchmark (make bench; make bench QUICK=1): measures, side by
# side in one run, the relay against the limits of issue 7 and writes
# bench/BENCHMARKS.md (through bench/report.py) from what it measured.
# Real processes on 127.0.0.1 with ephemeral ports, fresh keys made here,
# the data dirs on a real file system (BENCH_DIR, default /var/tmp), every
# wait bounded, every process stopped on exit.
# Usage: bench.sh BUILD_DIR [OUT.md]     QUICK=1 for the short run.
# Needs python3 (bench/report.py writes the Markdown).
set -u
B=$(realpath "$1")
HERE=$(dirname "$(realpath "$0")")
KEYS=$B/keys/renraku-keys RELAY=$B/relay/renraku-relay
LG=$B/bench/loadgen VR=$B/bench/verify_rate MK=$B/bench/mklog HC=$B/bench/hiccup
IO=$B/bench/ioload
QUICK=${QUICK:-}
if [ -n "$QUICK" ] && [ "$QUICK" != 0 ]; then
    MODE=quick RUNS=3 TP_COUNT=15000 LAT_SECS=2 VERIFY_SECS=1
    NODE_RUNS=1 NODE_FAST_SECS=1 NODE_SLOW_SECS=2 PAUSE_SECS=1
    LOG_RECORDS=100000 LOG_PENDING=10000
else
    MODE=full RUNS=5 TP_COUNT=60000 LAT_SECS=10 VERIFY_SECS=4
    NODE_RUNS=3 NODE_FAST_SECS=3 NODE_SLOW_SECS=10 PAUSE_SECS=5
    LOG_RECORDS=1000000 LOG_PENDING=10000
fi
# The full run writes bench/BENCHMARKS.md, the quick one
# bench/BENCHMARKS-quick.md (and the raw results beside each, .jsonl).
if [ $MODE = full ]; then OUT=${2:-$HERE/BENCHMARKS.md}; else OUT=${2:-$HERE/BENCHMARKS-quick.md}; fi
SENDERS=${SENDERS:-4} FANOUT=${FANOUT:-200} LAT_RATE=1000 NODE_SLOW_RATE=100
D=$B/clients/renrakud
BENCH_DIR=${BENCH_DIR:-/var/tmp}
W=$(mktemp -d "$BENCH_DIR/rk-bench-XXXXXX")
RES=$W/results.jsonl
RPID=
T_START=$(date +%s)

cleanup() {
    [ -n "$RPID" ] && kill -9 "$RPID" 2>/dev/null
    jobs -p | xargs -r kill -9 2>/dev/null
    rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { echo "bench: $*" >&2; }
die() { say "FAILED: $*"; [ -f "$W/relay.log" ] && tail -20 "$W/relay.log" >&2; exit 1; }
for f in "$KEYS" "$RELAY" "$LG" "$VR" "$MK" "$D" "$HC" "$IO"; do [ -x "$f" ] || die "$f is not built"; done

# ---- keys and roster, as tests/integration/relay.sh makes them ----
say "mode=$MODE runs=$RUNS dir=$W ($(stat -f -c %T "$W"))"
cd "$W" || exit 1
"$KEYS" gen --id coordinator --role coordinator --out keys >/dev/null || die "keys"
"$KEYS" gen --id relay.bench --role relay --out keys >/dev/null || die "keys"
NODES="rcv.offline"
for ((i = 0; i < SENDERS; i++)); do NODES="$NODES $(printf snd.%02d $i)"; done
for ((i = 0; i < FANOUT; i++)); do NODES="$NODES $(printf rcv.%03d $i)"; done
"$KEYS" roster init roster.json --framework bench >/dev/null || die "roster"
nb="--not-before 2020-01-01T00:00:00Z"
"$KEYS" roster add roster.json --pub keys/relay.bench.pub --country JP --org Relay $nb >/dev/null || die "roster"
for n in $NODES; do
    "$KEYS" gen --id "$n" --role partner --out keys >/dev/null || die "gen $n"
    "$KEYS" roster add roster.json --pub "keys/$n.pub" --country JP --org Bench $nb >/dev/null || die "add $n"
done
"$KEYS" roster sign roster.json --key keys/coordinator.key --out roster.signed >/dev/null || die "sign"
say "keys: $(ls keys/*.key | wc -l) key files, roster signed"

start_relay() { # DATA_DIR [PRELOAD]: starts the relay, sets RPID and EP
    rm -f "$W/ep"
    ${2:+env LD_PRELOAD="$2"} "$RELAY" --key keys/relay.bench.key --roster roster.signed \
        --coordinator keys/coordinator.pub --data "$1" --bind tcp://127.0.0.1:0 \
        --endpoint-file "$W/ep" --rate-limit 0 >>"$W/relay.log" 2>&1 &
    RPID=$!
}
await_relay() {
    local i
    for ((i = 0; i < 600; i++)); do
        grep -q tcp:// "$W/ep" 2>/dev/null && { EP=$(cat "$W/ep"); return 0; }
        kill -0 "$RPID" 2>/dev/null || die "relay exited"
        sleep 0.05
    done
    die "relay did not start within 30 s"
}
stop_relay() {
    local i
    kill -TERM "$RPID" 2>/dev/null
    for ((i = 0; i < 200; i++)); do kill -0 "$RPID" 2>/dev/null || break; sleep 0.05; done
    kill -9 "$RPID" 2>/dev/null
    wait "$RPID" 2>/dev/null
    RPID=
}
await_scrub() { # N: after a restart, until its background scrub is done
    # (the N+1-th event=log_scrubbed), so that it does not compete with a
    # measured run; none runs when the start reused no hashes. At most 60 s.
    local i
    grep 'event=log_open' "$W/relay.log" | tail -1 | grep -q 'hashes_reused=0 ' && return 0
    for ((i = 0; i < 1200; i++)); do
        [ "$(grep -c 'event=log_scrubbed' "$W/relay.log")" -gt "$1" ] && return 0
        sleep 0.05
    done
    die "the relay's scrub did not end within 60 s"
}
lg() { # loadgen with the common options
    "$LG" --keys keys --roster roster.signed --coordinator keys/coordinator.pub \
        --relay-pub keys/relay.bench.pub "$@"
}
emit() { echo "$1" >>"$RES"; }
# shellcheck source=bench/prof.sh
. "$HERE/prof.sh"

# ---- the limit: single-core verify rate, measured in this run ----
# Single-core runs alternate with runs on every core at once: whether
# NPROC verifiers get NPROC times what one gets alone on this machine (the
# issue's limit assumes they do). The single-core rate drifts on a shared
# machine within a minute, so each all-cores run is paired with the
# single-core runs just before and just after it, as (1)'s and (7)'s: the
# "after" of run r is the "before" of run r+1 (RUNS+1 single-core runs, the
# "verify" figure; both on the all-cores run's line).
NPROC=$(nproc)
vb=$("$VR" "$VERIFY_SECS") || die "verify_rate before all-cores run 0"
emit "{\"figure\":\"verify\",\"run\":0,\"data\":$vb}"
for ((r = 0; r < RUNS; r++)); do
    for ((k = 1; k < NPROC; k++)); do "$VR" "$VERIFY_SECS" >"$W/vr.$k" & done
    "$VR" "$VERIFY_SECS" >"$W/vr.0" || die "verify_rate"
    wait
    j=$(cat "$W"/vr.* | sed -n 's/.*"verify_per_s":\([0-9]*\).*/\1/p' | paste -sd, -)
    rm -f "$W"/vr.*
    [ "$(echo "$j" | tr , '\n' | grep -c .)" -eq "$NPROC" ] ||
        die "verify_rate on all $NPROC cores, run $r: got [$j]"
    va=$("$VR" "$VERIFY_SECS") || die "verify_rate after all-cores run $r"
    emit "{\"figure\":\"verify\",\"run\":$((r + 1)),\"data\":$va}"
    emit "{\"figure\":\"verify_all\",\"run\":$r,\"data\":{\"n\":$NPROC,\"per_s\":[$j]},\"verify_before\":$vb,\"verify_after\":$va}"
    say "verify on all $NPROC cores run $r: [$j] /s;" \
        "alone before $(echo "$vb" | grep -o '"verify_per_s":[0-9]*')," \
        "after $(echo "$va" | grep -o '"verify_per_s":[0-9]*')"
    vb=$va
done

# ---- the latency floor: one fdatasync of an append on the data dirs' FS ----
# A `stored` needs at least one fdatasync that starts after the submit
# arrived, so the disk's own fdatasync latency bounds figure (4) below.
for ((r = 0; r < RUNS; r++)); do
    j=$(python3 - "$W/fsync.dat" <<'PY'
import os, sys, time, json
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
buf, lat = b"x" * 1313, []
for _ in range(1000):
    os.write(fd, buf)
    t = time.perf_counter()
    os.fdatasync(fd)
    lat.append((time.perf_counter() - t) * 1000)
os.close(fd)
os.unlink(sys.argv[1])
lat.sort()
q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
print(json.dumps({"n": len(lat), "p50_ms": q(0.5), "p99_ms": q(0.99), "p999_ms": q(0.999)}))
PY
) || die "fdatasync latency"
    emit "{\"figure\":\"fsync\",\"run\":$r,\"data\":$j}"
done
say "fdatasync: $(grep -c '"fsync"' "$RES") runs"

# ---- (1) throughput, (4) latency, (5) fan-out on one relay ----
start_relay "$W/data"
await_relay
# The limit of (1) is paired with each run, as (7)'s: the single-core
# verify rate drifts on a shared machine within a minute, so the runs at
# the start are too far away. A verify_rate run (the relay idle) just
# before each throughput run and one after the last: run r is bracketed
# by verify runs r and r+1 (RUNS+1 in all), both on its line.
vb=$("$VR" "$VERIFY_SECS") || die "verify_rate before throughput run 0"
for ((r = 0; r < RUNS; r++)); do
    j=$(lg --relay "$EP" --mode load --senders "$SENDERS" --recipients 0 \
        --to rcv.offline --count "$TP_COUNT" --window 256 --relay-pid "$RPID" \
        --timeout-ms 120000) || die "throughput run $r: $j"
    va=$("$VR" "$VERIFY_SECS") || die "verify_rate after throughput run $r"
    emit "{\"figure\":\"throughput\",\"run\":$r,\"data\":$j,\"verify_before\":$vb,\"verify_after\":$va}"
    say "throughput run $r: $(echo "$j" | grep -o '"rate":[0-9.]*');" \
        "verify_rate before $(echo "$vb" | grep -o '"verify_per_s":[0-9]*')," \
        "after $(echo "$va" | grep -o '"verify_per_s":[0-9]*')"
    vb=$va
done
# steal and all jiffies of the machine (/proc/stat), to see how much of its
# CPU time the host took during a run
# (bash arithmetic: mawk prints large sums in floating point), into
# JIF_STEAL and JIF_ALL; dies when /proc/stat cannot be read, rather than
# report a steal of 0 (run in this shell, not in a subshell, so that die
# ends the bench)
cpu_jiffies() {
    local c u n s i w q sq st
    read -r c u n s i w q sq st _ </proc/stat || die "/proc/stat unreadable"
    [ "$c" = cpu ] && [ -n "$st" ] || die "/proc/stat: no steal field"
    JIF_STEAL=$st JIF_ALL=$((u + n + s + i + w + q + sq + st))
}
for ((r = 0; r < RUNS; r++)); do
    cpu_jiffies
    st0=$JIF_STEAL tot0=$JIF_ALL
    j=$(lg --relay "$EP" --mode load --senders 1 --recipients 1 \
        --count $((LAT_RATE * LAT_SECS)) --rate $LAT_RATE --window 100000 \
        --relay-pid "$RPID" --timeout-ms 60000) || die "latency run $r: $j"
    cpu_jiffies
    st1=$JIF_STEAL tot1=$JIF_ALL
    emit "{\"figure\":\"latency\",\"run\":$r,\"data\":$j,\"steal\":$((st1 - st0)),\"jiffies\":$((tot1 - tot0))}"
    say "latency run $r: $(echo "$j" | grep -o '"stored_p99_ms":[0-9.]*'), steal $((st1 - st0)) of $((tot1 - tot0)) jiffies"
done
# The machine's own pauses, which put a floor under any latency:
# bench/hiccup (sleeps 1 ms at a time, counts the wake-ups over 2 ms late,
# reads the steal time) on the quiet machine, then beside one more latency
# run, not counted above: the probe's wake-ups cost the machine a little.
j=$("$HC" "$LAT_SECS" 2) || die "hiccup: $j"
emit "{\"figure\":\"pauses_idle\",\"run\":0,\"data\":$j}"
"$HC" "$LAT_SECS" 2 >"$W/hiccup.out" &
hc=$!
j=$(lg --relay "$EP" --mode load --senders 1 --recipients 1 \
    --count $((LAT_RATE * LAT_SECS)) --rate $LAT_RATE --window 100000 \
    --relay-pid "$RPID" --timeout-ms 60000) || die "latency run beside hiccup: $j"
wait "$hc" || die "hiccup beside the latency run"
emit "{\"figure\":\"pauses\",\"run\":0,\"data\":$(cat "$W/hiccup.out"),\"latency\":$j}"
say "pauses beside a latency run: $(cat "$W/hiccup.out")"
# (4) into a real node's inbox: renrakud as rcv.000 (a fresh state dir
# each run) verifies, opens and writes each notice before it confirms;
# loadgen watches its inbox folder. At the target's rate, and at a rate
# the node keeps up with.
# Each run's state dir is new and the old ones stay until the bench ends:
# on ext4 without a journal, deleting thousands of files makes creating
# new ones slow for the next one to five minutes (the kernel scans past
# every recently freed inode, find_inode_bit -> recently_deleted), and
# (4c) would measure the bench's own clean-up.
node_run() { # FIGURE RUN RATE SECS [trace|hiccup]
    local i npid tp='' hc='' nd="$W/node.$1.$2${5:+.$5}"
    : >"$W/node.log"
    "$D" --key keys/rcv.000.key --roster roster.signed \
        --coordinator keys/coordinator.pub --state "$nd" --relay "$EP" \
        >>"$W/node.log" 2>&1 &
    npid=$!
    for ((i = 0; i < 200; i++)); do
        grep -q "event=welcome" "$W/node.log" && break
        kill -0 "$npid" 2>/dev/null || die "renrakud exited: $(tail -3 "$W/node.log")"
        sleep 0.05
    done
    grep -q "event=welcome" "$W/node.log" || die "renrakud got no welcome within 10 s"
    if [ "${5:-}" = trace ]; then
        # Where the node's time goes: its system calls, timed by perf trace.
        perf trace -s -p "$npid" -o "$W/node.trace" >/dev/null 2>&1 &
        tp=$!
        sleep 0.5
    fi
    if [ "${5:-}" = hiccup ]; then
        # The machine's pauses during the run, as (4b) beside the relay
        # alone: one second longer than the sending, to cover the
        # loadgen's start and the last records.
        "$HC" $(($4 + 1)) 2 >"$W/node.hiccup" &
        hc=$!
    fi
    cpu_jiffies
    st0=$JIF_STEAL tot0=$JIF_ALL
    j=$(lg --relay "$EP" --mode load --senders 1 --recipients 0 --to rcv.000 \
        --notice --inbox "$nd/inbox" --count $(($3 * $4)) --rate "$3" \
        --window 100000 --relay-pid "$RPID" --timeout-ms 180000) ||
        die "node run $1 $2: $j"
    cpu_jiffies
    st1=$JIF_STEAL tot1=$JIF_ALL
    if [ -n "$hc" ]; then
        wait "$hc" || die "hiccup beside node run $1 $2"
    fi
    if [ -n "$tp" ]; then
        kill -INT "$tp" 2>/dev/null
        wait "$tp" 2>/dev/null
    fi
    kill -TERM "$npid"
    wait "$npid" || die "renrakud did not stop cleanly: $(tail -3 "$W/node.log")"
    if [ -n "$tp" ]; then
        j=$(python3 "$HERE/trace_split.py" "$W/node.trace" renrakud $(($3 * $4))) ||
            j='{"why":"perf trace output not understood"}'
        emit "{\"figure\":\"node_trace\",\"run\":0,\"data\":$j}"
        return 0
    fi
    if [ -n "$hc" ]; then
        emit "{\"figure\":\"$1\",\"run\":$2,\"data\":$(cat "$W/node.hiccup"),\"latency\":$j,\"steal\":$((st1 - st0)),\"jiffies\":$((tot1 - tot0))}"
        say "pauses beside node run $1 $2: $(cat "$W/node.hiccup"); $(echo "$j" | grep -o '"inbox_p99_ms":[0-9.]*')"
        return 0
    fi
    emit "{\"figure\":\"$1\",\"run\":$2,\"data\":$j,\"steal\":$((st1 - st0)),\"jiffies\":$((tot1 - tot0))}"
    say "$1 run $2: $(echo "$j" | grep -o '"inbox_p99_ms":[0-9.]*\|"inbox_rate":[0-9.]*' | tr '\n' ' ') steal $((st1 - st0)) of $((tot1 - tot0)) jiffies"
}
for ((r = 0; r < NODE_RUNS; r++)); do
    node_run node_fast "$r" "$LAT_RATE" "$NODE_FAST_SECS"
    node_run node_slow "$r" "$NODE_SLOW_RATE" "$NODE_SLOW_SECS"
done
# One more run as (4c)'s, not counted there, with bench/hiccup beside it:
# the machine's pauses during a node run, against (4b)'s beside the relay
# alone.
node_run node_pauses 0 "$LAT_RATE" "$NODE_FAST_SECS" hiccup
# What brings those pauses (row 4g): bench/hiccup beside stand-ins for a
# node run's parts, with no renraku process running: nothing, one busy CPU
# (ioload spin), the node's writes without its CPU (ioload disk: a new
# 4 KiB file, a 4 KiB journal append and its fdatasync, LAT_RATE a second)
# and both at once, one after the other.
for what in idle spin disk both; do
    io="$W/ioload.$what" pids=()
    mkdir -p "$io"
    case $what in spin | both)
        "$IO" spin $((PAUSE_SECS + 1)) >/dev/null 2>"$io.err" &
        pids+=($!) ;;
    esac
    case $what in disk | both)
        "$IO" disk "$io" $((PAUSE_SECS + 1)) "$LAT_RATE" >"$io.out" 2>"$io.err" &
        pids+=($!) ;;
    esac
    sleep 0.5
    j=$("$HC" "$PAUSE_SECS" 2) || die "hiccup beside ioload $what: $j"
    for p in "${pids[@]}"; do
        wait "$p" || die "ioload $what: $(cat "$io.err")"
    done
    emit "{\"figure\":\"load_pauses_$what\",\"run\":0,\"data\":$j,\"load\":$(cat "$io.out" 2>/dev/null || echo null)}"
    say "pauses beside ioload $what: $j"
done
# What sets (4c)'s tail (row 4h, a diagnostic, never a figure): runs as
# (4c)'s with the relay's fsync, fdatasync and syncfs made no-ops
# (bench/nosync.c, preloaded), so that only the node syncs the disk, as
# with the relay on a machine of its own (the relay then guarantees
# nothing), each paired with a run right after it with the relay as it is,
# so that both see the same machine; NODE_RUNS pairs.
# Each restart waits for the relay's background scrub (the log hashed
# again) before the run.
for ((r = 0; r < NODE_RUNS; r++)); do
    stop_relay
    n=$(grep -c 'event=log_scrubbed' "$W/relay.log")
    start_relay "$W/data" "$B/bench/libnosync.so"
    await_relay
    await_scrub "$n"
    node_run node_relay_nosync "$r" "$LAT_RATE" "$NODE_FAST_SECS"
    stop_relay
    n=$(grep -c 'event=log_scrubbed' "$W/relay.log")
    start_relay "$W/data"
    await_relay
    await_scrub "$n"
    node_run node_relay_sync "$r" "$LAT_RATE" "$NODE_FAST_SECS"
done
# One more slow run under perf trace, not counted above: what limits (4c).
# Not in the quick run, which must stay under 2 minutes.
if [ $MODE = quick ]; then
    emit '{"figure":"node_trace","run":0,"data":{"why":"not in the quick run"}}'
elif [ -n "$PERF_OK" ] && perf trace -s -o "$W/probe.trace" true >/dev/null 2>&1; then
    node_run node_slow 0 "$NODE_SLOW_RATE" "$NODE_SLOW_SECS" trace
else
    emit '{"figure":"node_trace","run":0,"data":{"why":"perf trace does not run here"}}'
fi
j=$(lg --relay "$EP" --mode fanout --recipients "$FANOUT" --alerts "$RUNS" \
    --timeout-ms 60000) || die "fan-out: $j"
emit "{\"figure\":\"fanout\",\"run\":0,\"data\":$j}"
say "fan-out: $(echo "$j" | grep -o '"last_delivered_ms":\[[^]]*\]')"
# One more throughput run under perf, not counted above: what limits (1).
# Last on this relay: perf writing its file leaves the relay quiet for a
# second, when it forks a child to write its state snapshot, whose writes
# would compete with the fdatasyncs of a latency run right after.
prof_run mode1 "$RPID" lg --relay "$EP" --mode load --senders "$SENDERS" \
    --recipients 0 --to rcv.offline --count "$TP_COUNT" --window 256 \
    --timeout-ms 120000
stop_relay

# ---- (6) recovery: a large log built with relay_log + record ----
j=$("$MK" --data "$W/big" --relay-key keys/relay.bench.key --keys keys \
    --roster roster.signed --coordinator keys/coordinator.pub \
    --records "$LOG_RECORDS" --pending "$LOG_PENDING") || die "mklog"
bytes=$(cat "$W"/big/log/*.seg | wc -c)
emit "{\"figure\":\"mklog\",\"run\":0,\"data\":$j,\"log_bytes\":$bytes}"
say "log built: $j ($bytes bytes)"
sync
# Run 0 is the first start on that log: no state snapshot yet (the relay
# writes one as it serves and at its clean stop). Runs 1..RUNS are
# restarts, the case the target is about. Each run waits for the
# background scrub (every record hashed again) and reports its time too.
for ((r = 0; r <= RUNS; r++)); do
    : >"$W/relay.log"
    t0=$(date +%s%N)
    start_relay "$W/big"
    j=$(lg --mode probe --ep-file "$W/ep" --timeout-ms 60000) || die "recovery run $r"
    t1=$(date +%s%N)
    scrub=null
    for ((i = 0; i < 1200; i++)); do
        s=$(sed -n 's/.*event=log_scrubbed records=[0-9]* ms=\([0-9]*\).*/\1/p' "$W/relay.log" | tail -1)
        [ -n "$s" ] && { scrub=$s; break; }
        grep -q "event=log_corrupt" "$W/relay.log" && die "recovery run $r: the scrub found a corrupt record"
        sleep 0.05
    done
    kind=restart
    [ $r -eq 0 ] && kind=first
    grep -q "event=state_loaded" "$W/relay.log" && st=true || st=false
    emit "{\"figure\":\"recovery\",\"run\":$r,\"kind\":\"$kind\",\"state_loaded\":$st,\"data\":$j,\"serve_ms\":$(((t1 - t0) / 1000000)),\"scrub_ms\":$scrub}"
    say "recovery run $r ($kind, state snapshot used: $st): $(((t1 - t0) / 1000000)) ms, scrub ${scrub} ms"
    stop_relay
done

# ---- (7) audit: renraku-audit verify on that same log ----
# As the relay left it (its relay records and checkpoints included). Each
# verify run with every core is paired with verify_rate runs just before
# and after it (their mean is its limit); RUNS runs (about 30 s each on
# 1,000,000 records).
AUDIT_RUNS=${AUDIT_RUNS:-$RUNS}
VKEY=$("$RELAY" --print-vkey --key keys/relay.bench.key) || die "relay vkey"
bash "$HERE/bench_audit.sh" "$B" --measure "$W/big" "$VKEY" keys/coordinator.pub \
    "$AUDIT_RUNS" "$(nproc)" "$VERIFY_SECS" >"$W/audit.jsonl" || die "audit verify"
cat "$W/audit.jsonl" >>"$RES"
say "audit: $(grep -o '"signatures_per_s": [0-9]*' "$W/audit.jsonl" | tr '\n' ' ')"
# One more verify under perf, not counted above: what limits (7).
prof_cmd audit "$B/clients/renraku-audit" verify "$W/big" --vkey "$VKEY" \
    --coordinator keys/coordinator.pub --threads "$(nproc)"

# ---- (8) scale: 2,000 connected nodes on one relay ----
# bench_scale.sh makes its own keys and roster, raises the open-files
# limit, starts a fresh relay per run and appends its JSON lines here.
QUICK=$QUICK BENCH_DIR=$BENCH_DIR bash "$HERE/bench_scale.sh" "$B" "$RES" ||
    say "scale: a run failed; the report shows what it measured"

# ---- (2) mode 2 vs a bare forwarder, (3) mosquitto and nats-server ----
# bench_peers.sh makes its own keys, starts the relay (--verify-at
# recipients), bench/fwd and the two brokers, and appends its JSON lines.
QUICK=$QUICK BENCH_DIR=$BENCH_DIR bash "$HERE/bench_peers.sh" "$B" "$RES" || die "peers"

# ---- the report ----
FSTYPE=$(df --output=fstype "$W" | tail -1) FSDEV=$(df --output=source "$W" | tail -1)
FSJOURNAL=
if [ "$FSTYPE" = ext4 ] && [ -d /proc/fs/jbd2 ]; then
    # jbd2 lists the journals the kernel runs, by the kernel's name of the
    # device (vda-8, dm-0-8), which df's source may not be (/dev/root)
    majmin=$(findmnt -no MAJ:MIN -T "$W" 2>/dev/null | tr -d ' ')
    kdev=
    [ -n "$majmin" ] && kdev=$(basename "$(readlink -f "/sys/dev/block/$majmin")")
    if [ -n "$kdev" ] && [ -e "/sys/class/block/$kdev" ]; then
        if ls /proc/fs/jbd2 | grep -q "^$kdev-"; then
            FSJOURNAL=", with a journal"
        else
            FSJOURNAL=", without a journal"
        fi
    fi
fi
{
    echo "{\"figure\":\"meta\",\"data\":{"
    echo "\"mode\":\"$MODE\",\"runs\":$RUNS,"
    echo "\"date\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\","
    echo "\"nproc\":$(nproc),"
    echo "\"cpu\":\"$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //; s/"/ /g')\","
    echo "\"mem\":\"$(free -h | awk '/^Mem:/ {print $2}')\","
    echo "\"kernel\":\"$(uname -sr)\","
    echo "\"fs\":\"$FSTYPE ($FSDEV$FSJOURNAL), $BENCH_DIR\","
    echo "\"gcc\":\"$(gcc -dumpfullversion 2>/dev/null)\","
    echo "\"libzmq\":\"$(pkg-config --modversion libzmq)\","
    echo "\"libsodium\":\"$(pkg-config --modversion libsodium)\","
    echo "\"protobufc\":\"$(pkg-config --modversion libprotobuf-c)\","
    echo "\"workers\":$(nproc),\"senders\":$SENDERS,\"fanout\":$FANOUT,"
    echo "\"tp_count\":$TP_COUNT,\"verify_secs\":$VERIFY_SECS,\"lat_rate\":$LAT_RATE,\"lat_secs\":$LAT_SECS,"
    echo "\"node_slow_rate\":$NODE_SLOW_RATE,\"node_fast_secs\":$NODE_FAST_SECS,\"node_slow_secs\":$NODE_SLOW_SECS,"
    echo "\"log_records\":$LOG_RECORDS,\"log_pending\":$LOG_PENDING,"
    echo "\"command\":\"make bench${QUICK:+ QUICK=1}\","
    echo "\"seconds\":$(($(date +%s) - T_START))}}"
} | tr -d '\n' >>"$RES"
echo >>"$RES"
python3 "$HERE/report.py" "$RES" "$OUT" || die "report"
cp "$RES" "${OUT%.md}.jsonl"
say "wrote $OUT in $(($(date +%s) - T_START)) s"
