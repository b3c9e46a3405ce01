#!/usr/bin/env python3
"""Writes bench/BENCHMARKS.md from the JSON lines bench.sh collected.

Usage: report.py RESULTS.jsonl OUT.md. Every number in the output comes
from RESULTS.jsonl; nothing is typed by hand.
"""
import json
import os
import statistics
import sys


def load(path):
    out = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                r = json.loads(line)
                out.setdefault(r["figure"], []).append(r)
    return out


def med(xs):
    return statistics.median(xs), min(xs), max(xs)


def fmt(x, nd=0):
    return f"{x:,.{nd}f}"


def spread(xs, nd=0, unit=""):
    m, lo, hi = med(xs)
    return f"{fmt(m, nd)}{unit} ({fmt(lo, nd)}–{fmt(hi, nd)})"


# ---- (4) into a real node's inbox ----

# What renrakud's system calls in the (4c) trace are for, said of those
# among the top four.
SYSCALL_WHAT = {
    "openat": "creating the files of a notice (unnamed) and reading",
    "linkat": "putting each file in place",
    "rename": "putting a file in place from a temporary name",
    "fdatasync": "the journal's, one a burst",
    "syncfs": "a checkpoint",
    "write": "the files, the journal and the log lines",
    "pwrite64": "the journal",
    "getpid": "libzmq's check for a fork, at each of its socket calls",
    "newfstatat": "whether a notice is already in the inbox",
}

NODE_WHAT = (
    "renrakud checks the signature against the roster, opens the envelope, "
    "decodes the notice and writes the envelope and its record (the "
    "deliveries read together as one burst: unnamed files (O_TMPFILE), "
    "every file appended to the node's journal and one fdatasync, then "
    "each file linked into place) before it confirms; timed when the "
    "record appears in the inbox, by inotify")


def node_rows(res, meta, rows):
    """Rows (4c)-(4e): submit -> in renrakud's inbox."""
    if "node_fast" not in res:
        rows.append(("(4) latency submit → in a partner node's inbox",
                     "not measured in this run", "–", "–", "p99 < 5 ms",
                     "MISSED", NODE_WHAT))
        return
    fast = [r["data"] for r in res["node_fast"]]
    slow = [r["data"] for r in res.get("node_slow", [])]

    def pct(ds):
        return (f"{spread([d['inbox_p50_ms'] for d in ds], 2)} / "
                f"{spread([d['inbox_p99_ms'] for d in ds], 2)} / "
                f"{spread([d['inbox_p999_ms'] for d in ds], 2)} ms")
    p99 = med([d["inbox_p99_ms"] for d in fast])[0]
    rows.append((
        f"(4c) latency submit → in a partner node's inbox (renrakud) at "
        f"{meta['lat_rate']:,} msg/s for {meta.get('node_fast_secs', '?')} "
        f"s, p50 / p99 / p99.9 ({len(fast)} "
        f"{'run' if len(fast) == 1 else 'runs'})", pct(fast), "–", "–",
        "p99 < 5 ms", "pass" if p99 < 5.0 else "MISSED",
        NODE_WHAT + "; every notice reached the inbox"
        if all(d["in_inbox"] == d["count"] for d in fast) else NODE_WHAT))
    rows.append((
        "(4d) the node's pace in those runs: records into its inbox per "
        "second, from the first send to the last record",
        spread([d["inbox_rate"] for d in fast], 0, " msg/s"), "–", "–",
        "(info)", "",
        "above this rate deliveries wait in the relay's queue (credit "
        "window), and the latency of (4c) grows with the run's length"))
    if slow:
        rows.append((
            f"(4e) same at {meta.get('node_slow_rate', '?')} msg/s for "
            f"{meta.get('node_slow_secs', '?')} s, a rate the node keeps up "
            "with, p50 / p99 / p99.9", pct(slow), "–", "–", "(info)", "",
            "the node's own write path, without queueing"))


def nosync_pairs(res):
    """Row (4h)'s pairs: (nosync p99, sync p99) per run, in run order. A
    result file from before the pairs has one nosync run and no pair."""
    sync = {r["run"]: r["data"] for r in res.get("node_relay_sync", [])}
    return [(r["data"], sync.get(r["run"]))
            for r in res.get("node_relay_nosync", [])]


def nosync_row(res, rows):
    """Row (4h): runs as (4c)'s with the relay's syncs made no-ops, each
    paired with one with the relay as it is, right after."""
    pairs = nosync_pairs(res)
    if not pairs:
        return
    ns = [d for d, _ in pairs]
    sy = [d for _, d in pairs if d]
    p99n = [d["inbox_p99_ms"] for d in ns]
    val = (f"relay's syncs off: {med([d['inbox_p50_ms'] for d in ns])[0]:.2f}"
           f" / {spread(p99n, 2)} / "
           f"{med([d['inbox_p999_ms'] for d in ns])[0]:.2f} ms")
    if sy:
        val += (f"; paired runs with them on: "
                f"{med([d['inbox_p50_ms'] for d in sy])[0]:.2f} / "
                f"{spread([d['inbox_p99_ms'] for d in sy], 2)} / "
                f"{med([d['inbox_p999_ms'] for d in sy])[0]:.2f} ms")
    rows.append((
        f"(4h) what sets (4c)'s tail, a diagnostic (never a figure): "
        f"{len(ns)} run{'s' if len(ns) > 1 else ''} as (4c)'s with the "
        "relay's fsync, fdatasync and syncfs made no-ops (`bench/nosync.c`, "
        "preloaded)" + (", each followed by one with the relay as it is"
                        if sy else "") + ", p50 / p99 / p99.9",
        val, "–", "–", "(info)", "",
        "only the node syncs the disk, as with the relay on a machine of "
        "its own; the relay guarantees nothing in those runs"))


def nosync_text(res):
    """What row (4h) says, for the (4c) paragraph; empty without it."""
    pairs = nosync_pairs(res)
    if not pairs or "node_fast" not in res:
        return ""
    off = med([d["inbox_p99_ms"] for d, _ in pairs])[0]
    on_l = [d["inbox_p99_ms"] for _, d in pairs if d]
    c4 = med([r["data"]["inbox_p99_ms"] for r in res["node_fast"]])[0]
    on = med(on_l)[0] if on_l else c4
    if c4 < 5.0:
        # (4c) met: the pairs say how far the same runs moved later on.
        t = (f"(4c) met its target in this run (p99 {c4:.2f} ms). The "
             f"runs of row 4h, later in the bench, gave p99 {off:.2f} ms "
             "with the relay's syncs off")
        if not on_l:
            return t + ". "
        t += f" against {on:.2f} ms with them on"
        if on > 2 * c4:
            return t + (f": runs as (4c)'s, minutes later, each after a "
                        f"relay restart, {on / c4:.1f} times (4c)'s p99: "
                        "on this machine (4c) moves this much within one "
                        "bench. ")
        return t + ". "

    t = (f"With the relay's syncs taken off the disk (row 4h, median of "
         f"{len(pairs)} run{'s' if len(pairs) > 1 else ''}), the node's p99 "
         f"was {off:.2f} ms, against {on:.2f} ms "
         + ("in the runs paired with them, the relay as it is: "
            if on_l else "in (4c): "))
    if off < 5.0 <= on:
        return t + ("the target is met once the node is the only process "
                    "syncing the disk. On this one machine the relay's and "
                    "the node's fdatasyncs share one disk and wait for each "
                    "other; a relay and a node on machines of their own "
                    "do not. ")
    if off < 0.7 * on:
        return t + ("the relay's syncs on the same disk are a large part "
                    "of the tail. ")
    return t + "the relay's syncs are not what sets the tail here. "


def steal_text(pct):
    """A steal share, or what is known of it (hiccup says -1: unknown)."""
    return ("steal unknown" if pct < 0 else
            f"steal {pct:.1f} % of the machine's CPU time")


