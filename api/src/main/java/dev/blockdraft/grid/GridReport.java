package dev.blockdraft.grid;

import com.google.gson.JsonArray;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import dev.blockdraft.eval.AcceptanceReport;
import dev.blockdraft.eval.Comparison;
import dev.blockdraft.io.AtomicFiles;
import dev.blockdraft.io.JsonFiles;
import dev.blockdraft.report.Figure;
import dev.blockdraft.report.HtmlReport;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.IntColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

/**
 * The grid's comparison: per (target, block size, steps) group, per benchmark and objective, τ
 * as the mean over seeds with its 95% hierarchical bootstrap interval (seeds, then prompts within
 * each seed: {@link SeedBootstrap#tauInterval}); the relative change against the baseline objective
 * with its paired interval (same seeds, same prompts: {@link SeedBootstrap#relativeChangeInterval});
 * and the p-value of a paired sign-flip permutation test over prompts × seeds
 * ({@link SeedBootstrap#signFlipPValue}). Paired statistics use the seeds and prompt ids both arms
 * measured. Built from the cells' {@code acceptance.json} files, so the cells of every shard are
 * merged by reading one output folder.
 */
public final class GridReport implements dev.blockdraft.report.Displayable {
    public static final String FORMAT = "blockdraft-grid-report/1";
    /**
     * The benchmark name of the rows that pool every benchmark's prompts: τ = Σ emitted ÷ Σ steps
     * over all of them, bootstrapped over prompts like any benchmark (present with two or more benchmarks).
     */
    public static final String ALL = "all";

    /**
     * One row of the table; NaN where a statistic does not apply (the baseline's change).
     * {@code objective} is the cell's {@link Cell#arm() arm}: the objective label, with its decoding
     * when that is not greedy with one block ({@code "paper K=4"}).
     */
    public record Row(String target, int blockSize, int steps, String benchmark, String objective, int seeds, int prompts,
            double tau, double tauLow, double tauHigh, double change, double changeLow, double changeHigh, double p) {}

    /** A finished cell and its report. */
    public record CellResult(Cell cell, AcceptanceReport report) {}

    private final Grid grid;
    private final List<CellResult> cells;
    private final List<String> missing;
    private final List<Row> rows;

    private GridReport(Grid grid, List<CellResult> cells, List<String> missing) {
        this.grid = grid;
        this.cells = List.copyOf(cells);
        this.missing = List.copyOf(missing);
        this.rows = computeRows();
    }

    /** Reads every finished cell of the grid from its output folder; unfinished cells are listed in {@link #missing()}. */
    public static GridReport read(Grid grid) {
        List<CellResult> found = new ArrayList<>();
        List<String> missing = new ArrayList<>();
        for (Cell c : grid.cells()) {
            Path folder = grid.cellFolder(c);
            if (GridRunner.status(folder, c) == GridRunner.Status.FINISHED) {
                found.add(new CellResult(c, AcceptanceReport.readJson(folder.resolve(GridRunner.REPORT_FILE))));
            } else {
                missing.add(c.name());
            }
        }
        return new GridReport(grid, found, missing);
    }

    /** From results in memory (for tests and notebooks). */
    public static GridReport of(Grid grid, List<CellResult> cells) {
        Set<String> have = new LinkedHashSet<>();
        cells.forEach(c -> have.add(c.cell().name()));
        List<String> missing = grid.cells().stream().map(Cell::name).filter(n -> !have.contains(n)).toList();
        return new GridReport(grid, cells, missing);
    }

    public List<Row> rows() {
        return rows;
    }

    public List<String> missing() {
        return missing;
    }

    public List<CellResult> cells() {
        return cells;
    }

