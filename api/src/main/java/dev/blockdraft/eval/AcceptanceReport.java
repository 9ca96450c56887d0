package dev.blockdraft.eval;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import dev.blockdraft.data.Benchmark;
import dev.blockdraft.io.AtomicFiles;
import dev.blockdraft.io.BadInputException;
import dev.blockdraft.io.Provenance;
import dev.blockdraft.report.Displayable;
import dev.blockdraft.report.Figure;
import dev.blockdraft.report.Highlight;
import dev.blockdraft.report.PlotlyJs;
import dev.blockdraft.report.TableView;
import dev.blockdraft.spec.SpecStats;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.IntColumn;
import tech.tablesaw.api.LongColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

/**
 * Acceptance of one drafter on one target, per benchmark: τ (tokens per verification step, the
 * bonus included), per-slot conditional acceptance, the accepted-length histogram, speed with and
 * without the drafter, and the offline expected τ when one was computed. Immutable.
 *
 * <p>Shown as a table ({@link #table()}: one row per benchmark and a final {@value #MEAN_ROW} row),
 * two figures, JSON ({@link #toJson()}, read back by {@link #readJson(Path)}) and CSV.
 */
public final class AcceptanceReport implements Displayable {

    /** The {@code format} key of the JSON file. */
    public static final String FORMAT = "blockdraft-acceptance/1";

    public static final String BENCHMARK = "benchmark";
    public static final String TAU = "τ";
    public static final String OFFLINE_TAU = "offline τ";
    public static final String PROMPTS = "prompts";
    public static final String TURNS = "turns";
    public static final String SKIPPED = "skipped turns";
    public static final String TOKENS = "tokens";
    public static final String STEPS = "steps";
    public static final String EMITTED = "emitted";
    public static final String TPS_SPEC = "tok/s spec";
    public static final String TPS_PLAIN = "tok/s plain";
    public static final String SPEEDUP = "speedup";
    public static final String MISMATCHES = "mismatches";
    /** Label of the last table row: the unweighted mean over benchmarks (count columns left empty). */
    public static final String MEAN_ROW = "mean";

    /** Column of slot k's conditional acceptance rate (1-based). */
    public static String slotColumn(int k) {
        return "accept@" + k;
    }

    /**
     * One benchmark's numbers.
     *
     * @param benchmark    the prompt set
     * @param prompts      prompts decoded (all their turns, unless skipped)
     * @param turns        turns decoded (MT-Bench has two per prompt)
     * @param skippedTurns turns skipped because their prompt did not fit the context
     * @param tokens       new tokens produced by speculative decoding, over all turns
     * @param stats        speculative decoding statistics summed over all turns ({@link SpecStats#plus})
     * @param plainTokens  new tokens produced by the target alone (0 without a baseline)
     * @param plainSeconds seconds the target alone took (NaN without a baseline)
     * @param mismatches   turns whose speculative output differed from the target's greedy output (0 expected)
     * @param offlineTau   the offline expected τ of {@link OfflineTau}, NaN when not computed
     */
    /**
     * One prompt's share of a benchmark (all its turns): verification steps and the tokens they
     * emitted; with {@link SpeculativeEvaluator#withMismatchCheck}, also Σ(accepted + 1) over the
     * steps as verification accepted them ({@code visited}) and as the drafter's training forward
     * accepts them teacher-forced at exactly the same anchors ({@code forced}), and the steps where
     * the two differ — −1 when not measured.
     */
    public record PromptResult(String id, long steps, long emitted, long visited, long forced, int forcedMismatches) {
        public PromptResult(String id, long steps, long emitted) {
            this(id, steps, emitted, -1, -1, -1);
        }

        public double tau() {
            return steps == 0 ? Double.NaN : (double) emitted / steps;
        }
    }