def pause_text(d):
    """What bench/hiccup saw, in words, from its numbers only."""
    t = (f"{d['pauses']} pause{'' if d['pauses'] == 1 else 's'} in "
         f"{d['secs']:.0f} s")
    if d["pauses"]:
        t += f", longest {d['max_ms']:.1f} ms, {d['sum_ms']:.0f} ms in all"
    if d["pauses"] > 1:
        t += f"; median gap between two {d['median_gap_ms']:.0f} ms"
    return t + "; " + steal_text(d["steal_pct"])


def pause_row(res, rows):
    """Row (4b): the machine's own pauses beside one more latency run."""
    if "pauses" not in res:
        return
    p = res["pauses"][0]
    d = p["data"]
    idle = (res.get("pauses_idle") or [{}])[0].get("data")
    text = pause_text(d)
    if idle:
        text += f"; on the quiet machine just before: {pause_text(idle)}"
    if p.get("latency"):
        text += (f"; that run's submit → `stored` p99 "
                 f"{p['latency']['stored_p99_ms']:.2f} ms")
    lat = [r for r in res.get("latency", []) if r.get("jiffies")]
    if lat:
        text += ("; during the counted runs of (4) (p99, steal): " +
                 ", ".join(f"{r['data']['stored_p99_ms']:.2f} ms "
                           f"{100 * r['steal'] / r['jiffies']:.1f} %"
                           for r in lat))
    rows.append((
        "(4b) the machine's pauses beside one more latency run (not "
        "counted in (4)): `bench/hiccup`, a process that asks for almost "
        f"no CPU, woken every {d['sleep_us'] / 1000:g} ms; "
        f"wake-ups more than {d['threshold_ms']:g} ms late", text, "–", "–",
        "(info)", "",
        "steal from /proc/stat: CPU time the host took from this virtual "
        "machine; a late wake-up is steal or a wait behind the bench's own "
        f"processes on the {res['meta'][0]['data']['nproc']} cores"))


def node_pause_row(res, rows):
    """Row (4f): the machine's pauses beside one more (4c) run, or
    nothing (older results have no such run)."""
    if "node_pauses" not in res:
        return
    p = res["node_pauses"][0]
    d = p["data"]
    text = pause_text(d)
    lat = p.get("latency") or {}
    if "inbox_p99_ms" in lat:
        text += (f"; that run's submit → inbox p50 / p99 / max "
                 f"{lat['inbox_p50_ms']:.2f} / {lat['inbox_p99_ms']:.2f} / "
                 f"{lat['inbox_max_ms']:.2f} ms")
    rows.append((
        "(4f) the machine's pauses beside one more run as (4c)'s (not "
        "counted in (4c)): `bench/hiccup` as in (4b), "
        f"wake-ups more than {d['threshold_ms']:g} ms late", text, "–", "–",
        "(info)", "",
        "steal from /proc/stat: CPU time the host took from this virtual "
        "machine, in which nothing on it runs"))


PAUSE_LOADS = (("idle", "nothing"),
               ("spin", "one busy CPU (`bench/ioload spin`)"),
               ("disk", "the node's writes without its CPU (`bench/ioload "
                        "disk`)"),
               ("both", "both at once"))


def load_pauses(res):
    """Row (4g)'s runs, {what: (data, load)}, or None (older results)."""
    if not all("load_pauses_" + w in res for w, _ in PAUSE_LOADS):
        return None
    return {w: (res["load_pauses_" + w][0]["data"],
                res["load_pauses_" + w][0]["load"])
            for w, _ in PAUSE_LOADS}


def load_pause_row(res, rows):
    """Row (4g): the machine's pauses beside stand-ins for a node run's
    parts, no renraku process running."""
    lp = load_pauses(res)
    if not lp:
        return
    disk = lp["disk"][1] or {}
    text = "; ".join(f"beside {what}: {pause_text(lp[w][0])}"
                     for w, what in PAUSE_LOADS)
    if "sync_p99_ms" in disk and "sync_p99_ms" in (lp["both"][1] or {}):
        text += ("; the journal's fdatasync in `ioload disk`, "
                 + "; ".join(f"{what}: {sync_text(lp[w][1])}"
                             for w, what in (("disk", "alone"),
                                             ("both", "beside one busy "
                                                      "CPU"))))
    rows.append((
        "(4g) what brings the pauses: `bench/hiccup` as in (4b), "
        f"{lp['idle'][0]['secs']:.0f} s beside each load in turn, no renraku "
        "process running", text, "–", "–", "(info)", "",
        f"`ioload disk`: {disk.get('rate', 0):,.0f} a second of a new 4 KiB "
        "file (not synced, as an inbox file) and a 4 KiB append to a journal "
        "with its fdatasync; `ioload spin`: one process spinning, as the "
        "bench's own processes keep the cores busy"))


def sync_text(load):
    """How long `ioload disk`'s fdatasyncs took."""
    return (f"p50 / p99 / p99.9 {load['sync_p50_ms']:.2f} / "
            f"{load['sync_p99_ms']:.2f} / {load['sync_p999_ms']:.2f} ms, "
            f"longest {load['sync_max_ms']:.1f} ms, "
            f"{load['sync_over_2ms']} of {load['ops']:,} over 2 ms")


def load_pause_text(res):
    """What row (4g) says of the cause, for the (4c) paragraph, from its
    numbers only; empty without those runs."""
    lp = load_pauses(res)
    if not lp:
        return ""
    st = {w: lp[w][0]["steal_pct"] for w, _ in PAUSE_LOADS}
    n = {w: lp[w][0]["pauses"] for w, _ in PAUSE_LOADS}
    t = ("With no renraku process running (row 4g), `bench/hiccup` saw "
         + ", ".join(f"{n[w]} pause{'' if n[w] == 1 else 's'} and "
                     f"{steal_text(st[w])} beside {what}"
                     for w, what in PAUSE_LOADS) + ". ")
    if min(st.values()) >= 0 and st["disk"] > 2 * max(st["idle"],
                                                      st["spin"], 0.1):
        t += ("The host takes CPU time from this machine when it writes: "
              "a virtual machine's disk is emulated on the host, and that "
              "work is counted here as steal. ")
    if n["both"] > 2 * max(n["idle"], n["spin"], 1):
        t += ("Writes with busy CPUs, as in a node run, bring more pauses "
              "than a busy CPU alone. ")
    alone, busy = lp["disk"][1] or {}, lp["both"][1] or {}
    rate = res["meta"][0]["data"].get("lat_rate", 1000)
    if alone.get("ops") and busy.get("ops"):
        share = {k: 100 * d["sync_over_2ms"] / d["ops"]
                 for k, d in (("alone", alone), ("busy", busy))}
        if share["busy"] > 2 * max(share["alone"], 100 / alone["ops"]):
            t += ("A busy CPU slows this machine's disk: `ioload spin` does "
                  "no I/O, yet beside it `ioload disk`'s journal fdatasync "
                  f"took over 2 ms in {share['busy']:.1f}% of its syncs "
                  f"(longest {busy['sync_max_ms']:.1f} ms), against "
                  f"{share['alone']:.1f}% (longest "
                  f"{alone['sync_max_ms']:.1f} ms) alone. A virtual "
                  "machine's disk is emulated by the host; these runs show "
                  "its syncs waiting while the machine's CPUs are busy. "
                  "In a node run the relay, the node and the load "
                  "generator keep the CPUs busy, and the node's fdatasync "
                  "before each burst's confirms is a step every notice "
                  "waits for: a sync stalled for "
                  f"{busy['sync_max_ms']:.0f} ms holds up every notice that "
                  "arrives meanwhile, about "
                  f"{rate * busy['sync_max_ms'] / 1000:.0f} "
                  f"at {rate:,} a second, so a few such stalls in a run are "
                  "more than 1% of its notices. ")
        else:
            t += ("A busy CPU did not slow the disk in these runs: "
                  "`ioload disk`'s journal fdatasync took over 2 ms in "
                  f"{share['busy']:.1f}% of its syncs beside `ioload spin` "
                  f"and in {share['alone']:.1f}% alone. ")
    return t


