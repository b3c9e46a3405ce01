#!/usr/bin/env python3
"""Markdown tables from the hostile tool's JSON lines (tests/hostile/hostile.c),
for docs/RELIABILITY.md: nothing in them is typed by hand.

  report.py campaign FILE        every attack of one run, and the honest pair
  report.py sweep FILE...        one run per attack alone: honest throughput
"""
import json
import sys


def load(path):
    lines = [l for l in open(path) if l.startswith('{"hostile"')]
    if not lines:
        sys.exit(f"report.py: {path}: no JSON line from the hostile tool")
    return json.loads(lines[-1])["hostile"]


def seen_text(a):
    return ", ".join(f"`{t}` {n:,}" for t, n in
                     sorted(a["seen"].items(), key=lambda kv: -kv[1]))


def campaign(path):
    h = load(path)
    print("| attack | what | attempts | answers seen | expected | "
          "answered within | result |")
    print("|---|---|---|---|---|---|---|")
    for name, a in h["attacks"].items():
        ok = a.get("checked", a["attempts"]) > 0 and a["unexpected"] == 0
        within = (f"{a['answer_ms_min']}–{a['answer_ms_max']} ms"
                  if a["answer_ms_max"] else "–")
        if name == "flood" and "rate" in a:
            within = f"{a['rate']:,.0f} stored/s"
        print(f"| {name} | {a['what']} | {a['attempts']:,} | {seen_text(a)} | "
              f"{' or '.join('`%s`' % e for e in a['expected'])} | {within} | "
              f"{'pass' if ok else 'FAIL'} |")
    o = h["honest"]
    print()
    print("| honest pair | seconds | delivered | msg/s | submit → delivered "
          "p50 / p99 / max | relay CPU (cores) |")
    print("|---|---|---|---|---|---|")
    for k, label in (("baseline", "alone (baseline)"),
                     ("attack", "under the attack")):
        print(f"| {label} | {o[k + '_s']:.1f} | {o[k + '_delivered']:,} | "
              f"{o[k + '_rate']:,.1f} | {o[k + '_delivered_p50_ms']:.1f} / "
              f"{o[k + '_delivered_p99_ms']:.1f} / "
              f"{o[k + '_delivered_max_ms']:.1f} ms | "
              f"{o['relay_cores_' + k]:.2f} |")
    print()
    print(f"Honest messages: {o['sent']:,} sent, {o['stored']:,} stored, "
          f"{o['delivered']:,} delivered and opened, lost {o['lost']}, "
          f"refused {o['refused']}, unanswered {o['unanswered']}, "
          f"foreign {o['foreign']}, longest pause {o['max_pause_ms']} ms; "
          f"under attack {100 * o['ratio']:.0f}% of the baseline rate. "
          f"Result: {'pass' if h['ok'] else 'FAIL'}.")


def sweep(paths):
    print("| attack alone | attempts | answers seen | honest msg/s alone | "
          "under the attack | ratio | p99 submit → delivered under attack | "
          "result |")
    print("|---|---|---|---|---|---|---|---|")
    for p in paths:
        h = load(p)
        o = h["honest"]
        for name, a in h["attacks"].items():
            print(f"| {name} | {a['attempts']:,} | {seen_text(a)} | "
                  f"{o['baseline_rate']:,.1f} | {o['attack_rate']:,.1f} | "
                  f"{o['ratio']:.2f} | {o['attack_delivered_p99_ms']:.1f} ms | "
                  f"{'pass' if h['ok'] else 'FAIL'} |")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "campaign":
        campaign(sys.argv[2])
    elif len(sys.argv) >= 3 and sys.argv[1] == "sweep":
        sweep(sys.argv[2:])
    else:
        sys.exit(__doc__)