    public record BenchmarkResult(Benchmark benchmark, int prompts, int turns, int skippedTurns, long tokens,
            SpecStats stats, long plainTokens, double plainSeconds, int mismatches, double offlineTau,
            List<PromptResult> perPrompt) {

        public BenchmarkResult {
            Objects.requireNonNull(benchmark, "benchmark");
            Objects.requireNonNull(stats, "stats");
            perPrompt = perPrompt == null ? List.of() : List.copyOf(perPrompt);
        }

        /** A result without per-prompt records. */
        public BenchmarkResult(Benchmark benchmark, int prompts, int turns, int skippedTurns, long tokens, SpecStats stats,
                long plainTokens, double plainSeconds, int mismatches, double offlineTau) {
            this(benchmark, prompts, turns, skippedTurns, tokens, stats, plainTokens, plainSeconds, mismatches, offlineTau,
                    List.of());
        }

        /**
         * τ teacher-forced at the anchors decoding visited (Σ forced / Σ steps), NaN unless measured;
         * equal to {@link #visitedTau} unless training and decoding compute different drafts.
         */
        public double forcedTau() {
            return sumOver(PromptResult::forced);
        }

        /** 1 + mean accepted drafts per verification step, as verification accepted them (those the decoded text holds). */
        public double visitedTau() {
            return sumOver(PromptResult::visited);
        }

        /** Steps whose teacher-forced acceptance differs from the online one (0 when train and serve agree); −1 unless measured. */
        public int forcedMismatches() {
            int n = 0;
            for (PromptResult p : perPrompt) {
                if (p.forcedMismatches() < 0) {
                    return -1;
                }
                n += p.forcedMismatches();
            }
            return perPrompt.isEmpty() ? -1 : n;
        }

        private double sumOver(java.util.function.ToLongFunction<PromptResult> f) {
            long num = 0, den = 0;
            for (PromptResult p : perPrompt) {
                if (f.applyAsLong(p) < 0) {
                    return Double.NaN;
                }
                num += f.applyAsLong(p);
                den += p.steps();
            }
            return den == 0 ? Double.NaN : (double) num / den;
        }

        /**
         * The 95% bootstrap interval of τ over prompts ({@link Bootstrap#ratioInterval}): how far
         * the choice of prompts alone can move this benchmark's τ; {NaN, NaN} without per-prompt records.
         */
        public double[] tauInterval() {
            long[] emitted = new long[perPrompt.size()], steps = new long[perPrompt.size()];
            for (int i = 0; i < emitted.length; i++) {
                emitted[i] = perPrompt.get(i).emitted();
                steps[i] = perPrompt.get(i).steps();
            }
            return Bootstrap.ratioInterval(emitted, steps);
        }

        /** A result without a baseline nor an offline τ, e.g. for building reports by hand. */
        public static BenchmarkResult of(Benchmark benchmark, int prompts, long tokens, SpecStats stats) {
            return new BenchmarkResult(benchmark, prompts, prompts, 0, tokens, stats, 0, Double.NaN, 0, Double.NaN);
        }

        public BenchmarkResult withBaseline(long tokens, double seconds, int mismatches) {
            return new BenchmarkResult(benchmark, prompts, turns, skippedTurns, this.tokens, stats, tokens, seconds,
                    mismatches, offlineTau, perPrompt);
        }

        public BenchmarkResult withOfflineTau(double tau) {
            return new BenchmarkResult(benchmark, prompts, turns, skippedTurns, tokens, stats, plainTokens, plainSeconds,
                    mismatches, tau, perPrompt);
        }

        /** Tokens emitted per verification step, the bonus token included: {@code emitted / steps}. */
        public double tau() {
            return stats.tau();
        }

        /** Conditional acceptance of slots 1..B−1: P(accept k | accepted 1..k−1). */
        public double[] slotAcceptance() {
            double[] rates = new double[stats.blockSize() - 1];
            for (int k = 1; k <= rates.length; k++) {
                rates[k - 1] = stats.slotAcceptance(k);
            }
            return rates;
        }

        /** Share of verification steps that accepted exactly n drafted tokens, n = 0..B−1. */
        public double[] acceptedShare() {
            long[] h = stats.acceptedHistogram();
            double[] share = new double[h.length];
            for (int n = 0; n < h.length; n++) {
                share[n] = stats.steps() == 0 ? Double.NaN : (double) h[n] / stats.steps();
            }
            return share;
        }

        public boolean hasBaseline() {
            return !Double.isNaN(plainSeconds);
        }

        /** New tokens per second of speculative decoding (prefill included in the time). */
        public double tokensPerSecond() {
            return tokens / Math.max(stats.seconds(), 1e-9);
        }

        /** New tokens per second of the target alone; NaN without a baseline. */
        public double plainTokensPerSecond() {
            return hasBaseline() ? plainTokens / Math.max(plainSeconds, 1e-9) : Double.NaN;
        }

        /** Speculative over plain tokens per second; NaN without a baseline. */
        public double speedup() {
            return tokensPerSecond() / plainTokensPerSecond();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof BenchmarkResult r && r.benchmark == benchmark && r.prompts == prompts && r.turns == turns
                    && r.skippedTurns == skippedTurns && r.tokens == tokens && sameStats(r.stats, stats)
                    && r.plainTokens == plainTokens && Double.compare(r.plainSeconds, plainSeconds) == 0
                    && r.mismatches == mismatches && Double.compare(r.offlineTau, offlineTau) == 0;
        }

        @Override
        public int hashCode() {
            return Objects.hash(benchmark, prompts, turns, tokens, stats.steps(), stats.emitted(),
                    Arrays.hashCode(stats.acceptedHistogram()));
        }

        private static boolean sameStats(SpecStats a, SpecStats b) {
            return a.blockSize() == b.blockSize() && a.steps() == b.steps() && a.emitted() == b.emitted()
                    && Arrays.equals(a.acceptedHistogram(), b.acceptedHistogram())
                    && Arrays.equals(a.slotReached(), b.slotReached()) && Arrays.equals(a.slotAccepted(), b.slotAccepted())
                    && Double.compare(a.seconds(), b.seconds()) == 0;
        }

        @Override
        public String toString() {
            return String.format("%s: τ %.3f over %d steps, %d prompts, %d tokens", benchmark.displayName(), tau(),
                    stats.steps(), prompts, tokens);
        }
    }

