package dev.blockdraft.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.blockdraft.data.TestDataFolder;
import dev.blockdraft.draft.Drafter;
import dev.blockdraft.draft.DrafterCheckpoint;
import dev.blockdraft.draft.DrafterConfig;
import dev.blockdraft.io.HalfFloats;
import dev.blockdraft.io.JsonFiles;
import dev.blockdraft.io.SafeTensors;
import dev.blockdraft.lm.Target;
import dev.blockdraft.tokenize.Qwen3Files;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The real-target path on a CPU, through the command line: Qwen3's real tokenizer and chat
 * template, a tiny random Qwen3-shaped target with Qwen3's 151,936-row vocabulary, regeneration,
 * a drafter, evaluation on a user's own prompt file, and export in DFlash's layout read back.
 */
class RealTokenizerEndToEndTest {

    @TempDir
    Path dir;

    private static void run(String... args) {
        CommandLine cli = new CommandLine(new Main());
        cli.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            throw ex;
        });
        assertEquals(0, cli.execute(args), String.join(" ", args));
    }

    private static int[] ints(JsonElement array) {
        JsonArray a = array.getAsJsonArray();
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).getAsInt();
        }
        return out;
    }

    @Test
    void qwen3TokenizerTargetTrainsRegeneratesDraftsEvaluatesAndExports() throws IOException {
        String data = TestDataFolder.find().root().toString();
        Path tokenizer = Files.createDirectories(dir.resolve("qwen3-tokenizer"));
        Files.copy(Qwen3Files.folder().resolve("tokenizer.json"), tokenizer.resolve("tokenizer.json"));
        Files.copy(Qwen3Files.folder().resolve("tokenizer_config.json"), tokenizer.resolve("tokenizer_config.json"));
        Files.writeString(tokenizer.resolve("generation_config.json"), "{\"eos_token_id\": [151645, 151643]}");
        Path target = dir.resolve("T"), regenerated = dir.resolve("R"), drafter = dir.resolve("D"), exported = dir.resolve("E");

        run("train-target", "--tokenizer", tokenizer.toString(), "--model-type", "qwen3", "--hidden", "64", "--layers", "2",
                "--heads", "4", "--kv-heads", "2", "--vocab-size", Integer.toString(Qwen3Files.VOCAB_SIZE), "--steps", "3",
                "--batch", "2", "--seq-len", "32", "--corpus-cap", "60", "--eval-every", "3", "--out", target.toString(),
                "--data", data);
        JsonObject targetConfig = JsonFiles.readObject(target.resolve("config.json"));
        assertEquals(151_936, targetConfig.get("vocab_size").getAsInt());
        assertEquals(151_645, targetConfig.get("eos_token_id").getAsInt());
        assertFalse(targetConfig.has("bos_token_id"), "Qwen3 has no bos token");
        assertTrue(Files.exists(target.resolve("generation_config.json")), "tokenizer files travel with the target");

        run("regenerate", "--target", target.toString(), "--prompts", "10", "--validation", "2", "--max-new-tokens", "8",
                "--batch", "5", "--out", regenerated.toString(), "--data", data);
        run("train-drafter", "--target", target.toString(), "--data-dir", regenerated.toString(), "--steps", "3",
                "--batch", "2", "--block-size", "4", "--out", drafter.toString(), "--data", data);
        DrafterConfig trained = DrafterConfig.read(drafter.resolve("config.json"));
        assertEquals(151_669, trained.maskTokenId(), "the first id past Qwen3's 151,669 tokens");

        Path prompts = dir.resolve("my.jsonl");
        Files.writeString(prompts, "{\"question_id\": 1, \"turns\": [\"What is 7 times 8?\", \"And halved?\"]}\n"
                + "{\"prompt\": \"Name a prime.\"}\n");
        Path report = dir.resolve("eval.json");
        run("eval", "--target", target.toString(), "--drafter", drafter.toString(), "--prompts", prompts + ":mine",
                "--max-new-tokens", "8", "--no-baseline", "--json", report.toString());
        JsonObject json = JsonFiles.readObject(report);
        JsonObject mine = json.getAsJsonArray("benchmarks").get(0).getAsJsonObject();
        assertEquals("mine", mine.get("benchmark").getAsString());
        assertEquals(3, mine.get("turns").getAsInt());

        run("export", "--drafter", drafter.toString(), "--format", "dflash", "--out", exported.toString());
        JsonObject config = JsonFiles.readObject(exported.resolve("config.json"));
        assertEquals("DFlashDraftModel", config.getAsJsonArray("architectures").get(0).getAsString());
        assertEquals("qwen3", config.get("model_type").getAsString());
        assertEquals(4, config.get("block_size").getAsInt());
        assertEquals(151_669, config.getAsJsonObject("dflash_config").get("mask_token_id").getAsInt());
        assertArrayEquals(trained.featureLayers(), ints(config.getAsJsonObject("dflash_config").get("target_layer_ids")));
        assertEquals(2, config.get("num_target_layers").getAsInt());
        assertEquals(151_936, config.get("vocab_size").getAsInt());
        assertFalse(config.get("tie_word_embeddings").getAsBoolean());
        assertEquals(trained.numLayers(), config.get("num_hidden_layers").getAsInt());
        assertEquals(16, config.get("head_dim").getAsInt());

        // the bf16 file holds each weight rounded to nearest even, and eval reads the folder back
        SafeTensors original = SafeTensors.openFolder(drafter);
        SafeTensors bf16 = SafeTensors.openFolder(exported);
        assertEquals(original.names(), bf16.names());
        for (String name : original.names()) {
            assertEquals("BF16", bf16.entry(name).dtype(), name);
            float[] a = original.readFloats(name), b = bf16.readFloats(name);
            for (int i = 0; i < a.length; i++) {
                assertEquals(HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(a[i])), b[i], name + "[" + i + "]");
            }
        }
        run("eval", "--target", target.toString(), "--drafter", exported.toString(), "--prompts", prompts + ":mine",
                "--max-new-tokens", "8", "--no-baseline");

        // fp32 export, read back through the DFlash path: the same drafter, weight for weight
        Path fp32 = dir.resolve("E32");
        run("export", "--drafter", drafter.toString(), "--format", "dflash", "--dtype", "fp32", "--out", fp32.toString());
        try (Target t = Target.load(target, Device.cpu());
                Drafter before = DrafterCheckpoint.load(drafter, t.model());
                Drafter after = DrafterCheckpoint.load(fp32, t.model())) {
            assertEquals(before.config(), after.config());
            List<String> differing = new ArrayList<>();
            before.parameters().asMap().forEach((name, array) -> {
                if (!array.contentEquals(after.parameters().get(name))) {
                    differing.add(name);
                }
            });
            assertEquals(List.of(), differing);
        }
    }
}