def steal_share_text(d, nproc):
    """Whether the host's steal can account for hiccup's pauses: the CPU
    time it took from the machine over the run against the pauses' sum."""
    if not d["pauses"] or d["steal_pct"] < 0:
        return ""
    stolen = d["steal_pct"] / 100 * d["secs"] * 1000 * nproc
    if stolen >= d["sum_ms"] / 2:
        return (f" The host took {stolen:.0f} ms of CPU time from the "
                f"machine's {nproc} CPUs over that run (steal), against "
                f"{d['sum_ms']:.0f} ms of pauses: the host's stops can "
                "account for them.")
    return (f" The host took only {stolen:.0f} ms of CPU time over that run "
            f"(steal), against {d['sum_ms']:.0f} ms of pauses: most are this "
            "machine's own, a woken process waiting for a CPU that the "
            "bench's other processes keep busy.")


def pause_limits(res, L):
    """The machine's pauses, at the end of the (4) paragraph."""
    if not {"pauses", "latency", "fsync"} <= res.keys():
        return
    d = res["pauses"][0]["data"]
    idle = (res.get("pauses_idle") or [{}])[0].get("data")
    L[-1] += (
        f" Beside one more latency run, a process that asks for almost no "
        f"CPU (row 4b) saw {pause_text(d)}"
        + (f", against {pause_text(idle)} on the quiet machine just before"
           if idle else "")
        + "."
                + steal_share_text(d, res["meta"][0]["data"]["nproc"])
        + (" While the machine is stopped nothing on it runs: a submit that "
           "arrives then is answered after it."
           if d["pauses"] and d["steal_pct"] > 0 else ""))


def scaling(res):
    """Every core verifying at once against one alone, or None. Each
    all-cores run against the mean of the single-core verify_rate runs
    bench.sh made just before and just after it (the "after" of one run
    is the "before" of the next), as (1)'s and (7)'s: the single-core rate
    drifts on a shared machine within a minute. "one": those means;
    "lim": n x each; "per_run": sum of the run's per-core rates / "lim";
    "ratio": the median of "per_run"."""
    if "verify_all" not in res:
        return None
    runs = res["verify_all"]
    if any("verify_before" not in r or "verify_after" not in r
           for r in runs):
        sys.exit("report.py: all-cores verify run without its paired "
                 "verify_rate runs (results of an older bench.sh); run the "
                 "bench again")
    n = runs[0]["data"]["n"]
    sums = [sum(r["data"]["per_s"]) for r in runs]
    one = [(r["verify_before"]["verify_per_s"] +
            r["verify_after"]["verify_per_s"]) / 2 for r in runs]
    lim = [r["data"]["n"] * o for r, o in zip(runs, one)]
    per_run = [x / y for x, y in zip(sums, lim)]
    return {"n": n, "sums": sums, "one": one, "lim": lim,
            "per_run": per_run, "ratio": med(per_run)[0]}


def tp_paired(res):
    """(1)'s throughput runs, each with its limit: the mean of the
    verify_rate runs bench.sh made just before and just after it (the
    "after" of one run is the "before" of the next), per second of wall
    clock and per CPU-second of verify_rate's thread."""
    out = []
    for r in res["throughput"]:
        if "verify_before" not in r or "verify_after" not in r:
            sys.exit("report.py: throughput run without its paired "
                     "verify_rate runs (results of an older bench.sh); "
                     "run the bench again")
        b, a = r["verify_before"], r["verify_after"]
        out.append({
            "data": r["data"],
            "v_s": (b["verify_per_s"] + a["verify_per_s"]) / 2,
            "v_cpu": (b["verify_per_cpu_s"] + a["verify_per_cpu_s"]) / 2})
    return out


def tp_verify_runs(res):
    """The RUNS+1 distinct verify_rate runs around (1)'s throughput runs,
    in order."""
    tr = res["throughput"]
    return [tr[0]["verify_before"]] + [r["verify_after"] for r in tr]


def node_pause_text(res):
    """What bench/hiccup saw beside one more (4c) run (row 4f), for the
    (4c) paragraph; empty when the results have no such run."""
    if "node_pauses" not in res:
        return ""
    p = res["node_pauses"][0]
    d = p["data"]
    lat = p.get("latency") or {}
    b = res["pauses"][0]["data"] if "pauses" in res else None
    t = (f"Beside one more such run (row 4f), `bench/hiccup` saw "
         f"{pause_text(d)}"
         + (f", against {b['pauses']} in {b['secs']:.0f} s beside the "
            "relay-only latency run of (4b)" if b else "") + ". "
         + (f"That node run's inbox p99 was {lat['inbox_p99_ms']:.2f} ms. "
            if "inbox_p99_ms" in lat else ""))
    if b and d["pauses"] and d["max_ms"] > b["max_ms"]:
        t += (f"The longest pause beside the node run ({d['max_ms']:.1f} ms) "
              f"was longer than beside the relay alone "
              f"({b['max_ms']:.1f} ms). ")
    if d["pauses"] and d["steal_pct"] > 0:
        t += (f"Over those {d['secs']:.0f} s the host took "
              f"{d['steal_pct'] * d['secs'] * 10:.0f} ms of each CPU's time "
              f"on average (steal), and the pauses add up to "
              f"{d['sum_ms']:.0f} ms; while the host stops this virtual "
              "machine nothing on it runs, and a notice sent then reaches "
              "the inbox after the pause. ")
    return t


def node_limits(res, meta, L):
    """The (4c) paragraph of "What limits each figure"."""
    if "node_fast" not in res:
        return
    rate, lo, hi = med([r["data"]["inbox_rate"] for r in res["node_fast"]])
    offered = meta["lat_rate"]
    kept_up = sum(1 for r in res["node_fast"]
                  if r["data"]["inbox_rate"] >= 0.95 * offered)
    runs = len(res["node_fast"])
    text = (
        f"- (4c) Into an inbox, the node sets the pace: renrakud took "
        f"{rate:,.0f} notices a second ({lo:,.0f}–{hi:,.0f} over the runs) "
        f"while {offered:,} were offered. "
        + ("It kept up in no run, so deliveries waited in the relay's queue "
           "and (4c) measures that queue. " if kept_up == 0 else
           f"It kept up in {kept_up} of {runs} runs; in the others "
           "deliveries waited in the relay's queue, and (4c) measures that "
           "queue. In this bench the node shares its disk with the relay, "
           "whose writes compete with the node's syncs. " if kept_up < runs
           else
           "It kept up; deliveries that arrive while it writes a burst wait "
           "for the next one. ")
        + (f"The host took {med([100 * r['steal'] / r['jiffies'] for r in res['node_fast'] if r.get('jiffies')])[0]:.1f}% "
           "of the machine's CPU time (steal, median over these runs; see "
           "(4b)). "
           if any(r.get("jiffies") for r in res["node_fast"]) else "")
        + nosync_text(res) + node_pause_text(res)
        + load_pause_text(res)
        + "Each burst of deliveries (up to 64 read together, fewer when "
        "checking them took 3 ms) costs two new files a notice (created "
        "unnamed, written, linked into the inbox) and one append to the node's journal with one "
        "fdatasync, before the confirms; one syncfs (a checkpoint) follows "
        "after a second without deliveries, or once the journal holds "
        "64 MiB.")
    if "without a journal" in meta.get("fs", ""):
        text += (
            " The data dir is on ext4 without a journal: there, creating a "
            "file after many were deleted is slow (the kernel skips each "
            "recently freed inode, `recently_deleted` in "
            "fs/ext4/ialloc.c, for 60 to 300 s after its deletion); so "
            "every node run gets a new state dir and the old ones stay "
            "until the bench ends (docs/NODE.md).")
    tr = res.get("node_trace", [{}])[0].get("data") or {}
    if tr.get("calls"):
        top = tr["calls"]
        share = {c["name"]: 100 * c["total_ms"] / tr["total_ms"] for c in top}
        text += (
            f" `perf trace -s` on renrakud during one more run at "
            f"{meta.get('node_slow_rate', '?')} msg/s (not counted in the "
            "figures) splits the time of its system calls, outside the "
            "waits for work, into "
            + ", ".join(f"{c['name']} {share[c['name']]:.0f}% "
                        f"({c['calls'] / tr['notices']:.1f} calls a notice)"
                        for c in top[:4])
            + " (" + "; ".join(f"{c['name']}: {SYSCALL_WHAT[c['name']]}"
                               for c in top[:4]
                               if c["name"] in SYSCALL_WHAT) + ").")
        if share.get("openat", 0) > share.get("syncfs", 0) + \
                share.get("fsync", 0) + share.get("fdatasync", 0):
            text += (
                " Creating the files takes longer than making them durable "
                "on this machine, where the relay's log shares the disk.")
    elif tr.get("why"):
        text += f" No system-call profile: {tr['why']}."
    L.append(text)


