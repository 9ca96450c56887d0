#!/usr/bin/env bash
# The strong-drafter table through the ablation grid, on one GPU, in phases that chain over device calls (each
# phase resumes what the previous one left: targets and drafters from their last checkpoints, finished cells are
# skipped, so a phase cut by DEADLINE loses at most one checkpoint interval):
#   PHASE=prepare : the grid's targets trained (benchmarks/zoo.sh, ZOO_ONLY), then its regenerated data (ablate --prepare)
#   PHASE=cells   : every cell of GRID at once, one `ablate --shard i/n` process per cell on the one GPU
#   PHASE=finish  : the cells again (unfinished ones resume and are evaluated), the grid report, the sampling
#                   grid (benchmarks/sampling_grid.sh) on SAMPLING cells' best drafters, and `bench decode` of the
#                   cell with the best held-out τ, alone on the GPU
#   BD=bin/blockdraft DATA=../shared/datasets GRID=benchmarks/grids/zoo-llama-11m.json ZOO_ONLY=llama-11m \
#     PHASE=prepare DEADLINE=480 bash benchmarks/zoo_grid.sh
# The grid file names the targets as folders under runs/zoo (zoo.sh's OUT) and the grid's own out folder.
set -uo pipefail
BD=${BD:-bin/blockdraft}
DATA=${DATA:-../shared/datasets}
GRID=${GRID:?GRID=benchmarks/grids/<grid>.json}
PHASE=${PHASE:-prepare}
END=$(( $(date +%s) + ${DEADLINE:-86400} ))
left() { echo $(( END - $(date +%s) )); }
OUTDIR=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['out'])" "$GRID")
mkdir -p "$OUTDIR/logs"
stamp() { echo "== $(date -u +%FT%TZ) $*"; }
cells() { $BD ablate "$GRID" --list 2>/dev/null | awk 'NF >= 2 && $2 ~ /^(new|started|finished)$/ {n++} END {print n+0}'; }

run_cells() { # one process per cell, all at once, cut RESERVE seconds before the deadline
  local n; n=$(cells)
  (( n > 0 )) || { echo "no cells in $GRID" >&2; return 1; }
  local budget=$(( $(left) - ${RESERVE:-0} ))
  (( budget > 20 )) || { echo "no time left for the cells"; return 0; }
  stamp "cells: $n shards for $budget s"
  for (( i = 0; i < n; i++ )); do
    timeout -s INT "$budget" $BD ablate "$GRID" --shard "$i/$n" >> "$OUTDIR/logs/shard-$i.txt" 2>&1 &
  done
  wait
  $BD ablate "$GRID" --list 2>&1 | tail -n "$n"
}

case $PHASE in
  prepare)
    DATA="$DATA" OUT=runs/zoo PHASE=targets DEADLINE=$(( $(left) - ${PREPARE_SHARE:-240} )) bash benchmarks/zoo.sh
    for t in $(python3 -c "import json,sys; print(' '.join(json.load(open(sys.argv[1]))['targets']))" "$GRID"); do
      if [[ ! -f "$t/model.safetensors" || -f "$t/optimizer.safetensors" ]]; then
        echo "target $t is not finished (the next prepare resumes it); no regeneration from a half-trained target"; exit 0
      fi
    done
    stamp "prepare (regenerated data)"
    timeout -s INT "$(left)" $BD ablate "$GRID" --prepare 2>&1 | tr '\r' '\n' | grep -v "eta" | tail -20 ;;
  cells)
    run_cells ;;
  finish)
    RESERVE=${FINISH_RESERVE:-200} run_cells
    $BD ablate "$GRID" --report > "$OUTDIR/report.txt" 2>&1; tail -n 60 "$OUTDIR/report.txt"
    target=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['targets'][0])" "$GRID")
    if [[ -n "${SAMPLING:-}" ]] && (( $(left) > 60 )); then # SAMPLING="uniform=<cell> paper=<cell>"
      drafters=""; for e in $SAMPLING; do drafters+=" ${e%%=*}=$OUTDIR/${e#*=}/drafter/best"; done
      stamp "sampling grid"
      BD="$BD" DATA="$DATA" OUT="$OUTDIR/sampling" TARGET="$target" DRAFTERS="$drafters" DEADLINE=$(( $(left) - 60 )) \
          bash benchmarks/sampling_grid.sh
    fi
    best=$(python3 - "$OUTDIR" <<'EOF'
import json, pathlib, sys
best = max(((json.loads(p.read_text())["tau"], p.parent.parent.parent) for p in pathlib.Path(sys.argv[1]).glob("*/drafter/best/best.json")), default=None)
print(best[1] if best else "")
EOF
)
    if [[ -n "$best" ]] && (( $(left) > 20 )); then
      stamp "bench decode $best"
      timeout -s INT "$(left)" $BD bench decode --device ${DEVICE:-gpu} --target "$target" --drafter "$best/drafter/best" --prompts 6 \
          --max-new-tokens 128 --json "$OUTDIR/decode.json" > "$OUTDIR/logs/decode.txt" 2>&1; tail -n 8 "$OUTDIR/logs/decode.txt"
    fi ;;
  *) echo "PHASE must be prepare, cells or finish" >&2; exit 2 ;;
esac
