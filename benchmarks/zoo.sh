#!/usr/bin/env bash
# The four-target zoo and its τ table, as run on one NVIDIA H200 for benchmarks/RESULTS.md, in two phases
# (two device calls; the second needs the first's $OUT):
#   PHASE=targets  : the four targets trained concurrently (fp16), ZOO_STEPS steps each; run it again after a
#                    DEADLINE cut and each unfinished target resumes from its last checkpoint
#   PHASE=drafters : per target, concurrently: regenerate (2048 prompts), then one demo per objective
#                    (uniform, dflash, paper; 400 fp16 drafter steps each, same seed and data) -> held-out
#                    and online τ on the six benchmarks
#   PHASE=all      : both
#   BD="bin/blockdraft" DATA=../shared/datasets OUT=runs/zoo PHASE=all bash benchmarks/zoo.sh
# The recorded runs used alpaca_eval_outputs' first 12,000 records (the GPU host's upload limit); this script
# builds the same data folder under $OUT/data from DATA. ZOO_STEPS lists the four targets' steps (the
# recorded ones are in datasets/targets/README.md); DEADLINE (seconds, optional) cuts a phase's jobs off.
# Needs a GPU with ~140 GB for the drafters phase (12 JVMs at the peak); run fewer targets at once on smaller cards.
# TF32 for the remaining fp32 matmuls: TORCH_ALLOW_TF32_CUBLAS_OVERRIDE=1 in the environment.
set -uo pipefail
BD=${BD:-bin/blockdraft}
DATA=${DATA:-../shared/datasets}
OUT=${OUT:-runs/zoo}
PHASE=${PHASE:-all}
TOKENIZER=${TOKENIZER:-datasets/targets/default}
read -r -a STEPS <<< "${ZOO_STEPS:-6600 5500 4400 3600}"
LIMIT=()
if [[ -n "${DEADLINE:-}" ]]; then LIMIT=(timeout "$DEADLINE"); fi
mkdir -p "$OUT/logs" "$OUT/data/corpora"
SRC=$(realpath "$DATA")
ln -sfn "$SRC/benchmarks" "$OUT/data/benchmarks"
ln -sfn "$SRC/SOURCES.md" "$OUT/data/SOURCES.md"
ln -sfn "$SRC/corpora/gsm8k_train.jsonl" "$OUT/data/corpora/gsm8k_train.jsonl"
ln -sfn "$SRC/corpora/python_algorithms.jsonl" "$OUT/data/corpora/python_algorithms.jsonl"
head -n 12000 "$SRC/corpora/alpaca_eval_outputs.jsonl" > "$OUT/data/corpora/alpaca_eval_outputs.jsonl"
DATA="$OUT/data"
export PYTORCH_CUDA_ALLOC_CONF=${PYTORCH_CUDA_ALLOC_CONF:-expandable_segments:True}

train_target() { # name model-type hidden layers heads kv-heads intermediate steps lr
  local name=$1 type=$2 hidden=$3 layers=$4 heads=$5 kv=$6 inter=$7 steps=$8 lr=$9
  if [[ -f "$OUT/$name/model.safetensors" && ! -f "$OUT/$name/optimizer.safetensors" ]]; then
    return # finished (a finished run keeps no optimizer state)
  fi
  # a checkpoint every tenth of the run: rerunning the phase (after a DEADLINE cut) resumes from the last one
  echo "== $(date -u +%FT%TZ) train-target $name" >> "$OUT/logs/target_$name.txt"
  "${LIMIT[@]}" $BD train-target --device gpu --precision fp16 --tokenizer "$TOKENIZER" --out "$OUT/$name" --data "$DATA" \
      --model-type $type --hidden $hidden --layers $layers --heads $heads --kv-heads $kv --intermediate $inter \
      --context 1024 --steps $steps --batch 16 --seq-len 512 --lr $lr --weight-decay 0.1 \
      --eval-every $(( steps / 10 )) --checkpoint-every $(( steps / 10 )) --corpus-cap 100000 \
      >> "$OUT/logs/target_$name.txt" 2>&1
}

drafters() { # name
  local name=$1
  "${LIMIT[@]}" $BD regenerate --device gpu --data "$DATA" --target "$OUT/$name" --out "$OUT/regen-$name" --prompts 2048 \
      --validation 48 --max-new-tokens 128 --max-prompt-tokens 160 --batch 256 > "$OUT/logs/regen_$name.txt" 2>&1 || return
  for obj in uniform dflash paper; do
    mkdir -p "$OUT/demo-$name/$obj" && ln -sfn "$(realpath "$OUT/regen-$name")" "$OUT/demo-$name/$obj/regenerated"
    "${LIMIT[@]}" $BD demo --device gpu --data "$DATA" --target "$OUT/$name" --out "$OUT/demo-$name/$obj" --objectives $obj \
        --precision fp16 --batch 32 --blocks-per-sequence 16 --steps 400 --eval-prompts 6 --eval-tokens 96 \
        --no-baseline --seed 7 > "$OUT/logs/demo_${name}_$obj.txt" 2>&1 &
  done
  wait
}

ZOO=("llama-11m llama 384 6 6 2 1024 ${STEPS[0]} 1.5e-3"
     "qwen3-27m qwen3 512 8 8 4 1536 ${STEPS[1]} 1e-3"
     "llama-79m llama 768 12 12 4 2048 ${STEPS[2]} 8e-4"
     "qwen3-146m qwen3 1024 12 16 8 2816 ${STEPS[3]} 6e-4")
if [[ $PHASE == targets || $PHASE == all ]]; then
  for z in "${ZOO[@]}"; do train_target $z & done
  wait
  grep -h "val_loss\|validation" "$OUT"/logs/target_*.txt | tail -8
fi
if [[ $PHASE == drafters || $PHASE == all ]]; then
  for z in "${ZOO[@]}"; do set -- $z; drafters "$1" & done
  wait
  grep -h "held-out" "$OUT"/logs/demo_*.txt
fi