    private final String objective;
    private final String drafter;
    private final String target;
    private final int blockSize;
    private final List<BenchmarkResult> results;
    private final BenchmarkRun settings;
    private final Provenance provenance;

    /**
     * @param objective  the drafter's training objective ("uniform", "paper", ...), a label
     * @param drafter    a label for the drafter
     * @param target     a label for the target
     * @param blockSize  the drafter's B; every result's statistics must have it
     * @param results    one per benchmark, in report order, no benchmark twice
     * @param settings   what was decoded, or null when unknown
     * @param provenance where the numbers came from, or null
     */
    public AcceptanceReport(String objective, String drafter, String target, int blockSize, List<BenchmarkResult> results,
            BenchmarkRun settings, Provenance provenance) {
        this.objective = objective == null ? "" : objective;
        this.drafter = drafter == null ? "" : drafter;
        this.target = target == null ? "" : target;
        if (blockSize < 2) {
            throw new IllegalArgumentException("blockSize=" + blockSize + " must be >= 2");
        }
        this.blockSize = blockSize;
        Set<Benchmark> seen = new HashSet<>();
        for (BenchmarkResult r : results) {
            if (r.stats().blockSize() != blockSize) {
                throw new IllegalArgumentException(r.benchmark().displayName() + ": statistics of block size "
                        + r.stats().blockSize() + " in a report of block size " + blockSize);
            }
            if (!seen.add(r.benchmark())) {
                throw new IllegalArgumentException("benchmark " + r.benchmark().displayName() + " appears twice");
            }
        }
        this.results = List.copyOf(results);
        this.settings = settings;
        this.provenance = provenance;
    }

