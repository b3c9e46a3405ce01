#!/usr/bin/env bash
# Figure (7) of issue 7: renraku-audit verify, signatures (and records) per
# second, against the limit = cores x single-core Ed25519 verify rate
# (bench/verify_rate), each run paired with verify_rate runs just before
# and just after it (their mean is the run's limit), so both see the same
# machine.
#
#   bench_audit.sh BUILD_DIR [RECORDS] [RUNS]
#       standalone: builds a log with bench/mklog (genuine signed, sealed
#       envelopes; each but the last RECORDS/10 followed by a delivered record),
#       verifies it RUNS times (default 3) with every core and once with 1
#       thread, writes bench/BENCHMARKS-audit.md (OUT=... to write
#       elsewhere) and prints the JSON lines. RECORDS default 100000.
#   bench_audit.sh BUILD_DIR --measure LOGDIR VKEY COORD.pub RUNS THREADS [VERIFY_SECS]
#       what make bench (bench/bench.sh) calls on its recovery log: RUNS
#       pairs of (verify_rate, renraku-audit verify --threads THREADS), one
#       JSON line each: {"figure":"audit","run":R,"data":{...}}.
set -euo pipefail
B=$(realpath "$1")
ROOT=$(cd "$(dirname "$0")/.." && pwd)
AUDIT=$B/clients/renraku-audit VR=$B/bench/verify_rate

# measure LOGDIR VKEY COORD RUNS THREADS VERIFY_SECS: JSON lines on stdout.
measure() {
    local r j a
    for ((r = 0; r < $4; r++)); do
        j=$("$VR" "$6")
        a=$(python3 - "$AUDIT" "$1" "$2" "$3" "$5" <<'PY'
import json, re, resource, subprocess, sys, time
audit, log, vkey, coord, threads = sys.argv[1:6]
cmd = [audit, "verify", log, "--vkey", vkey, "--coordinator", coord,
       "--threads", threads]
r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
t0 = time.monotonic()
p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                   text=True)
t1 = time.monotonic()
r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
out = p.stdout
if p.returncode != 0 or "verified: no problem found" not in out:
    sys.stderr.write(out)
    sys.exit(1)
rec = int(re.search(r"^records (\d+)", out, re.M).group(1))
sig = int(re.search(r"^envelope signatures (\d+) verified", out, re.M).group(1))
cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
print(json.dumps({"threads": int(threads), "records": rec, "signatures": sig,
                  "seconds": round(t1 - t0, 3), "cpu_s": round(cpu, 3),
                  "records_per_s": round(rec / (t1 - t0)),
                  "signatures_per_s": round(sig / (t1 - t0)),
                  "signatures_per_cpu_s": round(sig / cpu) if cpu else 0}))
PY
)
        j2=$("$VR" "$6")
        j=$(python3 -c '
import json, sys
b, a = json.loads(sys.argv[1]), json.loads(sys.argv[2])
m = {k: round((b[k] + a[k]) / 2) for k in ("verify_per_s", "verify_per_cpu_s")}
m["before"], m["after"] = b, a
print(json.dumps(m))' "$j" "$j2")
        echo "{\"figure\":\"audit\",\"run\":$r,\"data\":$a,\"verify\":$j}"
    done
}

if [ "${2:-}" = --measure ]; then
    measure "$3" "$4" "$5" "$6" "$7" "${8:-2}"
    exit 0
fi

N=${2:-100000}
RUNS=${3:-3}
OUT=${OUT:-$ROOT/bench/BENCHMARKS-audit.md}
KEYS=$B/keys/renraku-keys RELAY=$B/relay/renraku-relay
W=$(mktemp -d /var/tmp/rk-bench-audit-XXXXXX)
trap 'rm -rf "$W"' EXIT
cd "$W"
nb="--not-before 2020-01-01T00:00:00Z"
"$KEYS" gen --id coordinator --role coordinator --out keys >/dev/null
"$KEYS" gen --id relay.bench --role relay --out keys >/dev/null
for n in snd.00 rcv.offline; do "$KEYS" gen --id $n --role partner --out keys >/dev/null; done
"$KEYS" roster init roster.json --framework bench >/dev/null
for n in relay.bench snd.00 rcv.offline; do
    "$KEYS" roster add roster.json --pub keys/$n.pub --country JP --org "$n" $nb >/dev/null