# ---- (2) and (3): bench/bench_peers.sh ----

def peers(res, rows):
    """Replaces the placeholder rows (2) and (3) in rows with what
    bench_peers.sh measured; returns the Markdown lines of its set-up."""
    if "mode2" not in res:
        return []
    pm = res["peers_meta"][0]["data"]
    m2 = [r["data"] for r in res["mode2"]]
    fw = [r["data"] for r in res["fwd"]]
    m2r, fwr = [d["rate"] for d in m2], [d["rate"] for d in fw]
    m2m = med(m2r)[0]
    ratio = m2m / med(fwr)[0]
    paired = [a / b for a, b in zip(m2r, fwr)]
    new = [(
        "(2) relay throughput with `--verify-at recipients` (mode 2), one "
        "publisher and one subscriber: submits stored, delivered and "
        "confirmed",
        spread(m2r, 0, " msg/s"),
        f"{spread(fwr, 0, ' msg/s')}: a bare CurveZMQ ROUTER forwarder "
        "(`bench/fwd`), the same client",
        f"{ratio:.2f} (per round {fmt(min(paired), 2)}–"
        f"{fmt(max(paired), 2)})", "≥ 0.50",
        "pass" if ratio >= 0.5 else "MISSED",
        "renraku: CurveZMQ; sender = the authenticated node, replay, "
        "window and roster checks; durable (fdatasync, group commit) before "
        "`stored`; Ed25519 left to the recipients (docs/OPERATIONS.md). "
        "Forwarder: CurveZMQ only, nothing decoded, checked or written; "
        "acks at once")]
    per = lambda ds: [d["rate"] / d["relay_cores"] for d in ds
                      if d["relay_cores"] > 0]
    if per(m2) and per(fw):
        new.append((
            "(2b) same, per CPU second the relay / the forwarder got",
            f"{spread(per(m2), 0, ' msg per relay CPU-s')}; relay used "
            f"{spread([d['relay_cores'] for d in m2], 2)} cores",
            f"{spread(per(fw), 0, ' msg per CPU-s')}; forwarder used "
            f"{spread([d['relay_cores'] for d in fw], 2)} cores",
            f"{med(per(m2))[0] / med(per(fw))[0]:.2f}", "(info)", "",
            "what the relay's work costs beside the transport, less "
            "sensitive to the other load on the machine"))
    missing = {r["system"]: r["why"] for r in res.get("peer_missing", [])}
    for sysname, label, target, what in (
            ("mosquitto",
             f"mosquitto {pm['mosquitto']}, QoS 1, persistence on",
             "≥ 1.00",
             "PUBACK once the broker holds the message in memory; "
             "persistence writes the whole in-memory database every "
             "`autosave_interval` (default 1800 s) and at exit, no fsync "
             "per message (mosquitto.conf(5)): a crash loses what came "
             "since the last save. Subscriber: persistent session (clean "
             "session false), QoS 1, at least once. Plain TCP, no "
             "signature or end-to-end encryption"),
            ("nats",
             f"nats-server {pm['nats_server']} JetStream, file storage, "
             "acked publish", "(info)",
             "publish ack once the stream's file store took the message "
             "(written to the OS, not fsynced: 2.9 has no sync option; "
             "`sync_interval` came in 2.10, default 2 min there): a machine "
             "crash can lose acked messages. Durable consumer, explicit "
             "ack, at least once. Plain TCP, no signature or end-to-end "
             "encryption")):
        item = (f"(3) peer: {label}; one publisher, one subscriber, "
                "until the subscriber has every message")
        if sysname not in res:
            new.append((item, "not measured: " + missing.get(
                sysname, "no result in this run"), "–", "–", target, "–",
                what))
            continue
        pr = [r["data"]["rate"] for r in res[sysname]]
        pratio = m2m / med(pr)[0]
        ok = pratio >= 1.0
        new.append((
            item, spread(pr, 0, " msg/s"),
            f"renraku mode 2: {fmt(m2m)} msg/s, durable (fdatasync) before "
            "`stored`",
            f"{pratio:.2f} (renraku ÷ {sysname})", target,
            ("pass" if ok else "MISSED") if target != "(info)" else "",
            what))
    i = next((k for k, r in enumerate(rows) if r[0].startswith("(2)")),
             len(rows))
    rows[:] = [r for r in rows if not r[0].startswith(("(2)", "(3)"))]
    rows[i:i] = new
    L = ["## How (2) and (3) were run\n"]
    L.append(
        f"`bench/bench_peers.sh`, in this run: every system once per "
        f"round, {len(m2)} rounds; one publisher and one subscriber "
        f"connection; {pm['count']:,} messages of {pm['payload']} B "
        f"payload per run; at most {pm['window']} publishes awaiting their "
        f"ack; the subscriber takes up to {pm['credit']:,} deliveries in "
        "flight; all on 127.0.0.1, ephemeral ports, the data on the same "
        "file system as above. The rate counts until every publish is "
        "acked and the subscriber has every message.")
    L.append(
        "- renraku: `renraku-relay --verify-at recipients`, its own data "
        "dir; `bench/loadgen --senders 1 --recipients 1` (pre-built sealed, "
        f"signed envelopes, {m2[0]['envelope_bytes']} B submit frames; the "
        "bench recipient decodes each envelope and confirms without "
        "verifying).")
    L.append(
        "- Forwarder: `bench/fwd` with the relay's transport key, a libzmq "
        "ROUTER (one I/O thread, as the relay) that acks a submit to its "
        "sender, forwards it without a copy to the recipient and turns the "
        "recipient's confirm into a receipt to the sender; driven by "
        "`bench/loadgen --proto fwd`: the same frames behind an 11-byte "
        "header, the same connections, window and recipient decoding.")
    L.append(
        f"- mosquitto {pm['mosquitto']} (libmosquitto {pm['libmosquitto']}): "
        "a generated config, `persistence true` in the run's dir, "
        f"`max_inflight_messages {pm['credit']}`, `max_queued_messages 0`, "
        "`set_tcp_nodelay true`; `bench/mqtt_bench`: MQTT 3.1.1, "
        "publisher and subscriber (clean session false) at QoS 1, on one "
        "poll loop.")
    L.append(
        f"- nats-server {pm['nats_server']} (libnats {pm['libnats']}): "
        "`-js -sd` in the run's dir; `bench/nats_bench`: a new stream with "
        "file storage per run, `js_PublishAsync` with that many pending, "
        "a durable push consumer with explicit acks (`MaxAckPending` = the "
        "credit) on its own connection.\n")
    return L


def profile_shares(res, name):
    """(shares per kind of work in %, the profile's data, why not) of the
    perf profile of run `name` (bench/prof.sh)."""
    pr = [r for r in res.get("profile", []) if r.get("name") == name]
    if not pr:
        return None, None, None
    if not pr[0].get("data"):
        return None, None, pr[0].get("why", "no data")
    d = pr[0]["data"]
    share = {}
    for comm, dso, pct in d["by_thread_dso"]:
        io = comm.startswith("ZMQbg")
        if "libsodium" in dso:
            k = "curve" if io else "sodium"
        elif "kernel" in dso:
            k = "kernel"
        elif dso.startswith("libc.") or dso == "[vdso]":
            k = "libc"
        elif dso.startswith("libcrypto"):
            k = "libcrypto"
        elif dso.startswith("libprotobuf-c"):
            k = "protobuf"
        elif dso.startswith("libzmq") or dso.startswith("libstdc++"):
            k = "libzmq"
        elif dso.startswith("renraku-"):
            k = "relay"
        else:
            k = "other"
        share[k] = share.get(k, 0.0) + pct
    return share, d, None