    public String objective() {
        return objective;
    }

    public String drafter() {
        return drafter;
    }

    public String target() {
        return target;
    }

    public int blockSize() {
        return blockSize;
    }

    public List<BenchmarkResult> results() {
        return results;
    }

    public Optional<BenchmarkRun> settings() {
        return Optional.ofNullable(settings);
    }

    public Optional<Provenance> provenance() {
        return Optional.ofNullable(provenance);
    }

    public List<Benchmark> benchmarks() {
        return results.stream().map(BenchmarkResult::benchmark).toList();
    }

    /** The result of one benchmark. */
    public Optional<BenchmarkResult> result(Benchmark benchmark) {
        return results.stream().filter(r -> r.benchmark() == benchmark).findFirst();
    }

    /** τ of one benchmark, NaN when it was not measured. */
    public double tau(Benchmark benchmark) {
        return result(benchmark).map(BenchmarkResult::tau).orElse(Double.NaN);
    }

    /** The unweighted mean of the benchmarks' τ (the {@value #MEAN_ROW} row). */
    public double meanTau() {
        return mean(results.stream().mapToDouble(BenchmarkResult::tau).toArray());
    }

    /** All benchmarks' statistics summed. */
    public SpecStats totalStats() {
        SpecStats total = SpecStats.empty(blockSize);
        for (BenchmarkResult r : results) {
            total = total.plus(r.stats());
        }
        return total;
    }

    public boolean hasBaseline() {
        return results.stream().anyMatch(BenchmarkResult::hasBaseline);
    }

    /** Speculative outputs that differed from plain greedy decoding, over all benchmarks (0 expected). */
    public int mismatches() {
        return results.stream().mapToInt(BenchmarkResult::mismatches).sum();
    }

    public AcceptanceReport withObjective(String name) {
        return new AcceptanceReport(name, drafter, target, blockSize, results, settings, provenance);
    }

    public AcceptanceReport withLabels(String objectiveName, String drafterName, String targetName) {
        return new AcceptanceReport(objectiveName, drafterName, targetName, blockSize, results, settings, provenance);
    }

    public AcceptanceReport withProvenance(Provenance p) {
        return new AcceptanceReport(objective, drafter, target, blockSize, results, settings, p);
    }

    /** "paper · B4 drafter on target-small". */
    public String title() {
        StringBuilder s = new StringBuilder(objective.isEmpty() ? "drafter" : objective);
        if (!drafter.isEmpty()) {
            s.append(" · ").append(drafter);
        }
        if (!target.isEmpty()) {
            s.append(" on ").append(target);
        }
        return s.toString();
    }

    // ---- table ----------------------------------------------------------------------------

