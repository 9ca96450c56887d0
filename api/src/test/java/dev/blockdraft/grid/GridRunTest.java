package dev.blockdraft.grid;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.blockdraft.data.DataFolder;
import dev.blockdraft.eval.AcceptanceReport;
import dev.blockdraft.io.BadInputException;
import dev.blockdraft.train.TrainingListener;
import dev.blockdraft.train.TrainingRun;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A 2-objective × 2-seed grid on a tiny target: runs, survives kills, shards, reports. */
class GridRunTest {
    @TempDir
    static Path dir;
    static Path target;
    static DataFolder data;

    @BeforeAll
    static void setUp() {
        target = TinyGrid.target(dir);
        data = new DataFolder(TinyGrid.data(dir));
    }

    /** Counts what the runner does; throws after the first cell it finishes when asked to (a kill). */
    static final class Recorder implements GridRunner.Listener {
        final List<String> started = new ArrayList<>(), finished = new ArrayList<>(), skipped = new ArrayList<>();
        final List<String> resumed = new ArrayList<>();
        final boolean killAfterFirst;

        Recorder(boolean killAfterFirst) {
            this.killAfterFirst = killAfterFirst;
        }

        @Override
        public void onSkipped(Cell cell) {
            skipped.add(cell.name());
        }

        @Override
        public void onStart(Cell cell, boolean resuming) {
            started.add(cell.name());
            if (resuming) {
                resumed.add(cell.name());
            }
        }

        @Override
        public void onFinished(Cell cell, AcceptanceReport report) {
            finished.add(cell.name());
            if (killAfterFirst) {
                throw new IllegalStateException("killed after " + cell.name());
            }
        }
    }

    /** Throws at a training step, as a crash between two checkpoints would; records where training started. */
    static final class CrashAt implements TrainingListener {
        final int step;
        final List<Integer> startSteps = new ArrayList<>();

        CrashAt(int step) {
            this.step = step;
        }

        @Override
        public void onStart(TrainingRun run, int startStep, int totalSteps) {
            startSteps.add(startStep);
        }

        @Override
        public void onStep(TrainingRun run, TrainingRun.Step s, int totalSteps) {
            if (s.step() == step) {
                throw new IllegalStateException("crash at step " + step);
            }
        }
    }