def profile_text(res, name, sodium_what, audit=False):
    """One sentence from the perf profile of run `name`: the share of the
    CPU samples of the relay (or of `renraku-audit verify`) per kind of
    work."""
    share, d, why = profile_shares(res, name)
    if why:
        return f" Not profiled in this run: {why}."
    if not share:
        return ""
    who = "`verify`'s" if audit else "the relay's"
    parts = [
        ("sodium", f"libsodium ({sodium_what})" if audit else
         f"libsodium on the relay's own threads ({sodium_what})"),
        ("curve", "libsodium on libzmq's I/O thread (CurveZMQ)"),
        ("kernel", "the kernel (reading the log, thread wake-ups)" if audit
         else "the kernel (TCP on loopback, the log's write and "
              "fdatasync, thread wake-ups)"),
        ("libc", "libc (malloc and free, memcpy, strcmp)"),
        ("relay", "its own code (maps, checks, the tree)" if audit else
         "the relay's own code (maps, queue, batch loop)"),
        ("libcrypto", "libcrypto (SHA-256 of the log's leaves)"),
        ("protobuf", "protobuf-c (decoding and encoding)"),
        ("libzmq", "libzmq"),
        ("other", "other"),
    ]
    txt = ", ".join(f"{what} {share[k]:.1f}%" for k, what in parts
                    if share.get(k, 0) >= 0.05)
    hot = ", ".join(f"{sym} {pct:.1f}%" for dso, sym, pct in
                    d["top_outside_libsodium"][:6])
    return (f" perf (cpu-clock sampling of one more run of the same "
            f"{'verify' if audit else 'load'}, "
            f"not counted in the figures; {d['samples']:,} samples) puts "
            f"{who} CPU in: {txt}. Hottest symbols outside libsodium: "
            f"{hot}.")


def limits(res, rows):
    """What limits each figure: paragraphs whose numbers come from the run
    (res) and from the rows already computed; the reasoning behind them is
    from profiles taken while building the bench (perf, callgrind), named
    as such."""
    L = ["## What limits each figure\n"]
    result = {r[0].split(")")[0] + ")": r[5] for r in rows if r[0].startswith("(")}
    tp = [r["data"] for r in res.get("throughput", [])]
    if tp:
        cores = med([d["relay_cores"] for d in tp])[0]
        lg = med([d["loadgen_cpu_s"] / d["elapsed_s"] for d in tp])[0]
        v_cpu = med([p["v_cpu"] for p in tp_paired(res)])[0]
        per_msg = med([1e6 * d["relay_cores"] / d["rate"] for d in tp
                       if d["rate"] > 0])[0]
        ver_us = 1e6 / v_cpu
        L.append(
            f"- (1) Per message the relay spent {per_msg:.0f} µs of CPU, of "
            f"which Ed25519 verification is {ver_us:.0f} µs at this "
            f"machine's single-core rate beside the runs ({fmt(v_cpu)} "
            "verify per CPU-s, the median over the runs of the mean of "
            "`bench/verify_rate` just before and just after each): "
            f"{per_msg - ver_us:.0f} µs go to "
            "everything else (frame and envelope decoding, the replay and "
            "roster checks, the record's encoding and leaf hash, the "
            "append, the `stored` reply, libzmq's CurveZMQ and its I/O "
            "thread), and the part of it on the relay's own thread is "
            "serial. The faster the CPU verifies, the larger that share: "
            "this is what keeps (1) under target. The relay used "
            f"{cores:.2f} cores and the load generator {lg:.2f} of the same "
            f"{res['meta'][0]['data']['nproc']}."
            + profile_text(res, "mode1", "Ed25519 verify, which the limit "
                           "counts, and the envelope's hashes"))
        sh = profile_shares(res, "mode1")[0]
        if sh:
            L[-1] += (
                f" Per CPU-second, (1)'s ratio is that first share: 0.80 "
                f"needs everything else under 20% of the relay's CPU, "
                f"against {100 - sh.get('sodium', 0):.0f}% in this profile.")
    if "fsync" in res and "latency" in res:
        f99 = med([r["data"]["p99_ms"] for r in res["fsync"]])[0]
        l99, l99_lo, l99_hi = med([r["data"]["stored_p99_ms"]
                                   for r in res["latency"]])
        f999_hi = max(r["data"]["p999_ms"] for r in res["fsync"])
        L.append(
            f"- (4) Latency is bound by the disk: a `stored` waits for one "
            f"fdatasync that starts after the submit arrives, and this file "
            f"system's own fdatasync p99 is {f99:.2f} ms against the "
            f"relay's submit → stored p99 of {l99:.2f} ms ({l99 / f99:.1f}× "
            "the floor: a submit arriving during a sync waits for it, then "
            "for its own). "
            + ("The 5 ms target is below what this disk allows at p99."
               if f99 >= 5.0 else
               "The floor is under the target; the rest is the wait for a "
               "sync in progress and scheduling on a shared "
               f"{res['meta'][0]['data']['nproc']}-core machine.")
            + (f" The p99 of the runs ranged {l99_lo:.2f}–{l99_hi:.2f} ms, "
               f"and the floor's own p99.9 reached {f999_hi:.2f} ms: at 1,000 "
               "messages a second, one stall of about 10 ms a second, of the "
               "machine or of its disk, delays the 10 messages (1%) that "
               "arrive during it, which is what p99 counts." if l99 >= 5.0
               else ""))
    pause_limits(res, L)
    node_limits(res, res["meta"][0]["data"], L)
    if "recovery" in res:
        L.append(
            "- (6) A restart reads the state snapshot (msg ids, replay set, "
            "live messages) and the log's leaf-hash cache instead of "
            "decoding and hashing every record; perf shows what is left is "
            "memory-bound: inserting a msg-id map and a replay set of half a "
            "million entries each, the Merkle tree's internal nodes, and "
            "page faults mapping the segments. The first start on a log "
            "without a snapshot (row 6c) still decodes every record.")
    if "audit" in res or any(r[0].startswith("(7)") for r in rows):
        L.append(
            "- (7) `renraku-audit verify` checks signatures on every core "
            "while one thread reads; besides Ed25519 it decodes each "
            "record and envelope and hashes it for the tree, which is the "
            "share of its CPU the limit does not count (row 7b)."
            + profile_text(res, "audit", "Ed25519 verify, which the limit "
                           "counts", audit=True))
        sc = scaling(res)
        if sc and "audit" in res:
            L[-1] += (
                f" On this machine {sc['n']} verifiers at once reach "
                f"{spread(sc['per_run'], 2)} of {sc['n']} times one alone "
                "(the (limit) row: each all-cores run against the mean of "
                "`bench/verify_rate` alone just before and just after it), "
                "so against the issue's limit the audit cannot go much past "
                f"{sc['ratio']:.2f} whatever it does; row 7c divides (7) "
                "by that, to compare the audit with what the cores do "
                "together.")
            a_med = med([r["data"]["signatures_per_s"] /
                         (res["meta"][0]["data"]["nproc"] *
                          r["verify"]["verify_per_s"])
                         for r in res["audit"]])[0]
            if a_med > sc["ratio"]:
                L[-1] += (
                    f" In this run (7) reached {a_med:.2f}, above it: the "
                    "all-cores runs and the audit were minutes apart, and "
                    "the runs alone around an all-cores run correct for "
                    "the drift of one core's rate, not for other work "
                    "that took a core during the all-cores run only.")
    if "scale" in res:
        L.append(
            "- (8) Memory per connection is libzmq's (a CURVE session and "
            "its pipes, about 40 KiB); idle CPU is libzmq's I/O thread "
            "running heartbeats: perf on the idle relay puts most of it in "
            "libzmq 4.3's timer cancellation, a linear scan over every "
            "timer (std::_Rb_tree_increment), so it grows faster than the "
            "number of nodes; a longer --heartbeat-ms divides it.")
    if "mode2" in res:
        # Said whether met or not: the per-round spread of (2) crosses the
        # target on this shared machine, so a pass is not the whole story.
        L.append(
            "- (2), (3) With one publisher and its window of submits in "
            "flight, mode 2 is bound by round trips through the group "
            "commit (each batch waits for its fdatasync before `stored`) "
            "and by the CPU the relay and the clients share on this "
            "machine: the relay's CPU per message is in row (2b). The "
            "forwarder, mosquitto and NATS answer before anything reaches "
            "the disk."
            + profile_text(res, "mode2", "no signature check in this mode: "
                           "the envelope's hashes, the maps' SipHash"))
    L.append("")
    return L