    /**
     * One row per benchmark, then {@value #MEAN_ROW}: the unweighted mean of each rate column over
     * the benchmarks (NaN values left out), count columns empty. Columns: benchmark, τ,
     * accept@1..accept@(B−1), offline τ, tok/s spec, and with a baseline tok/s plain, speedup and
     * mismatches, then prompts, turns, skipped turns, tokens, steps, emitted.
     */
    public Table table() {
        boolean baseline = hasBaseline();
        StringColumn name = StringColumn.create(BENCHMARK);
        DoubleColumn tau = DoubleColumn.create(TAU);
        DoubleColumn[] slots = new DoubleColumn[blockSize - 1];
        for (int k = 1; k < blockSize; k++) {
            slots[k - 1] = DoubleColumn.create(slotColumn(k));
        }
        DoubleColumn offline = DoubleColumn.create(OFFLINE_TAU);
        DoubleColumn tps = DoubleColumn.create(TPS_SPEC);
        DoubleColumn plainTps = DoubleColumn.create(TPS_PLAIN);
        DoubleColumn speedup = DoubleColumn.create(SPEEDUP);
        IntColumn mismatchCol = IntColumn.create(MISMATCHES);
        IntColumn prompts = IntColumn.create(PROMPTS);
        IntColumn turns = IntColumn.create(TURNS);
        IntColumn skipped = IntColumn.create(SKIPPED);
        LongColumn tokens = LongColumn.create(TOKENS);
        LongColumn steps = LongColumn.create(STEPS);
        LongColumn emitted = LongColumn.create(EMITTED);
        for (BenchmarkResult r : results) {
            name.append(r.benchmark().displayName());
            tau.append(r.tau());
            double[] rates = r.slotAcceptance();
            for (int k = 0; k < rates.length; k++) {
                slots[k].append(rates[k]);
            }
            offline.append(r.offlineTau());
            tps.append(r.tokensPerSecond());
            plainTps.append(r.plainTokensPerSecond());
            speedup.append(r.speedup());
            if (r.hasBaseline()) {
                mismatchCol.append(r.mismatches());
            } else {
                mismatchCol.appendMissing();
            }
            prompts.append(r.prompts());
            turns.append(r.turns());
            skipped.append(r.skippedTurns());
            tokens.append(r.tokens());
            steps.append(r.stats().steps());
            emitted.append(r.stats().emitted());
        }
        name.append(MEAN_ROW);
        List<DoubleColumn> rateColumns = new ArrayList<>(List.of(tau));
        rateColumns.addAll(Arrays.asList(slots));
        rateColumns.addAll(List.of(offline, tps, plainTps, speedup));
        for (DoubleColumn c : rateColumns) {
            c.append(mean(c.asDoubleArray()));
        }
        mismatchCol.appendMissing();
        prompts.appendMissing();
        turns.appendMissing();
        skipped.appendMissing();
        tokens.appendMissing();
        steps.appendMissing();
        emitted.appendMissing();
        Table table = Table.create("τ: " + title(), name, tau);
        table.addColumns(slots);
        table.addColumns(offline, tps);
        if (baseline) {
            table.addColumns(plainTps, speedup, mismatchCol);
        }
        table.addColumns(prompts, turns, skipped, tokens, steps, emitted);
        return table;
    }

    /** The table with the best value of each rate column marked. */
    public TableView tableView() {
        List<String> best = new ArrayList<>(List.of(TAU));
        for (int k = 1; k < blockSize; k++) {
            best.add(slotColumn(k));
        }
        best.add(OFFLINE_TAU);
        best.add(TPS_SPEC);
        if (hasBaseline()) {
            best.add(SPEEDUP);
        }
        return TableView.of(table()).withHighlight(Highlight.maxPerColumn(best.toArray(String[]::new)));
    }

    static double mean(double[] values) {
        double sum = 0;
        int n = 0;
        for (double v : values) {
            if (!Double.isNaN(v)) {
                sum += v;
                n++;
            }
        }
        return n == 0 ? Double.NaN : sum / n;
    }

    // ---- figures --------------------------------------------------------------------------

    /** Per-slot conditional acceptance, one line per benchmark over slots 1..B−1. */
    public Figure slotAcceptanceFigure() {
        Figure f = Figure.lines("Per-slot acceptance: " + title(), "slot k", "P(accept k | slots 1..k−1 accepted)");
        double[] x = new double[blockSize - 1];
        for (int k = 0; k < x.length; k++) {
            x[k] = k + 1;
        }
        for (BenchmarkResult r : results) {
            f = f.withLine(r.benchmark().displayName(), x, r.slotAcceptance());
        }
        return f.withLayout("yaxis", Map.of("title", Map.of("text", "P(accept k | slots 1..k−1 accepted)"),
                "range", List.of(0, 1.05)));
    }

    /** Share of verification steps accepting n drafted tokens, n = 0..B−1, bars grouped by benchmark. */
    public Figure histogramFigure() {
        Figure f = Figure.bars("Accepted drafts per verification step: " + title(), "accepted drafted tokens n",
                "share of steps");
        double[] x = new double[blockSize];
        for (int n = 0; n < x.length; n++) {
            x[n] = n;
        }
        for (BenchmarkResult r : results) {
            f = f.withBars(r.benchmark().displayName(), x, r.acceptedShare());
        }
        return f;
    }

