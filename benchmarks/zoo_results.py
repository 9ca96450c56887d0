#!/usr/bin/env python3
"""Turns a zoo run's folder (benchmarks/zoo.sh's OUT, unpacked) into benchmarks/results/zoo-tau.json and the
Markdown tables of benchmarks/RESULTS.md.

    python3 benchmarks/zoo_results.py RUN_DIR --commands-file CMDS.txt --json benchmarks/results/zoo-tau.json

Every figure comes from the files blockdraft wrote: eval-<target>-<objective>.json (online τ, per-prompt results
and their bootstrap interval, the train/serve mismatch check), drafter-<target>-<objective>/best/best.json and
trainer_state.json (held-out τ, steps, tokens), decode-<target>.json (plain vs speculative tokens/s).
"""
import argparse
import glob
import json
import os
import re

BENCHMARKS = ["gsm8k", "math500", "humaneval", "mbpp", "mt_bench", "alpaca"]


def load(path):
    with open(path) as f:
        return json.load(f)


def drafter_facts(run, target, objective):
    d = os.path.join(run, f"drafter-{target}-{objective}")
    facts = {"steps": None, "train_tokens": None, "held_out_tau": None, "best_step": None, "last_held_out_tau": None}
    # a run folder as zoo.sh left it (best/best.json, trainer_state.json), or the compact copy kept in
    # benchmarks/results (best.json, training.json)
    best = os.path.join(d, "best", "best.json")
    if not os.path.exists(best):
        best = os.path.join(d, "best.json")
    if os.path.exists(best):
        b = load(best)
        facts["held_out_tau"], facts["best_step"] = b["tau"], int(b["step"])
    state = os.path.join(d, "trainer_state.json")
    if os.path.exists(state):
        s = load(state)
        steps = s.get("steps") or []
        if steps:
            facts["steps"] = steps[-1].get("step")
            facts["train_tokens"] = steps[-1].get("tokensSeen")
        evals = s.get("evals") or []
        if evals:
            facts["last_held_out_tau"] = evals[-1].get("metrics", {}).get("tau")
        facts["block_size"] = None
    compact = os.path.join(d, "training.json")
    if os.path.exists(compact):
        t = load(compact)
        facts["steps"], facts["train_tokens"] = t["steps"], t["tokens_seen"]
        facts["last_held_out_tau"] = t["evals"][-1]["tau"] if t["evals"] else None
    cfg = os.path.join(d, "config.json")
    if os.path.exists(cfg):
        facts["block_size"] = load(cfg).get("block_size")
    return facts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("--commands-file")
    ap.add_argument("--json")
    ap.add_argument("--device", default="NVIDIA H200")
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    records, rows, decode = [], [], []
    for path in sorted(glob.glob(os.path.join(a.run, "eval-*.json"))):
        m = re.match(r"eval-(.+)-([a-z-]+)\.json$", os.path.basename(path))
        target, objective = m.group(1), m.group(2)
        report = load(path)
        facts = drafter_facts(a.run, target, objective)
        for b in report["benchmarks"]:
            rec = {"target": target, "objective": objective, "seed": a.seed, "block_size": report["block_size"],
                   "benchmark": b["benchmark"], "tau": b["tau"], "ci_low": b.get("tau_ci_low"),
                   "ci_high": b.get("tau_ci_high"), "prompts": b["prompts"], "turns": b["turns"],
                   "steps": facts["steps"], "train_tokens": facts["train_tokens"],
                   "held_out_tau": facts["held_out_tau"], "best_step": facts["best_step"],
                   "offline_tau_uniform_anchors": b.get("offline_tau"), "visited_tau": b.get("visited_tau"),
                   "forced_tau": b.get("forced_tau"), "forced_mismatches": b.get("forced_mismatches"),
                   "slot_acceptance": b.get("slot_acceptance")}
            records.append(rec)
        taus = [b["tau"] for b in report["benchmarks"]]
        rows.append((target, objective, facts, {b["benchmark"]: b for b in report["benchmarks"]},
                     sum(taus) / len(taus) if taus else float("nan")))
    for path in sorted(glob.glob(os.path.join(a.run, "decode-*.json"))):
        target = re.match(r"decode-(.+)\.json$", os.path.basename(path)).group(1)
        d = load(path)
        decode.append({"target": target, **{k: d.get(k) for k in d if k not in ("models",)},
                       "drafter": d.get("models", {}).get("drafter")})
    out = {"commands": open(a.commands_file).read().strip().splitlines() if a.commands_file else [],
           "device": a.device, "records": records, "decode": decode}
    if a.json:
        os.makedirs(os.path.dirname(a.json), exist_ok=True)
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)
            f.write("\n")
    # Markdown: per target and objective, online τ [95% CI] per benchmark, the mean, held-out τ
    print("| target | objective | " + " | ".join(BENCHMARKS) + " | mean | held-out τ (step) | forced = visited |")
    print("|---" * (len(BENCHMARKS) + 5) + "|")
    for target, objective, facts, by, mean in rows:
        cells = []
        for name in BENCHMARKS:
            b = by.get(name)
            cells.append("–" if b is None else f"{b['tau']:.2f} [{b.get('tau_ci_low') or float('nan'):.2f}, "
                                                f"{b.get('tau_ci_high') or float('nan'):.2f}]")
        mism = sum((b.get("forced_mismatches") or 0) for b in by.values())
        held = facts["held_out_tau"]
        print(f"| {target} | {objective} | " + " | ".join(cells) + f" | {mean:.2f} | "
              + (f"{held:.2f} ({facts['best_step']})" if held else "–") + f" | {mism} mismatching steps |")
    if decode:
        print()
        print("| target | drafter | plain tok/s | speculative tok/s | speedup | τ |")
        print("|---|---|---|---|---|---|")
        for d in decode:
            print(f"| {d['target']} | {d.get('drafter')} | {d.get('plain_tokens_per_s'):.1f} | {d.get('spec_tokens_per_s'):.1f} | "
                  f"{d.get('speedup'):.2f}× | {d.get('tau'):.2f} |")


if __name__ == "__main__":
    main()