    /**
     * The finished cells' reports side by side ({@link Comparison}): one column per arm in
     * {@link Grid#arms()} order (each report labelled with its arm, its seeds as the column's
     * reports), compared against the baseline. Meant for grids of one (target, block size, steps)
     * group: cells of other groups would count as more seeds.
     */
    public Comparison comparison() {
        Map<String, List<AcceptanceReport>> byArm = new LinkedHashMap<>();
        for (String arm : grid.arms()) {
            for (CellResult c : cells) {
                if (c.cell().arm().equals(arm)) {
                    byArm.computeIfAbsent(arm, k -> new ArrayList<>()).add(c.report().withObjective(arm));
                }
            }
        }
        if (!byArm.containsKey(grid.baseline())) {
            throw new IllegalStateException("no finished cell of the baseline " + grid.baseline() + " in " + grid.out()
                    + " yet; run the grid first");
        }
        return new Comparison(byArm, grid.baseline());
    }

    // ---- statistics -----------------------------------------------------------------------

    private List<Row> computeRows() {
        // group → benchmark → objective → seed → per-prompt results
        Map<String, Map<String, Map<String, TreeMap<Long, List<AcceptanceReport.PromptResult>>>>> tree = new LinkedHashMap<>();
        Map<String, Cell> groupCell = new LinkedHashMap<>();
        for (CellResult r : cells) {
            Cell c = r.cell();
            groupCell.putIfAbsent(c.group(), c);
            for (AcceptanceReport.BenchmarkResult b : r.report().results()) {
                tree.computeIfAbsent(c.group(), k -> new LinkedHashMap<>())
                        .computeIfAbsent(b.benchmark().cliName(), k -> new LinkedHashMap<>())
                        .computeIfAbsent(c.arm(), k -> new TreeMap<>())
                        .put(c.seed(), b.perPrompt());
            }
        }
        // every benchmark's prompts pooled (ids prefixed with the benchmark, so pairing stays per prompt)
        for (CellResult r : cells) {
            List<AcceptanceReport.PromptResult> pooled = new ArrayList<>();
            for (AcceptanceReport.BenchmarkResult b : r.report().results()) {
                for (AcceptanceReport.PromptResult p : b.perPrompt()) {
                    pooled.add(new AcceptanceReport.PromptResult(b.benchmark().cliName() + "/" + p.id(), p.steps(), p.emitted()));
                }
            }
            if (r.report().results().size() > 1 && !pooled.isEmpty()) {
                tree.get(r.cell().group()).computeIfAbsent(ALL, k -> new LinkedHashMap<>())
                        .computeIfAbsent(r.cell().arm(), k -> new TreeMap<>()).put(r.cell().seed(), pooled);
            }
        }
        List<Row> out = new ArrayList<>();
        for (String group : sortedGroups(tree.keySet(), groupCell)) {
            Cell g = groupCell.get(group);
            for (Map.Entry<String, Map<String, TreeMap<Long, List<AcceptanceReport.PromptResult>>>> bench
                    : tree.get(group).entrySet()) {
                Map<String, TreeMap<Long, List<AcceptanceReport.PromptResult>>> arms = bench.getValue();
                TreeMap<Long, List<AcceptanceReport.PromptResult>> base = arms.get(grid.baseline());
                for (String objective : grid.arms()) {
                    TreeMap<Long, List<AcceptanceReport.PromptResult>> arm = arms.get(objective);
                    if (arm == null) {
                        continue;
                    }
                    SeedBootstrap.Arm all = arm(arm, null);
                    double[] ci = SeedBootstrap.tauInterval(all);
                    double change = Double.NaN, p = Double.NaN;
                    double[] changeCi = {Double.NaN, Double.NaN};
                    if (base != null && !objective.equals(grid.baseline())) {
                        SeedBootstrap.Arm[] paired = paired(arm, base);
                        if (paired != null) {
                            change = SeedBootstrap.relativeChange(paired[0], paired[1]);
                            changeCi = SeedBootstrap.relativeChangeInterval(paired[0], paired[1]);
                            p = SeedBootstrap.signFlipPValue(paired[0], paired[1]);
                        }
                    }
                    int prompts = arm.values().stream().mapToInt(List::size).max().orElse(0);
                    out.add(new Row(g.target(), g.blockSize(), g.steps(), bench.getKey(), objective, arm.size(), prompts,
                            all.tau(), ci[0], ci[1], change, changeCi[0], changeCi[1], p));
                }
            }
        }
        return out;
    }

