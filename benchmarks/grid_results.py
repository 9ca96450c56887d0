#!/usr/bin/env python3
"""Turns an ablation grid's folder (benchmarks/zoo_grid.sh's, unpacked) into records of
benchmarks/results/zoo-tau.json and the Markdown tables of benchmarks/RESULTS.md.

    python3 benchmarks/grid_results.py GRID_DIR --run LABEL --commands-file CMDS.txt \
        --merge benchmarks/results/zoo-tau.json --json benchmarks/results/zoo-tau.json

Every figure comes from the files blockdraft wrote: <cell>/acceptance.json (online τ per benchmark, its bootstrap
interval over prompts, the train/serve mismatch check, per-slot acceptance), <cell>/drafter/best/best.json and
<cell>/drafter/trainer_state.json (held-out τ, steps, tokens), report.json (τ over seeds with the hierarchical
bootstrap interval, Δ against the baseline with its paired interval, the sign-flip p-value), sampling/*.json
(benchmarks/sampling_grid.sh) and decode.json (`bench decode`). Records already in --merge with another `run` are kept.
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


def cell_records(grid, run):
    records = []
    for acc_path in sorted(glob.glob(os.path.join(grid, "*", "acceptance.json"))):
        cell_dir = os.path.dirname(acc_path)
        cell = load(os.path.join(cell_dir, "cell.json"))
        s = cell["settings"]
        best = load(os.path.join(cell_dir, "drafter", "best", "best.json"))
        state_path = os.path.join(cell_dir, "drafter", "trainer_state.json")
        if not os.path.exists(state_path):  # the compact copy kept in benchmarks/results
            state_path = os.path.join(cell_dir, "drafter", "training.json")
        state = load(state_path)
        last = state["steps"][-1]
        acc = load(acc_path)
        at_best = next((e["metrics"] for e in state.get("evals", []) if e["step"] == best["step"]), {})
        for b in acc["benchmarks"]:
            records.append({
                "run": run, "target": s["target.name"], "objective": cell["objective"], "seed": cell["seed"],
                "block_size": int(s["drafter.block_size"]), "benchmark": b["benchmark"],
                "tau": b["tau"], "ci_low": b["tau_ci_low"], "ci_high": b["tau_ci_high"],
                "prompts": b["prompts"], "turns": b["turns"], "max_new_tokens_per_turn": int(s["eval.max_new_tokens"]),
                "steps": last["step"], "train_tokens": last["tokensSeen"],
                "held_out_tau": best["tau"], "best_step": best["step"],
                "offline_tau_uniform_anchors": b.get("offline_tau"), "visited_tau": b.get("visited_tau"),
                "forced_tau": b.get("forced_tau"), "forced_mismatches": b.get("forced_mismatches"),
                "slot_acceptance": b.get("slot_acceptance"), "cell": cell["name"],
            })
            depth = re.search(r"(\d+) layers", state.get("run", {}).get("drafter", ""))  # "DrafterConfig(block 16, 3 layers, …)"
            if depth:
                records[-1]["drafter_layers"] = int(depth.group(1))
            # drafters trained after the sixth session's runs: held-out τ outside repetition loops, and their share
            for key in ("tau_outside_loops", "loop_share"):
                if key in at_best:
                    records[-1]["held_out_" + key] = at_best[key]
    return records


def mean_tau(rows):
    """Mean over benchmarks of a drafter's τ (each benchmark weighted equally)."""
    taus = [r["tau"] for r in rows]
    return sum(taus) / len(taus) if taus else None


