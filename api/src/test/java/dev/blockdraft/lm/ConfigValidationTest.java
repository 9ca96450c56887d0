package dev.blockdraft.lm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import dev.blockdraft.io.BadInputException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** config.json is checked before anything is allocated: one line naming file, key, value and what is valid. */
class ConfigValidationTest {
    @TempDir
    Path dir;
    Path model;
    String config;

    @BeforeEach
    void saveTinyModel() throws IOException {
        model = dir.resolve("model");
        try (LlamaModel m = LlamaModelTest.randomModel(LlamaModelTest.tiny("llama"), 1)) {
            HfCheckpoint.save(m, model, null, Map.of());
        }
        config = Files.readString(model.resolve(HfCheckpoint.CONFIG));
    }

    @Test
    void fractionalAndOutOfRangeIntegersAreErrorsNotTruncations() throws IOException {
        assertConfigError(config.replace("\"hidden_size\": 32", "\"hidden_size\": 32.7"), "hidden_size=32.7 must be a whole number");
        assertConfigError(config.replace("\"hidden_size\": 32", "\"hidden_size\": 4294967328"),
                "hidden_size=4294967328 is out of range: valid are integers from -2147483648 to 2147483647");
        assertConfigError(config.replace("\"hidden_size\": 32", "\"hidden_size\": \"32\""), "hidden_size=\"32\" must be an integer");
        assertConfigError(config.replace("\"rope_theta\": 10000.0", "\"rope_theta\": [1]"), "rope_theta=[1] must be a number");
    }

    @Test
    void anObjectWhereAStringIsExpectedIsAnError() throws IOException {
        assertConfigError(config.replace("\"model_type\": \"llama\"", "\"model_type\": {\"name\": \"llama\"}"),
                "model_type={\"name\":\"llama\"} must be a string");
        assertConfigError(config.replace("\"hidden_act\": \"silu\"", "\"hidden_act\": {\"a\": 1}"),
                "hidden_act={\"a\":1} is not supported by blockdraft");
    }

    @Test
    void zeroHeadsIsAnErrorNotADivisionByZero() throws IOException {
        assertConfigError(config.replace("\"num_attention_heads\": 4", "\"num_attention_heads\": 0"),
                "num_attention_heads=0 must be > 0");
        assertConfigError(config.replace("\"num_key_value_heads\": 2", "\"num_key_value_heads\": 0"),
                "num_key_value_heads=0 must be > 0");
    }

    @Test
    void aShapeBeyondThisMachinesMemoryFailsAtOnce() throws IOException {
        long t0 = System.nanoTime();
        assertConfigError(config.replace("\"num_hidden_layers\": 2", "\"num_hidden_layers\": 1000000000"),
                "num_hidden_layers=1000000000", "billion parameters, which need ~", "GiB to load in fp32; this machine has");
        assertTrue(System.nanoTime() - t0 < 5_000_000_000L, "refused before any allocation, not at the heap limit");
        assertConfigError(config.replace("\"hidden_size\": 32", "\"hidden_size\": 1000000000")
                .replace("\"head_dim\": 8", "\"head_dim\": 250000000"), "hidden_size=1000000000", "this machine has");
        // the estimate itself: exact against the count for a real shape, and finite for absurd ones
        LlamaConfig tiny = LlamaModelTest.tiny("qwen3");
        assertTrue(Math.abs(tiny.parameterEstimate() - tiny.parameterCount()) < 1e-6);
        assertTrue(Double.isFinite(LlamaConfig.llama(1 << 30, 1 << 30, 1 << 30, 1 << 30, 1, 1, 8).parameterEstimate()));
    }

    private void assertConfigError(String text, String... parts) throws IOException {
        Path file = model.resolve(HfCheckpoint.CONFIG);
        Files.writeString(file, text);
        byte[] before = Files.readAllBytes(file);
        BadInputException e = assertThrows(BadInputException.class, () -> HfCheckpoint.load(model, Device.cpu()).close());
        assertTrue(e.getMessage().startsWith(file.toString()), "names the file: " + e.getMessage());
        for (String part : parts) {
            assertTrue(e.getMessage().contains(part), "'" + part + "' in: " + e.getMessage());
        }
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        assertArrayEquals(before, Files.readAllBytes(file), "config.json is only read");
    }
}
