#!/usr/bin/env bash
# One device session of the strong-drafter table on the GPU host, in three chained calls (start each the moment
# the previous returns: the machine and runs/ go back 30 s after a call). As run in the sixth session with
# GRID=benchmarks/grids/zoo-llama-11m-long.json (benchmarks/results/zoo-grid-long/COMMANDS.txt):
#   CALL=1: smoke benches (fused drafter layer vs eager, contended by the target's training) + prepare + cells
#   CALL=2: cells;  CALL=3: finish (report, bench decode; with DECODE_SHARE=S, S seconds of decode comparisons:
#   PREV_MODULE=FILE AB_ROUNDS=N for a module A/B, SPEEDUP_PROMPTS=N for eval's speedup on the six benchmarks)
# REGEN_FUSED=1 makes the fused-ops module on the host first (see below).
set -uo pipefail
T0=$(date +%s); LIMIT=${LIMIT:-575}
# BACKEND=fused|eager: CALL=1 without the smoke benches (a call earlier the same day measured them), that backend for the cells
[[ -z "${BACKEND:-}" || $BACKEND == fused || $BACKEND == eager ]] || { echo "BACKEND=$BACKEND: expected fused or eager" >&2; exit 2; }
left() { echo $(( T0 + LIMIT - $(date +%s) )); }
mkdir -p $OUT/r
GRID=${GRID:-benchmarks/grids/zoo-llama-11m-long.json}
GRID_OUT=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['out'])" "$GRID")
TARGETS=$(python3 -c "import json,sys; print(' '.join(json.load(open(sys.argv[1]))['targets']))" "$GRID")
ZOO_NAMES=$(for t in $TARGETS; do basename "$t"; done | tr '\n' ' ') # the zoo targets the grid needs trained (zoo.sh's names)
# a later call on a machine that went back finds runs/ empty: say so at once instead of spending the call
if [[ ${CALL:-1} != 1 ]]; then
  for t in $TARGETS; do
    [[ -f $t/model.safetensors ]] || { echo "CALL=$CALL: $t is missing, the machine went back since CALL=1 (runs/ with it): start again with CALL=1" >&2; exit 3; }
  done
fi
# REGEN_FUSED=1: the fused-ops module made here from the committed tools/make_fused_ops.py with the host's torch
# (for a generator newer than the committed module), checked by tools/check_fused_ops.py, and given to every JVM
# (.gpu/env.sh adds BLOCKDRAFT_JAVA_OPTS); if that fails, the whole-model methods it would add stay eager
SKIP=drafter_layer
if [[ -n "${REGEN_FUSED:-}" ]]; then
  if { python3 tools/make_fused_ops.py $OUT/fused_ops.pt && python3 tools/check_fused_ops.py; } > $OUT/r/module.txt 2>&1; then
    export BLOCKDRAFT_JAVA_OPTS="-Dblockdraft.fusedOpsModule=$OUT/fused_ops.pt"
  else
    SKIP=drafter_layer,frozen_forward,drafter_block; export BLOCKDRAFT_JAVA_OPTS="-Dblockdraft.fusedOps.skip=frozen_forward,drafter_block"
  fi
  echo "module: $BLOCKDRAFT_JAVA_OPTS" >> $OUT/r/module.txt