def paired(per_prompt, a, b, resamples=10000, seed=1):
    """B against A on the same prompts and seeds: the relative change of mean τ per benchmark and over all
    prompts, with a 95% percentile interval from resampling prompts (both arms together)."""
    import random
    rows = [json.loads(l) for l in open(per_prompt) if l.strip()]
    tau = {}
    for r in rows:
        if r.get("drafts", 1) == 1 and r["objective"] in (a, b):
            tau.setdefault((r["benchmark"], r["seed"], r["prompt"]), {})[r["objective"]] = r["tau"]
    both = {k: v for k, v in tau.items() if a in v and b in v}
    rng = random.Random(seed)
    def change(keys):
        return sum(both[k][b] for k in keys) / sum(both[k][a] for k in keys) - 1
    result = {"a": a, "b": b, "method": f"paired percentile bootstrap over prompts, {resamples} resamples", "benchmarks": {}}
    for bench in BENCHMARKS + ["all"]:
        keys = [k for k in both if bench == "all" or k[0] == bench]
        if not keys:
            continue
        draws = sorted(change([rng.choice(keys) for _ in keys]) for _ in range(resamples))
        result["benchmarks"][bench] = {"change": change(keys), "ci_low": draws[int(0.025 * resamples)],
                                       "ci_high": draws[int(0.975 * resamples) - 1], "prompts": len(keys)}
    return result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("grid")
    ap.add_argument("--run", required=True, help="label of this run, e.g. '2026-12-01 session 5'")
    ap.add_argument("--commands-file", required=True)
    ap.add_argument("--merge", help="an existing zoo-tau.json whose records of other runs are kept")
    ap.add_argument("--earlier-commands-file", action="append", default=[],
                    help="the COMMANDS.txt of a run whose records --merge keeps (repeatable): its commands come first")
    ap.add_argument("--unlabelled-run", default="earlier run", help="run label for merged records that have none")
    ap.add_argument("--json", required=True)
    ap.add_argument("--pair", action="append", default=[], metavar="A:B",
                    help="also the paired change of objective B against A from per_prompt.jsonl (repeatable)")
    a = ap.parse_args()

    records = cell_records(a.grid, a.run)
    report = load(os.path.join(a.grid, "report.json"))
    def read_commands(path):
        with open(path) as f:
            return [l.rstrip("\n") for l in f if l.strip() and not l.startswith("#")]
    commands = read_commands(a.commands_file)
    out = {"commands": commands, "device": "NVIDIA H200", "records": records}
    out["over_seeds"] = [dict(row, run=a.run) for row in report["rows"]]
    out["over_seeds_method"] = report["method"]
    sampling = []
    for p in sorted(glob.glob(os.path.join(a.grid, "sampling", "*.json"))):
        d = load(p)
        label = os.path.basename(p)[:-5]
        name, setting = label.split("-", 1)
        bs = d["benchmarks"]
        sampling.append({"run": a.run, "drafter": name, "setting": setting, "settings": d.get("settings"),
                         "tau_mean_over_benchmarks": mean_tau(bs),
                         "tokens_per_s": sum(b["emitted"] for b in bs) / sum(b["seconds"] for b in bs),
                         "benchmarks": {b["benchmark"]: {"tau": b["tau"], "ci_low": b["tau_ci_low"],
                                                         "ci_high": b["tau_ci_high"], "prompts": b["prompts"]} for b in bs}})
    out["sampling"] = sampling
    decode = os.path.join(a.grid, "decode.json")
    if os.path.exists(decode):
        out["decode"] = [dict(load(decode), run=a.run)]
    out["paired"] = [dict(paired(os.path.join(a.grid, "per_prompt.jsonl"), *p.split(":", 1)), run=a.run) for p in a.pair]
    if a.merge and os.path.exists(a.merge):
        old = load(a.merge)
        for key in ("over_seeds", "sampling", "paired"):  # other runs' rows are kept beside this run's
            out[key] = [r for r in old.get(key, []) if r.get("run", a.unlabelled_run) != a.run] + out[key]
        for r in old.get("records", []):
            r.setdefault("run", a.unlabelled_run)
        kept = [r for r in old.get("records", []) if r["run"] != a.run]
        out["records"] = kept + records
        old_decode = old.get("decode", [])
        old_decode = old_decode if isinstance(old_decode, list) else [old_decode]
        for d in old_decode:
            d.setdefault("run", a.unlabelled_run)
        out["decode"] = [d for d in old_decode if d.get("run") != a.run] + out.get("decode", [])
        out["commands"] = [c for f in a.earlier_commands_file for c in read_commands(f)] + commands
    with open(a.json, "w") as f:
        json.dump(out, f, indent=1)

    # Markdown: per objective, τ over seeds per benchmark with its interval, and held-out τ per seed
    rows = report["rows"]
    objectives = list(dict.fromkeys(r["objective"] for r in rows))
    print("| objective | " + " | ".join(BENCHMARKS) + " | mean | held-out τ (per seed) |")
    print("|---|" + "---|" * (len(BENCHMARKS) + 2))
    for o in objectives:
        cells = []
        for b in BENCHMARKS:
            r = next((r for r in rows if r["objective"] == o and r["benchmark"] == b), None)
            if r is None:
                cells.append("–")
                continue
            delta = "" if r["relative_change"] is None else \
                f"<br>{100 * r['relative_change']:+.1f}% [{100 * r['relative_change_ci'][0]:+.1f}, {100 * r['relative_change_ci'][1]:+.1f}]"
            cells.append(f"{r['tau']:.2f} [{r['tau_ci'][0]:.2f}, {r['tau_ci'][1]:.2f}]{delta}")
        mine = [r for r in rows if r["objective"] == o and r["benchmark"] in BENCHMARKS]  # not the pooled "all" row
        held = sorted({(x["seed"], x["held_out_tau"]) for x in records if x["objective"] == o})
        print(f"| {o} | " + " | ".join(cells) + f" | {mean_tau(mine):.2f} | "
              + ", ".join(f"{t:.2f} (seed {s})" for s, t in held) + " |")
    for p in out["paired"]:
        if p["run"] != a.run:
            continue
        print()
        print(f"{p['b']} against {p['a']} (paired): " + ", ".join(
            f"{k} {100 * v['change']:+.1f}% [{100 * v['ci_low']:+.1f}, {100 * v['ci_high']:+.1f}]" for k, v in p["benchmarks"].items()))
    if sampling:
        print()
        print("| drafter | setting | mean τ | tokens/s (all evals at once) | " + " | ".join(BENCHMARKS) + " |")
        print("|---|---|---|---|" + "---|" * len(BENCHMARKS))
        for s in sampling:
            print(f"| {s['drafter']} | {s['setting']} | {s['tau_mean_over_benchmarks']:.2f} | {s['tokens_per_s']:.0f} | "
                  + " | ".join(f"{s['benchmarks'][b]['tau']:.2f}" if b in s["benchmarks"] else "–" for b in BENCHMARKS) + " |")


if __name__ == "__main__":
    main()
