package dev.blockdraft.data;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Keeps benchmark prompts out of training data: a corpus record is dropped when its normalized
 * prompt (or document text) equals a normalized benchmark turn. Normalizing collapses whitespace
 * runs to one space, trims, and lower-cases, so reformatted copies are caught too.
 */
public final class Decontamination {

    private static final Pattern WHITESPACE = Pattern.compile("\\s+");

    private final Set<String> benchmarkTurns;

    private Decontamination(Set<String> benchmarkTurns) {
        this.benchmarkTurns = benchmarkTurns;
    }

    /** A filter against the given prompts' turns. */
    public static Decontamination against(Collection<BenchmarkPrompt> prompts) {
        Set<String> turns = new HashSet<>();
        for (BenchmarkPrompt prompt : prompts) {
            for (String turn : prompt.turns()) {
                turns.add(normalize(turn));
            }
        }
        return new Decontamination(turns);
    }

    /** A filter against every turn of every benchmark in the folder. */
    public static Decontamination againstAllBenchmarks(DataFolder folder) {
        List<BenchmarkPrompt> all = new ArrayList<>();
        for (Benchmark benchmark : Benchmark.values()) {
            all.addAll(Benchmarks.load(folder, benchmark, -1));
        }
        return against(all);
    }

    /** What survived the filter and how many records were dropped. */
    public record Result(List<CorpusRecord> kept, int dropped) {
        public Result {
            kept = List.copyOf(kept);
            if (dropped < 0) {
                throw new IllegalArgumentException("dropped must be >= 0, was " + dropped);
            }
        }
    }

    public static String normalize(String text) {
        return WHITESPACE.matcher(text).replaceAll(" ").trim().toLowerCase(Locale.ROOT);
    }

    /** Number of distinct normalized benchmark turns the filter checks against. */
    public int turnCount() {
        return benchmarkTurns.size();
    }

    public boolean isContaminated(CorpusRecord record) {
        String prompt = record instanceof CorpusRecord.Instruction i ? i.prompt() : ((CorpusRecord.Document) record).text();
        return benchmarkTurns.contains(normalize(prompt));
    }

    public Result filter(List<CorpusRecord> records) {
        List<CorpusRecord> kept = new ArrayList<>(records.size());
        for (CorpusRecord record : records) {
            if (!isContaminated(record)) {
                kept.add(record);
            }
        }
        return new Result(kept, records.size() - kept.size());
    }
}
