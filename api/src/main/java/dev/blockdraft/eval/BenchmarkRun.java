package dev.blockdraft.eval;

import dev.blockdraft.data.Benchmark;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * What one acceptance measurement decodes.
 *
 * @param benchmarks      the prompt sets, in report order (at least one, no repeats)
 * @param maxPrompts      the first prompts of each benchmark to decode ({@link #ALL_PROMPTS} for all; must be > 0)
 * @param maxNewTokens    new tokens per turn at most (must be > 0); fewer when the context ends first
 * @param measureBaseline also decode every turn with the target alone (greedy), to time the speedup and to
 *                        check that the speculative output is token-identical
 * @param onTooLong       what a turn whose prompt does not fit the target's context does: {@link TooLong#FAIL}
 *                        (the default) throws {@link PromptTooLongException} naming the prompt;
 *                        {@link TooLong#SKIP} skips that turn and the prompt's later turns, counts them in
 *                        {@link AcceptanceReport.BenchmarkResult#skippedTurns()} and prints a warning
 */
public record BenchmarkRun(List<Benchmark> benchmarks, int maxPrompts, int maxNewTokens, boolean measureBaseline,
        TooLong onTooLong) {

    /** {@code maxPrompts} meaning every prompt of the file. */
    public static final int ALL_PROMPTS = Integer.MAX_VALUE;

    /** What to do with a prompt longer than the target's context. */
    public enum TooLong { FAIL, SKIP }

    public BenchmarkRun {
        Objects.requireNonNull(benchmarks, "benchmarks");
        Objects.requireNonNull(onTooLong, "onTooLong");
        if (benchmarks.isEmpty()) {
            throw new IllegalArgumentException("benchmarks is empty; name at least one of "
                    + Arrays.stream(Benchmark.values()).map(Benchmark::cliName).collect(Collectors.joining(", ")));
        }
        Set<Benchmark> seen = new HashSet<>();
        for (Benchmark b : benchmarks) {
            Objects.requireNonNull(b, "benchmarks contains null");
            if (!seen.add(b)) {
                throw new IllegalArgumentException("benchmark " + b.cliName() + " is listed twice");
            }
        }
        if (maxPrompts <= 0) {
            throw new IllegalArgumentException("maxPrompts=" + maxPrompts + " must be > 0 (use ALL_PROMPTS for all)");
        }
        if (maxNewTokens <= 0) {
            throw new IllegalArgumentException("maxNewTokens=" + maxNewTokens + " must be > 0");
        }
        benchmarks = List.copyOf(benchmarks);
    }

    /** Greedy acceptance on the given benchmarks, with the baseline timed, failing on prompts too long. */
    public static BenchmarkRun of(int maxPrompts, int maxNewTokens, Benchmark... benchmarks) {
        return new BenchmarkRun(List.of(benchmarks), maxPrompts, maxNewTokens, true, TooLong.FAIL);
    }

    /** All six benchmarks, 20 prompts each, 256 new tokens per turn, baseline timed. */
    public static BenchmarkRun defaults() {
        return of(20, 256, Benchmark.values());
    }

    public BenchmarkRun withBenchmarks(Benchmark... list) {
        return new BenchmarkRun(List.of(list), maxPrompts, maxNewTokens, measureBaseline, onTooLong);
    }

    public BenchmarkRun withMaxPrompts(int n) {
        return new BenchmarkRun(benchmarks, n, maxNewTokens, measureBaseline, onTooLong);
    }

    public BenchmarkRun withMaxNewTokens(int n) {
        return new BenchmarkRun(benchmarks, maxPrompts, n, measureBaseline, onTooLong);
    }

    public BenchmarkRun withBaseline(boolean measure) {
        return new BenchmarkRun(benchmarks, maxPrompts, maxNewTokens, measure, onTooLong);
    }

    public BenchmarkRun withOnTooLong(TooLong policy) {
        return new BenchmarkRun(benchmarks, maxPrompts, maxNewTokens, measureBaseline, policy);
    }

    /** The settings as strings, for {@link dev.blockdraft.io.Provenance}. */
    public Map<String, String> asSettings() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("benchmarks", benchmarks.stream().map(Benchmark::cliName).collect(Collectors.joining(",")));
        m.put("max_prompts", maxPrompts == ALL_PROMPTS ? "all" : Integer.toString(maxPrompts));
        m.put("max_new_tokens", Integer.toString(maxNewTokens));
        m.put("measure_baseline", Boolean.toString(measureBaseline));
        m.put("on_too_long", onTooLong.name().toLowerCase(java.util.Locale.ROOT));
        return m;
    }

    @Override
    public String toString() {
        return "BenchmarkRun(" + benchmarks.stream().map(Benchmark::cliName).collect(Collectors.joining(", "))
                + "; " + (maxPrompts == ALL_PROMPTS ? "all" : maxPrompts) + " prompts each, " + maxNewTokens
                + " new tokens per turn" + (measureBaseline ? ", baseline timed" : "")
                + (onTooLong == TooLong.SKIP ? ", skipping prompts too long" : "") + ")";
    }
}
