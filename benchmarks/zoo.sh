#!/usr/bin/env bash
# The four-target zoo and its strong-drafter table, as run on one NVIDIA H200 for benchmarks/RESULTS.md and
# benchmarks/results/zoo-tau.json, in phases that chain over device calls (a rerun of a phase resumes: targets
# and drafters from their last checkpoints, finished ones are skipped):
#   PHASE=targets  : the four targets trained concurrently (fp16), ZOO_STEPS steps each
#   PHASE=drafters : unfinished targets resume; per target, regenerate at scale (RECIPE), then one drafter per
#                    objective in OBJECTIVES (same data, shape, budget and seed), all concurrently
#   PHASE=eval     : unfinished drafters resume for TRAIN_SHARE seconds; each drafter's best checkpoint (by held-out τ) is evaluated online
#                    on the six benchmarks (EVAL_PROMPTS prompts each, MT-Bench both turns, per-prompt results and
#                    bootstrap intervals, the train/serve mismatch check); `bench decode` per target with its best drafter
#   BD="bin/blockdraft" DATA=../shared/datasets OUT=runs/zoo PHASE=targets DEADLINE=480 bash benchmarks/zoo.sh
# DEADLINE (seconds) cuts each phase's jobs off so a device call can pack its results in time; the cut jobs resume
# in the next phase. TF32 for the remaining fp32 matmuls: TORCH_ALLOW_TF32_CUBLAS_OVERRIDE=1 in the environment.
# The recorded runs used alpaca_eval_outputs' first 12,000 records (the GPU host's upload limit).
set -uo pipefail
BD=${BD:-bin/blockdraft}
DATA=${DATA:-../shared/datasets}
OUT=${OUT:-runs/zoo}
PHASE=${PHASE:-targets}
TOKENIZER=${TOKENIZER:-datasets/targets/default}
read -r -a STEPS <<< "${ZOO_STEPS:-6600 5500 4400 3600}"
read -r -a DRAFT_STEPS <<< "${DRAFT_STEPS:-3000 2500 2000 1500}"
OBJECTIVES=${OBJECTIVES:-uniform dflash dpace paper}
# greedy answers, as recorded (a GPU's default samples three per conversation since the fifteenth session)
RECIPE=${RECIPE:---prompts 6000 --validation 128 --max-new-tokens 512 --batch 1024 --temperature 0}
# drafters at train-drafter's default depth: on a GPU one layer per two target layers since the seventh session (3, 4, 5, 5
# here); the fourth session's recorded drafters had one per four (1, 2, 3, 3): pass --layers to repeat one of them
DRAFT_ARGS=${DRAFT_ARGS:---block-size 16 --batch 8 --seq-len 1024 --blocks-per-sequence 256 --eval-every 250 --checkpoint-every 250 --validation-sequences 128}
EVAL_PROMPTS=${EVAL_PROMPTS:-20}
EVAL_TOKENS=${EVAL_TOKENS:-64}
SEED=${SEED:-7}
# one deadline for the whole phase: each job gets what is left of it
END=$(( $(date +%s) + ${DEADLINE:-86400} ))
limit() {
  local left=$(( END - $(date +%s) ))
  if (( left < 10 )); then echo "deadline reached, not starting: $*"; return 124; fi
  timeout -s INT "$left" "$@"
}
mkdir -p "$OUT/logs"
export PYTORCH_CUDA_ALLOC_CONF=${PYTORCH_CUDA_ALLOC_CONF:-expandable_segments:True}
stamp() { echo "== $(date -u +%FT%TZ) $*"; }

DEVICE=${DEVICE:-gpu}
PRECISION=${PRECISION:-fp16}
ZOO=("llama-11m llama 384 6 6 2 1024 ${STEPS[0]} 1.5e-3 ${DRAFT_STEPS[0]}"
     "qwen3-27m qwen3 512 8 8 4 1536 ${STEPS[1]} 1e-3 ${DRAFT_STEPS[1]}"
     "llama-79m llama 768 12 12 4 2048 ${STEPS[2]} 8e-4 ${DRAFT_STEPS[2]}"
     "qwen3-146m qwen3 1024 12 16 8 2816 ${STEPS[3]} 6e-4 ${DRAFT_STEPS[3]}")
if [[ -n "${ZOO_ONLY:-}" ]]; then # a subset of the zoo by name, e.g. ZOO_ONLY="llama-11m"
  KEPT=(); for z in "${ZOO[@]}"; do for n in $ZOO_ONLY; do [[ "${z%% *}" == "$n" ]] && KEPT+=("$z"); done; done; ZOO=("${KEPT[@]}")
fi
if [[ -n "${ZOO_TINY:-}" ]]; then # a dry run of the whole pipeline on a CPU: the same four names, tiny shapes
  ZOO=("llama-11m llama 64 4 4 2 128 ${STEPS[0]} 1e-3 ${DRAFT_STEPS[0]}"
       "qwen3-27m qwen3 64 4 4 2 128 ${STEPS[1]} 1e-3 ${DRAFT_STEPS[1]}")
fi

