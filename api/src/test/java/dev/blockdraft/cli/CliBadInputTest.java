package dev.blockdraft.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.blockdraft.tokenize.BpeModel;
import dev.blockdraft.tokenize.BpeTrainer;
import dev.blockdraft.tokenize.SpecialTokens;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Bad input through the command line, as a new user types it: exit code 2, one line naming the flag
 * or file, the value and what would be valid, no stack trace, and the files there kept byte for byte.
 */
class CliBadInputTest {
    @TempDir
    Path dir;
    Path data;
    Path tokenizer;

    record Result(int code, String out, String err) {}

    @BeforeEach
    void folders() throws IOException {
        data = dir.resolve("datasets");
        Files.createDirectories(data.resolve("corpora"));
        Files.writeString(data.resolve("corpora/gsm8k_train.jsonl"), "{\"question\": \"What is 2+2?\", \"answer\": \"4\"}\n");
        Files.createDirectories(data.resolve("benchmarks"));
        tokenizer = dir.resolve("tok");
        BpeModel model = new BpeTrainer(new BpeTrainer.Options(SpecialTokens.ALL.size() + 256 + 8, 100_000, 512))
                .train(List.of("What is the answer? The answer is two.", "def add(a, b): return a + b"));
        model.save(tokenizer);
    }

    @Test
    void trainTargetRefusesAnExistingFileAsOut() throws IOException {
        Path file = dir.resolve("results.csv");
        Files.writeString(file, "a,b\n1,2\n");
        Map<String, byte[]> before = snapshot(dir);
        Result r = run("train-target", "--tokenizer", tokenizer.toString(), "--out", file.toString(), "--data", data.toString());
        assertBadInput(r, "--out " + file, "is an existing file", "--overwrite");
        assertSame(before, snapshot(dir));
    }

    @Test
    void trainDrafterRefusesSomeoneElsesFolderAsOutAndAsDataDir() throws IOException {
        Path theirs = dir.resolve("thesis");
        Files.createDirectories(theirs);
        Files.writeString(theirs.resolve("chapter1.md"), "# Introduction\n");
        Map<String, byte[]> before = snapshot(dir);
        Result r = run("train-drafter", "--target", dir.resolve("no-such-target").toString(), "--out", theirs.toString(),
                "--data", data.toString());
        assertBadInput(r, "--out " + theirs, "not made by blockdraft", "chapter1.md", "--overwrite");
        assertSame(before, snapshot(dir));
        // a --data-dir without regenerated data is where regeneration would write: refused as well, --overwrite or not
        r = run("train-drafter", "--target", dir.resolve("no-such-target").toString(), "--out", dir.resolve("d").toString(),
                "--data-dir", theirs.toString(), "--data", data.toString(), "--overwrite");
        assertBadInput(r, "--data-dir " + theirs, "not made by blockdraft");
        assertArrayEquals(before.get("thesis/chapter1.md"), Files.readAllBytes(theirs.resolve("chapter1.md")));
    }

    @Test
    void regenerateNeverWritesIntoTheDataFolder() throws IOException {
        Map<String, byte[]> before = snapshot(data);
        for (List<String> extra : List.of(List.<String>of(), List.of("--overwrite"))) {
            String[] args = Stream.concat(Stream.of("regenerate", "--target", dir.resolve("t").toString(), "--out",
                    data.toString(), "--data", data.toString()), extra.stream()).toArray(String[]::new);
            assertBadInput(run(args), "--out " + data, "is a data folder", "never writes into one");
            args = Stream.concat(Stream.of("regenerate", "--target", dir.resolve("t").toString(), "--out",
                    data.resolve("corpora/regen").toString(), "--data", data.toString()), extra.stream()).toArray(String[]::new);
            assertBadInput(run(args), "inside the data folder " + data);
        }
        assertSame(before, snapshot(data));
    }

