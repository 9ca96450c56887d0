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
                Drafter d = Drafter.initialize(DrafterConfig.forTarget(t.config(), "t", 4, 5, Device.cpu()).withLayers(2), t, 9)) {
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
    void defaultDepthIsOneLayerPerTwoTargetLayersOnAGpuAndPerFourOnACpuWithinOneToFive() {
        int[][] targetGpuCpu = {{1, 1, 1}, {2, 1, 1}, {4, 2, 1}, {6, 3, 1}, {8, 4, 2}, {12, 5, 3}, {16, 5, 4}, {36, 5, 5}};
        for (int[] row : targetGpuCpu) {
            assertEquals(row[1], DrafterConfig.defaultLayers(row[0], Device.gpu()), "GPU, target of " + row[0] + " layers");
            assertEquals(row[2], DrafterConfig.defaultLayers(row[0], Device.cpu()), "CPU, target of " + row[0] + " layers");
        }
        assertEquals(2, DrafterConfig.forTarget(target(), "t", 4, 5, Device.gpu()).numLayers(), "the 4-layer test target");
        assertEquals(1, DrafterConfig.forTarget(target(), "t", 4, 5, Device.cpu()).numLayers());
    }

    @Test
    void drafterForAnotherTargetIsAClearError() {
        try (LlamaModel t = LlamaModel.initialize(target(), Device.cpu(), 1);
                Drafter d = Drafter.initialize(DrafterConfig.forTarget(t.config(), "t", 4, 5, Device.cpu()), t, 9)) {
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
                () -> DrafterConfig.forTarget(target(), "t", 1, 5, Device.cpu()));
        assertTrue(e.getMessage().contains("block_size=1 must be >= 2"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> DrafterConfig.forTarget(target(), "t", 4, 5, Device.cpu()).withFeatureLayers(0, 9));
        assertTrue(e.getMessage().contains("layer 9"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> DrafterConfig.forTarget(target(), "t", 4, 40, Device.cpu()));
        assertTrue(e.getMessage().contains("mask_token_id=40"), e.getMessage());
    }

    @Test
    void featureLayersSpreadOverTheTarget() {
        assertArrayEquals(new int[] {1, 18, 35}, DrafterConfig.uniformLayers(36, 3));
        assertArrayEquals(new int[] {1, 2, 3}, DrafterConfig.uniformLayers(4, 3));
        assertArrayEquals(new int[] {0, 1}, DrafterConfig.uniformLayers(2, 3));
    }
}
