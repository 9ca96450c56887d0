package dev.blockdraft.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class BenchmarksTest {

    @TempDir
    Path temp;

    @ParameterizedTest
    @CsvSource({"GSM8K,1319", "MATH500,500", "HUMANEVAL,164", "MBPP,974", "MT_BENCH,80", "ALPACA,80"})
    void realBenchmarksHaveTheDocumentedRowCounts(String name, int rows) {
        Benchmark benchmark = Benchmark.parse(name);
        List<BenchmarkPrompt> prompts = Benchmarks.load(TestDataFolder.find(), benchmark, -1);
        assertEquals(rows, prompts.size());
        int expectedTurns = benchmark == Benchmark.MT_BENCH ? 2 : 1;
        assertTrue(prompts.stream().allMatch(p -> p.turns().size() == expectedTurns), benchmark + " turn counts");
    }

    @Test
    void mtBenchHasCategoriesAndGsm8kHasReferences() {
        DataFolder folder = TestDataFolder.find();
        BenchmarkPrompt first = Benchmarks.load(folder, Benchmark.MT_BENCH, 1).get(0);
        assertEquals("mt_bench/81", first.id());
        assertEquals("writing", first.category());
        assertNull(first.reference());
        BenchmarkPrompt math = Benchmarks.load(folder, Benchmark.GSM8K, 3).get(0);
        assertEquals("gsm8k/0", math.id());
        assertTrue(math.reference().endsWith("#### 18"), math.reference());
    }

    @Test
    void maxPromptsLimits() {
        assertEquals(5, Benchmarks.load(TestDataFolder.find(), Benchmark.HUMANEVAL, 5).size());
    }

    @Test
    void emptyBenchmarkFileIsAnErrorNamingIt() throws IOException {
        Path file = temp.resolve("empty.jsonl");
        Files.writeString(file, "");
        DataException error = assertThrows(DataException.class, () -> Benchmarks.load(file, -1));
        assertEquals(file + ": benchmark file is empty; expected one JSON object per line", error.getMessage());
    }

    @Test
    void badTurnsAreErrors() throws IOException {
        Path file = temp.resolve("bad.jsonl");
        Files.writeString(file, "{\"id\":\"x\",\"turns\":[\"ok\"]}\n{\"id\":\"y\",\"turns\":[\"ok\", 3]}\n");
        assertEquals(file + ":2: field \"turns\"[1] must be a string, found the number 3",
                assertThrows(DataException.class, () -> Benchmarks.load(file, -1)).getMessage());
        Files.writeString(file, "{\"id\":\"x\",\"turns\":\"just text\"}\n");
        assertEquals(file + ":1: field \"turns\" must be an array of strings, found a string",
                assertThrows(DataException.class, () -> Benchmarks.load(file, -1)).getMessage());
        Files.writeString(file, "{\"id\":\"x\",\"turns\":[]}\n");
        assertEquals(file + ":1: field \"turns\" is empty; a prompt needs at least one turn",
                assertThrows(DataException.class, () -> Benchmarks.load(file, -1)).getMessage());
    }

    @Test
    void parseAcceptsCliSpellings() {
        assertEquals(Benchmark.GSM8K, Benchmark.parse("gsm8k"));
        assertEquals(Benchmark.MT_BENCH, Benchmark.parse("mt-bench"));
        assertEquals(Benchmark.MATH500, Benchmark.parse("MATH500"));
        assertEquals("MT-Bench", Benchmark.MT_BENCH.displayName());
        assertEquals("humaneval.jsonl", Benchmark.HUMANEVAL.fileName());
    }

    @Test
    void parseRejectsUnknownNamesListingValidOnes() {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class, () -> Benchmark.parse("gsm9k"));
        assertEquals("unknown benchmark \"gsm9k\"; valid names: gsm8k, math500, humaneval, mbpp, mt_bench, alpaca"
                + " (or your own file with --prompts FILE.jsonl[:NAME])", error.getMessage());
    }

    @Test
    void promptFilesInEveryAcceptedLayout() throws IOException {
        Path file = temp.resolve("mine.jsonl");
        Files.writeString(file, String.join("\n",
                "{\"id\": \"a\", \"turns\": [\"one\", \"two\"]}",
                "{\"question_id\": 81, \"category\": \"writing\", \"turns\": [\"Compose a blog post.\"]}",
                "{\"id\": 7, \"conversations\": [{\"from\": \"human\", \"value\": \"hi\"}, {\"from\": \"gpt\", \"value\": \"hello\"},"
                        + " {\"from\": \"human\", \"value\": \"bye\"}]}",
                "{\"messages\": [{\"role\": \"user\", \"content\": \"2+2?\"}, {\"role\": \"assistant\", \"content\": \"4\"}]}",
                "{\"prompt\": \"Write a haiku.\"}") + "\n");
        List<BenchmarkPrompt> prompts = Benchmarks.load(Benchmark.custom("mine", file), -1);
        assertEquals(List.of("a", "81", "7", "line 4", "line 5"), prompts.stream().map(BenchmarkPrompt::id).toList());
        assertEquals(List.of("one", "two"), prompts.get(0).turns());
        assertEquals("writing", prompts.get(1).category());
        assertEquals(List.of("hi", "bye"), prompts.get(2).turns());
        assertEquals(List.of("2+2?"), prompts.get(3).turns());
        assertEquals(List.of("Write a haiku."), prompts.get(4).turns());
    }

    @Test
    void malformedPromptLinesNameFileAndLine() throws IOException {
        Path file = temp.resolve("bad.jsonl");
        Files.writeString(file, "{\"prompt\": \"ok\"}\n{\"text\": \"no prompt\"}\n");
        assertEquals(file + ":2: no prompt found; expected \"turns\": [...], \"conversations\": [...], \"messages\": [...]"
                + " or \"prompt\": \"...\"", assertThrows(DataException.class, () -> Benchmarks.load(file, -1)).getMessage());
        Files.writeString(file, "{\"prompt\": \"ok\"}\n{\"prompt\": \"ok\"\n");
        assertTrue(assertThrows(DataException.class, () -> Benchmarks.load(file, -1)).getMessage()
                .startsWith(file + ":2: malformed JSON"));
        Files.writeString(file, "{\"question_id\": [1], \"turns\": [\"x\"]}\n");
        assertEquals(file + ":1: field \"question_id\" must be a string or an integer, found an array",
                assertThrows(DataException.class, () -> Benchmarks.load(file, -1)).getMessage());
        Files.writeString(file, "{\"messages\": [{\"role\": \"system\", \"content\": \"be nice\"}]}\n");
        assertEquals(file + ":1: \"messages\"[0] has role \"system\"; expected one of [user] or [assistant]"
                + " (system prompts are not supported in prompt sets)",
                assertThrows(DataException.class, () -> Benchmarks.load(file, -1)).getMessage());
    }

    @Test
    void promptsOptionNamesTheSet() {
        Benchmark named = Benchmark.fromOption("some/dir/qs.jsonl:mine");
        assertEquals("mine", named.cliName());
        assertEquals("mine", named.displayName());
        assertEquals(Path.of("some/dir/qs.jsonl").toAbsolutePath(), named.file().orElseThrow());
        assertEquals("qs", Benchmark.fromOption("some/dir/qs.jsonl").cliName());
        assertTrue(Benchmark.GSM8K.compareTo(named) < 0, "built-ins sort first");
        assertEquals(named, Benchmark.fromReport("mine"));
        assertEquals(Benchmark.MT_BENCH, Benchmark.fromReport("mt_bench"));
        IllegalArgumentException taken = assertThrows(IllegalArgumentException.class, () -> Benchmark.fromOption("x.jsonl:gsm8k"));
        assertEquals("--prompts x.jsonl:gsm8k: prompt set name \"gsm8k\" is taken by the built-in benchmark GSM8K; choose another",
                taken.getMessage());
    }
}