    private static List<String> sortedGroups(Set<String> groups, Map<String, Cell> any) {
        List<String> list = new ArrayList<>(groups);
        list.sort((a, b) -> {
            Cell x = any.get(a), y = any.get(b);
            int c = x.target().compareTo(y.target());
            c = c != 0 ? c : Integer.compare(x.blockSize(), y.blockSize());
            return c != 0 ? c : Integer.compare(x.steps(), y.steps());
        });
        return list;
    }

    /** An arm over the given seeds (all when null), prompts in each seed's order. */
    private static SeedBootstrap.Arm arm(TreeMap<Long, List<AcceptanceReport.PromptResult>> bySeed, Set<Long> seeds) {
        List<long[]> e = new ArrayList<>(), s = new ArrayList<>();
        bySeed.forEach((seed, prompts) -> {
            if (seeds == null || seeds.contains(seed)) {
                e.add(prompts.stream().mapToLong(AcceptanceReport.PromptResult::emitted).toArray());
                s.add(prompts.stream().mapToLong(AcceptanceReport.PromptResult::steps).toArray());
            }
        });
        return new SeedBootstrap.Arm(e.toArray(new long[0][]), s.toArray(new long[0][]));
    }

    /** Both arms on the seeds both have, each seed on the prompt ids both have (the baseline's order); null if none. */
    private static SeedBootstrap.Arm[] paired(TreeMap<Long, List<AcceptanceReport.PromptResult>> arm,
            TreeMap<Long, List<AcceptanceReport.PromptResult>> base) {
        List<long[]> ea = new ArrayList<>(), sa = new ArrayList<>(), eb = new ArrayList<>(), sb = new ArrayList<>();
        for (Map.Entry<Long, List<AcceptanceReport.PromptResult>> e : base.entrySet()) {
            List<AcceptanceReport.PromptResult> other = arm.get(e.getKey());
            if (other == null) {
                continue;
            }
            Map<String, AcceptanceReport.PromptResult> byId = new LinkedHashMap<>();
            other.forEach(p -> byId.put(p.id(), p));
            List<AcceptanceReport.PromptResult> a = new ArrayList<>(), b = new ArrayList<>();
            for (AcceptanceReport.PromptResult p : e.getValue()) {
                if (byId.containsKey(p.id())) {
                    a.add(byId.get(p.id()));
                    b.add(p);
                }
            }
            if (!a.isEmpty()) {
                ea.add(a.stream().mapToLong(AcceptanceReport.PromptResult::emitted).toArray());
                sa.add(a.stream().mapToLong(AcceptanceReport.PromptResult::steps).toArray());
                eb.add(b.stream().mapToLong(AcceptanceReport.PromptResult::emitted).toArray());
                sb.add(b.stream().mapToLong(AcceptanceReport.PromptResult::steps).toArray());
            }
        }
        if (ea.isEmpty()) {
            return null;
        }
        return new SeedBootstrap.Arm[] {new SeedBootstrap.Arm(ea.toArray(new long[0][]), sa.toArray(new long[0][])),
            new SeedBootstrap.Arm(eb.toArray(new long[0][]), sb.toArray(new long[0][]))};
    }

    // ---- views ----------------------------------------------------------------------------

    static final String METHOD = "τ: mean over seeds of each seed's τ (Σ emitted ÷ Σ verification steps over the prompts)."
            + " 95% interval: hierarchical percentile bootstrap (2,000 resamples: seeds with replacement, then prompts with"
            + " replacement within each drawn seed). Δ: mean τ ÷ mean τ of the baseline − 1, with a paired bootstrap interval"
            + " (same drawn seeds and prompts for both arms). Benchmark \"all\": every benchmark's prompts pooled. p: two-sided paired sign-flip permutation test of the per-prompt"
            + " τ differences over prompts × seeds (exact up to 16 units, else 10,000 random flips).";

