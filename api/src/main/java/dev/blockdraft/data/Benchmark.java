package dev.blockdraft.data;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** The prompt sets on which acceptance length is measured. */
public enum Benchmark {
    GSM8K("gsm8k.jsonl", "GSM8K"),
    MATH500("math500.jsonl", "MATH-500"),
    HUMANEVAL("humaneval.jsonl", "HumanEval"),
    MBPP("mbpp.jsonl", "MBPP"),
    MT_BENCH("mt_bench.jsonl", "MT-Bench"),
    ALPACA("alpaca.jsonl", "Alpaca");

    private final String fileName;
    private final String displayName;

    Benchmark(String fileName, String displayName) {
        this.fileName = fileName;
        this.displayName = displayName;
    }

    public String fileName() {
        return fileName;
    }

    public String displayName() {
        return displayName;
    }

    /** The short name used on command lines: {@code gsm8k}, {@code mt_bench}, ... */
    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses a benchmark name, ignoring case and treating '-' as '_' ("mt-bench", "MATH500"). */
    public static Benchmark parse(String name) {
        String key = name == null ? "" : name.trim().toUpperCase(Locale.ROOT).replace('-', '_');
        for (Benchmark benchmark : values()) {
            if (benchmark.name().equals(key)) {
                return benchmark;
            }
        }
        throw new IllegalArgumentException("unknown benchmark \"" + name + "\"; valid names: "
                + Arrays.stream(values()).map(Benchmark::cliName).collect(Collectors.joining(", ")));
    }
}
