package dev.blockdraft.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.blockdraft.data.Benchmark;
import dev.blockdraft.data.BenchmarkPrompt;
import dev.blockdraft.data.DataFolder;
import dev.blockdraft.draft.Drafter;
import dev.blockdraft.lm.Target;
import dev.blockdraft.tokenize.ChatTemplate;
import dev.blockdraft.tokenize.Tokenizer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@org.junit.jupiter.api.extension.ExtendWith(OneTorchThread.class)
class SpeculativeEvaluatorTest {

    static BenchmarkPrompt prompt(String id, String... turns) {
        return new BenchmarkPrompt(id, List.of(turns), null, null);
    }

    static int[] concat(int[]... parts) {
        return Arrays.stream(parts).flatMapToInt(Arrays::stream).toArray();
    }

    @Test
    void mtBenchSecondTurnIsAskedAfterTheModelsOwnFirstAnswer() {
        try (Target target = TinyChat.constantTarget(256, TinyChat.tokenizer().tokenId("a"));
                Drafter drafter = TinyChat.constantDrafter(target, 4)) {
            Tokenizer tok = target.tokenizer();
            List<SpeculativeEvaluator.Decoded> seen = new ArrayList<>();
            Map<Benchmark, List<BenchmarkPrompt>> prompts = Map.of(Benchmark.MT_BENCH, List.of(
                    prompt("mt/1", "Write a poem.", "Now shorter."), prompt("mt/2", "Add 2 and 3.", "Why?")));
            AcceptanceReport report = new SpeculativeEvaluator().quiet().withProvenance(false).withObjective("const")
                    .withListener(seen::add)
                    .evaluate(target, drafter, prompts, BenchmarkRun.of(5, 9, Benchmark.MT_BENCH));

            assertEquals(4, seen.size());
            for (int p = 0; p < 2; p++) {
                SpeculativeEvaluator.Decoded first = seen.get(2 * p);
                SpeculativeEvaluator.Decoded second = seen.get(2 * p + 1);
                assertEquals(1, first.turn());
                assertEquals(2, second.turn());
                assertEquals(first.promptId(), second.promptId());
                String[] users = p == 0 ? new String[] {"Write a poem.", "Now shorter."} : new String[] {"Add 2 and 3.", "Why?"};
                // the target always says "a": 9 of them, no end of turn
                assertEquals("a".repeat(9), first.answer());
                assertArrayEquals(IntStream.generate(() -> tok.tokenId("a")).limit(9).toArray(), first.tokens());
                int[] firstPrompt = concat(new int[] {tok.bosId(), tok.userId()}, tok.encode(users[0]),
                        new int[] {tok.eosId(), tok.assistantId()});
                assertArrayEquals(firstPrompt, first.promptIds());
                // turn 2 = turn 1's prompt, the first answer, end of turn, then the second question
                int[] secondPrompt = concat(firstPrompt, tok.encode(first.answer()), new int[] {tok.eosId(), tok.userId()},
                        tok.encode(users[1]), new int[] {tok.eosId(), tok.assistantId()});
                assertArrayEquals(secondPrompt, second.promptIds());
                assertArrayEquals(target.template().promptIds(List.of(new ChatTemplate.Turn(users[0], first.answer())),
                        users[1]), second.promptIds());
                assertArrayEquals(first.tokens(), first.plainTokens()); // baseline measured, identical
            }
            AcceptanceReport.BenchmarkResult r = report.result(Benchmark.MT_BENCH).orElseThrow();
            assertEquals(2, r.prompts());
            assertEquals(4, r.turns());
            assertEquals(36, r.tokens());
            assertEquals(36, r.plainTokens());
            assertEquals(0, r.mismatches());
            // every draft accepted: anchor + 2 full blocks of 4 = 9 tokens per turn
            assertEquals(8, r.stats().steps());
            assertEquals(32, r.stats().emitted());
            assertEquals(4.0, r.tau(), 0.0);
            assertArrayEquals(new double[] {1, 1, 1}, r.slotAcceptance(), 0.0);
            assertArrayEquals(new long[] {0, 0, 0, 8}, r.stats().acceptedHistogram());
            assertTrue(Double.isNaN(r.offlineTau()));
            assertEquals("const", report.objective());
            assertEquals("B4 1L", report.drafter());
        }
    }