def main():
    res, out_path = load(sys.argv[1]), sys.argv[2]
    meta = res["meta"][0]["data"]
    runs = meta["runs"]
    rows, notes = [], []

    verify = [r["data"]["verify_per_s"] for r in res["verify"]]
    env_verify = [r["data"]["envelope_verify_per_s"] for r in res["verify"]]
    workers = meta["workers"]

    tpp = tp_paired(res)
    tp = [p["data"] for p in tpp]
    rates = [d["rate"] for d in tp]
    cores = [d["relay_cores"] for d in tp]
    lg_cpu = [d["loadgen_cpu_s"] / d["elapsed_s"] for d in tp]
    # The limit: single-core verify rate x the cores the relay
    # uses, measured per run (its CPU time / wall time): the load generator
    # runs on the same machine and takes the rest.
    # Per CPU second on both sides (the verify rate per CPU-s of its own
    # thread), so time the scheduler gave to other processes counts for
    # neither. The verify rate is the mean of the verify_rate runs just
    # before and just after each throughput run, as (7)'s: on a shared
    # machine it drifts within a minute.
    tp_used = [p for p in tpp if p["data"]["relay_cores"] > 0]
    lim_used = [p["v_cpu"] * p["data"]["relay_cores"] for p in tp_used]
    per_run = [p["data"]["rate"] / x for p, x in zip(tp_used, lim_used)]
    ratio_used = med(per_run)[0]
    rows.append((
        "(1) relay throughput, every guarantee on",
        spread(rates, 0, " msg/s") + f"; relay used {spread(cores, 2)} cores",
        f"{spread(lim_used, 0, ' msg/s')}: per run, "
        f"{spread([p['v_cpu'] for p in tp_used])} verify per CPU-s (the "
        "mean of `bench/verify_rate` just before and just after that run) "
        "× the cores the relay used (its CPU time ÷ wall time)",
        spread(per_run, 2), "≥ 0.80",
        "pass" if ratio_used >= 0.8 else "MISSED",
        "CurveZMQ, Ed25519 checked at the relay, durable (fdatasync, group "
        "commit) before `stored`"))
    # Against every core, per second of wall clock: the same paired runs.
    lim_all = [p["v_s"] * workers for p in tpp]
    ratio_all = [d["rate"] / x for d, x in zip(tp, lim_all)]
    rows.append((
        f"(1b) same, against all {workers} cores of the machine",
        spread(rates, 0, " msg/s"),
        f"{spread(lim_all, 0, ' msg/s')}: per run, "
        f"{spread([p['v_s'] for p in tpp])} verify/s (the same paired "
        f"`bench/verify_rate` runs as (1), per second of wall clock) × "
        f"{workers} cores",
        spread(ratio_all, 2), "(info)", "",
        "the load generator runs on the same machine and used "
        f"{spread(lg_cpu, 2)} cores of the {workers}; on a relay host of "
        "its own the relay's workers get every core"))
    sc = scaling(res)
    if sc:
        rows.append((
            f"(limit) all {sc['n']} cores verifying at once "
            f"(`bench/verify_rate` × {sc['n']}, side by side)",
            f"{spread(sc['sums'], 0, ' verify/s')}",
            f"{spread(sc['lim'], 0, ' verify/s')}: per run, {sc['n']} × "
            f"{spread(sc['one'])} verify/s, one alone (the mean of "
            "`bench/verify_rate` just before and just after that run)",
            spread(sc["per_run"], 2), "(info)", "",
            "how the machine scales: the issue's limit (cores × one core's "
            "rate) assumes every core verifies as fast as one alone"))

    if "fsync" in res:
        fs = [r["data"] for r in res["fsync"]]
        rows.append((
            "(4) floor: one fdatasync of a 1,313-byte append on the data "
            "dir's file system, p50 / p99 / p99.9",
            f"{spread([d['p50_ms'] for d in fs], 2)} / "
            f"{spread([d['p99_ms'] for d in fs], 2)} / "
            f"{spread([d['p999_ms'] for d in fs], 2)} ms",
            "–", "–", "(limit)", "",
            "a `stored` waits for at least one fdatasync that starts after "
            "the submit arrives, so this bounds the latency below"))
    lat = [r["data"] for r in res["latency"]]
    for key, label, what in (
            ("stored", "submit → `stored`",
             "durable in the relay's log (fdatasync) before the answer"),
            ("delivered", "submit → delivered to a bench recipient",
             "relay: durable; the bench recipient confirms without "
             "verifying, opening or writing (not yet the node's inbox)")):
        p99 = [d[f"{key}_p99_ms"] for d in lat]
        ok = med(p99)[0] < 5.0
        rows.append((
            f"(4) latency {label} at {meta['lat_rate']:,} msg/s, "
            f"p50 / p99 / p99.9",
            f"{spread([d[f'{key}_p50_ms'] for d in lat], 2)} / "
            f"{spread(p99, 2)} / "
            f"{spread([d[f'{key}_p999_ms'] for d in lat], 2)} ms",
            "–", "–", "p99 < 5 ms", "pass" if ok else "MISSED", what))
    pause_row(res, rows)
    node_rows(res, meta, rows)
    node_pause_row(res, rows)
    load_pause_row(res, rows)
    nosync_row(res, rows)

    fo = res["fanout"][0]["data"]
    last = fo["last_delivered_ms"]
    rows.append((
        f"(5) fan-out: one alert to {fo['recipients']} recipients, until "
        "the last has it", spread(last, 1, " ms"), "–", "–", "< 250 ms",
        "pass" if med(last)[0] < 250 else "MISSED",
        "relay: verified once, durable, delivered to each; bench recipients "
        "confirm without verifying or writing"))
    rows.append((
        "(5b) same, until the sender has every delivery receipt",
        spread(fo["last_receipt_ms"], 1, " ms"), "–", "–", "(info)", "",
        "every confirm durable in the relay's log before its receipt"))

    mk = res["mklog"][0]
    runs_rec = res["recovery"]
    first = [r for r in runs_rec if r.get("kind") == "first"]
    rest = [r for r in runs_rec if r.get("kind", "restart") == "restart"]
    rec = [r["serve_ms"] for r in rest]
    scrub = [r["scrub_ms"] for r in rest if r.get("scrub_ms") is not None]
    used = sum(1 for r in rest if r.get("state_loaded"))
    rows.append((
        f"(6) recovery: restart on a log of {mk['data']['records']:,} "
        f"records ({mk['log_bytes'] / 2**20:,.0f} MiB), "
        f"{mk['data']['pending']:,} pending deliveries; until it serves",
        spread(rec, 0, " ms"), "–", "–", "< 3,000 ms",
        "pass" if med(rec)[0] < 3000 else "MISSED",
        f"state snapshot of the clean stop used in {used} of {len(rest)} "
        "restarts: queue, msg ids, receipts and replay set loaded, the "
        "log read from the snapshot's size on; leaf hashes from the log's "
        "cache where the check bytes agree, Merkle tree rebuilt, newest "
        "checkpoint verified"))
    if scrub:
        rows.append((
            "(6b) same, until the background scrub has hashed every record "
            "again", spread(scrub, 0, " ms") + " after it serves", "–", "–",
            "(info)", "",
            "a record changed on disk since its sync stops the relay "
            "(event=log_corrupt)"))
    if first:
        f0 = first[0]
        rows.append((
            "(6c) first start on that log (no state snapshot yet)",
            f"{fmt(f0['serve_ms'])} ms (one run)", "–", "–", "(info)", "",
            "every record decoded to rebuild the queue, msg ids and replay "
            "set; the relay then writes its snapshot"))

    if "audit" in res:
        # (7): each verify run with every core is paired with a
        # verify_rate runs just before and after it (the mean); the ratio
        # is taken per pair.
        au = res["audit"]
        ad = [r["data"] for r in au]
        a_vr = [r["verify"]["verify_per_s"] for r in au]
        a_cores = meta["nproc"]
        a_ratio = [d["signatures_per_s"] / (a_cores * v)
                   for d, v in zip(ad, a_vr)]
        a_cpu = [d["signatures_per_cpu_s"] / r["verify"]["verify_per_cpu_s"]
                 for d, r in zip(ad, au)]
        a_used = [d["cpu_s"] / d["seconds"] for d in ad]
        ok = med(a_ratio)[0] >= 0.8
        rows.append((
            f"(7) audit: `renraku-audit verify --threads {ad[0]['threads']}` "
            f"on the recovery log ({ad[0]['records']:,} records, "
            f"{ad[0]['signatures']:,} envelope signatures), {len(au)} runs",
            f"{spread([d['signatures_per_s'] for d in ad], 0, ' signatures/s')}"
            f"; {spread([d['records_per_s'] for d in ad], 0, ' records/s')}; "
            f"{spread([d['seconds'] for d in ad], 1, ' s')} per run",
            f"{fmt(med(a_vr)[0] * a_cores)} signatures/s = "
            f"{spread(a_vr)} verify/s × {a_cores} cores, each run paired "
            "with verify_rate runs just before and after it (their mean)",
            f"{spread(a_ratio, 2)}", "≥ 0.80", "pass" if ok else "MISSED",
            "every check of docs/AUDIT.md: frames, Merkle tree, every "
            "checkpoint, every record decoded, envelope signatures against "
            "the roster of their time, receipts; the ratio counts "
            "signatures only, the rest of the work is in the time"))
        rows.append((
            "(7b) same, per CPU second `verify` got (noise-robust)",
            f"{spread([d['signatures_per_cpu_s'] for d in ad], 0)} "
            f"signatures per CPU-s; {spread(a_used, 2)} cores used",
            f"{spread([r['verify']['verify_per_cpu_s'] for r in au], 0)} "
            "verify per CPU-s", f"{spread(a_cpu, 2)}", "(info)", "",
            "the share of its CPU `verify` spends on what the limit counts"))
        sc = scaling(res)
        if sc:
            # What every core does at once beside each audit run: (7)'s
            # paired single-core rate x the cores x the (limit) row's
            # median ratio, not the all-cores runs themselves, made at the
            # start of the bench, minutes away.
            lim_all = [a_cores * v * sc["ratio"] for v in a_vr]
            a_all = [d["signatures_per_s"] / x for d, x in zip(ad, lim_all)]
            rows.append((
                f"(7c) same, against all {sc['n']} cores verifying at once "
                "(the (limit) row)", f"{spread([d['signatures_per_s'] for d in ad], 0, ' signatures/s')}",
                f"{spread(lim_all, 0, ' verify/s')}: per run, {a_cores} × "
                f"{spread(a_vr)} verify/s (the same paired runs as (7)) × "
                f"{sc['ratio']:.2f} (the (limit) row's median ratio)",
                f"{spread(a_all, 2)}", "(info)",
                "", "what the audit gets of what this machine's cores do "
                "together"))
    else:
        rows.append(("(7) audit: `renraku-audit verify` signatures/s vs "
                     "cores × verify rate", "not measured in this run", "–",
                     "–", "target ≥ 0.8", "–", "–"))

    for item, what in (
            ("(2) throughput without signature checks at the relay vs a "
             "bare CurveZMQ ROUTER forwarder", "target ≥ 0.5"),
            ("(3) peers: mosquitto QoS 1 + persistence, nats-server "
             "JetStream file storage, acked publish", "target: mode 2 ≥ "
             "mosquitto"),
            ("(8) scale: 2,000 connected nodes, relay RSS and heartbeat "
             "overhead", "target < 256 MiB")):
        rows.append((item, "not measured yet", "–", "–", what, "–", "–"))
    peer_lines = peers(res, rows)

    if "scale" in res:
        # (8): bench/bench_scale.sh, a fresh relay per run.
        sc = res["scale"]
        sd = [r["data"] for r in sc]
        # One run (quick mode): the value alone, without a spread.
        sp = (lambda xs, nd=0, unit="": spread(xs, nd, unit) if len(xs) > 1
              else f"{fmt(xs[0], nd)}{unit}")
        n = sd[0]["nodes"]
        mib = lambda k: [d[k] / 1024 for d in sd]
        hwm = mib("hwm_end_kib")
        ok = max(hwm) < 256
        why = sc[0].get("why") or ""
        runs_txt = (f"{len(sc)} runs, a fresh relay each" if len(sc) > 1
                    else "one run")
        rows = [r for r in rows if not r[0].startswith("(8)")]
        g = sc[0]
        rows.append((
            f"(8) scale: {n:,} connected nodes on one relay, relay memory "
            f"({runs_txt}{'; ' + why if why else ''})",
            f"peak VmHWM {sp(hwm, 1, ' MiB')}; VmRSS before "
            f"{sp(mib('rss_before_kib'), 1, ' MiB')}, with {n:,} connected "
            f"{sp(mib('rss_after_quiet_kib'), 1)} MiB = "
            f"{sp([d['per_node_kib'] for d in sd], 1)} KiB per node",
            "–", f"{med(hwm)[0] / 256:.2f} of the target", "< 256 MiB",
            "pass" if ok else "MISSED",
            f"{n:,} CurveZMQ connections, each admitted by ZAP as a "
            f"distinct node of a {sd[0]['roster_nodes']:,}-node roster and "
            "welcomed after its hello; ZMQ heartbeats both ways every "
            f"{sd[0]['heartbeat_ms']:,} ms (renrakud's socket options); "
            f"keys and roster made by `bench/scale gen` in "
            f"{g['keys_ms'] / 1000:.1f} s (the per-node CLI took "
            f"{g['cli_20_nodes_ms']:,} ms for 20 nodes, "
            f"≈ {g['cli_20_nodes_ms'] * n / 20 / 1000:,.0f} s or more for "
            f"{n:,}); "
            f"open files: asked {g['fd_limit_asked']:,}, got "
            f"{g['fd_limit_got']:,}; the relay held "
            f"{sp([d['relay_fds_after_quiet'] for d in sd])} files"))
        idle = [d["idle_cpu_per_s"] * 100 for d in sd]
        io = [sum(v for k, v in d["idle_thread_cpu_per_s"].items()
                  if k.startswith("ZMQbg/IO")) * 100 for d in sd]
        main_t = [sum(v for k, v in d["idle_thread_cpu_per_s"].items()
                      if not k.startswith("ZMQbg")) * 100 for d in sd]
        rows.append((
            f"(8b) heartbeat overhead: relay CPU while {n:,} nodes stay "
            f"connected and idle for {sd[0]['quiet_s']:.0f} s",
            f"{sp(idle, 2, ' % of one core')} "
            f"({sp([d['idle_cpu_per_s'] * 1000 for d in sd], 0)} ms CPU "
            "per s); before any connection "
            f"{sp([d['baseline_cpu_per_s'] * 100 for d in sd], 2)} %",
            "–", "–", "(info)", "",
            "utime+stime of the relay from /proc; by thread: libzmq's I/O "
            f"thread {sp(io, 2)} %, the relay's own threads "
            f"{sp(main_t, 2)} %; the bench clients used "
            f"{sp([d['client_idle_cpu_per_s'] * 100 for d in sd], 2)} % "
            "of a core on the same machine"))
        extra = [d["handshakes_ok"] - d["nodes"] for d in sd]
        rows.append((
            f"(8c) connect all {n:,} at once (a reconnect storm, as after a "
            "relay restart): until the last welcome, client side",
            f"{sp([d['connect_all_ms'] / 1000 for d in sd], 1, ' s')}; "
            f"per node p50 {sp([d['welcome_p50_ms'] for d in sd], 0)} "
            f"ms, max {sp([d['welcome_max_ms'] for d in sd], 0)} ms",
            "–", "–", "(info)", "",
            f"relay CPU {sp([d['connect_relay_cpu_s'] for d in sd], 2)} "
            "s for all the handshakes and hellos; TCP listen-queue "
            "overflows during it (machine-wide counter) "
            f"{sp([d['listen_overflows'] for d in sd])}; handshakes "
            f"beyond one per node {sp(extra)}"))
        msgs = sum(d["msgs"] for d in sd)
        dl = sum(d["delivered"] for d in sd)
        rc = sum(d["receipts"] for d in sd)
        sv_ok = all(d["ok"] for d in sd) and dl == msgs and rc == msgs
        rows.append((
            f"(8d) still serving with {n:,} connected: one notice a second "
            "to a random connected node",
            f"{dl:,} of {msgs:,} delivered and receipted; submit → "
            f"delivered p50 {sp([d['deliver_p50_ms'] for d in sd], 1)}"
            f" ms, max {sp([d['deliver_max_ms'] for d in sd], 1)} ms; "
            f"relay CPU {sp([d['serve_cpu_per_s'] * 100 for d in sd], 2)}"
            " % of a core", "–", "–", "all delivered",
            "pass" if sv_ok else "MISSED",
            "relay: verified, durable, delivered; the bench recipient "
            "confirms at once; no reconnection during the idle and serving "
            "periods (ZAP handshakes unchanged)"))
        rows.append((
            f"(8e) all {n:,} leave at once",
            f"the relay is back to its open files of before in "
            f"{sp([d['disconnect_all_ms'] for d in sd], 0, ' ms')}",
            "–", "–", "(info)", "",
            "`renraku-relay stats` counts none connected "
            + (f"{sp([d['stats_connected_zero_ms'] for d in sd], 0, ' ms')}"
               " after they leave (the relay's socket monitor names each "
               "closed descriptor, a probe to the node's routing id "
               "confirms it gone)"
               if all(d.get("stats_connected_zero_ms", -1) >= 0 for d in sd)
               else "not within 10 s in every run; then it said connected "
               f"{sp([d['stats_connected_after_disconnect'] for d in sd])}")))

    if "scale_push" in res:
        # Opt-in (SCALE_PUSH=1 bench/bench_scale.sh): a roster update
        # pushed by the relay to every connected node.
        pr = res["scale_push"][0]
        pd = pr["data"]
        peak = pd["hwm_end_kib"] / 1024
        rows.append((
            f"(8f) a roster update (serial + 1, SIGHUP) with {pd['nodes']:,} "
            f"nodes connected: the relay pushes the "
            f"{pr['roster_bytes'] / 1024:,.0f} KiB signed roster to each "
            "(one run, opt-in: SCALE_PUSH=1)",
            f"peak VmHWM {peak:,.1f} MiB (VmRSS "
            f"{pd['rss_connected_kib'] / 1024:,.1f} MiB before); roster "
            f"frames the nodes received in {pr['quiet_s']} s: "
            f"{pd['quiet_rosters']:,} "
            f"({pd['quiet_rosters'] / pd['nodes']:.2f} per node); "
            "reconnections meanwhile "
            f"{pd['handshakes_ok_end'] - pd['handshakes_ok']:,}; then "
            f"{pd['delivered']} of {pd['msgs']} notices delivered",
            "–", f"{peak / 256:.2f} of the target", "< 256 MiB",
            "pass" if peak < 256 else "MISSED",
            "the relay queues a copy of the roster frame for every node "
            "in one turn (and one more for each hello that names an older "
            "serial); the clients read every socket as renrakud would"))

    d0 = tp[0]
    L = []
    L.append("# renraku relay benchmarks\n")
    L.append("Generated by `bench/bench.sh` (through `bench/report.py`) from "
             "the run below; no figure is typed by hand. The raw results are "
             f"in `{os.path.basename(out_path)[:-3]}.jsonl` beside this "
             "file.\n")
    L.append("## Run\n")
    L.append(f"- Command: `{meta['command']}` ({meta['mode']} mode: every "
             f"figure is the median of {runs} runs, with the spread "
             f"min–max in brackets); the whole run took "
             f"{meta['seconds']} s.")
    L.append(f"- Date: {meta['date']}")
    L.append(f"- Machine: {meta['nproc']} cores, {meta['cpu']}, "
             f"{meta['mem']} memory, {meta['kernel']}; shared with other "
             "builds and tests while it ran, so absolute figures are noisy; "
             "ratios measured side by side in this run are what count.")
    L.append(f"- Data dirs: {meta['fs']} (a real file system, not tmpfs).")
    L.append(f"- Versions: gcc {meta['gcc']}, libzmq {meta['libzmq']}, "
             f"libsodium {meta['libsodium']}, protobuf-c "
             f"{meta['protobufc']}; renraku built with "
             "`-DCMAKE_BUILD_TYPE=Release` in `build-bench`.")
    L.append(f"- Relay: default options (`--workers` = {workers} cores, "
             "group commit of up to 256 frames per fdatasync, log level "
             "info) except `--rate-limit 0`: the per-node limit (50 "
             "submits a second by default) would otherwise measure itself; "
             "bound to 127.0.0.1 on an ephemeral port.")
    L.append(f"- Load: `bench/loadgen`, envelopes pre-built before the timed "
             f"part ({d0['payload']} B payload, {d0['envelope_bytes']} B "
             f"submit frame), CurveZMQ on. Throughput: {meta['senders']} "
             f"sender connections, {meta['tp_count']:,} submits per run, "
             "256 in flight per connection, addressed to a node that stays "
             "offline (the deliveries queue up). Latency: open loop at "
             f"{meta['lat_rate']:,} msg/s for {meta['lat_secs']} s, measured "
             "from the scheduled send time (no coordinated omission), one "
             "bench recipient connected. Into a node's inbox: one "
             "`renrakud` (a fresh state dir each run) is the recipient; "
             "`loadgen --notice --inbox` sends valid notices of the same "
             "size and watches the inbox folder.")
    tvr = tp_verify_runs(res)
    L.append(f"- Limit: single-core Ed25519 verify rate "
             f"(`crypto_sign_verify_detached` over the envelope's signed "
             f"bytes, `bench/verify_rate`, {meta.get('verify_secs', '?')} s "
             f"a run). At the start of the bench, {len(verify)} runs, "
             + (f"alternating with the {len(res['verify_all'])} all-cores "
                "runs of the (limit) row (one just before each and one "
                "after the last; an all-cores run is compared with the "
                "mean of the two around it)" if "verify_all" in res else
                "without the (limit) row's all-cores runs")
             + f": {spread(verify)} /s; `envelope_verify` as "
             f"a whole {spread(env_verify)} /s. Around the throughput runs "
             f"of (1), one just before each and one after the last "
             f"({len(tvr)} runs; a run's limit is the mean of the two "
             f"around it): {spread([v['verify_per_s'] for v in tvr])} /s, "
             f"{spread([v['verify_per_cpu_s'] for v in tvr])} per CPU-s. "
             "(7) pairs its own runs the same way.")
    L.append(f"- Recovery log: built by `bench/mklog` through `relay_log` "
             f"and `record` directly (genuine signed, sealed envelopes; each "
             f"accepted record but the last {mk['data']['pending']:,} "
             f"followed by a delivered record) in "
             f"{mk['data']['seconds']} s, not by running the relay under "
             "load. Time to serve: from starting the process until a CURVE "
             "client's hello is answered with a welcome.\n")
    L.append("## Figures\n")
    L.append("| figure | value: median (min–max) | limit / peer | ratio | "
             "target | result | what is guaranteed |")
    L.append("|---|---|---|---|---|---|---|")
    for r in rows:
        L.append("| " + " | ".join(r) + " |")
    L.append("")
    L.extend(peer_lines)
    L.extend(limits(res, rows))
    L.append("## Not measured\n")
    L.append("An item of issue 7 without a result in this run says "
             "so in the table rather than guess.\n")
    with open(out_path, "w") as f:
        f.write("\n".join(L))


if __name__ == "__main__":
    main()