    @Test
    void trainTokenizerRefusesAnExistingFileBeforeTraining() throws IOException {
        Path file = dir.resolve("tokenizer.json");
        Files.writeString(file, "{}");
        Map<String, byte[]> before = snapshot(dir);
        Result r = run("train-tokenizer", "--out", file.toString(), "--data", data.toString());
        assertBadInput(r, "--out " + file, "is an existing file");
        assertSame(before, snapshot(dir));
        assertBadInput(run("train-tokenizer", "--out", dir.resolve("t2").toString(), "--vocab-size", "12"),
                "--vocab-size 12: must be >= " + (SpecialTokens.ALL.size() + 256));
    }

    @Test
    void shapeFlagsAreCheckedBeforeAnythingIsAllocated() {
        String out = dir.resolve("target").toString();
        String[] base = {"train-target", "--tokenizer", tokenizer.toString(), "--out", out, "--data", data.toString(), "--layers", "2"};
        assertBadInput(run(concat(base, "--hidden", "64", "--heads", "0")), "--heads 0: must be > 0");
        assertBadInput(run(concat(base, "--hidden", "64", "--heads", "4", "--kv-heads", "3")), "--kv-heads 3 must divide --heads 4");
        assertBadInput(run(concat(base, "--hidden", "100", "--heads", "3")), "--hidden 100 must be divisible by --heads 3");
        assertBadInput(run(concat(base, "--hidden", "1000000000", "--heads", "4")),
                "--hidden 1000000000: its MLP width 2666666688 exceeds 2147483647");
        long t0 = System.nanoTime();
        assertBadInput(run(concat(base, "--hidden", "400000", "--heads", "4")), "--hidden/--layers/--heads/--intermediate:",
                "hidden_size=400000", "to train (weights, gradients and AdamW moments in fp32); this machine has");
        assertTrue(System.nanoTime() - t0 < 10_000_000_000L, "refused at once, not after an OutOfMemoryError");
        assertBadInput(run(concat(base, "--hidden", "64", "--heads", "4", "--steps", "0")), "--steps 0: must be > 0");
        assertBadInput(run(concat(base, "--hidden", "64", "--heads", "4", "--lr", "-1")), "--lr -1.0: must be a positive number");
    }

    @Test
    void samplingAndCountFlagsNameTheFlagAndTheValidRange() {
        String target = dir.resolve("no-target").toString();
        assertBadInput(run("generate", "--model", target, "--prompt", "hi", "--top-p", "2"), "--top-p 2.0: must be within (0, 1]");
        assertBadInput(run("generate", "--model", target, "--prompt", "hi", "--temperature", "-1"),
                "--temperature -1.0: must be >= 0 (0 = greedy)");
        assertBadInput(run("regenerate", "--target", target, "--prompts", "600", "--validation", "700"),
                "--validation 700: must be fewer than --prompts 600");
        assertBadInput(run("regenerate", "--target", target, "--batch", "0"), "--batch 0: must be > 0");
        assertBadInput(run("regenerate", "--target", target, "--answers", "3"),
                "--answers 3: greedy decoding gives one answer; add --temperature T > 0");
        assertBadInput(run("regenerate", "--target", target, "--answers", "0"), "--answers 0: must be > 0");
        assertBadInput(run("train-drafter", "--target", target, "--out", dir.resolve("d").toString(), "--steps", "-3"),
                "--steps -3: must be > 0");
        assertBadInput(run("train-drafter", "--target", target, "--out", dir.resolve("d").toString(), "--grad-accum", "0"),
                "--grad-accum 0: must be > 0");
        assertBadInput(run("train-drafter", "--target", target, "--out", dir.resolve("d").toString(), "--steps", "1e3"),
                "blockdraft train-drafter: Invalid value for option '--steps': '1e3' is not an int",
                "(see blockdraft train-drafter --help)");
        assertBadInput(run("train-target", "--tokenizer", target, "--out", dir.resolve("t").toString(), "--hidden", "99999999999"),
                "'99999999999' is not an int");
    }

