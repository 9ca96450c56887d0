package dev.blockdraft.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class BlockSamplerTest {
    static final int MASK = 99, PAD = 98;

    @Test
    void blocksSeeOnlyContextBeforeTheirAnchorAndThemselves() {
        // prompt 0..2, response from position 3; one sequence of 8 tokens
        RegeneratedData.Sequence seq = new RegeneratedData.Sequence(new int[] {10, 11, 12, 13, 14, 15, 16, 17}, 3);
        BlockSampler sampler = new BlockSampler(3, 2, 64, MASK, PAD);
        BlockSampler.Batch b = sampler.evenly(List.of(seq));
        // anchors spread over [3, 6]: 3 and 6
        assertEquals(8, b.length());
        assertArrayEquals(new long[] {13, MASK, MASK, 16, MASK, MASK}, b.blockIds());
        assertArrayEquals(new long[] {3, 4, 5, 6, 7, 8}, b.blockPositions());
        // labels: block at 3 → 14, 15; block at 6 → 17 and a slot past the end (masked)
        assertArrayEquals(new long[] {14, 15, 17, 0}, b.labels());
        assertArrayEquals(new float[] {1, 1, 1, 0}, b.slotMask());
        int keys = b.length() + 6;
        // query 1 (slot of block 0, anchor 3): context 0..2 only, and block 0's keys
        for (int c = 0; c < 8; c++) {
            assertEquals(c < 3, b.allowed()[1 * keys + c], "context key " + c);
        }
        assertTrue(b.allowed()[1 * keys + 8] && b.allowed()[1 * keys + 9] && b.allowed()[1 * keys + 10]);
        assertFalse(b.allowed()[1 * keys + 11], "blocks are isolated from each other");
        // query 4 (slot of block 1, anchor 6): context 0..5, not 6 (the anchor itself) or later
        for (int c = 0; c < 8; c++) {
            assertEquals(c < 6, b.allowed()[4 * keys + c], "context key " + c);
        }
        assertFalse(b.allowed()[4 * keys + 8], "block 1 does not see block 0");
        assertTrue(b.allowed()[4 * keys + 11]);
    }

    @Test
    void deviceMaskEqualsTheHostDefinition() {
        java.util.List<RegeneratedData.Sequence> seqs = java.util.List.of(
                new RegeneratedData.Sequence(new int[30], 4), new RegeneratedData.Sequence(new int[9], 6));
        BlockSampler sampler = new BlockSampler(4, 5, 64, MASK, PAD); // the short sequence gets padding blocks
        BlockSampler.Batch b = sampler.sample(seqs, 3, new java.util.SplittableRandom(2));
        try (ai.djl.ndarray.NDManager m = ai.djl.ndarray.NDManager.newBaseManager(ai.djl.Device.cpu())) {
            float[] additive = b.deviceMask(m, ai.djl.ndarray.types.DataType.FLOAT32).toFloatArray();
            boolean[] host = b.allowed();
            assertEquals(host.length, additive.length);
            for (int i = 0; i < host.length; i++) {
                assertEquals(host[i], additive[i] == 0f, "mask entry " + i);
            }
        }
    }

    @Test
    void randomAnchorsAreDistinctAndInsideTheResponse() {
        RegeneratedData.Sequence seq = new RegeneratedData.Sequence(new int[40], 10);
        BlockSampler sampler = new BlockSampler(4, 8, 64, MASK, PAD);
        BlockSampler.Batch b = sampler.sample(List.of(seq), 3, new java.util.SplittableRandom(5));
        assertEquals(3 * 8, b.realBlocks());
        for (int i = 0; i < b.blockPositions().length; i += 4) {
            long anchor = b.blockPositions()[i];
            assertTrue(anchor >= 10 && anchor <= 38, "anchor " + anchor);
        }
        // same rng seed → same batch (resumed runs see the same data)
        BlockSampler.Batch again = sampler.sample(List.of(seq), 3, new java.util.SplittableRandom(5));
        assertArrayEquals(b.blockPositions(), again.blockPositions());
    }
}
