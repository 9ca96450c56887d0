package dev.blockdraft.eval;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import dev.blockdraft.data.Benchmark;
import dev.blockdraft.io.AtomicFiles;
import dev.blockdraft.io.BadInputException;
import dev.blockdraft.report.Displayable;
import dev.blockdraft.report.Figure;
import dev.blockdraft.report.Highlight;
import dev.blockdraft.report.PlotlyJs;
import dev.blockdraft.report.TableView;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

/**
 * τ of several drafters side by side, labelled by training objective ("uniform", "paper", ...),
 * each with one or more reports (seeds: shown as mean ± sample standard deviation). The table has
 * one row per benchmark and a final {@value AcceptanceReport#MEAN_ROW} row, one τ column per
 * objective, a {@code "<objective> ±"} column per objective when any objective has several seeds,
 * and a relative change column {@code "<objective> vs <baseline> %"} per other objective:
 * {@code 100 · (τ − τ_baseline) / τ_baseline}. Immutable.
 */
public final class Comparison implements Displayable {

    public static final String FORMAT = "blockdraft-comparison/1";

    private final Map<String, List<AcceptanceReport>> byObjective;
    private final String baseline;

    /**
     * @param byObjective reports per objective label, in column order; every list non-empty
     * @param baseline    the objective the others are compared against
     */
    public Comparison(Map<String, List<AcceptanceReport>> byObjective, String baseline) {
        if (byObjective.isEmpty()) {
            throw new IllegalArgumentException("a comparison needs at least one objective");
        }
        LinkedHashMap<String, List<AcceptanceReport>> copy = new LinkedHashMap<>();
        byObjective.forEach((name, reports) -> {
            if (name == null || name.isBlank() || name.equals(AcceptanceReport.BENCHMARK)) {
                throw new IllegalArgumentException("objective label \"" + name + "\" is not usable as a column name");
            }
            if (reports == null || reports.isEmpty()) {
                throw new IllegalArgumentException("objective " + name + " has no reports");
            }
            copy.put(name, List.copyOf(reports));
        });
        if (!copy.containsKey(baseline)) {
            throw new IllegalArgumentException("baseline objective \"" + baseline + "\" is not among " + copy.keySet());
        }
        this.byObjective = Collections.unmodifiableMap(copy);
        this.baseline = baseline;
    }

    /** Groups reports by {@link AcceptanceReport#objective()} (in first-seen order); the first objective is the baseline. */
    public static Comparison of(List<AcceptanceReport> reports) {
        Map<String, List<AcceptanceReport>> groups = new LinkedHashMap<>();
        for (AcceptanceReport r : reports) {
            groups.computeIfAbsent(r.objective().isEmpty() ? "drafter" : r.objective(), k -> new ArrayList<>()).add(r);
        }
        if (groups.isEmpty()) {
            throw new IllegalArgumentException("a comparison needs at least one report");
        }
        return new Comparison(groups, groups.keySet().iterator().next());
    }

    /** {@link #of(List)} with the given baseline. */
    public static Comparison of(List<AcceptanceReport> reports, String baseline) {
        return of(reports).withBaseline(baseline);
    }

    public Comparison withBaseline(String objective) {
        return new Comparison(byObjective, objective);
    }

    /** Adds a report (another seed, or a new objective as the last column). */
    public Comparison with(String objective, AcceptanceReport report) {
        Map<String, List<AcceptanceReport>> more = new LinkedHashMap<>(byObjective);
        List<AcceptanceReport> list = new ArrayList<>(more.getOrDefault(objective, List.of()));
        list.add(report);
        more.put(objective, list);
        return new Comparison(more, baseline);
    }

    public List<String> objectives() {
        return List.copyOf(byObjective.keySet());
    }

    public String baseline() {
        return baseline;
    }

    public List<AcceptanceReport> reports(String objective) {
        List<AcceptanceReport> r = byObjective.get(objective);
        if (r == null) {
            throw new IllegalArgumentException("no objective \"" + objective + "\"; have " + byObjective.keySet());
        }
        return r;
    }

    /** Every report, objective by objective. */
    public List<AcceptanceReport> allReports() {
        return byObjective.values().stream().flatMap(List::stream).toList();
    }

    /** Benchmarks measured by any report, in {@link Benchmark} order. */
    public List<Benchmark> benchmarks() {
        Set<Benchmark> set = new java.util.TreeSet<>();
        allReports().forEach(r -> set.addAll(r.benchmarks()));
        return List.copyOf(set);
    }

    /** Whether some objective has more than one report. */
    public boolean hasSeeds() {
        return byObjective.values().stream().anyMatch(l -> l.size() > 1);
    }

    /** τ of one objective on one benchmark, the mean over its reports that measured it. */
    public double tau(String objective, Benchmark benchmark) {
        return AcceptanceReport.mean(perSeed(objective, benchmark));
    }

    /** Sample standard deviation of τ over the objective's reports; NaN with fewer than two. */
    public double tauStd(String objective, Benchmark benchmark) {
        return std(perSeed(objective, benchmark));
    }

