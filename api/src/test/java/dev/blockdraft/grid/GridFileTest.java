package dev.blockdraft.grid;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.blockdraft.io.BadInputException;
import dev.blockdraft.train.RegenerationRecipe;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Grid files: axes to cells, settings hashes, shards, and one-line errors naming the file and key. */
class GridFileTest {
    @TempDir
    static Path dir;
    static Path target;

    @BeforeAll
    static void setUp() {
        target = TinyGrid.target(dir);
    }

    Grid read(String name, String extra) {
        return GridFile.read(TinyGrid.gridFile(dir, name, target, dir.resolve("out-" + name), extra), null, null);
    }

    @Test
    void axesMultiplyIntoNamedCells() {
        Grid g = read("axes", "\"block_sizes\": [4, 6], \"layers\": 1");
        assertEquals(2 * 2 * 2, g.cells().size());
        assertTrue(g.cells().stream().anyMatch(c -> c.name().equals("tiny-paper-B6-steps6-seed2")),
                g.cells().stream().map(Cell::name).toList().toString());
        Cell c = g.cells().get(0);
        assertEquals(8, c.experiment().recipe().conversations());
        assertEquals(6, c.steps());
        assertEquals(c.seed(), c.experiment().training().optimizer().seed(), "the cell's seed is the training seed");
    }

    @Test
    void aGpuGridSamplesThreeAnswersUnlessItsRegenerationSaysGreedy() throws IOException {
        RegenerationRecipe sampled = read("gpu-sampled", "\"device\": \"gpu\"").cells().get(0).experiment().recipe();
        assertEquals(0.7, sampled.temperature());
        assertEquals(3, sampled.answers());
        // "temperature": 0 alone (as the recorded greedy grids say): one greedy answer, same settings as before K existed
        Path file = TinyGrid.gridFile(dir, "gpu-greedy", target, dir.resolve("out-gpu-greedy"), "\"device\": \"gpu\"");
        Files.writeString(file, Files.readString(file).replace("\"batch\": 8}", "\"batch\": 8, \"temperature\": 0}"));
        RegenerationRecipe greedy = GridFile.read(file, null, null).cells().get(0).experiment().recipe();
        assertEquals(0, greedy.temperature());
        assertEquals(1, greedy.answers());
        assertEquals("greedy", greedy.asSettings().get("sampling"));
        assertFalse(greedy.asSettings().containsKey("answers"), greedy.asSettings().toString());
        assertEquals(1, read("cpu-default", null).cells().get(0).experiment().recipe().answers(), "a CPU grid stays greedy");
    }

    @Test
    void settingsHashIsStableAndNamesWhatChanged() {
        Cell a = read("h1", null).cells().get(0);
        Cell again = read("h2", null).cells().get(0);
        assertEquals(a.name(), again.name());
        assertEquals(a.experiment().settingsHash(), again.experiment().settingsHash(), "same settings, same hash");
        assertEquals(64, a.experiment().settingsHash().length());
        Cell other = read("h3", "\"precision\": \"fp16\"").cells().get(0);
        assertNotEquals(a.experiment().settingsHash(), other.experiment().settingsHash());
        assertEquals(List.of("precision fp32 ≠ fp16"), other.experiment().differences(a.experiment().settings()));
        // the device index does not enter the hash, its kind does
        Experiment e = a.experiment();
        Experiment gpu1 = new Experiment(e.target(), e.recipe(), e.blockSize(), e.layers(), e.featureLayers(), e.objective(),
                e.training(), e.precision(), "gpu:1", e.eval());
        Experiment gpu0 = new Experiment(e.target(), e.recipe(), e.blockSize(), e.layers(), e.featureLayers(), e.objective(),
                e.training(), e.precision(), "gpu:0", e.eval());
        assertEquals(gpu0.settingsHash(), gpu1.settingsHash());
        assertNotEquals(e.settingsHash(), gpu0.settingsHash());
        Experiment paper = new Experiment(e.target(), e.recipe(), e.blockSize(), e.layers(), e.featureLayers(),
                "paper:alpha-chain=0.5", e.training(), e.precision(), e.device(), e.eval());
        Experiment paperDefault = new Experiment(e.target(), e.recipe(), e.blockSize(), e.layers(), e.featureLayers(),
                "paper", e.training(), e.precision(), e.device(), e.eval());
        assertEquals(paperDefault.settingsHash(), paper.settingsHash(), "the objective enters resolved");
    }