    @Test
    void readsBenchmarkFilesCallsOfflineTauAndRecordsProvenance(@TempDir Path dir) throws Exception {
        Path benchmarks = Files.createDirectories(dir.resolve("benchmarks"));
        Files.writeString(benchmarks.resolve("gsm8k.jsonl"), String.join("\n",
                "{\"id\": \"g/1\", \"turns\": [\"What is 2 + 2?\"]}",
                "{\"id\": \"g/2\", \"turns\": [\"Natalia sold 48 clips.\"]}",
                "{\"id\": \"g/3\", \"turns\": [\"Not read: maxPrompts is 2.\"]}") + "\n");
        Files.writeString(benchmarks.resolve("humaneval.jsonl"), "{\"id\": \"h/1\", \"turns\": [\"def f(x):\"]}\n");
        List<SpeculativeEvaluator.Decoded> seen = new ArrayList<>();
        List<List<OfflineTau.Sequence>> offlineCalls = new ArrayList<>();
        ByteArrayOutputStream progress = new ByteArrayOutputStream();
        try (Target target = TinyChat.target(256, 7); Drafter drafter = TinyChat.randomDrafter(target, 4, 8)) {
            AcceptanceReport report = new SpeculativeEvaluator()
                    .withProgress(new PrintStream(progress, true, StandardCharsets.UTF_8), false)
                    .withObjective("uniform").withListener(seen::add)
                    .withOfflineTau(sequences -> {
                        offlineCalls.add(sequences);
                        return 1.5 + offlineCalls.size();
                    })
                    .evaluate(target, drafter, new DataFolder(dir), BenchmarkRun.of(2, 6, Benchmark.GSM8K, Benchmark.HUMANEVAL));

            assertEquals(List.of(Benchmark.GSM8K, Benchmark.HUMANEVAL), report.benchmarks());
            assertEquals(List.of("g/1", "g/2", "h/1"), seen.stream().map(SpeculativeEvaluator.Decoded::promptId).toList());
            // one offline call per benchmark, with the target's greedy sequences: prompt then answer
            assertEquals(2, offlineCalls.size());
            assertEquals(2, offlineCalls.get(0).size());
            assertEquals(1, offlineCalls.get(1).size());
            for (int i = 0; i < 3; i++) {
                OfflineTau.Sequence s = (i < 2 ? offlineCalls.get(0).get(i) : offlineCalls.get(1).get(0));
                SpeculativeEvaluator.Decoded d = seen.get(i);
                assertEquals(d.promptIds().length, s.responseStart());
                assertArrayEquals(concat(d.promptIds(), d.plainTokens()), s.ids());
                assertArrayEquals(d.plainTokens(), d.tokens()); // greedy exactness on real decoding paths
            }
            assertEquals(2.5, report.result(Benchmark.GSM8K).orElseThrow().offlineTau());
            assertEquals(3.5, report.result(Benchmark.HUMANEVAL).orElseThrow().offlineTau());

            AcceptanceReport.BenchmarkResult gsm = report.result(Benchmark.GSM8K).orElseThrow();
            assertEquals(2, gsm.prompts());
            assertEquals(2, gsm.turns());
            assertEquals(seen.get(0).tokens().length + seen.get(1).tokens().length, gsm.tokens());
            assertEquals(seen.get(0).stats().plus(seen.get(1).stats()).emitted(), gsm.stats().emitted());
            assertEquals(0, report.mismatches());
            assertTrue(gsm.hasBaseline() && gsm.plainSeconds() > 0);

            // provenance: data hashes of the files read, the settings
            var provenance = report.provenance().orElseThrow();
            assertEquals(dev.blockdraft.io.Provenance.sha256(benchmarks.resolve("gsm8k.jsonl")),
                    provenance.dataSha256().get("gsm8k.jsonl"));
            assertEquals("6", provenance.settings().get("max_new_tokens"));
            assertEquals("4", provenance.settings().get("block_size"));

            String printed = progress.toString(StandardCharsets.UTF_8);
            assertTrue(printed.contains("3/3"), printed);

            // what was measured reads back equal
            AcceptanceReport back = AcceptanceReport.readJson(report.writeJson(dir.resolve("report.json")));
            assertEquals(report, back);
        }
    }

