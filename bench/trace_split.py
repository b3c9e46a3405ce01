#!/usr/bin/env python3
"""Sums a `perf trace -s` summary for one program's threads.

Usage: trace_split.py TRACE COMM N. Prints one JSON object: per system
call (calls, total ms, ms per notice over N notices), sorted by total
time, without the calls that only wait for work (poll, epoll_wait).
"""
import json
import re
import sys

WAITS = {"poll", "epoll_wait", "ppoll", "futex", "restart_syscall"}


def main():
    path, comm, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    calls = {}
    mine = False
    with open(path) as f:
        for line in f:
            head = re.match(r"^\s*(\S.*?) \((\d+)\), \d+ events", line)
            if head:
                mine = head.group(1) == comm
                continue
            row = re.match(r"^\s+([a-z_0-9]+)\s+(\d+)\s+(\d+)\s+([\d.]+)\s",
                           line)
            if mine and row and row.group(1) not in WAITS:
                c = calls.setdefault(row.group(1), [0, 0.0])
                c[0] += int(row.group(2))
                c[1] += float(row.group(4))
    if not calls:
        sys.exit(1)
    top = sorted(calls.items(), key=lambda kv: -kv[1][1])
    print(json.dumps({
        "notices": n,
        "total_ms": round(sum(v[1] for v in calls.values()), 1),
        "calls": [{"name": k, "calls": v[0], "total_ms": round(v[1], 1),
                   "ms_per_notice": round(v[1] / n, 3)} for k, v in top[:8]],
    }))


if __name__ == "__main__":
    main()