    /** The objective's τ averaged over the benchmarks (per report, then over reports). */
    public double meanTau(String objective) {
        return AcceptanceReport.mean(perSeedMeans(objective));
    }

    public double meanTauStd(String objective) {
        return std(perSeedMeans(objective));
    }

    /** (τ − τ_baseline) / τ_baseline on one benchmark, a fraction. */
    public double relativeChange(String objective, Benchmark benchmark) {
        return relative(tau(objective, benchmark), tau(baseline, benchmark));
    }

    /** (mean τ − baseline's mean τ) / baseline's mean τ, a fraction. */
    public double meanRelativeChange(String objective) {
        return relative(meanTau(objective), meanTau(baseline));
    }

    private static double relative(double value, double base) {
        return (value - base) / base;
    }

    private double[] perSeed(String objective, Benchmark benchmark) {
        return reports(objective).stream().mapToDouble(r -> r.tau(benchmark)).filter(v -> !Double.isNaN(v)).toArray();
    }

    private double[] perSeedMeans(String objective) {
        List<Benchmark> benchmarks = benchmarks();
        return reports(objective).stream()
                .mapToDouble(r -> AcceptanceReport.mean(benchmarks.stream().mapToDouble(r::tau).toArray())).toArray();
    }

    static double std(double[] values) {
        double[] v = java.util.Arrays.stream(values).filter(x -> !Double.isNaN(x)).toArray();
        if (v.length < 2) {
            return Double.NaN;
        }
        double mean = AcceptanceReport.mean(v);
        double ss = 0;
        for (double x : v) {
            ss += (x - mean) * (x - mean);
        }
        return Math.sqrt(ss / (v.length - 1));
    }

    /** The ± column of an objective. */
    public static String stdColumn(String objective) {
        return objective + " ±";
    }

    /** The relative change column of an objective against the baseline, in percent. */
    public static String relativeColumn(String objective, String baseline) {
        return objective + " vs " + baseline + " %";
    }

    // ---- table ----------------------------------------------------------------------------

    public Table table() {
        List<Benchmark> benchmarks = benchmarks();
        boolean seeds = hasSeeds();
        StringColumn name = StringColumn.create(AcceptanceReport.BENCHMARK);
        benchmarks.forEach(b -> name.append(b.displayName()));
        name.append(AcceptanceReport.MEAN_ROW);
        Table table = Table.create("τ per benchmark (baseline: " + baseline + ")", name);
        for (String o : byObjective.keySet()) {
            DoubleColumn tau = DoubleColumn.create(o);
            DoubleColumn std = DoubleColumn.create(stdColumn(o));
            for (Benchmark b : benchmarks) {
                tau.append(tau(o, b));
                std.append(tauStd(o, b));
            }
            tau.append(meanTau(o));
            std.append(meanTauStd(o));
            table.addColumns(tau);
            if (seeds) {
                table.addColumns(std);
            }
        }
        for (String o : byObjective.keySet()) {
            if (o.equals(baseline)) {
                continue;
            }
            DoubleColumn rel = DoubleColumn.create(relativeColumn(o, baseline));
            for (Benchmark b : benchmarks) {
                rel.append(100 * relativeChange(o, b));
            }
            rel.append(100 * meanRelativeChange(o));
            table.addColumns(rel);
        }
        return table;
    }

    /** The table with the best τ of each row marked. */
    public TableView tableView() {
        return TableView.of(table()).withHighlight(Highlight.maxPerRow(byObjective.keySet().toArray(String[]::new)));
    }

    /** Grouped bars: τ per benchmark (and the mean), one bar per objective, ± one standard deviation with seeds. */
    public Figure tauFigure() {
        List<Benchmark> benchmarks = benchmarks();
        List<String> categories = new ArrayList<>();
        benchmarks.forEach(b -> categories.add(b.displayName()));
        categories.add(AcceptanceReport.MEAN_ROW);
        Figure f = Figure.bars("τ per benchmark", "benchmark", "τ (tokens per verification step)");
        for (String o : byObjective.keySet()) {
            double[] y = new double[categories.size()];
            double[] err = new double[categories.size()];
            for (int i = 0; i < benchmarks.size(); i++) {
                y[i] = tau(o, benchmarks.get(i));
                err[i] = tauStd(o, benchmarks.get(i));
            }
            y[y.length - 1] = meanTau(o);
            err[err.length - 1] = meanTauStd(o);
            if (reports(o).size() < 2) {
                f = f.withBars(o, categories.toArray(String[]::new), y);
            } else {
                JsonObject trace = new JsonObject();
                trace.addProperty("type", "bar");
                trace.addProperty("name", o + " (" + reports(o).size() + " seeds)");
                JsonArray x = new JsonArray();
                categories.forEach(x::add);
                trace.add("x", x);
                trace.add("y", numbers(y));
                JsonObject errorY = new JsonObject();
                errorY.addProperty("type", "data");
                errorY.add("array", numbers(err));
                errorY.addProperty("visible", true);
                trace.add("error_y", errorY);
                f = f.withTrace(trace);
            }
        }
        return f;
    }