fi
bash .gpu/kit/unpack.sh > /tmp/unpack.log 2>&1 || { tail -30 /tmp/unpack.log; exit 1; }
export DJL_TF32=1 && source .gpu/kit/env.sh && export BD_XMX=6g
BD_EAGER="${BD/dev.blockdraft.cli.Main/-Dblockdraft.fusedOps.skip=$SKIP dev.blockdraft.cli.Main}"
mkdir -p runs/zoo
smoke() {
  local name=$1; shift
  timeout 120 "$@" > $OUT/r/smoke-$name.txt 2>&1; echo "smoke $name rc=$?" >> $OUT/r/smoke.txt
}
case ${CALL:-1} in
  1)
    ( BD="$BD_EAGER" DATA=$BLOCKDRAFT_DATA GRID=$GRID ZOO_ONLY=${ZOO_ONLY:-$ZOO_NAMES} PHASE=prepare DEADLINE=$(( $(left) - 5 )) PREPARE_SHARE=150 \
        bash benchmarks/zoo_grid.sh > $OUT/r/prepare.txt 2>&1 ) &
    P=$!
    if [[ -n "${BACKEND:-}" ]]; then
      echo "$BACKEND" > runs/zoo/backend.choice; echo "backend: $BACKEND (BACKEND, no smoke)" >> $OUT/r/smoke.txt
    else
    sleep 20
    smoke train-fused $BD bench train --device gpu --precision fp16 --target-steps 0 --warmup 3 --steps 10 --json $OUT/r/train-fused.json
    smoke train-eager $BD_EAGER bench train --device gpu --precision fp16 --target-steps 0 --warmup 3 --steps 10 --json $OUT/r/train-eager.json
    smoke decode-fused $BD bench decode --device gpu --prompts 2 --max-new-tokens 64 --json $OUT/r/decode-fused.json
    smoke decode-eager $BD_EAGER bench decode --device gpu --prompts 2 --max-new-tokens 64 --json $OUT/r/decode-eager.json
    # blockdraft against transformers, on the cpu and through the GPU's fused ops (the module above)
    smoke parity python3 .gpu/bench/hf_parity.py --java "$BD parity" --java-devices cpu,gpu --workdir /tmp/parity --json $OUT/r/parity.json
    python3 - $OUT/r > runs/zoo/backend.choice 2>> $OUT/r/smoke.txt <<'PY'
import json, sys, math, pathlib
d = pathlib.Path(sys.argv[1])
try:
    f = json.loads((d / "train-fused.json").read_text())["drafter_step"]; e = json.loads((d / "train-eager.json").read_text())["drafter_step"]
    ok = all(math.isfinite(x[k]) for x in (f, e) for k in ("loss_first", "loss_last")) and abs(f["loss_last"] - e["loss_last"]) < 0.05 * abs(e["loss_last"])
    print("fused" if ok else "eager"); print("fused", f["loss_first"], f["loss_last"], f["step_ms_median"], "eager", e["loss_first"], e["loss_last"], e["step_ms_median"], file=sys.stderr)
except Exception as ex:
    print("eager"); print("no choice:", ex, file=sys.stderr)
PY
    echo "backend: $(cat runs/zoo/backend.choice)" >> $OUT/r/smoke.txt
    fi
    wait $P
    ;;
