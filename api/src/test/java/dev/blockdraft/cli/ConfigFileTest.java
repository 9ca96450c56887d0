package dev.blockdraft.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code --config FILE}: the file's keys become the command's own flags; flags on the line win; unknown keys fail. */
class ConfigFileTest {
    @TempDir
    Path dir;

    private Path config(String json) throws IOException {
        Path file = dir.resolve("run.json");
        Files.writeString(file, json);
        return file;
    }

    private static int run(StringWriter err, String... args) {
        return Main.run(args, new PrintWriter(new StringWriter(), true), new PrintWriter(err, true));
    }

    @Test
    void keysBecomeFlagsAndTheCommandLineWins() throws IOException {
        Path file = config("{\"steps\": 3000, \"objective\": \"dpace:a=0.25\", \"half-target\": true,"
                + " \"overwrite\": false, \"feature-layers\": \"dflash\"}");
        String[] line = {"train-drafter", "--config", file.toString(), "--target", "T", "--out", "O", "--steps", "20"};
        String[] expanded = ConfigFile.expand(new CommandLine(new Main()), line);
        assertArrayEquals(new String[] {"train-drafter", "--config", file.toString(), "--target", "T", "--out", "O",
            "--steps", "20", "--objective", "dpace:a=0.25", "--half-target", "--feature-layers", "dflash"}, expanded);
        // a repeatable option takes a list
        Path prompts = config("{\"prompts\": [\"a.jsonl:a\", \"b.jsonl:b\"], \"max-new-tokens\": 64}");
        assertArrayEquals(new String[] {"eval", "--config", prompts.toString(), "--prompts", "a.jsonl:a", "--prompts",
            "b.jsonl:b", "--max-new-tokens", "64"}, ConfigFile.expand(new CommandLine(new Main()),
                new String[] {"eval", "--config", prompts.toString()}));
    }

    @Test
    void theFilesValuesGoThroughTheFlagsOwnChecks() throws IOException {
        // the file's --steps 0 is refused as the flag would be; with --steps on the line, the file's next bad value is
        StringWriter err = new StringWriter();
        Path file = config("{\"steps\": 0, \"checkpoint-every\": -1}");
        assertEquals(2, run(err, "train-drafter", "--config", file.toString(), "--target", "T", "--out", "O"));
        assertTrue(err.toString().contains("--steps 0: must be > 0"), err.toString());
        err = new StringWriter();
        assertEquals(2, run(err, "train-drafter", "--config", file.toString(), "--target", "T", "--out", "O",
                "--steps", "5"));
        assertTrue(err.toString().contains("--checkpoint-every -1"), err.toString());
        assertFalse(Files.exists(dir.resolve("O")));
    }

    @Test
    void anUnknownKeyIsOneLineNamingItAndTheFile() throws IOException {
        StringWriter err = new StringWriter();
        Path file = config("{\"steps\": 10, \"learning-rate\": 0.001}");
        assertEquals(2, run(err, "train-drafter", "--config", file.toString(), "--target", "T", "--out", "O"));
        String message = err.toString().strip();
        assertFalse(message.contains("\n"), message);
        assertTrue(message.contains(file.toString()) && message.contains("unknown key 'learning-rate'")
                && message.contains("valid keys:") && message.contains(" lr,"), message);
        err = new StringWriter();
        Path bad = config("{\"half-target\": \"yes\"}");
        assertEquals(2, run(err, "train-drafter", "--config", bad.toString(), "--target", "T", "--out", "O"));
        assertTrue(err.toString().contains("'half-target' is a switch: give true or false"), err.toString());
    }
}
