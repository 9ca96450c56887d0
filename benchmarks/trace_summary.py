#!/usr/bin/env python3
"""Summarises a PyTorch profiler trace written by `blockdraft bench train --trace FILE`.

Prints, per timeline in the trace, the ops that took the most time in total, with their call counts: where
the host's time goes, op by op. (DJL drives PyTorch's legacy profiler; on the H200 host its traces held the
ops as the host issued them, no kernel timeline: use it to count and weigh ops, not to time kernels.)
  python3 benchmarks/trace_summary.py trace.json [--top 25]
"""
import argparse
import collections
import json

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("trace")
ap.add_argument("--top", type=int, default=25)
args = ap.parse_args()

with open(args.trace) as f:
    events = json.load(f)
by_pid = collections.defaultdict(lambda: collections.defaultdict(lambda: [0.0, 0]))
for e in events:
    if e.get("ph") != "X":
        continue
    slot = by_pid[str(e.get("pid"))][e["name"]]
    slot[0] += float(e.get("dur", 0))
    slot[1] += 1
for pid, ops in by_pid.items():
    total = sum(v[0] for v in ops.values())
    print(f"== {pid}: {sum(v[1] for v in ops.values())} events, {total / 1e3:.2f} ms summed (nested ops count twice)")
    for name, (dur, n) in sorted(ops.items(), key=lambda kv: -kv[1][0])[: args.top]:
        print(f"  {dur / 1e3:9.2f} ms  {n:6d}x  {name}")