    @Test
    void draftsAxisAddsCellsThatShareTheDrafterAndLeaveGreedyHashesAlone() {
        Grid plain = read("d0", null);
        Grid both = read("d1", "\"drafts\": [1, 2]");
        assertEquals(2 * plain.cells().size(), both.cells().size());
        for (Cell c : plain.cells()) {
            assertTrue(c.experiment().settings().keySet().stream().noneMatch(k -> k.startsWith("eval.decoding.")),
                    "greedy one-block cells hash as before decoding was a setting: " + c.experiment().settings().keySet());
            Cell same = cell(both, c.name());
            assertEquals(c.experiment().settingsHash(), same.experiment().settingsHash());
            Cell k2 = cell(both, c.name() + "-K2");
            assertEquals(c.objective() + " K=2", k2.arm());
            assertEquals(c.experiment().drafterHash(), k2.experiment().drafterHash(), "one drafter for both");
            assertNotEquals(c.experiment().settingsHash(), k2.experiment().settingsHash());
            assertTrue(k2.experiment().differences(c.experiment().settings()).contains("eval.decoding.drafts (not recorded) ≠ 2"),
                    k2.experiment().differences(c.experiment().settings()).toString());
        }
        assertEquals(List.of("uniform", "uniform K=2", "paper", "paper K=2"), both.arms());
    }

    @Test
    void temperaturesAxisSamplesWithTheGreedyCellsDrafter() {
        Grid plain = read("t0", null);
        Grid both = read("t1", "\"temperatures\": [0, 1], \"drafts\": [1, 2]");
        assertEquals(4 * plain.cells().size(), both.cells().size());
        for (Cell c : plain.cells()) {
            Cell same = cell(both, c.name());
            assertEquals(c.experiment().settingsHash(), same.experiment().settingsHash(), "T = 0, K = 1 hashes as before");
            Cell t1 = cell(both, c.name() + "-T1.0");
            Cell t1k2 = cell(both, c.name() + "-K2-T1.0");
            assertEquals(c.objective() + " T=1.0", t1.arm());
            assertEquals(1.0, t1.experiment().eval().decoding().sampling().temperature());
            assertEquals(2, t1k2.experiment().eval().decoding().drafts());
            assertEquals(c.experiment().drafterHash(), t1.experiment().drafterHash(), "one drafter for every decoding");
            assertEquals(c.experiment().drafterHash(), t1k2.experiment().drafterHash());
            assertNotEquals(t1.experiment().settingsHash(), t1k2.experiment().settingsHash());
        }
    }

    @Test
    void aNegativeTemperatureNamesTheKeyAndTheFile() {
        BadInputException e = assertThrows(BadInputException.class, () -> read("tneg", "\"temperatures\": [-1]"));
        assertTrue(e.getMessage().contains("temperatures[]") && e.getMessage().contains("[0, 100]"), e.getMessage());
    }

    @Test
    void theBuilderMakesTheSameCellsAsTheGridFile() throws Exception {
        Grid fromFile = smallGridFile("same", "[\"uniform\", \"paper\"]", "[1, 2]");
        Grid built = smallBuilder("same").objectives("uniform", "paper").seeds(1, 2).build();
        assertEquals(fromFile.cells().stream().map(Cell::name).toList(), built.cells().stream().map(Cell::name).toList());
        for (int i = 0; i < built.cells().size(); i++) {
            assertEquals(fromFile.cells().get(i).experiment().settings(), built.cells().get(i).experiment().settings(),
                    "one set of defaults: " + built.cells().get(i).name());
        }
        Grid variant = Grid.builder("v").targets(target).objectives("uniform", "paper")
                .variant("paper", dev.blockdraft.spec.Decoding.greedy().withDrafts(4)).build();
        assertEquals(List.of("uniform", "paper", "paper K=4"), variant.arms());
        assertEquals(3, variant.cells().size());
        assertThrows(IllegalArgumentException.class, () -> Grid.builder("x").objectives("uniform")
                .variant("paper", dev.blockdraft.spec.Decoding.greedy().withDrafts(2)).build());
    }