    @Test
    void killedGridResumesWithoutRecomputingFinishedCellsAndReports() throws Exception {
        Grid grid = GridFile.read(TinyGrid.gridFile(dir, "kill", target, dir.resolve("out-kill"), null), null, null);
        assertEquals(4, grid.cells().size());

        // 1: killed right after the first cell finished
        Recorder first = new Recorder(true);
        assertThrows(IllegalStateException.class, () -> new GridRunner(data, null, List.of(), first).run(grid, Shard.ALL));
        assertEquals(1, first.finished.size());
        String done = first.finished.get(0);
        Path doneReport = grid.out().resolve(done).resolve(GridRunner.REPORT_FILE);
        byte[] doneBytes = Files.readAllBytes(doneReport);

        // 2: crashes inside the second cell's training, after its checkpoint at step 4
        Recorder second = new Recorder(false);
        CrashAt crash = new CrashAt(5);
        assertThrows(IllegalStateException.class,
                () -> new GridRunner(data, null, List.of(crash), second).run(grid, Shard.ALL));
        assertEquals(List.of(done), second.skipped, "the finished cell is skipped");
        assertEquals(1, second.started.size());
        String interrupted = second.started.get(0);

        // 3: the rerun recomputes no finished cell and resumes the interrupted one from its checkpoint
        Recorder third = new Recorder(false);
        CrashAt watch = new CrashAt(-1);
        GridRunner.Summary s = new GridRunner(data, null, List.of(watch), third).run(grid, Shard.ALL);
        assertEquals(List.of(done), s.skipped());
        assertEquals(0, s.computed().stream().filter(done::equals).count(), "finished cells recomputed");
        assertEquals(3, s.computed().size());
        assertEquals(List.of(interrupted), third.resumed);
        assertEquals(4, watch.startSteps.get(0), "the interrupted cell resumed at its step-4 checkpoint");
        assertEquals(List.of(0, 0), watch.startSteps.subList(1, 3), "the two new cells start from scratch");
        assertArrayEquals(doneBytes, Files.readAllBytes(doneReport), "the finished cell's report is untouched");

        // 4: everything finished: nothing computed
        Recorder fourth = new Recorder(false);
        GridRunner.Summary again = new GridRunner(data, null, List.of(), fourth).run(grid, Shard.ALL);
        assertEquals(List.of(), again.computed());
        assertEquals(4, again.skipped().size());

        // every cell records its settings hash in the report's provenance and in cell.json
        for (Cell c : grid.cells()) {
            AcceptanceReport r = AcceptanceReport.readJson(grid.cellFolder(c).resolve(GridRunner.REPORT_FILE));
            assertEquals(c.experiment().settingsHash(), r.provenance().orElseThrow().settings().get(GridRunner.HASH_KEY));
            assertEquals(2, r.result(dev.blockdraft.data.Benchmark.parse("gsm8k")).orElseThrow().perPrompt().size());
            assertTrue(Files.readString(grid.cellFolder(c).resolve(GridRunner.CELL_FILE)).contains(c.experiment().settingsHash()));
        }

        // the report: 2 benchmarks × 2 objectives, paper compared against uniform
        GridReport report = GridReport.read(grid);
        assertEquals(List.of(), report.missing());
        assertEquals(6, report.rows().size(), "(2 benchmarks + all) × 2 objectives");
        for (GridReport.Row row : report.rows().stream().filter(r -> r.benchmark().equals(GridReport.ALL)).toList()) {
            // pooled: per seed Σ emitted ÷ Σ steps over both benchmarks' prompts, then the mean over seeds
            double sum = 0;
            for (Cell c : grid.cells().stream().filter(c -> c.objective().equals(row.objective())).toList()) {
                AcceptanceReport r = AcceptanceReport.readJson(grid.cellFolder(c).resolve(GridRunner.REPORT_FILE));
                long emitted = 0, steps = 0;
                for (AcceptanceReport.BenchmarkResult b : r.results()) {
                    for (AcceptanceReport.PromptResult p : b.perPrompt()) {
                        emitted += p.emitted();
                        steps += p.steps();
                    }
                }
                sum += (double) emitted / steps;
            }
            assertEquals(sum / 2, row.tau(), 1e-12, row.toString());
            assertEquals(4, row.prompts(), "both benchmarks' prompts");
        }
        for (GridReport.Row row : report.rows()) {
            assertEquals(2, row.seeds());
            assertEquals(row.benchmark().equals(GridReport.ALL) ? 4 : 2, row.prompts());
            assertTrue(row.tauLow() <= row.tau() && row.tau() <= row.tauHigh(), row.toString());
            if (row.objective().equals("paper")) {
                assertTrue(Double.isFinite(row.change()) && row.changeLow() <= row.change() && row.change() <= row.changeHigh(),
                        row.toString());
                assertTrue(row.p() > 0 && row.p() <= 1, row.toString());
            } else {
                assertTrue(Double.isNaN(row.change()), "the baseline has no change against itself");
            }
        }
        Path html = report.writeTo(grid.out());
        assertTrue(Files.readString(html).contains("Plotly.newPlot"), "figures inlined");
        List<String> csv = Files.readAllLines(grid.out().resolve("report.csv"));
        assertEquals(7, csv.size(), "header + 6 rows");
        assertTrue(csv.get(0).contains("Δ% vs uniform"), csv.get(0));
        List<String> lines = Files.readAllLines(grid.out().resolve("per_prompt.jsonl"));
        assertEquals(4 * 2 * 2, lines.size(), "cells × benchmarks × prompts");
        assertTrue(lines.get(0).contains("\"tau\"") && lines.get(0).contains("\"emitted\""), lines.get(0));
        assertTrue(Files.readString(grid.out().resolve("report.json")).contains("\"relative_change_ci\""));
        List<String> perBenchmark = Files.readAllLines(grid.out().resolve("per_benchmark.jsonl"));
        assertEquals(4 * 2, perBenchmark.size(), "cells × benchmarks");
        assertTrue(perBenchmark.get(0).contains("\"accepted_histogram\":[") && perBenchmark.get(0).contains("\"slot_acceptance\":["),
                perBenchmark.get(0));
        String printed = report.toString();
        assertTrue(printed.contains("paper") && printed.contains("["), printed);
        assertTrue(((String) report.mimeBundle().get("text/html")).contains("Δ% vs uniform"));

        // the same folder under other settings is refused, naming the differing setting
        Grid changed = GridFile.read(TinyGrid.gridFile(dir, "kill-changed", target, dir.resolve("out-kill"),
                "\"eval\": {\"benchmarks\": [\"gsm8k\", \"humaneval\"], \"prompts\": 3, \"max_new_tokens\": 8}"), null, null);
        BadInputException refused = assertThrows(BadInputException.class,
                () -> new GridRunner(data, null, List.of(), null).run(changed, Shard.ALL));
        assertTrue(refused.getMessage().contains("eval.max_prompts 2 ≠ 3"), refused.getMessage());
    }

    @Test
    void shardsTogetherRunTheWholeGridOnce() {
        Grid grid = GridFile.read(TinyGrid.gridFile(dir, "shards", target, dir.resolve("out-shards"), null), null, null);
        Set<String> all = new HashSet<>(grid.cells().stream().map(Cell::name).toList());
        List<String> ran = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            GridRunner.Summary s = new GridRunner(data, null, List.of(), null).run(grid, new Shard(i, 2));
            assertEquals(List.of(), s.skipped());
            assertEquals(2, s.computed().size());
            ran.addAll(s.computed());
        }
        assertEquals(4, ran.size());
        assertEquals(all, new HashSet<>(ran), "union of the shards = the grid, no overlap");
        // the unsharded rerun finds everything finished; the report merges both shards
        assertEquals(List.of(), new GridRunner(data, null, List.of(), null).run(grid, Shard.ALL).computed());
        assertEquals(List.of(), GridReport.read(grid).missing());
        assertFalse(GridReport.read(grid).rows().isEmpty());
        // both shards shared one regenerated folder
        assertTrue(Files.isDirectory(GridRunner.regeneratedFolder(grid, grid.cells().get(0).experiment())));
    }
}
