package dev.blockdraft.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.blockdraft.lm.HfCheckpoint;
import dev.blockdraft.lm.LlamaConfig;
import dev.blockdraft.lm.LlamaModel;
import dev.blockdraft.tokenize.BpeTrainer;
import dev.blockdraft.tokenize.SpecialTokens;
import dev.blockdraft.tokenize.Tokenizer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code bin/blockdraft ablate} argument handling, through the real entry point in a child JVM. */
class AblateCommandTest {
    @TempDir
    static Path dir;
    static Path grid;

    record Result(int code, List<String> out, List<String> err) {}

    @BeforeAll
    static void setUp() throws IOException {
        Path tok = Files.createDirectories(dir.resolve("tok"));
        new BpeTrainer(new BpeTrainer.Options(SpecialTokens.ALL.size() + 256 + 8, 100_000, 4096))
                .train(List.of("the answer is two", "def f(x): return x")).save(tok);
        LlamaConfig config;
        try (Tokenizer t = Tokenizer.load(tok)) {
            config = LlamaConfig.llama(t.vocabSize(), 16, 32, 1, 2, 1, 64).withSpecialTokens(t.bosId(), t.eosId());
        }
        try (LlamaModel m = LlamaModel.initialize(config, ai.djl.Device.cpu(), 1)) {
            HfCheckpoint.save(m, dir.resolve("target"), tok, Map.of());
        }
        grid = dir.resolve("grid.json");
        Files.writeString(grid, "{\"targets\": [\"" + dir.resolve("target") + "\"], \"objectives\": [\"uniform\", \"paper\"],"
                + " \"seeds\": [1, 2], \"steps\": [3], \"out\": \"" + dir.resolve("out") + "\"}");
    }

    static Result ablate(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "dev.blockdraft.cli.Main", "ablate"));
        command.addAll(Arrays.asList(args));
        Process p = new ProcessBuilder(command).start();
        byte[] out = p.getInputStream().readAllBytes();
        byte[] err = p.getErrorStream().readAllBytes();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "ablate " + String.join(" ", args) + " did not end");
        return new Result(p.exitValue(), lines(out), lines(err));
    }

    /** The lines of a stream, without the logging back-end's start-up warnings. */
    static List<String> lines(byte[] bytes) {
        return new String(bytes, StandardCharsets.UTF_8).lines().filter(l -> !l.startsWith("SLF4J")).toList();
    }

    @Test
    void missingGridFileIsOneLineNamingIt() throws Exception {
        Path missing = dir.resolve("nope.json");
        Result r = ablate(missing.toString());
        assertEquals(2, r.code());
        assertEquals(List.of("blockdraft ablate: " + missing + ": grid file not found"), r.err());
    }

    @Test
    void unknownKeyIsOneLineNamingFileAndKey() throws Exception {
        Path bad = dir.resolve("bad.json");
        Files.writeString(bad, "{\"objectives\": [\"uniform\"], \"seedz\": [1]}");
        Result r = ablate(bad.toString());
        assertEquals(2, r.code());
        assertEquals(1, r.err().size(), r.err().toString());
        assertTrue(r.err().get(0).startsWith("blockdraft ablate: " + bad + ": unknown key \"seedz\"; valid keys: "),
                r.err().get(0));
    }

    @Test
    void badShardNamesTheFlagAndValue() throws Exception {
        Result r = ablate(grid.toString(), "--shard", "3/2");
        assertEquals(2, r.code());
        assertEquals(List.of("blockdraft ablate: --shard 3/2: give i/n with n >= 1 and 0 <= i < n, e.g. 0/2"), r.err());
    }

    @Test
    void shardsListDisjointCellsCoveringTheGrid() throws Exception {
        Result all = ablate(grid.toString(), "--list");
        assertEquals(0, all.code(), all.err().toString());
        assertEquals(4, all.out().size(), all.out().toString());
        assertTrue(all.out().stream().allMatch(l -> l.contains(" new ")), all.out().toString());
        Set<String> union = new HashSet<>();
        int total = 0;
        for (String shard : List.of("0/2", "1/2")) {
            Result r = ablate(grid.toString(), "--list", "--shard", shard);
            assertEquals(0, r.code(), r.err().toString());
            total += r.out().size();
            union.addAll(r.out());
        }
        assertEquals(4, total);
        assertEquals(new HashSet<>(all.out()), union);
    }

    @Test
    void reportWithoutFinishedCellsSaysSo() throws Exception {
        Result r = ablate(grid.toString(), "--report");
        assertEquals(1, r.code());
        assertEquals(List.of("no finished cell in " + dir.resolve("out") + " yet"), r.out());
    }
}
