package dev.blockdraft.lm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import dev.blockdraft.io.BadInputException;
import dev.blockdraft.io.SafeTensors;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HfCheckpointTest {
    @TempDir
    Path dir;

    @Test
    void saveThenLoadGivesIdenticalConfigAndWeights() {
        for (String type : new String[] {"llama", "qwen2", "qwen3"}) {
            LlamaConfig config = LlamaModelTest.tiny(type);
            Path folder = dir.resolve(type);
            try (LlamaModel model = LlamaModelTest.randomModel(config, 3)) {
                HfCheckpoint.save(model, folder, null, Map.of());
                try (LlamaModel loaded = HfCheckpoint.load(folder, Device.cpu())) {
                    assertEquals(config, loaded.config());
                    assertEquals(model.parameters().names(), loaded.parameters().names());
                    for (String name : model.parameters().names()) {
                        assertArrayEquals(model.parameters().get(name).toFloatArray(),
                                loaded.parameters().get(name).toFloatArray(), 0f, name);
                    }
                }
            }
        }
    }

    @Test
    void configJsonUsesHuggingFaceKeys() throws IOException {
        String json = LlamaModelTest.tiny("qwen3").toJson();
        for (String key : new String[] {"\"model_type\": \"qwen3\"", "\"hidden_size\"", "\"num_hidden_layers\"",
            "\"num_attention_heads\"", "\"num_key_value_heads\"", "\"intermediate_size\"", "\"rope_theta\"",
            "\"rms_norm_eps\"", "\"vocab_size\"", "\"tie_word_embeddings\"", "\"Qwen3ForCausalLM\""}) {
            assertTrue(json.contains(key), key + " in " + json);
        }
    }

    @Test
    void readsTransformers5RopeParameters() throws IOException {
        String json = LlamaModelTest.tiny("llama").toJson().replace("\"rope_theta\": 10000.0,",
                "\"rope_parameters\": {\"rope_theta\": 500000.0, \"rope_type\": \"default\"},");
        Path file = dir.resolve("config.json");
        Files.writeString(file, json);
        assertEquals(500000.0, LlamaConfig.read(file).ropeTheta());
        Files.writeString(file, json.replace("\"default\"", "\"yarn\""));
        BadInputException e = assertThrows(BadInputException.class, () -> LlamaConfig.read(file));
        assertTrue(e.getMessage().contains("rope_type=yarn"), e.getMessage());
    }

    @Test
    void badCheckpointsGiveOneLineErrorsNamingTheFile() throws IOException {
        LlamaConfig config = LlamaModelTest.tiny("llama");
        Path good = dir.resolve("good");
        try (LlamaModel model = LlamaModelTest.randomModel(config, 1)) {
            HfCheckpoint.save(model, good, null, Map.of());
        }
        // missing config.json
        Path noConfig = copy(good, "no-config");
        Files.delete(noConfig.resolve("config.json"));
        assertError(noConfig, "config.json", "file not found");
        // truncated config.json
        Path truncated = copy(good, "truncated-config");
        String text = Files.readString(truncated.resolve("config.json"));
        Files.writeString(truncated.resolve("config.json"), text.substring(0, text.length() / 2));
        assertError(truncated, "config.json", "malformed or truncated JSON");
        // unknown model_type
        Path unknown = copy(good, "unknown-type");
        Files.writeString(unknown.resolve("config.json"), text.replace("\"llama\"", "\"mamba\""));
        assertError(unknown, "config.json", "unknown model_type 'mamba'");
        // kv heads that do not divide heads
        Path gqa = copy(good, "bad-gqa");
        Files.writeString(gqa.resolve("config.json"), text.replace("\"num_key_value_heads\": 2", "\"num_key_value_heads\": 3"));
        assertError(gqa, "config.json", "num_key_value_heads=3 must divide num_attention_heads=4");
        // missing safetensors
        Path noWeights = copy(good, "no-weights");
        Files.delete(noWeights.resolve("model.safetensors"));
        assertError(noWeights, "no-weights", "no model.safetensors");
        // truncated safetensors
        Path cut = copy(good, "cut-weights");
        byte[] bytes = Files.readAllBytes(cut.resolve("model.safetensors"));
        Files.write(cut.resolve("model.safetensors"), java.util.Arrays.copyOf(bytes, bytes.length - 100));
        assertError(cut, "model.safetensors", "truncated");
        // a tensor of the wrong shape, and a missing tensor
        Path shape = copy(good, "wrong-shape");
        rewriteWeights(shape, "model.norm.weight", new long[] {config.hiddenSize() + 1});
        assertError(shape, "model.safetensors", "'model.norm.weight' has shape [33] but the config needs [32]");
        Path missing = copy(good, "missing-tensor");
        rewriteWeights(missing, "model.norm.weight", null);
        assertError(missing, "model.safetensors", "missing tensor 'model.norm.weight'");
    }

    private static void assertError(Path folder, String fileNamed, String problem) {
        BadInputException e = assertThrows(BadInputException.class, () -> HfCheckpoint.load(folder, Device.cpu()).close());
        assertTrue(e.getMessage().contains(fileNamed), "names the file: " + e.getMessage());
        assertTrue(e.getMessage().contains(problem), "says what is wrong: " + e.getMessage());
        assertTrue(!e.getMessage().contains("\n"), "one line: " + e.getMessage());
    }

    private Path copy(Path from, String name) throws IOException {
        Path to = dir.resolve(name);
        Files.createDirectories(to);
        try (var files = Files.list(from)) {
            for (Path f : files.toList()) {
                Files.copy(f, to.resolve(f.getFileName()));
            }
        }
        return to;
    }

    /** Rewrites model.safetensors with one tensor reshaped (shape != null) or dropped (null). */
    private static void rewriteWeights(Path folder, String name, long[] shape) throws IOException {
        SafeTensors st = SafeTensors.open(folder.resolve("model.safetensors"));
        List<SafeTensors.Tensor> out = new ArrayList<>();
        for (String n : st.names()) {
            float[] v = st.readFloats(n);
            if (!n.equals(name)) {
                out.add(new SafeTensors.Tensor(n, st.entry(n).shape(), v));
            } else if (shape != null) {
                long size = 1;
                for (long d : shape) {
                    size *= d;
                }
                out.add(new SafeTensors.Tensor(n, shape, java.util.Arrays.copyOf(v, (int) size)));
            }
        }
        try (OutputStream o = Files.newOutputStream(folder.resolve("model.safetensors"))) {
            SafeTensors.write(o, out, Map.of(), SafeTensors.Stored.F32);
        }
    }
}