    @Test
    void anObjectiveEntryMayGiveItsDrafterItsOwnDepth() throws Exception {
        Grid g = smallGridFile("depth", "[\"uniform\", \"paper\", {\"name\": \"paper-L2\", \"objective\": \"paper\", \"layers\": 2}]",
                "[1]");
        assertEquals(List.of("uniform", "paper", "paper-L2"), g.arms());
        Cell paper = cell(g, "tiny-paper-B4-steps6-seed1"), deeper = cell(g, "tiny-paper-L2-B4-steps6-seed1");
        assertEquals(null, paper.experiment().layers(), "the other arms keep the default depth");
        assertEquals(2, deeper.experiment().layers());
        assertEquals(List.of("drafter.layers 1 ≠ 2"), deeper.experiment().differences(paper.experiment().settings()),
                "the arm differs from its objective's cell in its depth only (the 2-layer target's default is 1)");
        Experiment e = paper.experiment(), explicit = new Experiment(e.target(), e.recipe(), e.blockSize(), 1, e.featureLayers(),
                e.objective(), e.training(), e.precision(), e.device(), e.eval());
        assertEquals(e.settingsHash(), explicit.settingsHash(),
                "the depth enters resolved: a cell trained under another default depth is never reused for this one");
        assertEquals(paper.group(), deeper.group(), "one report group: compared paired with the baseline");
        Grid built = smallBuilder("depth").objectives("uniform", "paper").objective("paper-L2", "paper", 2).seeds(1).build();
        for (int i = 0; i < g.cells().size(); i++) {
            assertEquals(g.cells().get(i).experiment().settings(), built.cells().get(i).experiment().settings());
        }
        assertError("\"objectives[1].layers\": 0 must be >= 1",
                "{\"objectives\": [\"uniform\", {\"name\": \"p\", \"objective\": \"paper\", \"layers\": 0}]}");
        assertThrows(IllegalArgumentException.class, () -> Grid.builder("x").objective("p", "paper", 0));
    }

    @Test
    void theShippedDemoGridIsValid() throws Exception {
        Path demo = Path.of("../benchmarks/grids/demo.json");
        Path embedded = Path.of("../datasets/targets/default").toAbsolutePath().normalize();
        Path copy = dir.resolve("demo.json");
        Files.writeString(copy, Files.readString(demo).replace("[\"default\"]", "[" + TinyGrid.quote(embedded) + "]"));
        Grid g = GridFile.read(copy, null, dir.resolve("demo-out"));
        assertEquals(4, g.cells().size(), "2 objectives × 2 seeds");
        assertEquals(List.of("uniform", "paper"), g.objectives());
        assertEquals("uniform", g.baseline());
    }

    @Test
    void shardsPartitionTheGridForEveryCount() {
        Grid g = read("part", "\"block_sizes\": [4, 6, 8], \"seeds\": [1, 2, 3]");
        assertEquals(18, g.cells().size());
        for (int n = 1; n <= 7; n++) {
            Set<String> union = new HashSet<>();
            int total = 0;
            for (int i = 0; i < n; i++) {
                List<Cell> mine = g.cells(new Shard(i, n));
                total += mine.size();
                mine.forEach(c -> union.add(c.name()));
                assertEquals(mine, g.cells(Shard.parse(i + "/" + n)), "deterministic");
            }
            assertEquals(18, total, "no overlap at n=" + n);
            assertEquals(18, union.size(), "whole grid at n=" + n);
        }
    }

