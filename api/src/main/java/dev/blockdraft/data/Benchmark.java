package dev.blockdraft.data;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * A prompt set on which acceptance length is measured: one of the six built-in benchmarks of the
 * data folder, or a user's own prompt file named on the command line ({@code --prompts FILE:NAME}).
 * Built-ins compare in their fixed order, before user sets, which compare by name.
 */
public final class Benchmark implements Comparable<Benchmark> {
    public static final Benchmark GSM8K = new Benchmark(0, "GSM8K", "gsm8k.jsonl", "GSM8K", null);
    public static final Benchmark MATH500 = new Benchmark(1, "MATH500", "math500.jsonl", "MATH-500", null);
    public static final Benchmark HUMANEVAL = new Benchmark(2, "HUMANEVAL", "humaneval.jsonl", "HumanEval", null);
    public static final Benchmark MBPP = new Benchmark(3, "MBPP", "mbpp.jsonl", "MBPP", null);
    public static final Benchmark MT_BENCH = new Benchmark(4, "MT_BENCH", "mt_bench.jsonl", "MT-Bench", null);
    public static final Benchmark ALPACA = new Benchmark(5, "ALPACA", "alpaca.jsonl", "Alpaca", null);

    private static final Benchmark[] BUILT_IN = {GSM8K, MATH500, HUMANEVAL, MBPP, MT_BENCH, ALPACA};
    private static final Pattern CUSTOM_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]*");

    private final int order;
    private final String name;
    private final String fileName;
    private final String displayName;
    private final Path file;

    private Benchmark(int order, String name, String fileName, String displayName, Path file) {
        this.order = order;
        this.name = name;
        this.fileName = fileName;
        this.displayName = displayName;
        this.file = file;
    }

    /** The six built-in benchmarks, in their fixed order. */
    public static Benchmark[] values() {
        return BUILT_IN.clone();
    }

    /**
     * A user's prompt set: {@code name} labels it in reports and JSON; {@code file} is read with
     * {@link Benchmarks#load(Path, int)}.
     */
    public static Benchmark custom(String name, Path file) {
        Objects.requireNonNull(file, "file");
        return named(name, file);
    }

    private static Benchmark named(String name, Path file) {
        if (name == null || !CUSTOM_NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("prompt set name \"" + name + "\" must be letters, digits, '_', '.' or '-'"
                    + " (starting with a letter or digit)");
        }
        for (Benchmark b : BUILT_IN) {
            if (b.cliName().equals(name.toLowerCase(Locale.ROOT).replace('-', '_'))) {
                throw new IllegalArgumentException("prompt set name \"" + name + "\" is taken by the built-in benchmark "
                        + b.displayName() + "; choose another");
            }
        }
        return new Benchmark(BUILT_IN.length, name, file == null ? name + ".jsonl" : file.getFileName().toString(), name,
                file == null ? null : file.toAbsolutePath().normalize());
    }

    /**
     * {@code FILE.jsonl[:NAME]} as given to {@code --prompts}; without a name, the file's name
     * without {@code .jsonl} names the set.
     */
    public static Benchmark fromOption(String value) {
        int colon = value.lastIndexOf(':');
        String path = value;
        String name = null;
        if (colon > 0 && CUSTOM_NAME.matcher(value.substring(colon + 1)).matches()) {
            path = value.substring(0, colon);
            name = value.substring(colon + 1);
        }
        Path file = Path.of(path);
        if (name == null) {
            String base = file.getFileName().toString();
            name = base.endsWith(".jsonl") ? base.substring(0, base.length() - ".jsonl".length()) : base;
        }
        try {
            return custom(name, file);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--prompts " + value + ": " + e.getMessage());
        }
    }

    /** The enum-style name of a built-in ({@code MT_BENCH}), or a user set's own name. */
    public String name() {
        return name;
    }

    /** The built-in's file in {@code benchmarks/}, or the user file's name. */
    public String fileName() {
        return fileName;
    }

    public String displayName() {
        return displayName;
    }

    /** The user's prompt file; empty for built-ins, which live in the data folder. */
    public Optional<Path> file() {
        return Optional.ofNullable(file);
    }

    public boolean isBuiltIn() {
        return order < BUILT_IN.length;
    }

    /** The short name used on command lines and in JSON: {@code gsm8k}, {@code mt_bench}, or a user set's name. */
    public String cliName() {
        return isBuiltIn() ? name.toLowerCase(Locale.ROOT) : name;
    }

    /** Parses a built-in benchmark name, ignoring case and treating '-' as '_' ("mt-bench", "MATH500"). */
    public static Benchmark parse(String name) {
        String key = name == null ? "" : name.trim().toUpperCase(Locale.ROOT).replace('-', '_');
        for (Benchmark benchmark : BUILT_IN) {
            if (benchmark.name.equals(key)) {
                return benchmark;
            }
        }
        throw new IllegalArgumentException("unknown benchmark \"" + name + "\"; valid names: "
                + Arrays.stream(BUILT_IN).map(Benchmark::cliName).collect(Collectors.joining(", "))
                + " (or your own file with --prompts FILE.jsonl[:NAME])");
    }

    /** A name read back from a report: a built-in, else a user set (without its file). */
    public static Benchmark fromReport(String name) {
        String key = name == null ? "" : name.trim().toUpperCase(Locale.ROOT).replace('-', '_');
        for (Benchmark benchmark : BUILT_IN) {
            if (benchmark.name.equals(key)) {
                return benchmark;
            }
        }
        return named(name, null);
    }

    @Override
    public int compareTo(Benchmark other) {
        return order != other.order ? Integer.compare(order, other.order) : name.compareTo(other.name);
    }

    /** Equal when the same built-in, or user sets of the same name. */
    @Override
    public boolean equals(Object other) {
        return other instanceof Benchmark b && b.order == order && b.name.equals(name);
    }

    @Override
    public int hashCode() {
        return Objects.hash(order, name);
    }

    @Override
    public String toString() {
        return name;
    }
}