    /** The table: one row per group, benchmark and objective. */
    public Table table() {
        String base = grid.baseline();
        Table t = Table.create(grid.name() + ": τ by benchmark and objective (baseline " + base + ")");
        t.addColumns(StringColumn.create("target", rows.stream().map(Row::target).toList()),
                IntColumn.create("B", rows.stream().mapToInt(Row::blockSize).toArray()),
                IntColumn.create("steps", rows.stream().mapToInt(Row::steps).toArray()),
                StringColumn.create("benchmark", rows.stream().map(Row::benchmark).toList()),
                StringColumn.create("objective", rows.stream().map(Row::objective).toList()),
                IntColumn.create("seeds", rows.stream().mapToInt(Row::seeds).toArray()),
                IntColumn.create("prompts", rows.stream().mapToInt(Row::prompts).toArray()),
                DoubleColumn.create("τ", rows.stream().mapToDouble(Row::tau).toArray()),
                DoubleColumn.create("τ 95% low", rows.stream().mapToDouble(Row::tauLow).toArray()),
                DoubleColumn.create("τ 95% high", rows.stream().mapToDouble(Row::tauHigh).toArray()),
                DoubleColumn.create("Δ% vs " + base, rows.stream().mapToDouble(r -> 100 * r.change()).toArray()),
                DoubleColumn.create("Δ% 95% low", rows.stream().mapToDouble(r -> 100 * r.changeLow()).toArray()),
                DoubleColumn.create("Δ% 95% high", rows.stream().mapToDouble(r -> 100 * r.changeHigh()).toArray()),
                DoubleColumn.create("p (sign-flip)", rows.stream().mapToDouble(Row::p).toArray()));
        return t;
    }

    /** Per group, a bar chart of τ per benchmark and objective with its interval as error bars. */
    public List<Figure> figures() {
        Map<String, List<Row>> byGroup = new LinkedHashMap<>();
        rows.forEach(r -> byGroup.computeIfAbsent(r.target() + " · B" + r.blockSize() + " · " + r.steps() + " steps",
                k -> new ArrayList<>()).add(r));
        List<Figure> out = new ArrayList<>();
        byGroup.forEach((group, list) -> {
            Figure f = Figure.bars("τ with 95% intervals: " + group, "benchmark", "τ (tokens per verification)");
            for (String objective : grid.arms()) {
                List<Row> mine = list.stream().filter(r -> r.objective().equals(objective)).toList();
                if (mine.isEmpty()) {
                    continue;
                }
                JsonObject trace = new JsonObject();
                trace.addProperty("type", "bar");
                trace.addProperty("name", objective);
                JsonArray x = new JsonArray(), y = new JsonArray(), up = new JsonArray(), down = new JsonArray();
                for (Row r : mine) {
                    x.add(r.benchmark());
                    y.add(number(r.tau()));
                    up.add(number(r.tauHigh() - r.tau()));
                    down.add(number(r.tau() - r.tauLow()));
                }
                trace.add("x", x);
                trace.add("y", y);
                JsonObject error = new JsonObject();
                error.addProperty("type", "data");
                error.addProperty("symmetric", false);
                error.add("array", up);
                error.add("arrayminus", down);
                trace.add("error_y", error);
                f = f.withTrace(trace);
            }
            out.add(f);
        });
        return out;
    }

