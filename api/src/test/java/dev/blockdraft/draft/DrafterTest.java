package dev.blockdraft.draft;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import dev.blockdraft.io.BadInputException;
import dev.blockdraft.lm.LlamaConfig;
import dev.blockdraft.lm.LlamaModel;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DrafterTest {
    @TempDir
    Path dir;

    static LlamaConfig target() {
        return LlamaConfig.llama(40, 32, 48, 4, 4, 2, 128);
    }

    @Test
    void saveLoadRoundTripKeepsConfigAndWeights() {
        try (LlamaModel t = LlamaModel.initialize(target(), Device.cpu(), 1);
                Drafter d = Drafter.initialize(DrafterConfig.forTarget(t.config(), "t", 4, 5).withLayers(2), t, 9)) {
            DrafterCheckpoint.save(d, dir.resolve("d"), Map.of(), x -> { });
            try (Drafter loaded = DrafterCheckpoint.load(dir.resolve("d"), t)) {
                assertEquals(d.config(), loaded.config());
                assertEquals(4, loaded.config().blockSize());
                assertArrayEquals(d.config().featureLayers(), loaded.config().featureLayers());
                for (String name : d.parameters().names()) {
                    assertArrayEquals(d.parameters().get(name).toFloatArray(), loaded.parameters().get(name).toFloatArray(), 0f);
                }
            }
        }
    }

    @Test
    void defaultDepthIsOneLayerPerTwoTargetLayersWithinOneToFive() {
        int[][] targetToDrafter = {{1, 1}, {2, 1}, {3, 1}, {4, 2}, {6, 3}, {8, 4}, {12, 5}, {36, 5}};
        for (int[] pair : targetToDrafter) {
            assertEquals(pair[1], DrafterConfig.defaultLayers(pair[0]), "target of " + pair[0] + " layers");
        }
        assertEquals(2, DrafterConfig.forTarget(target(), "t", 4, 5).numLayers(), "the 4-layer test target");
    }

    @Test
    void drafterForAnotherTargetIsAClearError() {
        try (LlamaModel t = LlamaModel.initialize(target(), Device.cpu(), 1);
                Drafter d = Drafter.initialize(DrafterConfig.forTarget(t.config(), "t", 4, 5), t, 9)) {
            DrafterCheckpoint.save(d, dir.resolve("d"), Map.of(), x -> { });
        }
        try (LlamaModel wider = LlamaModel.initialize(LlamaConfig.llama(40, 64, 48, 4, 4, 2, 128), Device.cpu(), 1)) {
            BadInputException e = assertThrows(BadInputException.class, () -> DrafterCheckpoint.load(dir.resolve("d"), wider));
            assertTrue(e.getMessage().contains("hidden_size=32") && e.getMessage().contains("hidden_size=64"), e.getMessage());
        }
        try (LlamaModel bigger = LlamaModel.initialize(LlamaConfig.llama(41, 32, 48, 4, 4, 2, 128), Device.cpu(), 1)) {
            BadInputException e = assertThrows(BadInputException.class, () -> DrafterCheckpoint.load(dir.resolve("d"), bigger));
            assertTrue(e.getMessage().contains("vocab_size=40"), e.getMessage());
        }
        try (LlamaModel shallow = LlamaModel.initialize(LlamaConfig.llama(40, 32, 48, 2, 4, 2, 128), Device.cpu(), 1)) {
            BadInputException e = assertThrows(BadInputException.class, () -> DrafterCheckpoint.load(dir.resolve("d"), shallow));
            assertTrue(e.getMessage().contains("feature_layers") || e.getMessage().contains("num_hidden_layers"), e.getMessage());
        }
    }

    @Test
    void invalidShapesNameTheField() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> DrafterConfig.forTarget(target(), "t", 1, 5));
        assertTrue(e.getMessage().contains("block_size=1 must be >= 2"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> DrafterConfig.forTarget(target(), "t", 4, 5).withFeatureLayers(0, 9));
        assertTrue(e.getMessage().contains("layer 9"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> DrafterConfig.forTarget(target(), "t", 4, 40));
        assertTrue(e.getMessage().contains("mask_token_id=40"), e.getMessage());
    }

    @Test
    void featureLayersSpreadOverTheTarget() {
        assertArrayEquals(new int[] {1, 18, 35}, DrafterConfig.uniformLayers(36, 3));
        assertArrayEquals(new int[] {1, 2, 3}, DrafterConfig.uniformLayers(4, 3));
        assertArrayEquals(new int[] {0, 1}, DrafterConfig.uniformLayers(2, 3));
    }
}
