#!/usr/bin/env bash
# One device call: HF parity (blockdraft on cpu and gpu), blockdraft `bench train` in fp32 and
# with TF32 (separate JVMs), the PyTorch reference (bf16+SDPA, and fp32+TF32), `bench decode`.
# Staged by benchmarks/stage_gpu.sh; run on the host from the repo root:
#   run(carry=[".jre", ".gpu"], command="bash .gpu/bench/device_run.sh")
# Outputs go to $OUT (default /tmp/bench-out). nvidia-smi samples device memory every 100 ms
# around each benchmark (the same method for Java and Python).
set -uo pipefail
OUT=${OUT:-/tmp/bench-out}; mkdir -p "$OUT"
B=.gpu/bench
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
date -u +%FT%TZ | tee -a "$OUT/gpu.txt"
python3 -c 'import torch, transformers, sys; print("python", sys.version.split()[0], "torch", torch.__version__, "transformers", transformers.__version__)' | tee -a "$OUT/gpu.txt"

smi() { nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 100 > "$OUT/smi_$1.csv" & SMI=$!; }
smi_stop() { kill "$SMI" 2>/dev/null; wait "$SMI" 2>/dev/null; echo "$1 nvidia-smi peak memory.used MiB: $(sort -n "$OUT/smi_$1.csv" | tail -1) (idle $(head -1 "$OUT/smi_$1.csv"))" | tee -a "$OUT/smi_peaks.txt"; }
timed() { local t0=$SECONDS; "$@"; local rc=$?; echo "[$(( SECONDS - t0 )) s, rc $rc] $*" >> "$OUT/timings.txt"; return $rc; }

CP="$B/classes:$B/lib/*"
# 1. parity (plain rows decide; workaround rows still measured, cheap)
( source .gpu/env.sh && J="$JAVA_HOME/bin/java $DJL_JAVA_OPTS -cp $CP:$DJL_CP dev.blockdraft.cli.Main parity"
  timed python3 $B/hf_parity.py --java "$J" --java-devices cpu,gpu --workdir /tmp/parity --json "$OUT/parity.json" ) \
  > "$OUT/parity.txt" 2> "$OUT/parity.err"; echo "parity rc $?" | tee -a "$OUT/timings.txt"

# 2. blockdraft bench train, fp32 then TF32 (libtorch reads the override once: separate JVMs)
for mode in fp32 tf32; do
  ( if [[ $mode == tf32 ]]; then export DJL_TF32=1; fi
    source .gpu/env.sh
    smi "java_$mode"
    timed "$JAVA_HOME/bin/java" $DJL_JAVA_OPTS -cp "$CP:$DJL_CP" dev.blockdraft.cli.Main bench train --device gpu \
        --json "$OUT/bench_train_$mode.json" ${BENCH_ARGS:-}
    smi_stop "java_$mode" ) > "$OUT/bench_train_$mode.txt" 2> "$OUT/bench_train_$mode.err"
  tail -20 "$OUT/bench_train_$mode.txt"
done

# 3. PyTorch reference: bf16 autocast + SDPA (the default), then fp32 + TF32 (like for like with ours)
smi ref_bf16; timed python3 $B/pytorch_reference.py > "$OUT/ref_bf16.json" 2> "$OUT/ref_bf16.err"; smi_stop ref_bf16
smi ref_fp32_tf32; timed python3 $B/pytorch_reference.py --dtype fp32 --tf32 > "$OUT/ref_fp32_tf32.json" 2> "$OUT/ref_fp32_tf32.err"; smi_stop ref_fp32_tf32
cat "$OUT/ref_bf16.json" "$OUT/ref_fp32_tf32.json"

# 4. decode: random default-shape models (acceptance ~0: measures the mechanics only)
( export DJL_TF32=1; source .gpu/env.sh
  timed "$JAVA_HOME/bin/java" $DJL_JAVA_OPTS -cp "$CP:$DJL_CP" dev.blockdraft.cli.Main bench decode --device gpu \
      --prompts 4 --max-new-tokens 128 --json "$OUT/bench_decode.json" ) > "$OUT/bench_decode.txt" 2> "$OUT/bench_decode.err"
tail -4 "$OUT/bench_decode.txt"
cat "$OUT/parity.txt" | tail -25; cat "$OUT/timings.txt" "$OUT/smi_peaks.txt"
# run() brings back only a few files: pack everything into one
tar czf /tmp/bench-all.tgz -C "$OUT" . && find "$OUT" -mindepth 1 -delete && mv /tmp/bench-all.tgz "$OUT/all.tgz"