    public JsonObject toJson() {
        JsonObject o = new JsonObject();
        o.addProperty("format", FORMAT);
        o.addProperty("name", grid.name());
        o.addProperty("baseline", grid.baseline());
        o.addProperty("method", METHOD);
        JsonArray list = new JsonArray();
        for (Row r : rows) {
            JsonObject j = new JsonObject();
            j.addProperty("target", r.target());
            j.addProperty("block_size", r.blockSize());
            j.addProperty("steps", r.steps());
            j.addProperty("benchmark", r.benchmark());
            j.addProperty("objective", r.objective());
            j.addProperty("seeds", r.seeds());
            j.addProperty("prompts", r.prompts());
            j.add("tau", number(r.tau()));
            j.add("tau_ci", pair(r.tauLow(), r.tauHigh()));
            j.add("relative_change", number(r.change()));
            j.add("relative_change_ci", pair(r.changeLow(), r.changeHigh()));
            j.add("p_sign_flip", number(r.p()));
            list.add(j);
        }
        o.add("rows", list);
        JsonArray names = new JsonArray();
        cells.forEach(c -> {
            JsonObject j = new JsonObject();
            j.addProperty("cell", c.cell().name());
            j.addProperty(GridRunner.HASH_KEY, c.cell().experiment().settingsHash());
            names.add(j);
        });
        o.add("cells", names);
        JsonArray miss = new JsonArray();
        missing.forEach(miss::add);
        o.add("missing", miss);
        return o;
    }

    /** The keys every JSONL line starts with: which cell, arm and benchmark it is of. */
    private static JsonObject lineOf(CellResult c, AcceptanceReport.BenchmarkResult b) {
        JsonObject j = new JsonObject();
        j.addProperty("cell", c.cell().name());
        j.addProperty("target", c.cell().target());
        j.addProperty("objective", c.cell().objective());
        j.addProperty("arm", c.cell().arm());
        j.addProperty("seed", c.cell().seed());
        j.addProperty("block_size", c.cell().blockSize());
        j.addProperty("train_steps", c.cell().steps());
        j.addProperty("drafts", c.cell().experiment().eval().decoding().drafts());
        j.addProperty("benchmark", b.benchmark().cliName());
        return j;
    }

    /** One JSON line per cell × benchmark × prompt. */
    public String perPromptJsonl() {
        StringBuilder out = new StringBuilder();
        for (CellResult c : cells) {
            for (AcceptanceReport.BenchmarkResult b : c.report().results()) {
                for (AcceptanceReport.PromptResult p : b.perPrompt()) {
                    JsonObject j = lineOf(c, b);
                    j.addProperty("prompt", p.id());
                    j.add("tau", number(p.tau()));
                    j.addProperty("steps", p.steps());
                    j.addProperty("emitted", p.emitted());
                    out.append(COMPACT.toJson(j)).append('\n');
                }
            }
        }
        return out.toString();
    }

    /** One JSON line per cell × benchmark: τ, the accepted-length histogram and per-slot acceptance. */
    public String perBenchmarkJsonl() {
        StringBuilder out = new StringBuilder();
        for (CellResult c : cells) {
            for (AcceptanceReport.BenchmarkResult b : c.report().results()) {
                JsonObject j = lineOf(c, b);
                j.add("tau", number(b.tau()));
                j.add("speedup", number(b.speedup()));
                j.addProperty("steps", b.stats().steps());
                j.addProperty("emitted", b.stats().emitted());
                JsonArray histogram = new JsonArray();
                for (long n : b.stats().acceptedHistogram()) {
                    histogram.add(n);
                }
                j.add("accepted_histogram", histogram);
                JsonArray slots = new JsonArray();
                for (double rate : b.slotAcceptance()) {
                    slots.add(number(rate));
                }
                j.add("slot_acceptance", slots);
                out.append(COMPACT.toJson(j)).append('\n');
            }
        }
        return out.toString();
    }

    /**
     * Writes report.csv, report.json, report.html, per_prompt.jsonl and per_benchmark.jsonl into
     * {@code folder}; returns the HTML file.
     */
    public Path writeTo(Path folder) {
        writeData(folder, "report");
        return appendTo(HtmlReport.titled("blockdraft ablation: " + grid.name())).writeTo(folder.resolve("report.html"));
    }

