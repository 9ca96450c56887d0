#!/usr/bin/env python3
"""Summarises a PyTorch profiler trace written by `blockdraft bench train|decode --trace FILE`.

Prints, per timeline in the trace, the ops that took the most time in total, with their call counts: where
the host's time goes, op by op. (DJL drives PyTorch's legacy profiler; on the H200 host its traces held the
ops as the host issued them, no kernel timeline: use it to count and weigh ops, not to time kernels.)
Top-level ops (not nested in another op of the same thread) are what the host dispatched itself: about one
per DJL call; `--per N` divides the counts by N (the tokens of a traced decode, the steps of a training trace).
`--inside NAME` (repeatable) adds, for each top-level op NAME (a fused module's method, e.g. frozen_forward),
the mean number of innermost ops (events nested in it that hold no other) per call: what one call dispatches.
  python3 benchmarks/trace_summary.py trace.json [--top 25] [--per 128] [--inside frozen_forward]
"""
import argparse
import collections
import json

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("trace")
ap.add_argument("--top", type=int, default=25)
ap.add_argument("--per", type=float, default=None, help="divide call counts by this (tokens or steps traced)")
ap.add_argument("--inside", action="append", default=[], metavar="NAME",
                help="mean innermost ops per call of the top-level op NAME")
args = ap.parse_args()
if args.per is not None and args.per <= 0:
    ap.error(f"--per must be positive, got {args.per}")

with open(args.trace) as f:
    events = [e for e in json.load(f) if e.get("ph") == "X"]
by_pid = collections.defaultdict(lambda: collections.defaultdict(lambda: [0.0, 0]))
for e in events:
    slot = by_pid[str(e.get("pid"))][e["name"]]
    slot[0] += float(e.get("dur", 0))
    slot[1] += 1
for pid, ops in by_pid.items():
    total = sum(v[0] for v in ops.values())
    print(f"== {pid}: {sum(v[1] for v in ops.values())} events, {total / 1e3:.2f} ms summed (nested ops count twice)")
    for name, (dur, n) in sorted(ops.items(), key=lambda kv: -kv[1][0])[: args.top]:
        print(f"  {dur / 1e3:9.2f} ms  {n:6d}x  {name}")

# top-level ops: per thread, an event that starts after the end of the last top-level one
by_thread = collections.defaultdict(list)
for e in events:
    by_thread[(e.get("pid"), e.get("tid"))].append(e)
top = collections.Counter()
leaves = collections.defaultdict(list)  # NAME -> innermost ops of each of its calls
for thread in by_thread.values():
    thread.sort(key=lambda e: (float(e["ts"]), -float(e.get("dur", 0))))
    end = float("-inf")
    current = None  # the --inside call being counted
    for i, e in enumerate(thread):
        start = float(e["ts"])
        if start >= end:
            top[e["name"]] += 1
            end = start + float(e.get("dur", 0))
            current = e["name"] if e["name"] in args.inside else None
            if current:
                leaves[current].append(0)
        elif current:
            stop = start + float(e.get("dur", 0))
            innermost = i + 1 == len(thread) or float(thread[i + 1]["ts"]) >= stop
            leaves[current][-1] += innermost
per = args.per or 1
total = sum(top.values())
print(f"== top-level ops: {total}" + (f" = {total / per:.1f} per token or step (--per {args.per:g}; counts below likewise)" if args.per else ""))
for name, n in top.most_common(args.top):
    print(f"  {n / per:9.1f}x  {name}")
for name in args.inside:
    calls = leaves.get(name, [])
    if calls:
        print(f"== inside {name}: {sum(calls) / len(calls):.1f} innermost ops per call ({len(calls)} calls)")
    else:
        print(f"== inside {name}: no top-level call of that name")