    private static JsonArray numbers(double[] values) {
        JsonArray a = new JsonArray();
        for (double v : values) {
            a.add(AcceptanceReport.number(v));
        }
        return a;
    }

    // ---- display --------------------------------------------------------------------------

    @Override
    public Map<String, Object> mimeBundle() {
        Map<String, Object> bundle = new LinkedHashMap<>();
        bundle.put("text/html", tableView().toHtml() + "\n" + PlotlyJs.notebookSession().libraryOnce()
                + tauFigure().toHtml("blockdraft-comparison-" + UUID.randomUUID(), false));
        bundle.put("text/plain", toString());
        return Collections.unmodifiableMap(bundle);
    }

    /** Aligned: τ (± std with seeds) per objective and the relative changes, per benchmark and the mean. */
    @Override
    public String toString() {
        List<Benchmark> benchmarks = benchmarks();
        List<String> headers = new ArrayList<>(List.of(AcceptanceReport.BENCHMARK));
        for (String o : byObjective.keySet()) {
            int n = reports(o).size();
            headers.add(o + (n > 1 ? " (" + n + " seeds)" : ""));
        }
        for (String o : byObjective.keySet()) {
            if (!o.equals(baseline)) {
                headers.add(o + " vs " + baseline);
            }
        }
        TextTable text = new TextTable(headers);
        for (int i = 0; i <= benchmarks.size(); i++) {
            Benchmark b = i < benchmarks.size() ? benchmarks.get(i) : null;
            List<String> cells = new ArrayList<>();
            cells.add(b == null ? AcceptanceReport.MEAN_ROW : b.displayName());
            for (String o : byObjective.keySet()) {
                double mean = b == null ? meanTau(o) : tau(o, b);
                double std = b == null ? meanTauStd(o) : tauStd(o, b);
                cells.add(TextTable.fixed(mean, 3) + (Double.isNaN(std) ? "" : " ± " + TextTable.fixed(std, 3)));
            }
            for (String o : byObjective.keySet()) {
                if (!o.equals(baseline)) {
                    cells.add(TextTable.percent(b == null ? meanRelativeChange(o) : relativeChange(o, b)));
                }
            }
            text.row(cells);
        }
        return "Comparison of " + byObjective.keySet() + ", τ per benchmark (baseline " + baseline + ")\n" + text.render();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Comparison c && c.baseline.equals(baseline) && c.byObjective.equals(byObjective);
    }

    @Override
    public int hashCode() {
        return Objects.hash(byObjective, baseline);
    }

    // ---- files ----------------------------------------------------------------------------

    public String toJson() {
        JsonObject o = new JsonObject();
        o.addProperty("format", FORMAT);
        o.addProperty("baseline", baseline);
        JsonArray objectives = new JsonArray();
        byObjective.forEach((name, reports) -> {
            JsonObject entry = new JsonObject();
            entry.addProperty("name", name);
            JsonArray list = new JsonArray();
            reports.forEach(r -> list.add(r.toJsonObject()));
            entry.add("reports", list);
            objectives.add(entry);
        });
        o.add("objectives", objectives);
        return new GsonBuilder().setPrettyPrinting().serializeNulls().create().toJson(o);
    }

    public Path writeJson(Path file) {
        AtomicFiles.writeString(file, toJson() + "\n");
        return file;
    }

    /** Writes {@link #table()} as CSV atomically. */
    public Path writeCsv(Path file) {
        AcceptanceReport.writeCsv(table(), file);
        return file;
    }

    public static Comparison readJson(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw BadInputException.of(file, "file not found", e);
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + file + ": " + e.getMessage(), e);
        }
        try {
            JsonObject o = JsonParser.parseString(text).getAsJsonObject();
            JsonElement format = o.get("format");
            if (format == null || !FORMAT.equals(format.getAsString())) {
                throw new IllegalArgumentException("format is " + format + ", expected \"" + FORMAT + "\"");
            }
            Map<String, List<AcceptanceReport>> map = new LinkedHashMap<>();
            for (JsonElement e : o.getAsJsonArray("objectives")) {
                JsonObject entry = e.getAsJsonObject();
                List<AcceptanceReport> reports = new ArrayList<>();
                for (JsonElement r : entry.getAsJsonArray("reports")) {
                    reports.add(AcceptanceReport.fromJson(r.getAsJsonObject()));
                }
                map.put(entry.get("name").getAsString(), reports);
            }
            return new Comparison(map, o.get("baseline").getAsString());
        } catch (JsonParseException | IllegalStateException | UnsupportedOperationException | NullPointerException
                | ClassCastException | IllegalArgumentException e) {
            throw BadInputException.of(file, "not a comparison (" + FORMAT + "): " + e.getMessage(), e);
        }
    }
}
