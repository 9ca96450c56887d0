#!/usr/bin/env bash
# Interleaved rounds of blockdraft's `bench train|decode` and its PyTorch reference on the GPU host, then
# `bench compare`: blockdraft / reference tokens/s per reference variant, round k over round k, median.
# Staged by benchmarks/stage_gpu.sh; run on the host from the repo root (one `run` call, 10 minutes at most):
#   run(carry=[".jre", ".gpu"], command="bash .gpu/bench/vs_reference.sh decode 3")
#   run(carry=[".jre", ".gpu"], command="bash .gpu/bench/vs_reference.sh train 3")
# Results are appended round by round under $VS_DIR (default $OUT/vs_reference): a later call on the same
# warm machine with VS_DIR=/tmp/vs adds rounds; the last lines printed are the comparison table.
# Env: DEVICE (default gpu), BENCH_ARGS (extra bench flags), REF_ARGS (extra reference flags), DJL_TF32 (default 1, as device_run.sh's
# decode), TRAIN_REFS (';'-separated pytorch_reference.py argument sets, one variant each; default: eager,
# --compile --mode default, --compile --mode reduce-overhead).
set -uo pipefail
KIND=${1:?usage: vs_reference.sh train|decode [ROUNDS]}
ROUNDS=${2:-3}
[[ $KIND == train || $KIND == decode ]] || { echo "vs_reference.sh: expected train or decode, got '$KIND'" >&2; exit 2; }
B=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-/tmp/bench-out}
VS=${VS_DIR:-$OUT/vs_reference}
mkdir -p "$VS"
export DJL_TF32=${DJL_TF32:-1}
source .gpu/env.sh
CP="$B/classes:$B/lib/*"
bench() { "$JAVA_HOME/bin/java" $DJL_JAVA_OPTS -cp "$CP:$DJL_CP" dev.blockdraft.cli.Main bench "$@"; }

ours() {  # one round of blockdraft, its BENCH_JSON line appended to ours_$KIND.jsonl
  local extra=()
  # the drafter step is what the reference times; fp16 mixed precision against its bf16 autocast (like for like)
  [[ $KIND == train ]] && extra=(--target-steps 0 --precision ${TRAIN_PRECISION:-fp16})
  if bench "$KIND" --device "${DEVICE:-gpu}" "${extra[@]}" --json "$VS/round.json" ${BENCH_ARGS:-} >> "$VS/bench_$KIND.txt" 2>> "$VS/bench_$KIND.err"; then
    cat "$VS/round.json" >> "$VS/ours_$KIND.jsonl"
  else
    echo "round $1: bench $KIND failed (see $VS/bench_$KIND.err)" | tee -a "$VS/timings.txt"
  fi
}

reference() {  # one round of each reference variant, one JSON line each, appended to ref_$KIND.jsonl
  if [[ $KIND == train ]]; then
    IFS=';' read -ra SETS <<< "${TRAIN_REFS:-;--compile --mode default;--compile --mode reduce-overhead}"
    for args in "${SETS[@]}"; do
      python3 "$B/pytorch_reference.py" $args ${REF_ARGS:-} >> "$VS/ref_train.jsonl" 2>> "$VS/ref_train.err" \
        || echo "round $1: pytorch_reference.py $args failed" | tee -a "$VS/timings.txt"
    done
  else
    # one timed pass per round (the rounds are the repeats); two warm-up passes cover compile + graph capture
    python3 "$B/decode_reference.py" ${REF_ARGS:---warmup 2 --repeats 1} >> "$VS/ref_decode.jsonl" 2>> "$VS/ref_decode.err" \
      || echo "round $1: decode_reference.py failed" | tee -a "$VS/timings.txt"
  fi
}

for r in $(seq 1 "$ROUNDS"); do
  t0=$SECONDS
  if (( r % 2 )); then ours "$r"; reference "$r"; else reference "$r"; ours "$r"; fi  # alternate who goes first
  echo "round $r of $KIND: $(( SECONDS - t0 )) s" | tee -a "$VS/timings.txt"
done
bench compare --ours "$VS/ours_$KIND.jsonl" --reference "$VS/ref_$KIND.jsonl" --json "$VS/compare_$KIND.json" \
  | tee "$VS/compare_$KIND.txt"
