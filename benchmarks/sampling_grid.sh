#!/usr/bin/env bash
# Issue 14, item 5: τ and tokens/s of speculative decoding at T = 0 and T = 1 for K ∈ {1, 2, 4, 8} candidate
# blocks and for a draft tree, on the six benchmarks, for each drafter given (e.g. the zoo's uniform and paper
# drafters of one target). One `eval` per setting and drafter, JSON (with provenance: the decoding settings
# are in it) under $OUT; JOBS evals run at once (batch-1 decoding is host-bound: several JVMs share one GPU).
#   BD="bin/blockdraft" DATA=../shared/datasets OUT=runs/sampling TARGET=runs/zoo/<target> \
#     DRAFTERS="uniform=runs/zoo/grid/<uniform cell>/drafter/best paper=runs/zoo/grid/<paper cell>/drafter/best" \
#     [PROMPTS=20 TOKENS=128 TREE=32 JOBS=8 DEADLINE=500 TEMPERATURES="0 1" DRAFTS="1 2 4 8"] bash benchmarks/sampling_grid.sh
# Each DRAFTERS entry is NAME=FOLDER (or a folder, named by its base name).
# DEADLINE (seconds) cuts each eval off; a cut eval writes no JSON (summarise what finished).
set -uo pipefail
BD=${BD:-bin/blockdraft}
DATA=${DATA:-../shared/datasets}
OUT=${OUT:-runs/sampling}
PROMPTS=${PROMPTS:-20}
TOKENS=${TOKENS:-128}
TREE=${TREE:-32}
JOBS=${JOBS:-8}
LIMIT=()
if [[ -n "${DEADLINE:-}" ]]; then LIMIT=(timeout "$DEADLINE"); fi
mkdir -p "$OUT/logs"
settings=()
for t in ${TEMPERATURES:-0 1}; do
  for k in ${DRAFTS:-1 2 4 8}; do settings+=("T$t-K$k|--temperature $t --drafts $k"); done
  settings+=("T$t-tree$TREE|--temperature $t --tree-nodes $TREE")
done
for entry in $DRAFTERS; do
  if [[ "$entry" == *=* ]]; then name=${entry%%=*} d=${entry#*=}; else d=$entry name=$(basename "$entry"); fi
  for s in "${settings[@]}"; do
    label=${s%%|*} flags=${s#*|}
    while (( $(jobs -rp | wc -l) >= JOBS )); do wait -n; done
    # shellcheck disable=SC2086
    "${LIMIT[@]}" $BD eval --device ${DEVICE:-gpu} --data "$DATA" --target "$TARGET" --drafter "$d" --max-prompts "$PROMPTS" \
        --max-new-tokens "$TOKENS" --skip-long --seed 0 $flags --objective "$name" --json "$OUT/$name-$label.json" \
        > "$OUT/logs/$name-$label.txt" 2>&1 &
  done
done
wait
ls "$OUT"/*.json 2>/dev/null | wc -l
