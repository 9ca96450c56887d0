#!/usr/bin/env bash
# Stages blockdraft for the lent GPU host into MAIN/.gpu/ (git-ignored; never commit what it writes).
# Run from a checkout root after `mvn -q -o -B install -DskipTests`.
#   bash benchmarks/stage_gpu.sh MAIN          # bench/parity: classes (as a jar), picocli, scripts -> .gpu/bench
#   bash benchmarks/stage_gpu.sh MAIN --zoo    # also what train-target/regenerate/demo need, under 64 MiB:
#       .gpu/pack/jre.tar.xz       jlinked JDK 17 (the host has no Java), xz
#       .gpu/pack/tok.tar.xz       the tokenizers jar with only its linux-x86_64 library
#       .gpu/pack/datasets.tar.xz  ../shared/datasets with alpaca_eval_outputs cut to 12,000 records
#       .gpu/slim/slim.jar         the Tablesaw/fastutil/guava classes a local demo + train-target loaded
#       .gpu/djl/                  DJL api/engine, gson, jna, slf4j (not the jni jar: the host's JNI is used)
# The host also needs .gpu/env.sh and a JNI built there against its libtorch (DEVELOPERS.md; neither is here).
set -euo pipefail
MAIN=$(cd "${1:?usage: stage_gpu.sh MAIN_CHECKOUT [--zoo]}" && pwd)
ZOO=${2:-}
LIB=api/target/lib
DST="$MAIN/.gpu/bench"
rm -rf "$DST" && mkdir -p "$DST/lib"
# blockdraft's classes as one jar on bench/lib/* (a folder of small files costs a disk block each against the 64 MiB)
(cd api/target/classes && zip -q -r -9 "$DST/lib/blockdraft-classes.jar" .)
# the jars beyond DJL (.gpu/djl) and slim.jar that the CLI loads (traced on `ablate` of a tiny grid): picocli,
# Jinjava with its Jackson and helpers for chat templates (~5 MB; Guava's loaded classes go into slim.jar below:
# the carried tree must stay under 64 MiB)
for j in picocli jinjava jackson-core jackson-databind jackson-annotations jackson-datatype-jdk8 jackson-dataformat-yaml \
    failureaccess commons-lang3 re2j immutables-exceptions slf4j-simple; do
  cp $LIB/$j-[0-9]*.jar "$DST/lib/"
