package dev.blockdraft.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.Gson;
import dev.blockdraft.io.BadInputException;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading the reference scripts' JSON lines and the blockdraft / reference ratios that bench prints. */
@org.junit.jupiter.api.extension.ExtendWith(dev.blockdraft.eval.OneTorchThread.class)
class BenchReferenceTest {
    @TempDir
    Path dir;

    private static final String CPU_SHAPES = "\"shapes\": {\"Lt\": 4, \"C\": 64, \"H\": 4, \"G\": 2, \"I\": 192, \"V\": 512,"
            + " \"prompt_len\": 8, \"max_new_tokens\": 6}";

    @Test
    void readsVariantsFromEachLineAndNamesOldLinesByTheirSettings() throws IOException {
        Path file = dir.resolve("ref.jsonl");
        Files.writeString(file, """
                {"variant": "bf16-static-compiled", "tokens_per_s": 500.0}

                {"dtype": "bf16", "attn": "sdpa", "compile": false, "tokens_per_s": 389178}
                {"dtype": "fp32", "attn": "sdpa", "compile": true, "mode": "reduce-overhead", "tf32": true, "tokens_per_s": 7}
                """);
        List<BenchReference.Round> rounds = BenchReference.readReference(file);
        assertEquals(List.of("bf16-static-compiled", "bf16-sdpa-eager", "fp32-sdpa-compile-reduce-overhead-tf32"),
                rounds.stream().map(BenchReference.Round::variant).toList());
        assertEquals(389178, rounds.get(1).tokensPerSecond());
        assertEquals(3, rounds.get(1).line().number(), "the blank line counts: errors name the file's own line");
    }

    @Test
    void interleavedRoundsAreDividedRoundByRound() {
        // round by round: 100/50, 120/100, 300/100 -> 2.0, 1.2, 3.0 -> median 2.0; every pair would give 1.5
        BenchReference.Ratio paired = BenchReference.ratio(List.of(100.0, 120.0, 300.0), List.of(50.0, 100.0, 100.0));
        assertEquals(2.0, paired.median(), 1e-12);
        assertEquals(1.2, paired.min(), 1e-12);
        assertEquals(3.0, paired.max(), 1e-12);
        assertEquals(120.0, paired.ours(), 1e-12);
        assertEquals(100.0, paired.reference(), 1e-12);
        // one run of ours against two reference rounds: every pair, 60/40 and 60/120 -> median of 1.5 and 0.5
        BenchReference.Ratio pairs = BenchReference.ratio(List.of(60.0), List.of(40.0, 120.0));
        assertEquals(1.0, pairs.median(), 1e-12);
        assertEquals(2, pairs.rounds());
    }

    @Test
    void compareGroupsRoundsByVariantInFileOrder() {
        Path f = Path.of("ref.jsonl");
        List<BenchReference.Round> reference = List.of(
                new BenchReference.Round("eager", 100, new BenchReference.Line(f, 1, Map.of())),
                new BenchReference.Round("compiled", 400, new BenchReference.Line(f, 2, Map.of())),
                new BenchReference.Round("eager", 200, new BenchReference.Line(f, 3, Map.of())),
                new BenchReference.Round("compiled", 400, new BenchReference.Line(f, 4, Map.of())));
        List<BenchReference.Row> rows = BenchReference.compare(
                Map.of("plain", List.of(200.0, 200.0)), reference);
        assertEquals(List.of("eager", "compiled"), rows.stream().map(BenchReference.Row::variant).toList());
        assertEquals(1.5, rows.get(0).byMetric().get("plain").median(), 1e-12); // 200/100, 200/200
        assertEquals(0.5, rows.get(1).byMetric().get("plain").median(), 1e-12);
        String table = BenchReference.table(f, rows);
        assertTrue(table.contains("0.50x (0.50-0.50)"), table);
    }