finished() { [[ -f "$1/model.safetensors" && ! -f "$1/optimizer.safetensors" ]]; } # a finished run keeps no optimizer state

train_target() { # name model-type hidden layers heads kv-heads intermediate steps lr
  local name=$1 type=$2 hidden=$3 layers=$4 heads=$5 kv=$6 inter=$7 steps=$8 lr=$9
  finished "$OUT/$name" && return
  stamp "train-target $name" >> "$OUT/logs/target_$name.txt"
  limit $BD train-target --device $DEVICE --precision $PRECISION --tokenizer "$TOKENIZER" --out "$OUT/$name" --data "$DATA" \
      --model-type $type --hidden $hidden --layers $layers --heads $heads --kv-heads $kv --intermediate $inter \
      --context 1024 --steps $steps ${TARGET_BATCH:---batch 16 --seq-len 512} --lr $lr --weight-decay 0.1 \
      --eval-every $(( steps / 10 )) --checkpoint-every $(( steps / 10 )) --corpus-cap ${CORPUS_CAP:-100000} \
      >> "$OUT/logs/target_$name.txt" 2>&1
}

drafters() { # name draft-steps
  local name=$1 steps=$2
  if [[ ! -f "$OUT/regen-$name/manifest.json" ]]; then
    stamp "regenerate $name" >> "$OUT/logs/regen_$name.txt"
    limit $BD regenerate --device $DEVICE --data "$DATA" --target "$OUT/$name" --out "$OUT/regen-$name" $RECIPE \
        >> "$OUT/logs/regen_$name.txt" 2>&1 || return
    stamp "regenerated $name" >> "$OUT/logs/regen_$name.txt"
  fi
  for obj in $OBJECTIVES; do
    finished "$OUT/drafter-$name-$obj" && continue
    ( stamp "train-drafter $name $obj"
      limit $BD train-drafter --device $DEVICE --precision $PRECISION --target "$OUT/$name" --data-dir "$OUT/regen-$name" \
          --out "$OUT/drafter-$name-$obj" --objective $obj --steps $steps --seed $SEED $DRAFT_ARGS --data "$DATA"
    ) >> "$OUT/logs/drafter_${name}_$obj.txt" 2>&1 &
  done
  wait
}

evaluate() { # name: each drafter's best checkpoint on the six benchmarks, concurrently
  local name=$1
  for obj in $OBJECTIVES; do
    local d="$OUT/drafter-$name-$obj"
    [[ -d "$d/best" ]] || continue
    ( stamp "eval $name $obj"
      limit $BD eval --device $DEVICE --data "$DATA" --target "$OUT/$name" --drafter "$d/best" --objective $obj \
          --max-prompts $EVAL_PROMPTS --max-new-tokens $EVAL_TOKENS --no-baseline --skip-long \
          --json "$OUT/eval-$name-$obj.json" ) >> "$OUT/logs/eval_${name}_$obj.txt" 2>&1 &
  done
  wait
}

decode() { # name: the drafter with the best held-out τ decodes against plain decoding, alone on the GPU
  local name=$1 best="" bestTau=0
  for obj in $OBJECTIVES; do
    local f="$OUT/drafter-$name-$obj/best/best.json"
    [[ -f "$f" ]] || continue
    local t; t=$(python3 -c "import json,sys; print(json.load(open('$f'))['tau'])")
    if python3 -c "import sys; sys.exit(0 if $t > $bestTau else 1)"; then best=$obj; bestTau=$t; fi
  done
  [[ -n "$best" ]] || return
  stamp "bench decode $name $best (held-out τ $bestTau)" >> "$OUT/logs/decode_$name.txt"
  limit $BD bench decode --device $DEVICE --target "$OUT/$name" --drafter "$OUT/drafter-$name-$best/best" \
      --prompts 6 --max-new-tokens 128 --json "$OUT/decode-$name.json" >> "$OUT/logs/decode_$name.txt" 2>&1
}

case $PHASE in
  targets)
    for z in "${ZOO[@]}"; do set -- $z; train_target "$@" & done; wait ;;
  drafters)
    for z in "${ZOO[@]}"; do set -- $z; train_target "$@" & done; wait
    for z in "${ZOO[@]}"; do set -- $z; finished "$OUT/$1" && drafters "$1" "${10}" & done; wait ;;
  eval)
    END_TRAIN=$(( $(date +%s) + ${TRAIN_SHARE:-0} ))
    if (( ${TRAIN_SHARE:-0} > 0 )); then
      SAVED_END=$END; END=$END_TRAIN
      for z in "${ZOO[@]}"; do set -- $z; drafters "$1" "${10}" & done; wait
      END=$SAVED_END
    fi
    for z in "${ZOO[@]}"; do set -- $z; evaluate "$1" & done; wait
    for z in "${ZOO[@]}"; do set -- $z; decode "$1"; done ;;
  *) echo "PHASE must be targets, drafters or eval" >&2; exit 2 ;;
esac
grep -h "held-out\|validation\|τ" "$OUT"/logs/*.txt 2>/dev/null | tail -40