    // ---- display --------------------------------------------------------------------------

    /** HTML: the table with best values marked and both figures; text: {@link #toString()}. */
    @Override
    public Map<String, Object> mimeBundle() {
        Map<String, Object> bundle = new LinkedHashMap<>();
        String id = UUID.randomUUID().toString();
        bundle.put("text/html", tableView().toHtml() + "\n" + PlotlyJs.notebookSession().libraryOnce()
                + slotAcceptanceFigure().toHtml("blockdraft-slots-" + id, false) + "\n"
                + histogramFigure().toHtml("blockdraft-histogram-" + id, false));
        bundle.put("text/plain", toString());
        return Collections.unmodifiableMap(bundle);
    }

    /** A short aligned table: τ, per-slot acceptance, speed, per benchmark and the mean. */
    @Override
    public String toString() {
        boolean baseline = hasBaseline();
        List<String> headers = new ArrayList<>(List.of(BENCHMARK, TAU));
        for (int k = 1; k < blockSize; k++) {
            headers.add(slotColumn(k));
        }
        headers.addAll(List.of(OFFLINE_TAU, TOKENS, TPS_SPEC));
        if (baseline) {
            headers.addAll(List.of(TPS_PLAIN, SPEEDUP, MISMATCHES));
        }
        TextTable text = new TextTable(headers);
        Table t = table();
        for (int row = 0; row < t.rowCount(); row++) {
            List<String> cells = new ArrayList<>();
            cells.add(t.stringColumn(BENCHMARK).get(row));
            cells.add(TextTable.fixed(t.doubleColumn(TAU).getDouble(row), 3));
            for (int k = 1; k < blockSize; k++) {
                cells.add(TextTable.fixed(t.doubleColumn(slotColumn(k)).getDouble(row), 3));
            }
            cells.add(TextTable.fixed(t.doubleColumn(OFFLINE_TAU).getDouble(row), 3));
            cells.add(t.longColumn(TOKENS).isMissing(row) ? "" : Long.toString(t.longColumn(TOKENS).get(row)));
            cells.add(TextTable.fixed(t.doubleColumn(TPS_SPEC).getDouble(row), 1));
            if (baseline) {
                cells.add(TextTable.fixed(t.doubleColumn(TPS_PLAIN).getDouble(row), 1));
                cells.add(TextTable.fixed(t.doubleColumn(SPEEDUP).getDouble(row), 2) + "×");
                cells.add(t.intColumn(MISMATCHES).isMissing(row) ? "" : Integer.toString(t.intColumn(MISMATCHES).get(row)));
            }
            text.row(cells);
        }
        return "AcceptanceReport " + title() + " (B=" + blockSize + ")\n" + text.render();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof AcceptanceReport r && r.objective.equals(objective) && r.drafter.equals(drafter)
                && r.target.equals(target) && r.blockSize == blockSize && r.results.equals(results)
                && Objects.equals(r.settings, settings) && Objects.equals(r.provenance, provenance);
    }

    @Override
    public int hashCode() {
        return Objects.hash(objective, drafter, target, blockSize, results);
    }

    // ---- files ----------------------------------------------------------------------------

    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().serializeNulls().create();