done
cp tests/parity/hf_parity.py benchmarks/pytorch_reference.py benchmarks/decode_reference.py benchmarks/vs_reference.sh benchmarks/device_run.sh benchmarks/zoo.sh benchmarks/trace_summary.py "$DST/"
if [[ "$ZOO" == --zoo ]]; then
  G="$MAIN/.gpu"; T=$(mktemp -d); mkdir -p "$G/pack" "$G/slim" "$G/djl"
  if [[ ! -f "$G/pack/jre.tar.xz" ]]; then
    jlink --add-modules java.base,java.logging,java.management,jdk.unsupported,java.naming,java.xml,java.sql,java.desktop \
      --strip-debug --no-header-files --no-man-pages --output "$T/.jre"
    tar cJf "$G/pack/jre.tar.xz" -C "$T" .jre
  fi
  cp $LIB/api-0.36.0.jar $LIB/pytorch-engine-0.36.0.jar $LIB/gson-*.jar $LIB/jna-*.jar $LIB/slf4j-api-*.jar "$G/djl/"
  # JNA's native libraries for other platforms: 1.7 MB of the 64 MiB
  J=$(ls "$G"/djl/jna-[0-9]*.jar)
  unzip -Z1 "$J" | grep -E '^com/sun/jna/[^/]+/[^/]+\.(so|a|dll|jnilib|dylib)$' | grep -v '^com/sun/jna/linux-x86-64/' \
    | xargs -r zip -q -d "$J"
  # tokenizers: only the linux-x86_64 native library
  mkdir -p "$T/tok" && (cd "$T/tok" && unzip -q "$OLDPWD/$LIB"/tokenizers-*.jar && rm -rf native/lib/osx-* native/lib/win-* native/lib/linux-aarch64 \
    && zip -q -0 -r "$T/tokenizers-linux.jar" .) && tar cJf "$G/pack/tok.tar.xz" -C "$T" tokenizers-linux.jar
  # datasets, alpaca_eval_outputs cut to the 12,000 records the recorded zoo used
  SRC=${DATA:-../shared/datasets}
  mkdir -p "$T/d/datasets/corpora" && cp -r "$SRC/benchmarks" "$SRC/SOURCES.md" "$T/d/datasets/"
  cp "$SRC/corpora/gsm8k_train.jsonl" "$SRC/corpora/python_algorithms.jsonl" "$T/d/datasets/corpora/"
  head -n 12000 "$SRC/corpora/alpaca_eval_outputs.jsonl" > "$T/d/datasets/corpora/alpaca_eval_outputs.jsonl"
  tar cJf "$G/pack/datasets.tar.xz" -C "$T/d" datasets
  # slim jar: the classes of the big jars that a small local demo and train-target load
  CP="api/target/classes:$(ls $LIB/*.jar | tr '\n' ':')"
  J="java -Dai.djl.offline=true -Dai.djl.pytorch.num_threads=1 -cp $CP"
  $J -Xlog:class+load=info:file="$T/a.log" dev.blockdraft.cli.Main demo --out "$T/demo" --prompts 64 --steps 2 \
    --eval-prompts 1 --eval-tokens 8 --objectives uniform,paper --no-baseline --data "$SRC" > /dev/null 2>&1
  $J -Xlog:class+load=info:file="$T/b.log" dev.blockdraft.cli.Main train-target --tokenizer datasets/targets/default \
    --out "$T/tt" --model-type qwen3 --hidden 64 --layers 2 --heads 4 --kv-heads 2 --steps 2 --corpus-cap 200 \
    --data "$SRC" > /dev/null 2>&1
  printf '%s' '{"out": "'"$T"'/grid", "targets": ["default"], "objectives": ["uniform"], "seeds": [1], "steps": [2],
    "block_sizes": [4], "regeneration": {"conversations": 8, "validation": 2, "max_new_tokens": 8},
    "training": {"batch": 2, "seq_len": 64, "validation_sequences": 2}, "eval": {"prompts": 1, "max_new_tokens": 8}}' > "$T/grid.json"
  BLOCKDRAFT_DATA="$SRC" $J -Xlog:class+load=info:file="$T/c.log" dev.blockdraft.cli.Main ablate "$T/grid.json" > /dev/null 2>&1
  mkdir -p "$T/slim"
  for j in tablesaw-core univocity-parsers classgraph; do (cd "$T/slim" && unzip -q -o "$OLDPWD"/$LIB/$j-*.jar); done
  rm -rf "$T/slim/module-info.class" "$T/slim/META-INF/versions"
  for j in fastutil guava; do
    mkdir -p "$T/x$j" && (cd "$T/x$j" && unzip -q -o "$OLDPWD"/$LIB/$j-*.jar)
    grep -h "$j-" "$T/a.log" "$T/b.log" "$T/c.log" | awk '{print $2}' | sed 's/\$.*//; s|\.|/|g' | sort -u | while read -r c; do
      for f in "$T/x$j/$c.class" "$T/x$j/$c"\$*.class; do
        if [[ -f "$f" ]]; then mkdir -p "$T/slim/$(dirname "${f#$T/x$j/}")" && cp "$f" "$T/slim/${f#$T/x$j/}"; fi
      done
    done
  done
  rm -f "$G/slim/slim.jar" && (cd "$T/slim" && zip -q -r -9 "$G/slim/slim.jar" .)
  rm -rf "$T"
  du -sh "$G/pack"/* "$G/slim" "$G/djl"
fi
du -sh "$DST"
