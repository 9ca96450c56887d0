package dev.blockdraft.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import dev.blockdraft.data.Benchmark;
import dev.blockdraft.io.BadInputException;
import dev.blockdraft.io.Provenance;
import dev.blockdraft.report.Figure;
import dev.blockdraft.spec.SpecStats;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tech.tablesaw.api.Table;

class AcceptanceReportTest {

    /** B=4 statistics from an accepted-length histogram, consistent with SpeculativeDecoder's identities. */
    static SpecStats stats(double seconds, long... histogram) {
        int b = histogram.length;
        long steps = 0, emitted = 0;
        long[] reached = new long[b - 1];
        long[] accepted = new long[b - 1];
        for (int n = 0; n < b; n++) {
            steps += histogram[n];
            emitted += (n + 1) * histogram[n];
            for (int k = 0; k < b - 1; k++) {
                reached[k] += n >= k ? histogram[n] : 0;
                accepted[k] += n > k ? histogram[n] : 0;
            }
        }
        return new SpecStats(b, steps, emitted, histogram.clone(), reached, accepted, seconds);
    }

    /** GSM8K: τ 2.7 with a baseline; MT-Bench: τ 1.5, no offline τ. */
    static AcceptanceReport sample() {
        var gsm = new AcceptanceReport.BenchmarkResult(Benchmark.GSM8K, 3, 3, 0, 28, stats(2.0, 2, 3, 1, 4), 28, 4.0, 0, 2.9);
        var mt = new AcceptanceReport.BenchmarkResult(Benchmark.MT_BENCH, 2, 4, 1, 18, stats(1.0, 8, 2, 2, 0), 18, 1.5, 1,
                Double.NaN);
        return new AcceptanceReport("paper", "B4 1L", "tiny", 4, List.of(gsm, mt),
                BenchmarkRun.of(3, 16, Benchmark.GSM8K, Benchmark.MT_BENCH), null);
    }

    @Test
    void tableHoldsTauSlotRatesSpeedAndAMeanRow() {
        AcceptanceReport report = sample();
        Table t = report.table();
        assertEquals(3, t.rowCount());
        assertEquals(List.of("GSM8K", "MT-Bench", "mean"), t.stringColumn(AcceptanceReport.BENCHMARK).asList());
        // τ = emitted / steps: 27/10 and 18/12
        assertEquals(27.0 / 10, t.doubleColumn(AcceptanceReport.TAU).getDouble(0), 1e-12);
        assertEquals(18.0 / 12, t.doubleColumn(AcceptanceReport.TAU).getDouble(1), 1e-12);
        assertEquals((2.7 + 1.5) / 2, t.doubleColumn(AcceptanceReport.TAU).getDouble(2), 1e-12);
        for (int row = 0; row < 2; row++) {
            assertEquals((double) t.longColumn(AcceptanceReport.EMITTED).get(row) / t.longColumn(AcceptanceReport.STEPS).get(row),
                    t.doubleColumn(AcceptanceReport.TAU).get(row), 1e-12);
        }
        // slot k: steps accepting ≥ k over steps accepting ≥ k−1: GSM8K 8/10, 5/8, 4/5
        assertEquals(0.8, t.doubleColumn("accept@1").getDouble(0), 1e-12);
        assertEquals(5.0 / 8, t.doubleColumn("accept@2").getDouble(0), 1e-12);
        assertEquals(4.0 / 5, t.doubleColumn("accept@3").getDouble(0), 1e-12);
        assertEquals(0.0, t.doubleColumn("accept@3").getDouble(1), 1e-12); // MT-Bench: 2 reached slot 3, none accepted
        // speed: 28 tokens in 2 s vs 4 s plain
        assertEquals(14.0, t.doubleColumn(AcceptanceReport.TPS_SPEC).getDouble(0), 1e-12);
        assertEquals(7.0, t.doubleColumn(AcceptanceReport.TPS_PLAIN).getDouble(0), 1e-12);
        assertEquals(2.0, t.doubleColumn(AcceptanceReport.SPEEDUP).getDouble(0), 1e-12);
        assertEquals(1.5, t.doubleColumn(AcceptanceReport.SPEEDUP).getDouble(1), 1e-12);
        // offline τ: the mean skips the missing MT-Bench value
        assertEquals(2.9, t.doubleColumn(AcceptanceReport.OFFLINE_TAU).getDouble(2), 1e-12);
        // counts: per benchmark, empty in the mean row
        assertEquals(List.of(3, 2), t.intColumn(AcceptanceReport.PROMPTS).asList().subList(0, 2));
        assertEquals(1, t.intColumn(AcceptanceReport.MISMATCHES).get(1));
        assertTrue(t.intColumn(AcceptanceReport.PROMPTS).isMissing(2));
        assertTrue(t.longColumn(AcceptanceReport.TOKENS).isMissing(2));
        assertEquals(List.of("benchmark", "τ", "accept@1", "accept@2", "accept@3", "offline τ", "tok/s spec", "tok/s plain",
                "speedup", "mismatches", "prompts", "turns", "skipped turns", "tokens", "steps", "emitted"), t.columnNames());
        assertEquals((2.7 + 1.5) / 2, report.meanTau(), 1e-12);
        assertEquals(1, report.mismatches());
    }