    @Test
    void badShardSpecsNameTheFlagAndValue() {
        for (String bad : List.of("2/2", "-1/2", "a/b", "1", "0/0", "")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Shard.parse(bad));
            assertTrue(e.getMessage().startsWith("--shard " + bad + ":"), e.getMessage());
        }
    }

    @Test
    void unknownKeysAndBadValuesNameTheFileAndKey() throws Exception {
        assertError("unknown key \"seed\"", "{\"objectives\": [\"uniform\"], \"seed\": [1]}");
        assertError("unknown key \"training.stepz\"", "{\"objectives\": [\"uniform\"], \"training\": {\"stepz\": 3}}");
        assertError("unknown key \"objectives[1].spec\"",
                "{\"objectives\": [\"uniform\", {\"name\": \"p\", \"spec\": \"paper\"}]}");
        assertError("\"objectives\": missing", "{\"seeds\": [1]}");
        assertError("\"objectives[1]\": \"papr\": unknown objective 'papr'", "{\"objectives\": [\"uniform\", \"papr\"]}");
        assertError("\"baseline\": \"dflash\" is none of the objectives",
                "{\"objectives\": [\"uniform\", \"paper\"], \"baseline\": \"dflash\"}");
        assertError("\"seeds[]\": expected an integer, found \"one\"", "{\"objectives\": [\"uniform\"], \"seeds\": [\"one\"]}");
        assertError("\"steps\": lists 5 twice", "{\"objectives\": [\"uniform\"], \"steps\": [5, 5]}");
        assertError("\"eval.benchmarks\": unknown benchmark \"gsm9k\"",
                "{\"objectives\": [\"uniform\"], \"eval\": {\"benchmarks\": [\"gsm9k\"]}}");
        assertError("\"device\": \"tpu\"", "{\"objectives\": [\"uniform\"], \"device\": \"tpu\"}");
        assertError("\"targets\": \"nowhere\": no target at", "{\"objectives\": [\"uniform\"], \"targets\": [\"nowhere\"]}");
        assertError("not valid JSON", "{\"objectives\": [");
        assertError("objective name \"uniform\" appears twice", "{\"objectives\": [\"uniform\", \"uniform\"]}");
        Path missing = dir.resolve("missing.json");
        BadInputException e = assertThrows(BadInputException.class, () -> GridFile.read(missing, null, null));
        assertEquals(missing + ": grid file not found", e.getMessage());
    }

    private void assertError(String expected, String json) throws Exception {
        Path file = dir.resolve("bad-" + Integer.toHexString(json.hashCode()) + ".json");
        Files.writeString(file, "{\"targets\": [" + TinyGrid.quote(target) + "], " + json.substring(1));
        BadInputException e = assertThrows(BadInputException.class, () -> GridFile.read(file, null, null));
        assertTrue(e.getMessage().startsWith(file + ": "), e.getMessage());
        assertTrue(e.getMessage().contains(expected), e.getMessage());
        assertTrue(!e.getMessage().contains("\n"), "one line: " + e.getMessage());
    }

    /** A small grid file with these objectives and seeds: the tiny target, 6 steps at B = 4, two GSM8K prompts. */
    private Grid smallGridFile(String name, String objectives, String seeds) throws IOException {
        Path file = dir.resolve(name + ".json");
        Files.writeString(file, "{\"targets\": [" + TinyGrid.quote(target) + "], \"objectives\": " + objectives + ","
                + " \"seeds\": " + seeds + ", \"steps\": [6], \"block_sizes\": [4],"
                + " \"regeneration\": {\"conversations\": 8, \"validation\": 2, \"max_new_tokens\": 12},"
                + " \"eval\": {\"benchmarks\": [\"gsm8k\"], \"prompts\": 2, \"max_new_tokens\": 8}}");
        return GridFile.read(file, null, dir.resolve(name + "-out"));
    }

    /** {@link #smallGridFile}'s settings through the fluent builder, objectives and seeds left to the caller. */
    private GridBuilder smallBuilder(String name) {
        return Grid.builder(name).targets(target).steps(6).blockSizes(4)
                .regeneration(r -> r.withConversations(8, 2).withMaxNewTokens(12))
                .eval(Experiment.EvalPlan.of(2, 8, "gsm8k")).out(dir.resolve(name + "-out"));
    }

    static Cell cell(Grid g, String name) {
        return g.cells().stream().filter(c -> c.name().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError(name + " not among " + names(g)));
    }

    static List<String> names(Grid g) {
        return new ArrayList<>(g.cells().stream().map(Cell::name).toList());
    }
}
