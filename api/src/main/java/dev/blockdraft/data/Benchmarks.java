package dev.blockdraft.data;

import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** Loads benchmark prompt files: {@code {"id", "turns":[...], "reference"?, "category"?}}. */
public final class Benchmarks {

    private Benchmarks() {}

    /** The first {@code maxPrompts} prompts of a benchmark ({@code maxPrompts < 0} for all). */
    public static List<BenchmarkPrompt> load(DataFolder folder, Benchmark benchmark, int maxPrompts) {
        return load(folder.benchmark(benchmark), maxPrompts);
    }

    /** The first {@code maxPrompts} prompts of a benchmark file ({@code maxPrompts < 0} for all). */
    public static List<BenchmarkPrompt> load(Path file, int maxPrompts) {
        List<BenchmarkPrompt> prompts;
        try (Stream<BenchmarkPrompt> lines = JsonLines.stream(file, Benchmarks::parse)) {
            prompts = (maxPrompts < 0 ? lines : lines.limit(maxPrompts)).toList();
        }
        if (prompts.isEmpty() && maxPrompts != 0) {
            throw new DataException(file + ": benchmark file is empty; expected one JSON object per line");
        }
        return prompts;
    }

    private static BenchmarkPrompt parse(JsonLines.Line line) {
        String id = line.requiredString("id");
        List<String> turns = line.requiredStringList("turns");
        if (turns.isEmpty()) {
            throw line.error("field \"turns\" is empty; a prompt needs at least one turn");
        }
        return new BenchmarkPrompt(id, turns, line.optionalString("reference"), line.optionalString("category"));
    }
}
