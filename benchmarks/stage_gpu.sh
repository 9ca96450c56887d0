#!/usr/bin/env bash
# Stages what benchmarks/device_run.sh needs into MAIN/.gpu/bench/ (git-ignored; never commit it).
# Run from a checkout/worktree root after `mvn -q -o -B install -DskipTests`.
#   bash benchmarks/stage_gpu.sh /work/main
set -euo pipefail
MAIN=${1:?usage: stage_gpu.sh MAIN_CHECKOUT}
DST="$MAIN/.gpu/bench"
rm -rf "$DST" && mkdir -p "$DST/lib"
cp -r api/target/classes "$DST/classes"
# runtime jars beyond $DJL_CP (.gpu/probe/lib: DJL api/engine/jni, gson, slf4j, jna): only picocli.
# Not pytorch-native-cpu (111 MB; the host's libtorch is used) nor tokenizers (bench/parity need none).
cp api/target/lib/picocli-*.jar "$DST/lib/"
cp tests/parity/hf_parity.py benchmarks/pytorch_reference.py benchmarks/device_run.sh "$DST/"
du -sh "$DST" "$MAIN/.gpu" "$MAIN/.jre"