    /**
     * Writes the table as {@code <stem>.csv} and {@code <stem>.json}, and per_prompt.jsonl and
     * per_benchmark.jsonl, into {@code folder} (each atomically).
     */
    public void writeData(Path folder, String stem) {
        StringWriter csv = new StringWriter();
        table().write().csv(csv);
        AtomicFiles.writeString(folder.resolve(stem + ".csv"), csv.toString());
        AtomicFiles.writeString(folder.resolve(stem + ".json"), JsonFiles.GSON.toJson(toJson()) + "\n");
        AtomicFiles.writeString(folder.resolve("per_prompt.jsonl"), perPromptJsonl());
        AtomicFiles.writeString(folder.resolve("per_benchmark.jsonl"), perBenchmarkJsonl());
    }

    /** {@code html} with the method, the cells' state, the table and one figure per group appended. */
    public HtmlReport appendTo(HtmlReport html) {
        html = html.section("τ per benchmark with 95% intervals").text(METHOD)
                .text(cells.size() + " of " + grid.cells().size() + " cells finished"
                        + (missing.isEmpty() ? "." : "; missing: " + String.join(", ", missing)))
                .table(table());
        for (Figure f : figures()) {
            html = html.figure(f);
        }
        return html;
    }

    /** In a notebook: the table (figures via {@link #figures()}). */
    @Override
    public Map<String, Object> mimeBundle() {
        Map<String, Object> bundle = new LinkedHashMap<>();
        bundle.put("text/html", dev.blockdraft.report.TableView.of(table()).toHtml());
        bundle.put("text/plain", toString());
        return bundle;
    }

    /** An aligned text table: τ [low, high], Δ% [low, high], p. */
    @Override
    public String toString() {
        List<String[]> lines = new ArrayList<>();
        lines.add(new String[] {"group", "benchmark", "objective", "seeds×prompts", "τ [95% CI]",
            "Δ vs " + grid.baseline() + " [95% CI]", "p"});
        for (Row r : rows) {
            lines.add(new String[] {r.target() + " B" + r.blockSize() + " " + r.steps() + " steps", r.benchmark(),
                r.objective(), r.seeds() + "×" + r.prompts(),
                String.format(Locale.ROOT, "%.3f [%.3f, %.3f]", r.tau(), r.tauLow(), r.tauHigh()),
                Double.isNaN(r.change()) ? "–" : String.format(Locale.ROOT, "%+.1f%% [%+.1f, %+.1f]", 100 * r.change(),
                        100 * r.changeLow(), 100 * r.changeHigh()),
                Double.isNaN(r.p()) ? "–" : String.format(Locale.ROOT, "%.3f", r.p())});
        }
        int[] width = new int[lines.get(0).length];
        for (String[] l : lines) {
            for (int i = 0; i < l.length; i++) {
                width[i] = Math.max(width[i], l[i].length());
            }
        }
        StringBuilder s = new StringBuilder(grid.name()).append(": ").append(cells.size()).append(" of ")
                .append(grid.cells().size()).append(" cells\n");
        for (String[] l : lines) {
            for (int i = 0; i < l.length; i++) {
                s.append(i == 0 ? "" : "  ").append(String.format("%-" + width[i] + "s", l[i]));
            }
            s.append('\n');
        }
        if (!missing.isEmpty()) {
            s.append("missing: ").append(String.join(", ", missing)).append('\n');
        }
        return s.toString();
    }

    private static final com.google.gson.Gson COMPACT = new com.google.gson.GsonBuilder().disableHtmlEscaping()
            .serializeNulls().create();

    private static com.google.gson.JsonElement number(double v) {
        return Double.isFinite(v) ? new JsonPrimitive(v) : JsonNull.INSTANCE;
    }

    private static JsonArray pair(double a, double b) {
        JsonArray x = new JsonArray();
        x.add(number(a));
        x.add(number(b));
        return x;
    }
}