    @Test
    void promptLongerThanTheContextFailsNamingThePrompt() {
        String longTurn = "Natalia sold clips to 48 of her friends in April. ".repeat(4); // > 64 tokens
        try (Target target = TinyChat.target(64, 7); Drafter drafter = TinyChat.randomDrafter(target, 4, 8)) {
            int length = target.template().promptIds(List.of(), longTurn).length;
            assertTrue(length > 64, "prompt of " + length + " tokens");
            Map<Benchmark, List<BenchmarkPrompt>> prompts = Map.of(Benchmark.ALPACA,
                    List.of(prompt("alpaca/1", "Hi."), prompt("alpaca/7", longTurn), prompt("alpaca/8", "Bye.")));
            BenchmarkRun run = BenchmarkRun.of(10, 4, Benchmark.ALPACA).withBaseline(false);
            SpeculativeEvaluator evaluator = new SpeculativeEvaluator().quiet().withProvenance(false);

            PromptTooLongException e = assertThrows(PromptTooLongException.class,
                    () -> evaluator.evaluate(target, drafter, prompts, run));
            assertTrue(e.getMessage().contains("Alpaca prompt alpaca/7"), e.getMessage());
            assertTrue(e.getMessage().contains(length + " tokens long"), e.getMessage());
            assertTrue(e.getMessage().contains("context is 64 tokens"), e.getMessage());
            assertEquals("alpaca/7", e.promptId());
            assertEquals(length, e.promptTokens());

            // skipped on request, and counted
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            AcceptanceReport report = evaluator.withProgress(new PrintStream(out, true, StandardCharsets.UTF_8), false)
                    .evaluate(target, drafter, prompts, run.withOnTooLong(BenchmarkRun.TooLong.SKIP));
            AcceptanceReport.BenchmarkResult r = report.result(Benchmark.ALPACA).orElseThrow();
            assertEquals(2, r.turns());
            assertEquals(1, r.skippedTurns());
            assertTrue(out.toString(StandardCharsets.UTF_8).contains("warning: skipped: Alpaca prompt alpaca/7"));
        }
    }

    @Test
    void secondTurnTooLongNamesTheTurn() {
        // the first answer (a constant target fills the room left in the context) pushes turn 2 past it
        try (Target target = TinyChat.constantTarget(64, TinyChat.tokenizer().tokenId("a"));
                Drafter drafter = TinyChat.constantDrafter(target, 2)) {
            PromptTooLongException e = assertThrows(PromptTooLongException.class, () -> new SpeculativeEvaluator().quiet()
                    .withProvenance(false).evaluate(target, drafter,
                            Map.of(Benchmark.MT_BENCH, List.of(prompt("mt_bench/99", "Hi.", "And?"))),
                            BenchmarkRun.of(1, 60, Benchmark.MT_BENCH)));
            assertTrue(e.getMessage().contains("MT-Bench prompt mt_bench/99 (turn 2 of 2)"), e.getMessage());
            assertEquals(2, e.turn());
        }
    }

    @Test
    void drafterOfAnotherTargetIsRefused() {
        try (Target target = TinyChat.target(64, 7); Target other = TinyChat.target(64, 8);
                Drafter drafter = TinyChat.randomDrafter(other, 4, 8)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new SpeculativeEvaluator()
                    .quiet().evaluate(target, drafter, Map.of(Benchmark.ALPACA, List.of(prompt("a", "Hi."))),
                            BenchmarkRun.of(1, 4, Benchmark.ALPACA)));
            assertTrue(e.getMessage().contains("another target model"), e.getMessage());
        }
    }

    @Test
    void settingsAreValidated() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> BenchmarkRun.of(0, 16, Benchmark.GSM8K));
        assertEquals("maxPrompts=0 must be > 0 (use ALL_PROMPTS for all)", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> BenchmarkRun.of(-1, 16, Benchmark.GSM8K));
        e = assertThrows(IllegalArgumentException.class, () -> BenchmarkRun.of(5, 0, Benchmark.GSM8K));
        assertEquals("maxNewTokens=0 must be > 0", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> BenchmarkRun.of(5, 16));
        assertTrue(e.getMessage().startsWith("benchmarks is empty"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> BenchmarkRun.of(5, 16, Benchmark.MBPP, Benchmark.MBPP));
        assertEquals("benchmark mbpp is listed twice", e.getMessage());
        BenchmarkRun d = BenchmarkRun.defaults();
        assertEquals(6, d.benchmarks().size());
        assertFalse(d.withBaseline(false).measureBaseline());
        assertEquals(BenchmarkRun.TooLong.FAIL, d.onTooLong());
    }

    /** The real benchmark files, one prompt each of a single-turn set and of MT-Bench. */
    @Test
    void realBenchmarkFiles() {
        DataFolder data = DataFolder.resolve(null);
        try (Target target = TinyChat.target(1024, 7); Drafter drafter = TinyChat.randomDrafter(target, 4, 8)) {
            List<SpeculativeEvaluator.Decoded> seen = new ArrayList<>();
            AcceptanceReport report = new SpeculativeEvaluator().quiet().withProvenance(false).withListener(seen::add)
                    .evaluate(target, drafter, data, BenchmarkRun.of(1, 4, Benchmark.GSM8K, Benchmark.MT_BENCH));
            assertEquals(1, report.result(Benchmark.GSM8K).orElseThrow().turns());
            assertEquals(2, report.result(Benchmark.MT_BENCH).orElseThrow().turns());
            assertEquals(List.of("mt_bench/81", "mt_bench/81"), seen.subList(1, 3).stream()
                    .map(SpeculativeEvaluator.Decoded::promptId).toList());
            assertEquals(0, report.mismatches());
        }
    }
}
