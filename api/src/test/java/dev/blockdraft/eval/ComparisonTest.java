package dev.blockdraft.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.blockdraft.data.Benchmark;
import dev.blockdraft.report.PlotlyJs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tech.tablesaw.api.Table;

class ComparisonTest {

    /** A report whose GSM8K τ is {@code gsm} and HumanEval τ is {@code code} (10 steps each). */
    static AcceptanceReport report(String objective, long gsmEmitted, long codeEmitted) {
        return new AcceptanceReport(objective, "B4 1L", "tiny", 4, List.of(
                AcceptanceReport.BenchmarkResult.of(Benchmark.GSM8K, 2, gsmEmitted, stats(gsmEmitted)),
                AcceptanceReport.BenchmarkResult.of(Benchmark.HUMANEVAL, 2, codeEmitted, stats(codeEmitted))), null, null);
    }

    /** 10 steps emitting {@code emitted} tokens (10..40): full acceptances then one-token steps. */
    static dev.blockdraft.spec.SpecStats stats(long emitted) {
        long full = (emitted - 10) / 3;
        long rest = 10 - full;
        long extra = emitted - 4 * full - rest; // 0..2 more accepted in one step
        long[] h = new long[4];
        h[3] = full;
        h[0] = rest;
        if (extra > 0) {
            h[0]--;
            h[(int) extra]++;
        }
        return AcceptanceReportTest.stats(1.0, h);
    }

    @Test
    void tauPerObjectiveAndRelativeChange() {
        Comparison c = Comparison.of(List.of(report("uniform", 20, 30), report("paper", 25, 27)));
        assertEquals("uniform", c.baseline());
        Table t = c.table();
        assertEquals(List.of("benchmark", "uniform", "paper", "paper vs uniform %"), t.columnNames());
        assertEquals(List.of("GSM8K", "HumanEval", "mean"), t.stringColumn("benchmark").asList());
        assertEquals(2.0, t.doubleColumn("uniform").getDouble(0), 1e-12);
        assertEquals(2.5, t.doubleColumn("paper").getDouble(0), 1e-12);
        for (int row = 0; row < 3; row++) {
            double u = t.doubleColumn("uniform").getDouble(row);
            double p = t.doubleColumn("paper").getDouble(row);
            assertEquals(100 * (p - u) / u, t.doubleColumn("paper vs uniform %").getDouble(row), 1e-9);
        }
        assertEquals(25.0, t.doubleColumn("paper vs uniform %").getDouble(0), 1e-9);
        assertEquals(-10.0, t.doubleColumn("paper vs uniform %").getDouble(1), 1e-9);
        assertEquals(2.5, t.doubleColumn("uniform").getDouble(2), 1e-12); // mean of 2.0 and 3.0
        assertEquals(100 * (2.6 - 2.5) / 2.5, t.doubleColumn("paper vs uniform %").getDouble(2), 1e-9);

        // the other way round
        Table reversed = c.withBaseline("paper").table();
        assertEquals(100 * (2.0 - 2.5) / 2.5, reversed.doubleColumn("uniform vs paper %").getDouble(0), 1e-9);
    }

    @Test
    void seedsGiveMeanAndSampleStd() {
        Comparison c = Comparison.of(List.of(report("uniform", 20, 30), report("uniform", 22, 30), report("paper", 25, 27)));
        Table t = c.table();
        assertEquals(List.of("benchmark", "uniform", "uniform ±", "paper", "paper ±", "paper vs uniform %"), t.columnNames());
        assertEquals(2.1, t.doubleColumn("uniform").getDouble(0), 1e-12);
        assertEquals(Math.sqrt(2 * 0.01), t.doubleColumn("uniform ±").getDouble(0), 1e-12); // sample std of 2.0, 2.2
        assertEquals(0.0, t.doubleColumn("uniform ±").getDouble(1), 1e-12);
        assertTrue(Double.isNaN(t.doubleColumn("paper ±").getDouble(0))); // one seed
        // mean row: per-seed means 2.5 and 2.6
        assertEquals(2.55, t.doubleColumn("uniform").getDouble(2), 1e-12);
        assertEquals(Math.sqrt(2 * 0.05 * 0.05), t.doubleColumn("uniform ±").getDouble(2), 1e-12);
        assertTrue(c.toString().contains("2.100 ± 0.141"), c.toString());
        var trace = c.tauFigure().toJson().getAsJsonArray("data").get(0).getAsJsonObject();
        assertEquals("uniform (2 seeds)", trace.get("name").getAsString());
        assertEquals(Math.sqrt(0.02), trace.getAsJsonObject("error_y").getAsJsonArray("array").get(0).getAsDouble(), 1e-12);
    }

    @Test
    void htmlMarksTheBestObjectivePerBenchmark() {
        Comparison c = Comparison.of(List.of(report("uniform", 20, 30), report("paper", 25, 27)));
        String html = (String) c.mimeBundle().get("text/html");
        // GSM8K: paper (2.5) best; HumanEval: uniform (3) best
        assertTrue(html.matches("(?s).*<td>GSM8K</td><td[^>]*>2</td><td class=\"blockdraft-best\"[^>]*>2.5</td>.*"), html);
        assertTrue(html.matches("(?s).*<td>HumanEval</td><td class=\"blockdraft-best\"[^>]*>3</td>.*"), html);
        assertEquals(List.of("uniform", "paper"), c.tauFigure().traceNames());
    }

    @Test
    void jsonRoundTripAndCsv(@TempDir Path dir) throws Exception {
        Comparison c = Comparison.of(List.of(report("uniform", 20, 30), report("uniform", 22, 31), report("paper", 25, 27)),
                "paper");
        Comparison back = Comparison.readJson(c.writeJson(dir.resolve("comparison.json")));
        assertEquals(c, back);
        assertEquals("paper", back.baseline());
        assertEquals(2, back.reports("uniform").size());
        List<String> lines = Files.readAllLines(c.writeCsv(dir.resolve("comparison.csv")));
        assertEquals(4, lines.size());
        assertEquals("benchmark,uniform,uniform ±,paper,paper ±,uniform vs paper %", lines.get(0));
    }

    @Test
    void badBaselineAndEmptyInputsAreRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Comparison.of(List.of(report("uniform", 20, 30)), "paper"));
        assertEquals("baseline objective \"paper\" is not among [uniform]", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Comparison.of(List.of()));
    }

    @Test
    void htmlReportInlinesPlotlyOnce(@TempDir Path dir) throws Exception {
        AcceptanceReport uniform = report("uniform", 20, 30);
        AcceptanceReport paper = report("paper", 25, 27);
        Comparison c = Comparison.of(List.of(uniform, paper));
        Path file = Reports.writeHtml(dir.resolve("out/report.html"), "Objectives <compared>", c, List.of(uniform, paper),
                "τ is the mean number of tokens per verification step.\n\nHigher is better.");
        String html = Files.readString(file);
        assertEquals(1, html.split(PlotlyJs.LIBRARY_MARKER, -1).length - 1, "plotly.js inlined once");
        assertTrue(html.contains("<title>Objectives &lt;compared&gt;</title>"));
        assertTrue(html.contains("<p>Higher is better.</p>"));
        assertEquals(5, html.split("class=\"blockdraft-figure\"", -1).length - 1, "τ bars + 2 figures per report");
        assertTrue(html.contains("paper vs uniform %"));
        try (var files = Files.list(file.getParent())) {
            assertEquals(1, files.count());
        }
    }
}