    @Test
    void everyCommandHasHelpAndTheTopLevelHelpListsThemAll() {
        CommandLine cli = new CommandLine(new Main());
        for (Map.Entry<String, CommandLine> sub : cli.getSubcommands().entrySet()) {
            if (sub.getKey().equals("help")) {
                continue;
            }
            Result r = run(sub.getKey(), "--help");
            assertEquals(0, r.code(), sub.getKey() + " --help: " + r.err());
            assertTrue(r.out().contains("Usage: blockdraft " + sub.getKey()), sub.getKey() + ": " + r.out());
            for (Map.Entry<String, CommandLine> subsub : sub.getValue().getSubcommands().entrySet()) {
                Result rr = run(sub.getKey(), subsub.getKey(), "--help");
                assertEquals(0, rr.code(), sub.getKey() + " " + subsub.getKey() + " --help: " + rr.err());
            }
        }
        Result top = run("--help");
        for (String command : List.of("train-tokenizer", "train-target", "generate", "info", "regenerate", "train-drafter",
                "eval", "demo", "bench", "kernel install", "shell", "test")) {
            assertTrue(top.out().contains("  " + command), command + " in: " + top.out());
        }
        assertTrue(run("eval", "--help").out().contains("--force"));
        assertTrue(run("bench", "decode", "--help").out().contains("--force"));
        assertTrue(run("train-drafter", "--help").out().contains("--checkpoint-every"));
        assertTrue(run("train-target", "--help").out().contains("--restart"));
    }

    private static String[] concat(String[] a, String... b) {
        return Stream.concat(Stream.of(a), Stream.of(b)).toArray(String[]::new);
    }

    @Test
    void trainDrafterNamesABadDeviceListAndWhatIsValid() throws IOException {
        Map<String, byte[]> before = snapshot(dir);
        String target = dir.resolve("no-such-target").toString(), out = dir.resolve("d").toString();
        Result r = run("train-drafter", "--target", target, "--out", out, "--devices", "cpu,gpu:x", "--grad-accum", "2");
        assertBadInput(r, "--devices cpu,gpu:x", "'gpu:x' is not a device", "cpu, gpu or gpu:N", "gpu:0,gpu:1");
        r = run("train-drafter", "--target", target, "--out", out, "--devices", "cpu,", "--grad-accum", "2");
        assertBadInput(r, "--devices cpu,", "'' is not a device");
        // the global batch is --batch × --grad-accum micro-batches, shared out evenly
        r = run("train-drafter", "--target", target, "--out", out, "--devices", "cpu,cpu", "--grad-accum", "3");
        assertBadInput(r, "--devices cpu,cpu", "--grad-accum 3", "multiple of 2");
        r = run("train-drafter", "--target", target, "--out", out, "--devices", "cpu,cpu");
        assertBadInput(r, "--devices cpu,cpu", "--grad-accum 1", "multiple of 2");
        if (ai.djl.engine.Engine.getInstance().getGpuCount() < 2) {
            r = run("train-drafter", "--target", target, "--out", out, "--devices", "gpu:0,gpu:1", "--grad-accum", "2");
            assertBadInput(r, "--devices gpu:0,gpu:1", "GPU(s)");
        }
        assertSame(before, snapshot(dir));
    }

    private static Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Result(code, out.toString(), err.toString());
    }

    private static void assertBadInput(Result r, String... parts) {
        assertEquals(2, r.code(), "exit code for bad input; stderr: " + r.err());
        String message = r.err().strip();
        assertFalse(message.contains("\n"), "one line: " + message);
        assertFalse(message.contains("Exception") || message.contains("\tat "), "no stack trace: " + message);
        for (String part : parts) {
            assertTrue(message.contains(part), "'" + part + "' in: " + message);
        }
    }

    private static Map<String, byte[]> snapshot(Path root) throws IOException {
        Map<String, byte[]> files = new TreeMap<>();
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                files.put(root.relativize(p).toString(), Files.readAllBytes(p));
            }
        }
        return files;
    }

    private static void assertSame(Map<String, byte[]> before, Map<String, byte[]> after) {
        assertEquals(before.keySet(), after.keySet(), "the same files");
        before.forEach((name, bytes) -> assertArrayEquals(bytes, after.get(name), "byte for byte: " + name));
    }
}