    @Test
    void aLineThatIsNotJsonOrHasNoTokensPerSecondNamesTheFileAndLine() throws IOException {
        Path file = dir.resolve("bad.jsonl");
        Files.writeString(file, "{\"variant\": \"x\", \"tokens_per_s\": 1}\nstep 3 loss 8.1\n");
        BadInputException e = assertThrows(BadInputException.class, () -> BenchReference.readReference(file));
        assertTrue(e.getMessage().startsWith(file + " line 2: expected one JSON object per line"), e.getMessage());
        Files.writeString(file, "{\"variant\": \"x\"}\n");
        e = assertThrows(BadInputException.class, () -> BenchReference.readReference(file));
        assertTrue(e.getMessage().contains(file + " line 1: tokens_per_s=null must be a positive number"), e.getMessage());
    }

    @Test
    void benchDecodePrintsTheRatioAgainstEachReferenceVariant() throws IOException {
        Path ref = dir.resolve("decode_ref.jsonl");
        Files.writeString(ref, "{\"variant\": \"bf16-eager\", \"tokens_per_s\": 40.0, " + CPU_SHAPES + "}\n"
                + "{\"variant\": \"bf16-eager\", \"tokens_per_s\": 80.0, " + CPU_SHAPES + "}\n"
                + "{\"variant\": \"bf16-static-compiled\", \"tokens_per_s\": 500.0, " + CPU_SHAPES + "}\n");
        Path json = dir.resolve("decode.json");
        int code = run("bench", "decode", "--preset", "cpu", "--prompts", "1", "--prompt-len", "8", "--max-new-tokens", "6",
                "--reference", ref.toString(), "--json", json.toString());
        assertEquals(0, code);
        Map<?, ?> out = new Gson().fromJson(Files.readString(json), Map.class);
        double plain = (Double) out.get("plain_tokens_per_s");
        double spec = (Double) out.get("spec_tokens_per_s");
        List<?> rows = (List<?>) out.get("vs_reference");
        assertEquals(2, rows.size());
        Map<?, ?> eager = (Map<?, ?>) rows.get(0);
        assertEquals("bf16-eager", eager.get("variant"));
        Map<?, ?> eagerPlain = (Map<?, ?>) eager.get("plain");
        assertEquals((plain / 40 + plain / 80) / 2, (Double) eagerPlain.get("ratio_median"), 1e-9 * plain);
        Map<?, ?> compiledSpec = (Map<?, ?>) ((Map<?, ?>) rows.get(1)).get("speculative");
        assertEquals(spec / 500, (Double) compiledSpec.get("ratio_median"), 1e-9 * spec);
        // bench compare reads the same result back as one round of ours
        Path cmp = dir.resolve("cmp.json");
        assertEquals(0, run("bench", "compare", "--ours", json.toString(), "--reference", ref.toString(), "--json", cmp.toString()));
        Map<?, ?> again = new Gson().fromJson(Files.readString(cmp), Map.class);
        assertEquals(rows, again.get("vs_reference"));
    }

    @Test
    void aReferenceAtOtherShapesIsRefusedNamingTheLineAndTheShape() throws IOException {
        Path ref = dir.resolve("other.jsonl");
        Files.writeString(ref, "{\"variant\": \"bf16-eager\", \"tokens_per_s\": 40.0, "
                + CPU_SHAPES.replace("\"C\": 64", "\"C\": 768") + "}\n");
        StringWriter err = new StringWriter();
        int code = Main.run(new String[] {"bench", "decode", "--preset", "cpu", "--prompts", "1", "--prompt-len", "8",
            "--max-new-tokens", "6", "--reference", ref.toString()}, new PrintWriter(new StringWriter(), true),
                new PrintWriter(err, true));
        assertEquals(2, code, err.toString());
        assertTrue(err.toString().contains(ref + " line 1: the reference ran C=768 but this benchmark ran C=64"), err.toString());
        assertFalse(err.toString().contains("\tat "), "no stack trace: " + err);
    }

    private static int run(String... args) {
        StringWriter err = new StringWriter();
        int code = Main.run(args, new PrintWriter(new StringWriter(), true), new PrintWriter(err, true));
        if (code != 0) {
            throw new AssertionError("exit " + code + ": " + err);
        }
        return code;
    }
}
