package dev.blockdraft.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.blockdraft.eval.AcceptanceReport;
import dev.blockdraft.eval.Comparison;
import dev.blockdraft.grid.GridRunner;
import dev.blockdraft.grid.TinyGrid;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code bin/blockdraft demo} end to end on a tiny target: the demo is a small grid (cells with
 * settings hashes, reused only under the same settings), prints the comparison and the intervals,
 * writes the newcomer's files plus the grid's per-prompt JSONL, and adds the last objective's
 * drafter decoded with K candidate blocks without training it again.
 */
class DemoCommandTest {
    @TempDir
    static Path dir;
    static Path target;
    static Path data;

    record Result(int code, String out, String err) {}

    @BeforeAll
    static void setUp() {
        target = TinyGrid.target(dir);
        data = TinyGrid.data(dir);
    }

    /** The demo on tiny settings: 2 objectives, 3 training steps, 2 prompts × 6 tokens per benchmark, K = 2. */
    static String[] tiny(Path out, String... extra) {
        return tiny(out, 3, 2, extra);
    }

    static String[] tiny(Path out, int steps, int evalPrompts, String... extra) {
        List<String> args = new ArrayList<>(List.of("demo", "--target", target.toString(), "--data", data.toString(),
                "--out", out.toString(), "--prompts", "8", "--regen-tokens", "8", "--regen-batch", "8", "--steps",
                Integer.toString(steps), "--batch", "2", "--blocks-per-sequence", "4", "--block-size", "4",
                "--eval-prompts", Integer.toString(evalPrompts), "--eval-tokens", "6"));
        if (Arrays.stream(extra).noneMatch("--drafts"::equals)) {
            args.addAll(List.of("--drafts", "2"));
        }
        args.addAll(Arrays.asList(extra));
        return args.toArray(String[]::new);
    }

    static synchronized Result run(String... args) {
        StringWriter err = new StringWriter();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream before = System.out;
        int code;
        try (PrintStream capture = new PrintStream(bytes, true, StandardCharsets.UTF_8)) {
            System.setOut(capture); // the demo prints its tables to standard output, as on a terminal
            code = Main.run(args, new PrintWriter(new StringWriter(), true), new PrintWriter(err, true));
        } finally {
            System.setOut(before);
        }
        return new Result(code, bytes.toString(StandardCharsets.UTF_8), err.toString());
    }

