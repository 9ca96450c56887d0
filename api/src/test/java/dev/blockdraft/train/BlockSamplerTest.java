package dev.blockdraft.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.blockdraft.draft.BlockBatch;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class BlockSamplerTest {
    static final int MASK = 99, PAD = 98;

    private static long[] blockIds(BlockBatch b) {
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            return b.toDevice(m).blockIds().toLongArray();
        }
    }

    private static long[] blockPositions(BlockBatch b) {
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            return b.toDevice(m).blockPositions().toLongArray();
        }
    }

    @Test
    void blocksSeeOnlyContextBeforeTheirAnchorAndThemselves() {
        // prompt 0..2, response from position 3; one sequence of 8 tokens
        RegeneratedData.Sequence seq = new RegeneratedData.Sequence(new int[] {10, 11, 12, 13, 14, 15, 16, 17}, 3);
        BlockSampler sampler = new BlockSampler(3, 2, 64, MASK, PAD);
        BlockBatch b = sampler.evenly(List.of(seq));
        // anchors spread over [3, 6]: 3 and 6
        assertEquals(8, b.length());
        assertArrayEquals(new long[] {13, MASK, MASK, 16, MASK, MASK}, blockIds(b));
        assertArrayEquals(new long[] {3, 4, 5, 6, 7, 8}, blockPositions(b));
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
        List<RegeneratedData.Sequence> seqs = List.of(
                new RegeneratedData.Sequence(new int[30], 4), new RegeneratedData.Sequence(new int[9], 6));
        for (int rowQueries : new int[] {512, 8}) { // one row per sequence; rows of two blocks
            BlockSampler sampler = new BlockSampler(4, 5, 64, MASK, PAD, rowQueries); // the short one gets padding blocks
            BlockBatch b = sampler.sample(seqs, 3, new SplittableRandom(2));
            try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
                float[] additive = b.deviceMask(m, DataType.FLOAT32).toFloatArray();
                boolean[] host = b.allowed();
                assertEquals(host.length, additive.length);
                for (int i = 0; i < host.length; i++) {
                    assertEquals(host[i], additive[i] == 0f, "mask entry " + i + " with rows of " + rowQueries);
                }
            }
        }
    }

    /**
     * Dense anchors (every response position), laid out in rows of a few blocks: each block's
     * queries see exactly the per-block definition — context keys strictly before its anchor and
     * its own B queries — and nothing of any other block, in whatever row it sits.
     */
    @Test
    void denseAnchorMaskEqualsThePerBlockDefinition() {
        SplittableRandom r = new SplittableRandom(3);
        List<RegeneratedData.Sequence> seqs = new ArrayList<>();
        for (int len : new int[] {41, 23, 30}) {
            int[] ids = new int[len];
            for (int i = 0; i < len; i++) {
                ids[i] = r.nextInt(90);
            }
            seqs.add(new RegeneratedData.Sequence(ids, 5 + len % 4));
        }
        int blockSize = 4;
        BlockSampler sampler = new BlockSampler(blockSize, BlockSampler.ALL, 64, MASK, PAD, 3 * blockSize);
        BlockBatch b = sampler.sample(seqs, 4, new SplittableRandom(9));
        assertEquals(3, b.rowBlocks());
        int l = b.length(), q = b.rowQueries(), keys = l + q;
        boolean[] allowed = b.allowed();
        int real = 0;
        for (int s = 0; s < b.sequences(); s++) {
            for (int blk = 0; blk < b.blocks(); blk++) {
                int global = s * b.blocks() + blk;
                int row = global / b.rowBlocks(), inRow = global % b.rowBlocks();
                long anchor = b.anchors()[global];
                boolean isReal = blk == 0 || anchor > 0;
                real += isReal ? 1 : 0;
                for (int i = 0; i < blockSize; i++) {
                    int query = row * q + inRow * blockSize + i;
                    for (int c = 0; c < l; c++) {
                        assertEquals(c < anchor, allowed[query * keys + c], "block " + global + " context " + c);
                    }
                    for (int k = 0; k < q; k++) {
                        boolean own = k / blockSize == inRow;
                        assertEquals(own, allowed[query * keys + l + k], "block " + global + " row key " + k);
                    }
                }
            }
        }
        assertEquals(real, b.realBlocks());
        // every response position of every sampled sequence is an anchor exactly once
        int expected = 0;
        for (int s = 0; s < b.sequences(); s++) {
            java.util.Set<Long> seen = new java.util.HashSet<>();
            for (int blk = 0; blk < b.blocks(); blk++) {
                long a = b.anchors()[s * b.blocks() + blk];
                if (blk == 0 || a > 0) {
                    assertTrue(seen.add(a), "anchor " + a + " twice");
                }
            }
            expected += seen.size();
            assertEquals(seen.size(), seen.stream().filter(a -> a >= 5).count(), "anchors inside the response");
        }
        assertEquals(expected, b.realBlocks());
    }

    @Test
    void randomAnchorsAreDistinctAndInsideTheResponse() {
        RegeneratedData.Sequence seq = new RegeneratedData.Sequence(new int[40], 10);
        BlockSampler sampler = new BlockSampler(4, 8, 64, MASK, PAD);
        BlockBatch b = sampler.sample(List.of(seq), 3, new SplittableRandom(5));
        assertEquals(3 * 8, b.realBlocks());
        for (long anchor : b.anchors()) {
            assertTrue(anchor >= 10 && anchor <= 38, "anchor " + anchor);
        }
        // same rng seed → same batch (resumed runs see the same data)
        BlockBatch again = sampler.sample(List.of(seq), 3, new SplittableRandom(5));
        assertArrayEquals(b.anchors(), again.anchors());
    }

    /**
     * Greedy labels: slot i of the block at anchor a is labelled with the target's greedy token at a+i while the
     * sequence's tokens a+1..a+i−1 are the greedy ones, masked from the first departure on; checked against
     * that rule written out per slot, on every anchor of sequences that leave and rejoin greedy decoding.
     */
    @Test
    void greedyLabelsFollowTheGreedyPathUntilTheSequenceLeavesIt() {
        SplittableRandom rng = new SplittableRandom(3);
        List<RegeneratedData.Sequence> seqs = new ArrayList<>();
        for (int n = 0; n < 5; n++) {
            int len = 9 + n * 3;
            int[] ids = new int[len];
            int[] greedy = new int[len];
            greedy[0] = -1;
            for (int p = 0; p < len; p++) {
                ids[p] = 20 + rng.nextInt(6);
                if (p > 0) {
                    greedy[p] = rng.nextInt(3) == 0 ? 20 + rng.nextInt(6) : ids[p]; // mostly on the greedy path
                }
            }
            seqs.add(new RegeneratedData.Sequence(ids, 2 + n % 3, greedy));
        }
        int b = 5;
        BlockSampler sampler = new BlockSampler(b, BlockSampler.ALL, 64, MASK, PAD);
        BlockBatch batch = sampler.evenly(seqs);
        int k = b - 1, departures = 0, labelled = 0;
        for (int s = 0; s < seqs.size(); s++) {
            int[] ids = seqs.get(s).ids(), greedy = seqs.get(s).greedyNext();
            for (int j = 0; j < batch.blocks(); j++) {
                int slot0 = (s * batch.blocks() + j) * k;
                int a = (int) batch.anchors()[s * batch.blocks() + j];
                boolean real = j < ids.length - 1 - seqs.get(s).responseStart(); // every response position anchors a block
                for (int i = 1; i < b; i++) {
                    boolean onPath = true;
                    for (int q = 1; q < i; q++) {
                        onPath &= a + q < ids.length && ids[a + q] == greedy[a + q];
                    }
                    boolean expectLabel = real && a + i < ids.length && onPath;
                    assertEquals(expectLabel ? 1f : 0f, batch.slotMask()[slot0 + i - 1], "sequence " + s + " anchor " + a + " slot " + i);
                    if (expectLabel) {
                        assertEquals(greedy[a + i], batch.labels()[slot0 + i - 1], "label, sequence " + s + " anchor " + a + " slot " + i);
                        labelled++;
                    } else if (real && a + i < ids.length) {
                        departures++;
                    }
                }
            }
        }
        assertTrue(labelled > 40 && departures > 10, "labelled slots " + labelled + ", slots past a departure " + departures);
        // without greedy tokens the same sequences give their own next tokens
        List<RegeneratedData.Sequence> plain = new ArrayList<>();
        for (RegeneratedData.Sequence seq : seqs) {
            plain.add(new RegeneratedData.Sequence(seq.ids(), seq.responseStart()));
        }
        BlockBatch own = sampler.evenly(plain);
        for (int slot = 0; slot < own.labels().length; slot++) {
            if (own.slotMask()[slot] > 0) {
                int s = slot / (own.blocks() * k), j = (slot / k) % own.blocks(), i = slot % k + 1;
                assertEquals(seqs.get(s).ids()[(int) own.anchors()[s * own.blocks() + j] + i], own.labels()[slot]);
            }
        }
    }
}