    /** Everything in this report as JSON (NaN written as null); {@link #fromJson} reads it back. */
    public JsonObject toJsonObject() {
        JsonObject o = new JsonObject();
        o.addProperty("format", FORMAT);
        o.addProperty("objective", objective);
        o.addProperty("drafter", drafter);
        o.addProperty("target", target);
        o.addProperty("block_size", blockSize);
        o.add("settings", settings == null ? JsonNull.INSTANCE : settingsJson(settings));
        JsonArray list = new JsonArray();
        for (BenchmarkResult r : results) {
            JsonObject b = new JsonObject();
            b.addProperty("benchmark", r.benchmark().cliName());
            b.addProperty("prompts", r.prompts());
            b.addProperty("turns", r.turns());
            b.addProperty("skipped_turns", r.skippedTurns());
            b.addProperty("tokens", r.tokens());
            b.addProperty("steps", r.stats().steps());
            b.addProperty("emitted", r.stats().emitted());
            b.add("accepted_histogram", longs(r.stats().acceptedHistogram()));
            b.add("slot_reached", longs(r.stats().slotReached()));
            b.add("slot_accepted", longs(r.stats().slotAccepted()));
            b.add("seconds", number(r.stats().seconds()));
            b.addProperty("plain_tokens", r.plainTokens());
            b.add("plain_seconds", number(r.plainSeconds()));
            b.addProperty("mismatches", r.mismatches());
            b.add("offline_tau", number(r.offlineTau()));
            // derived, for readers of the file; ignored when read back
            b.add("tau", number(r.tau()));
            JsonArray rates = new JsonArray();
            for (double rate : r.slotAcceptance()) {
                rates.add(number(rate));
            }
            b.add("slot_acceptance", rates);
            b.add("speedup", number(r.speedup()));
            double[] ci = r.tauInterval();
            b.add("tau_ci_low", number(ci[0]));
            b.add("tau_ci_high", number(ci[1]));
            b.add("visited_tau", number(r.visitedTau()));
            b.add("forced_tau", number(r.forcedTau()));
            b.addProperty("forced_mismatches", r.forcedMismatches());
            JsonArray per = new JsonArray();
            for (PromptResult pr : r.perPrompt()) {
                JsonObject one = new JsonObject();
                one.addProperty("id", pr.id());
                one.addProperty("steps", pr.steps());
                one.addProperty("emitted", pr.emitted());
                if (pr.forced() >= 0) {
                    one.addProperty("visited", pr.visited());
                    one.addProperty("forced", pr.forced());
                    one.addProperty("forced_mismatches", pr.forcedMismatches());
                }
                per.add(one);
            }
            b.add("per_prompt", per);
            list.add(b);
        }
        o.add("benchmarks", list);
        o.add("provenance", provenance == null ? JsonNull.INSTANCE : GSON.toJsonTree(provenance));
        return o;
    }

    public String toJson() {
        return GSON.toJson(toJsonObject());
    }

    /** Writes {@link #toJson()} atomically. */
    public Path writeJson(Path file) {
        AtomicFiles.writeString(file, toJson() + "\n");
        return file;
    }

    /** Writes {@link #table()} as CSV (UTF-8, header row, missing cells empty) atomically. */
    public Path writeCsv(Path file) {
        writeCsv(table(), file);
        return file;
    }

    static void writeCsv(Table table, Path file) {
        StringWriter out = new StringWriter();
        table.write().csv(out);
        AtomicFiles.writeString(file, out.toString());
    }