    @Test
    void runsAsAGridPrintsIntervalsReusesOnlyTheSameSettingsAndKeepsOldCells() throws IOException {
        Path out = dir.resolve("demo");
        Result first = run(tiny(out));
        assertEquals(0, first.code(), first.err() + first.out());

        // three cells: uniform, paper, and paper decoded with K = 2 (the paper cell's drafter, not trained again)
        List<Path> cells = cellFolders(out);
        assertEquals(3, cells.size(), cells.toString());
        Path paper = only(cells, "-paper-B4-steps3-seed7-", false);
        Path k2 = only(cells, "-paper-B4-steps3-seed7-K2-", true);
        assertTrue(Files.isDirectory(paper.resolve(GridRunner.DRAFTER_FOLDER)));
        assertFalse(Files.exists(k2.resolve(GridRunner.DRAFTER_FOLDER)), "the K = 2 cell trains no drafter of its own");
        AcceptanceReport k2Report = AcceptanceReport.readJson(k2.resolve(GridRunner.REPORT_FILE));
        assertEquals(paper.resolve(GridRunner.DRAFTER_FOLDER).toAbsolutePath().toString(),
                k2Report.provenance().orElseThrow().parents().get("drafter"));
        assertEquals("2", k2Report.provenance().orElseThrow().settings().get("eval.decoding.drafts"));
        assertEquals("1", k2Report.provenance().orElseThrow().settings().get("drafter.layers"), "the demo's one layer");
        for (Path cell : cells) {
            // the folder name ends in the first 8 hex of the settings hash its report records
            String hash = AcceptanceReport.readJson(cell.resolve(GridRunner.REPORT_FILE)).provenance().orElseThrow()
                    .settings().get(GridRunner.HASH_KEY);
            assertTrue(cell.getFileName().toString().endsWith("-" + hash.substring(0, 8)), cell + " vs " + hash);
        }

        // the newcomer's files, and the grid's
        for (String f : List.of("report.html", "comparison.json", "comparison.csv", "acceptance-uniform.json",
                "acceptance-paper.json", "acceptance-paper-K2.json", "intervals.csv", "intervals.json", "per_prompt.jsonl",
                "per_benchmark.jsonl")) {
            assertTrue(Files.isRegularFile(out.resolve(f)), f);
        }
        Comparison comparison = Comparison.readJson(out.resolve("comparison.json"));
        assertEquals(List.of("uniform", "paper", "paper K=2"), comparison.objectives());
        assertEquals("uniform", comparison.baseline());
        assertTrue(comparison.reports("uniform").get(0).hasBaseline(), "plain decoding timed: a speedup column");
        List<String> perPrompt = Files.readAllLines(out.resolve("per_prompt.jsonl"));
        assertEquals(3 * 6 * 2, perPrompt.size(), "cells × benchmarks × prompts");
        assertTrue(perPrompt.stream().anyMatch(l -> l.contains("\"arm\":\"paper K=2\"") && l.contains("\"drafts\":2")));
        JsonObject intervals = JsonParser.parseString(Files.readString(out.resolve("intervals.json"))).getAsJsonObject();
        assertEquals(3 * 7, intervals.getAsJsonArray("rows").size(), "arms × (six benchmarks + all)");
        String html = Files.readString(out.resolve("report.html"));
        assertTrue(html.contains("Plotly.newPlot") && html.contains("95% intervals") && html.contains("paper K=2"));

        // printed: the comparison as before, and the table with intervals and the change against uniform
        assertTrue(first.out().contains("Comparison of [uniform, paper, paper K=2]"), first.out());
        assertTrue(first.out().contains("τ [95% CI]") && first.out().contains("Δ vs uniform [95% CI]"), first.out());
        assertTrue(first.out().contains("3 cell(s) computed, 0 reused"), first.out());

        // the same settings: nothing computed, the cells' reports untouched
        Map<String, byte[]> reports = reports(cells);
        Result again = run(tiny(out));
        assertEquals(0, again.code(), again.err());
        assertTrue(again.out().contains("0 cell(s) computed, 3 reused"), again.out());
        assertEquals(reports.keySet(), reports(cellFolders(out)).keySet());
        reports(cells).forEach((name, bytes) -> assertArrayEquals(reports.get(name), bytes, name));

        // other settings (--steps 4, --eval-prompts 1, --layers 2): new cells; the old ones are neither reused nor replaced
        Result changed = run(tiny(out, 4, 1, "--layers", "2"));
        assertEquals(0, changed.code(), changed.err());
        assertTrue(changed.out().contains("3 cell(s) computed, 0 reused"), changed.out());
        assertEquals(6, cellFolders(out).size());
        reports(cells).forEach((name, bytes) -> assertArrayEquals(reports.get(name), bytes, "kept: " + name));
        AcceptanceReport newPaper = Comparison.readJson(out.resolve("comparison.json")).reports("paper").get(0);
        assertEquals(1, newPaper.result(dev.blockdraft.data.Benchmark.GSM8K).orElseThrow().perPrompt().size(), "the new cells' results");
        assertEquals("2", newPaper.provenance().orElseThrow().settings().get("drafter.layers"), "--layers reaches the cells");
    }

    @Test
    void badFlagsAreOneLineNamingTheFlag() {
        Path out = dir.resolve("bad");
        assertBadInput(run(tiny(out, 3, 0)), "--eval-prompts 0: must be > 0");
        assertBadInput(run(tiny(out, "--drafts", "0")), "--drafts 0: must be > 0");
        assertBadInput(run(tiny(out, "--layers", "0")), "--layers 0: must be > 0");
        assertBadInput(run(tiny(out, "--objectives", "uniform,nope")), "--objectives nope:");
        assertBadInput(run(tiny(out, "--objectives", "uniform,uniform")), "--objectives uniform,uniform: an objective is listed twice");
        assertFalse(Files.exists(out), "nothing written for bad flags");
    }

    private static void assertBadInput(Result r, String part) {
        assertEquals(2, r.code(), r.err() + r.out());
        String message = r.err().strip();
        assertFalse(message.contains("\n") || message.contains("Exception"), message);
        assertTrue(message.contains(part), "'" + part + "' in: " + message);
    }

    private static List<Path> cellFolders(Path out) throws IOException {
        try (Stream<Path> s = Files.list(out)) {
            return s.filter(p -> Files.isRegularFile(p.resolve(GridRunner.CELL_FILE))).sorted().toList();
        }
    }

    private static Path only(List<Path> cells, String part, boolean k) {
        List<Path> found = cells.stream().filter(c -> c.getFileName().toString().contains(part))
                .filter(c -> k || !c.getFileName().toString().contains("-K")).toList();
        assertEquals(1, found.size(), part + " in " + cells);
        return found.get(0);
    }

    private static Map<String, byte[]> reports(List<Path> cells) throws IOException {
        Map<String, byte[]> m = new TreeMap<>();
        for (Path c : cells) {
            m.put(c.getFileName().toString(), Files.readAllBytes(c.resolve(GridRunner.REPORT_FILE)));
        }
        return m;
    }
}