done
"$KEYS" roster sign roster.json --key keys/coordinator.key --out roster.signed >/dev/null
"$B/bench/mklog" --data data --relay-key keys/relay.bench.key --keys keys \
    --roster roster.signed --coordinator keys/coordinator.pub \
    --records "$N" --pending $((N / 10)) >mklog.json
VKEY=$("$RELAY" --print-vkey --key keys/relay.bench.key)
cores=$(nproc)
measure data "$VKEY" keys/coordinator.pub "$RUNS" "$cores" 2 >res.jsonl
measure data "$VKEY" keys/coordinator.pub 1 1 2 | sed 's/"figure":"audit"/"figure":"audit1"/' >>res.jsonl
cat res.jsonl
python3 - res.jsonl "$cores" "$N" "$RUNS" "$OUT" $((N / 10)) <<'PY'
import datetime, json, platform, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
cores, n, runs, out = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
pending = int(sys.argv[6])
allc = [r for r in rows if r["figure"] == "audit"]
one = [r for r in rows if r["figure"] == "audit1"][0]
med = statistics.median
ratios = [r["data"]["signatures_per_s"] / (cores * r["verify"]["verify_per_s"]) for r in allc]
cpu_ratios = [r["data"]["signatures_per_cpu_s"] / r["verify"]["verify_per_cpu_s"] for r in allc]
d = allc[0]["data"]
rate_n = med([r["data"]["signatures_per_s"] for r in allc])
rec_n = med([r["data"]["records_per_s"] for r in allc])
vr = med([r["verify"]["verify_per_s"] for r in allc])
sec_n = med([r["data"]["seconds"] for r in allc])
used = med([r["data"]["cpu_s"] / r["data"]["seconds"] for r in allc])
ratio = med(ratios)
speedup = one["data"]["seconds"] / sec_n
with open(out, "w") as f:
    f.write(f"""# renraku-audit verify: rate against the signature-verification limit

Generated by `bash bench/bench_audit.sh BUILD_DIR {n} {runs}` on {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')} ({cores} cores, {platform.machine()}; a shared machine: absolute figures are noisy, so every verify run is paired with `bench/verify_rate` runs just before and just after it, their mean is its limit, and the ratio is taken per pair). `make bench` measures the same figure on its 1,000,000-record recovery log (row 7 of BENCHMARKS.md).

Log: {d['records']:,} records from `bench/mklog` (genuine signed, sealed 1 KiB envelopes, each accepted record but the last {pending:,} followed by a delivered record): {d['signatures']:,} signatures to check.

| figure | value: median of {runs} (min–max) |
|---|---|
| single-core Ed25519 verify rate (`bench/verify_rate`, `crypto_sign_verify_detached` alone) | {vr:,.0f} /s |
| `verify --threads {cores}` | {sec_n:.2f} s: {rec_n:,.0f} records/s, {rate_n:,.0f} signatures/s; {used:.2f} cores used |
| **ratio** = signatures/s ÷ ({cores} × verify rate of its pair) | **{ratio:.2f}** ({min(ratios):.2f}–{max(ratios):.2f}); target ≥ 0.8: {'pass' if ratio >= 0.8 else 'MISSED'} |
| signatures per CPU-second ÷ verify rate per CPU-second (noise-robust: the share of its CPU `verify` spends on what the limit counts) | {med(cpu_ratios):.2f} |
| `verify --threads 1` (one run) | {one['data']['seconds']:.2f} s: {one['data']['signatures_per_s']:,.0f} signatures/s |
| speed-up {cores} threads vs 1 | {speedup:.2f}× |

`verify` also reads every record, checks its frame, recomputes the Merkle
tree, decodes every record and envelope, checks the roster of its time and
the receipts, and checks the checkpoints; those costs are in the times.
""")
PY
echo "wrote $OUT" >&2
