package dev.blockdraft.draft;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import dev.blockdraft.io.BadInputException;
import dev.blockdraft.lm.LlamaConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DflashConfigTest {

    @TempDir
    Path dir;

    private static final LlamaConfig TARGET = LlamaConfig.qwen3(151_936, 64, 192, 6, 4, 2, 512);

    private Path write(JsonObject json) throws IOException {
        Path file = dir.resolve("config.json");
        Files.writeString(file, json.toString());
        return file;
    }

    @Test
    void roundTripKeepsTheDrafter() throws IOException {
        DrafterConfig c = DrafterConfig.forTarget(TARGET, "t", 16, 151_669, ai.djl.Device.cpu()).withLayers(2).withFeatureLayers(1, 3, 5);
        JsonObject json = DflashConfig.toJson(c, "bfloat16");
        assertEquals("DFlashDraftModel", json.getAsJsonArray("architectures").get(0).getAsString());
        assertEquals(151_669, json.getAsJsonObject("dflash_config").get("mask_token_id").getAsInt());
        assertEquals(6, json.get("num_target_layers").getAsInt());
        assertEquals(c, DflashConfig.read(write(json), TARGET, "other"));
    }

    @Test
    void missingTargetLayerIdsFollowDflashsRule() throws IOException {
        DrafterConfig c = DrafterConfig.forTarget(LlamaConfig.qwen3(151_936, 64, 192, 36, 4, 2, 512), "t", 16, 151_669, ai.djl.Device.cpu())
                .withLayers(5);
        JsonObject json = DflashConfig.toJson(c, "bfloat16");
        json.getAsJsonObject("dflash_config").remove("target_layer_ids");
        // z-lab's Qwen3-8B drafter: 5 layers over a 36-layer target
        assertArrayEquals(new int[] {1, 9, 17, 25, 33},
                DflashConfig.read(write(json), LlamaConfig.qwen3(151_936, 64, 192, 36, 4, 2, 512), "t").featureLayers());
        assertArrayEquals(new int[] {18}, DflashConfig.defaultTargetLayers(36, 1));
    }

    @Test
    void aDrafterForAnotherTargetNamesBothValues() throws IOException {
        JsonObject json = DflashConfig.toJson(DrafterConfig.forTarget(TARGET, "t", 16, 151_669, ai.djl.Device.cpu()), "float32");
        json.addProperty("hidden_size", 4096);
        Path file = write(json);
        BadInputException error = assertThrows(BadInputException.class, () -> DflashConfig.read(file, TARGET, "t"));
        assertTrue(error.getMessage().endsWith("hidden_size=4096 does not match the target's hidden_size=64"), error.getMessage());
        json.addProperty("hidden_size", 64);
        json.addProperty("rope_theta", 10_000.0);
        BadInputException rope = assertThrows(BadInputException.class, () -> DflashConfig.read(write(json), TARGET, "t"));
        assertTrue(rope.getMessage().contains("rope_theta=10000.0 differs from the target's rope_theta=1000000.0"),
                rope.getMessage());
    }
}
