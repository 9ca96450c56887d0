#!/usr/bin/env bash
# One device session of the strong-drafter table on the GPU host, in three chained calls (start each the moment
# the previous returns: the machine and runs/ go back 30 s after a call). As run in the sixth session with
# GRID=benchmarks/grids/zoo-llama-11m-long.json (benchmarks/results/zoo-grid-long/COMMANDS.txt):
#   CALL=1: smoke benches (fused drafter layer vs eager, contended by the target's training) + prepare + cells
#   CALL=2: cells;  CALL=3: finish (report, bench decode)
set -uo pipefail
T0=$(date +%s); LIMIT=${LIMIT:-575}
left() { echo $(( T0 + LIMIT - $(date +%s) )); }
bash .gpu/kit/unpack.sh > /tmp/unpack.log 2>&1 || { tail -30 /tmp/unpack.log; exit 1; }
export DJL_TF32=1 && source .gpu/kit/env.sh && export BD_XMX=6g
BD_EAGER="${BD/dev.blockdraft.cli.Main/-Dblockdraft.fusedOps.skip=drafter_layer dev.blockdraft.cli.Main}"
GRID=${GRID:-benchmarks/grids/zoo-llama-11m-long.json}
G=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['out'])" "$GRID")
TARGETS=$(python3 -c "import json,sys; print(' '.join(json.load(open(sys.argv[1]))['targets']))" "$GRID")
mkdir -p runs/zoo $OUT/r
smoke() {
  local name=$1; shift
  timeout 120 "$@" > $OUT/r/smoke-$name.txt 2>&1; echo "smoke $name rc=$?" >> $OUT/r/smoke.txt
}
case ${CALL:-1} in
  1)
    ( BD="$BD_EAGER" DATA=$BLOCKDRAFT_DATA GRID=$GRID ZOO_ONLY=${ZOO_ONLY:-llama-11m} PHASE=prepare DEADLINE=$(( $(left) - 5 )) PREPARE_SHARE=150 \
        bash benchmarks/zoo_grid.sh > $OUT/r/prepare.txt 2>&1 ) &
    P=$!
    sleep 20
    smoke train-fused $BD bench train --device gpu --precision fp16 --target-steps 0 --warmup 3 --steps 10 --json $OUT/r/train-fused.json
    smoke train-eager $BD_EAGER bench train --device gpu --precision fp16 --target-steps 0 --warmup 3 --steps 10 --json $OUT/r/train-eager.json
    smoke decode-fused $BD bench decode --device gpu --prompts 2 --max-new-tokens 64 --json $OUT/r/decode-fused.json
    smoke decode-eager $BD_EAGER bench decode --device gpu --prompts 2 --max-new-tokens 64 --json $OUT/r/decode-eager.json
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
    wait $P
    ;;
esac
CHOICE=$(cat runs/zoo/backend.choice 2>/dev/null || echo eager)
[[ $CHOICE == fused ]] && BDC="$BD" || BDC="$BD_EAGER"
case ${CALL:-1} in
  1|2) BD="$BDC" DATA=$BLOCKDRAFT_DATA GRID=$GRID PHASE=cells DEADLINE=$(( $(left) - 12 )) bash benchmarks/zoo_grid.sh > $OUT/r/cells-$CALL.txt 2>&1 ;;
  3) BD="$BDC" DATA=$BLOCKDRAFT_DATA GRID=$GRID PHASE=finish DEADLINE=$(( $(left) - 12 )) FINISH_RESERVE=${FINISH_RESERVE:-100} bash benchmarks/zoo_grid.sh > $OUT/r/finish.txt 2>&1 ;;
esac
# pack everything into one archive ($OUT returns at most 8 files): logs, manifests, cells' small files (no weights)
cp -r $G/logs $OUT/r/grid-logs 2>/dev/null
cp runs/zoo/logs/*.txt $OUT/r/ 2>/dev/null
find $G $TARGETS -maxdepth 4 \( -name '*.json' -o -name '*.jsonl' -o -name '*.csv' -o -name '*.txt' \) -size -3M 2>/dev/null | grep -v '/checkpoint' | tar czf $OUT/r/small.tgz -T - 2>/dev/null
echo "== smoke"; cat $OUT/r/smoke.txt 2>/dev/null
for f in prepare cells-1 cells-2 finish; do [[ -f $OUT/r/$f.txt ]] && { echo "== $f"; tail -n 25 $OUT/r/$f.txt; }; done
tar czf $OUT/results.tgz -C $OUT r && rm -rf $OUT/r
echo "call ${CALL:-1} done, $(( $(date +%s) - T0 )) s; backend $CHOICE"
