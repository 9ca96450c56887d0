package dev.blockdraft.draft;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import dev.blockdraft.io.BadInputException;
import dev.blockdraft.lm.LlamaConfig;
import dev.blockdraft.lm.LlamaModel;
import dev.blockdraft.lm.TargetFingerprint;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A drafter records which target it was trained for; another target of the same shape is refused unless forced. */
class TargetFingerprintTest {
    @TempDir
    Path dir;

    static final LlamaConfig TARGET = LlamaConfig.llama(40, 32, 48, 4, 4, 2, 128);

    @Test
    void aDrafterLoadsOnlyWithTheTargetItWasTrainedForUnlessForced() throws IOException {
        Path folder = dir.resolve("d");
        try (LlamaModel trainedFor = LlamaModel.initialize(TARGET, Device.cpu(), 1);
                LlamaModel sameShape = LlamaModel.initialize(TARGET, Device.cpu(), 2);
                LlamaModel otherEos = LlamaModel.initialize(TARGET.withSpecialTokens(0, 3), Device.cpu(), 1);
                Drafter d = Drafter.initialize(DrafterConfig.forTarget(TARGET, "t", 4, 5, ai.djl.Device.cpu()), trainedFor, 9)) {
            DrafterCheckpoint.save(d, folder, Map.of(), x -> { });
            assertTrue(Files.exists(folder.resolve(TargetFingerprint.FILE)));
            DrafterCheckpoint.load(folder, trainedFor).close();
            byte[] weights = Files.readAllBytes(folder.resolve("model.safetensors"));

            BadInputException e = assertThrows(BadInputException.class, () -> DrafterCheckpoint.load(folder, sameShape));
            assertMessage(e, folder.toString(), "trained for another target", "embedding weights sha256", "--force");
            e = assertThrows(BadInputException.class, () -> DrafterCheckpoint.load(folder, otherEos));
            assertMessage(e, "eos_token_id 1 vs 3");
            assertFalse(e.getMessage().contains("embedding weights"), "same weights: only the config differs");

            try (Drafter forced = DrafterCheckpoint.load(folder, sameShape, true)) {
                assertTrue(forced.parameters().parameterCount() > 0, "--force loads it anyway");
            }
            assertArrayEquals(weights, Files.readAllBytes(folder.resolve("model.safetensors")), "loading only reads");
        }
    }

    private static void assertMessage(BadInputException e, String... parts) {
        for (String part : parts) {
            assertTrue(e.getMessage().contains(part), "'" + part + "' in: " + e.getMessage());
        }
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
    }
}
