#!/usr/bin/env python3
"""Where a process's CPU went, from a `perf record -e cpu-clock` file.

Usage: perf_split.py PERF.DATA. Prints one JSON object: the number of
samples, the share of samples per (thread name, shared object), and the
hottest symbols outside libsodium (whose symbols Debian strips). Used by
bench/bench.sh and bench/bench_peers.sh to say what limits a figure.
"""
import json
import re
import subprocess
import sys


def report(path, sort):
    out = subprocess.run(
        ["perf", "report", "-i", path, "--no-children", "--sort", sort,
         "-g", "none", "--stdio", "-t", ";"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
    rows, samples = [], 0
    for line in out.splitlines():
        m = re.match(r"# Samples: (\d+)([KM]?)", line)
        if m:
            samples = int(m.group(1)) * {"": 1, "K": 1000, "M": 1000000}[m.group(2)]
        if line.startswith("#") or not line.strip():
            continue
        parts = [p.strip() for p in line.split(";")]
        if len(parts) >= 3 and parts[0].endswith("%"):
            rows.append([float(parts[0][:-1])] + parts[1:])
    return rows, samples


def main():
    path = sys.argv[1]
    by, samples = report(path, "comm,dso")
    syms, _ = report(path, "dso,sym")
    top = [[r[1], r[2].replace("[.] ", "").replace("[k] ", ""), r[0]]
           for r in syms if "libsodium" not in r[1]][:12]
    print(json.dumps({
        "samples": samples,
        "by_thread_dso": [[r[1], r[2], r[0]] for r in by],
        "top_outside_libsodium": top}))


if __name__ == "__main__":
    main()