    public static AcceptanceReport readJson(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw BadInputException.of(file, "file not found", e);
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + file + ": " + e.getMessage(), e);
        }
        try {
            return fromJson(JsonParser.parseString(text).getAsJsonObject());
        } catch (JsonParseException | IllegalStateException | UnsupportedOperationException | NullPointerException
                | ClassCastException | IllegalArgumentException e) {
            throw BadInputException.of(file, "not an acceptance report (" + FORMAT + "): " + e.getMessage(), e);
        }
    }

    /** Reads {@link #toJsonObject()}; fails with IllegalArgumentException on other JSON. */
    public static AcceptanceReport fromJson(JsonObject o) {
        JsonElement format = o.get("format");
        if (format == null || !FORMAT.equals(format.getAsString())) {
            throw new IllegalArgumentException("format is " + format + ", expected \"" + FORMAT + "\"");
        }
        int blockSize = o.get("block_size").getAsInt();
        List<BenchmarkResult> results = new ArrayList<>();
        for (JsonElement e : o.getAsJsonArray("benchmarks")) {
            JsonObject b = e.getAsJsonObject();
            SpecStats stats = new SpecStats(blockSize, b.get("steps").getAsLong(), b.get("emitted").getAsLong(),
                    longs(b.getAsJsonArray("accepted_histogram"), blockSize, "accepted_histogram"),
                    longs(b.getAsJsonArray("slot_reached"), blockSize - 1, "slot_reached"),
                    longs(b.getAsJsonArray("slot_accepted"), blockSize - 1, "slot_accepted"), number(b.get("seconds")));
            results.add(new BenchmarkResult(Benchmark.fromReport(b.get("benchmark").getAsString()), b.get("prompts").getAsInt(),
                    b.get("turns").getAsInt(), b.get("skipped_turns").getAsInt(), b.get("tokens").getAsLong(), stats,
                    b.get("plain_tokens").getAsLong(), number(b.get("plain_seconds")), b.get("mismatches").getAsInt(),
                    number(b.get("offline_tau")), perPromptFromJson(b.getAsJsonArray("per_prompt"))));
        }
        JsonElement s = o.get("settings");
        JsonElement p = o.get("provenance");
        return new AcceptanceReport(o.get("objective").getAsString(), o.get("drafter").getAsString(),
                o.get("target").getAsString(), blockSize, results,
                s == null || s.isJsonNull() ? null : settingsFromJson(s.getAsJsonObject()),
                p == null || p.isJsonNull() ? null : GSON.fromJson(p, Provenance.class));
    }

    private static List<PromptResult> perPromptFromJson(JsonArray a) {
        List<PromptResult> out = new ArrayList<>();
        if (a != null) {
            for (JsonElement e : a) {
                JsonObject o = e.getAsJsonObject();
                boolean forced = o.has("forced");
                out.add(new PromptResult(o.get("id").getAsString(), o.get("steps").getAsLong(), o.get("emitted").getAsLong(),
                        forced ? o.get("visited").getAsLong() : -1, forced ? o.get("forced").getAsLong() : -1,
                        forced ? o.get("forced_mismatches").getAsInt() : -1));
            }
        }
        return out;
    }

    private static JsonObject settingsJson(BenchmarkRun s) {
        JsonObject o = new JsonObject();
        JsonArray names = new JsonArray();
        s.benchmarks().forEach(b -> names.add(b.cliName()));
        o.add("benchmarks", names);
        o.addProperty("max_prompts", s.maxPrompts());
        o.addProperty("max_new_tokens", s.maxNewTokens());
        o.addProperty("measure_baseline", s.measureBaseline());
        o.addProperty("on_too_long", s.onTooLong().name());
        return o;
    }

    private static BenchmarkRun settingsFromJson(JsonObject o) {
        List<Benchmark> list = new ArrayList<>();
        for (JsonElement e : o.getAsJsonArray("benchmarks")) {
            list.add(Benchmark.fromReport(e.getAsString()));
        }
        return new BenchmarkRun(list, o.get("max_prompts").getAsInt(), o.get("max_new_tokens").getAsInt(),
                o.get("measure_baseline").getAsBoolean(), BenchmarkRun.TooLong.valueOf(o.get("on_too_long").getAsString()));
    }

    static JsonElement number(double v) {
        return Double.isFinite(v) ? new JsonPrimitive(v) : JsonNull.INSTANCE;
    }

    static double number(JsonElement e) {
        return e == null || e.isJsonNull() ? Double.NaN : e.getAsDouble();
    }

    private static JsonArray longs(long[] values) {
        JsonArray a = new JsonArray();
        for (long v : values) {
            a.add(v);
        }
        return a;
    }

    private static long[] longs(JsonArray a, int expected, String key) {
        if (a.size() != expected) {
            throw new IllegalArgumentException(key + " has " + a.size() + " values, expected " + expected);
        }
        long[] out = new long[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).getAsLong();
        }
        return out;
    }
}