    @Test
    void withoutBaselineTheSpeedColumnsAreLeftOut() {
        var r = AcceptanceReport.BenchmarkResult.of(Benchmark.MBPP, 1, 10, stats(1.0, 1, 1, 1, 1));
        AcceptanceReport report = new AcceptanceReport("uniform", "d", "t", 4, List.of(r), null, null);
        assertFalse(report.table().columnNames().contains(AcceptanceReport.SPEEDUP));
        assertFalse(report.table().columnNames().contains(AcceptanceReport.MISMATCHES));
        assertTrue(Double.isNaN(r.speedup()));
    }

    @Test
    void jsonRoundTripsExactly(@TempDir Path dir) {
        Provenance provenance = new Provenance("acceptance", "2025-01-01T00:00:00Z", "abc123", "17", "Linux amd64",
                "DJL 0.36.0", "cpu()", "eager", 0, Map.of("max_new_tokens", "16"), Map.of("gsm8k.jsonl", "ff00"), Map.of());
        AcceptanceReport report = sample().withProvenance(provenance);
        Path file = report.writeJson(dir.resolve("sub/report.json"));
        AcceptanceReport back = AcceptanceReport.readJson(file);
        assertEquals(report, back);
        assertEquals(report.toJson(), back.toJson());
        assertTrue(Double.isNaN(back.result(Benchmark.MT_BENCH).orElseThrow().offlineTau()));
        assertEquals(provenance, back.provenance().orElseThrow());
        assertEquals(report.settings(), back.settings());
        // a changed number is a different report
        assertNotEquals(report, report.withObjective("uniform"));
        JsonObject json = report.toJsonObject();
        assertEquals(2.7, json.getAsJsonArray("benchmarks").get(0).getAsJsonObject().get("tau").getAsDouble(), 1e-12);
    }

    @Test
    void readingSomethingElseNamesTheFile(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("other.json"), "{\"format\": \"something\"}");
        BadInputException e = assertThrows(BadInputException.class, () -> AcceptanceReport.readJson(file));
        assertTrue(e.getMessage().startsWith(file.toString()), e.getMessage());
        assertTrue(e.getMessage().contains(AcceptanceReport.FORMAT), e.getMessage());
    }

    @Test
    void csvHasTheTableHeaderAndOneLinePerRow(@TempDir Path dir) throws Exception {
        AcceptanceReport report = sample();
        List<String> lines = Files.readAllLines(report.writeCsv(dir.resolve("report.csv")));
        assertEquals(4, lines.size()); // header, 2 benchmarks, mean
        assertEquals(String.join(",", report.table().columnNames()), lines.get(0));
        assertTrue(lines.get(1).startsWith("GSM8K,2.7,0.8,"), lines.get(1));
        assertTrue(lines.get(3).startsWith("mean,2.1"), lines.get(3));
        try (var files = Files.list(dir)) {
            assertEquals(1, files.count()); // no temporary file left behind
        }
    }

    @Test
    void figuresAndDisplay() {
        AcceptanceReport report = sample();
        Figure slots = report.slotAcceptanceFigure();
        assertEquals(List.of("GSM8K", "MT-Bench"), slots.traceNames());
        var y = slots.toJson().getAsJsonArray("data").get(0).getAsJsonObject().getAsJsonArray("y");
        assertEquals(0.8, y.get(0).getAsDouble(), 1e-12);
        assertEquals(3, y.size());
        Figure histogram = report.histogramFigure();
        var shares = histogram.toJson().getAsJsonArray("data").get(0).getAsJsonObject().getAsJsonArray("y");
        assertArrayEquals(new double[] {0.2, 0.3, 0.1, 0.4},
                new double[] {shares.get(0).getAsDouble(), shares.get(1).getAsDouble(), shares.get(2).getAsDouble(),
                        shares.get(3).getAsDouble()}, 1e-12);

        Map<String, Object> bundle = report.mimeBundle();
        String html = (String) bundle.get("text/html");
        assertTrue(html.contains("blockdraft-best"), "best values highlighted");
        assertEquals(2, html.split("class=\"blockdraft-figure\"", -1).length - 1, "two figures");
        String text = (String) bundle.get("text/plain");
        assertEquals(report.toString(), text);
        String[] lines = text.split("\n");
        assertTrue(lines[0].startsWith("AcceptanceReport paper · B4 1L on tiny (B=4)"), lines[0]);
        assertTrue(lines[3].startsWith("GSM8K      2.700"), lines[3]);
        assertTrue(lines[4].startsWith("MT-Bench   1.500"), lines[4]);
        assertEquals(lines[1].length(), lines[4].length(), "aligned columns");
        assertTrue(lines[5].startsWith("mean       2.100"), lines[5]);
    }

    @Test
    void blockSizesMustAgree() {
        var r = AcceptanceReport.BenchmarkResult.of(Benchmark.MBPP, 1, 10, stats(1.0, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> new AcceptanceReport("u", "d", "t", 4, List.of(r), null, null));
    }
}