esac
CHOICE=$(cat runs/zoo/backend.choice 2>/dev/null || echo eager)
[[ $CHOICE == fused ]] && BDC="$BD" || BDC="$BD_EAGER"
case ${CALL:-1} in
  1|2) BD="$BDC" DATA=$BLOCKDRAFT_DATA GRID=$GRID PHASE=cells DEADLINE=$(( $(left) - 12 )) bash benchmarks/zoo_grid.sh > $OUT/r/cells-$CALL.txt 2>&1 ;;
  3) BD="$BDC" DATA=$BLOCKDRAFT_DATA GRID=$GRID PHASE=finish DEADLINE=$(( $(left) - 12 - ${DECODE_SHARE:-0} )) FINISH_RESERVE=${FINISH_RESERVE:-100} bash benchmarks/zoo_grid.sh > $OUT/r/finish.txt 2>&1
     # DECODE_SHARE seconds kept for: every cell's best drafter through bench decode with the whole step as one call
     # (and, with PREV_MODULE=FILE, through that earlier fused-ops module: an A/B of the module), then each layer as
     # one call and eager for the first; then interleaved rounds against transformers
     if (( ${DECODE_SHARE:-0} > 0 )); then
       # AB_ROUNDS=N (with PREV_MODULE): N alternating whole/prev pairs per cell before the rest (decode-whole-rI-*, decode-prev-rI-*), because
       # this host's tokens/s drifted by ±25% between runs of one call (ninth session): compare the rounds' medians
       MODES="whole prev layers eager"
       if [[ -f ${PREV_MODULE:-/nonexistent} ]] && (( ${AB_ROUNDS:-1} > 1 )); then
         MODES=""; for (( i = 1; i <= AB_ROUNDS; i++ )); do MODES+=" whole-r$i prev-r$i"; done; MODES+=" layers eager"
       fi
       for cell in $GRID_OUT/*/drafter/best; do
         for mode in $MODES; do
           case ${mode%-r*} in
             whole) B2="$BDC" ;;
             prev) [[ -f ${PREV_MODULE:-/nonexistent} ]] || continue
                   B2="${BDC/dev.blockdraft.cli.Main/-Dblockdraft.fusedOpsModule=$PREV_MODULE dev.blockdraft.cli.Main}" ;;
             layers) B2="${BDC/dev.blockdraft.cli.Main/-Dblockdraft.fusedOps.skip=frozen_forward,drafter_block dev.blockdraft.cli.Main}" ;;
             eager) B2="${BDC/dev.blockdraft.cli.Main/-Dblockdraft.fusedOps=off dev.blockdraft.cli.Main}" ;;
           esac
           [[ ${mode%-r*} != whole && ${mode%-r*} != prev && $cell != $(ls -d $GRID_OUT/*/drafter/best | head -1) ]] && continue
           (( $(left) > 60 )) || break
           name=$(basename $(dirname $(dirname $cell)))
           timeout 100 $B2 bench decode --device gpu --target ${TARGETS%% *} --drafter $cell --prompts 6 --max-new-tokens 128 \
             --json $OUT/r/decode-$mode-$name.json > $OUT/r/decode-$mode-$name.txt 2>&1
         done
       done
       # SPEEDUP_PROMPTS=N: every cell's best drafter through `eval` with its plain baseline, N prompts of each of the
       # six benchmarks alone on the GPU: the speedup on the prompts τ is measured on (bench decode's six are its own)
       if (( ${SPEEDUP_PROMPTS:-0} > 0 )); then
         for cell in $GRID_OUT/*/drafter/best; do
           (( $(left) > 90 )) || break
           name=$(basename $(dirname $(dirname $cell)))
           timeout $(( $(left) - 30 )) $BDC eval --device gpu --target ${TARGETS%% *} --drafter $cell --max-prompts $SPEEDUP_PROMPTS \
             --max-new-tokens 128 --json $OUT/r/speedup-$name.json > $OUT/r/speedup-$name.txt 2>&1
         done
       fi
       if (( $(left) > 120 )); then
         VS_DIR=$OUT/r/vs timeout $(( $(left) - 15 )) bash .gpu/bench/vs_reference.sh decode ${ROUNDS:-3} > $OUT/r/vs.txt 2>&1
       fi
     fi ;;
esac
# pack everything into one archive ($OUT returns at most 8 files): logs, manifests, cells' small files (no weights)
# each cell's trainer_state.json outgrew the pack's 3 MB (a record per step): its last step, every evaluation and the
# run settings go beside it as training.json, the compact copy benchmarks/grid_results.py reads
for state in $GRID_OUT/*/drafter/trainer_state.json; do
  [[ -f $state ]] || continue
  python3 - "$state" <<'PY'
import json, os, sys
d = json.load(open(sys.argv[1]))
compact = {"note": "trainer_state.json with its last step record only (benchmarks/zoo_calls.sh)",
           "steps": (d.get("steps") or [])[-1:], "evals": d.get("evals") or [], "run": d.get("run") or {}}
with open(os.path.join(os.path.dirname(sys.argv[1]), "training.json"), "w") as f:
    json.dump(compact, f, indent=1)
PY
done
cp -r $GRID_OUT/logs $OUT/r/grid-logs 2>/dev/null
cp runs/zoo/logs/*.txt $OUT/r/ 2>/dev/null
find $GRID_OUT $TARGETS -maxdepth 4 \( -name '*.json' -o -name '*.jsonl' -o -name '*.csv' -o -name '*.txt' \) -size -3M 2>/dev/null | grep -v '/checkpoint' | tar czf $OUT/r/small.tgz -T - 2>/dev/null
echo "== module"; cat $OUT/r/module.txt 2>/dev/null | tail -3
echo "== smoke"; cat $OUT/r/smoke.txt 2>/dev/null
for f in $OUT/r/decode-*.txt; do [[ -f $f ]] && { echo "== $(basename $f)"; grep -A3 "^decode " $f; }; done
for f in $OUT/r/speedup-*.txt; do [[ -f $f ]] && { echo "== $(basename $f)"; tail -n 12 $f; }; done
[[ -f $OUT/r/vs.txt ]] && { echo "== vs transformers"; tail -n 12 $OUT/r/vs.txt; }
for f in prepare cells-1 cells-2 finish; do [[ -f $OUT/r/$f.txt ]] && { echo "== $f"; tail -n 25 $OUT/r/$f.txt; }; done
tar czf $OUT/results.tgz -C $OUT r && rm -rf $OUT/r
echo "call ${CALL:-1} done, $(( $(date +%s) - T0 )) s; backend $CHOICE"
