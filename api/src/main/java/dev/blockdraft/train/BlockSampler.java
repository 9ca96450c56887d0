package dev.blockdraft.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.blockdraft.nn.Ops;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Cuts training blocks out of regenerated sequences: per sequence, many random anchors in the
 * response; each block's queries are [anchor, MASK×(B−1)] and its labels the next B−1 target
 * tokens. One attention mask lets all blocks of a sequence train in one pass while isolating
 * them from each other: a block sees the context strictly before its anchor, and itself.
 *
 * <p>Shapes: S sequences, L padded length, M blocks per sequence, B block size, Q = M·B.
 */
public final class BlockSampler {
    private final int blockSize;
    private final int blocksPerSequence;
    private final int maxLength;
    private final int maskId;
    private final int padId;

    /**
     * Host-side arrays of one batch; {@link #toDevice} moves them to the step's manager.
     * {@code anchors} holds each block's anchor position (S·M), 0 for padding blocks, which see
     * no context.
     */
    public record Batch(int sequences, int length, int blocks, int blockSize, long[] ids, long[] blockIds,
            long[] blockPositions, long[] anchors, long[] labels, float[] slotMask, int realBlocks) {

        /** Device arrays of a batch. */
        public record OnDevice(NDArray ids, NDArray contextPositions, NDArray blockIds, NDArray blockPositions,
                NDArray mask, NDArray labels, NDArray slotMask) {}

        public OnDevice toDevice(NDManager m) {
            return toDevice(m, DataType.FLOAT32);
        }

        /** As {@link #toDevice(NDManager)}, with the additive mask in {@code maskType} (the drafter's compute type). */
        public OnDevice toDevice(NDManager m, DataType maskType) {
            int s = sequences, l = length, q = blocks * blockSize;
            NDArray ids = m.create(this.ids).reshape(s, l);
            NDArray ctxPos = m.arange(0, l).toType(DataType.INT64, false).reshape(1, l).broadcast(s, l);
            return new OnDevice(ids, ctxPos, m.create(blockIds).reshape(s, q), m.create(blockPositions).reshape(s, q),
                    deviceMask(m, maskType), m.create(labels).reshape((long) s * blocks, blockSize - 1),
                    m.create(slotMask).reshape((long) s * blocks, blockSize - 1));
        }

        /**
         * The additive attention mask (S, 1, Q, L+Q), built on the device from the anchors: a query
         * sees context keys before its block's anchor, and the keys of its own block.
         */
        NDArray deviceMask(NDManager m, DataType maskType) {
            int s = sequences, l = length, q = blocks * blockSize;
            long[] queryBlock = new long[q];
            for (int i = 0; i < q; i++) {
                queryBlock[i] = i / blockSize;
            }
            NDArray anchor = m.create(anchors).reshape(s, blocks, 1).repeat(2, blockSize).reshape(s, q, 1); // (S, Q, 1)
            NDArray context = m.arange(0, l).toType(DataType.INT64, false).reshape(1, 1, l).lt(anchor); // (S, Q, L)
            NDArray qb = m.create(queryBlock);
            NDArray sameBlock = qb.reshape(q, 1).eq(qb.reshape(1, q)).expandDims(0).repeat(0, s); // (S, Q, Q)
            NDArray allowed = context.concat(sameBlock, 2).reshape(s, 1, q, l + q);
            return Ops.additiveMask(allowed, maskType);
        }

        /** The same mask on the host, true = may attend, laid out (S, Q, L+Q) (for tests and inspection). */
        public boolean[] allowed() {
            int s = sequences, l = length, q = blocks * blockSize;
            boolean[] out = new boolean[s * q * (l + q)];
            for (int r = 0; r < s; r++) {
                for (int qi = 0; qi < q; qi++) {
                    int block = qi / blockSize;
                    int rowBase = (r * q + qi) * (l + q);
                    long anchor = anchors[r * blocks + block];
                    for (int c = 0; c < anchor; c++) {
                        out[rowBase + c] = true;
                    }
                    for (int k = 0; k < blockSize; k++) {
                        out[rowBase + l + block * blockSize + k] = true;
                    }
                }
            }
            return out;
        }

        /** Labelled slots in the batch (the tokens the drafter is scored on). */
        public int labelledSlots() {
            int n = 0;
            for (float f : slotMask) {
                n += f > 0 ? 1 : 0;
            }
            return n;
        }
    }

    public BlockSampler(int blockSize, int blocksPerSequence, int maxLength, int maskId, int padId) {
        if (blockSize < 2) {
            throw new IllegalArgumentException("block size " + blockSize + " must be >= 2");
        }
        if (blocksPerSequence < 1) {
            throw new IllegalArgumentException("blocks per sequence " + blocksPerSequence + " must be >= 1");
        }
        this.blockSize = blockSize;
        this.blocksPerSequence = blocksPerSequence;
        this.maxLength = maxLength;
        this.maskId = maskId;
        this.padId = padId;
    }

    /** Sequences that can hold at least one anchor with a label inside {@code maxLength}. */
    public List<RegeneratedData.Sequence> usable(List<RegeneratedData.Sequence> seqs) {
        List<RegeneratedData.Sequence> out = new ArrayList<>();
        for (RegeneratedData.Sequence s : seqs) {
            if (s.responseStart() + 1 < Math.min(s.ids().length, maxLength)) {
                out.add(s);
            }
        }
        return out;
    }

    /** A batch of randomly chosen sequences with random anchors (reproducible from the rng). */
    public Batch sample(List<RegeneratedData.Sequence> seqs, int batch, SplittableRandom rng) {
        List<RegeneratedData.Sequence> chosen = new ArrayList<>();
        List<int[]> anchors = new ArrayList<>();
        for (int i = 0; i < batch; i++) {
            RegeneratedData.Sequence s = seqs.get(rng.nextInt(seqs.size()));
            chosen.add(s);
            anchors.add(randomAnchors(s, rng));
        }
        return build(chosen, anchors);
    }

    /** Anchors at every position of the response (strided to fit), for deterministic evaluation. */
    public Batch evenly(List<RegeneratedData.Sequence> seqs) {
        List<int[]> anchors = new ArrayList<>();
        for (RegeneratedData.Sequence s : seqs) {
            int first = s.responseStart();
            int last = Math.min(s.ids().length, maxLength) - 2;
            int count = Math.min(blocksPerSequence, last - first + 1);
            int[] a = new int[count];
            for (int j = 0; j < count; j++) {
                a[j] = count == 1 ? first : first + (int) Math.round((double) j * (last - first) / (count - 1));
            }
            anchors.add(a);
        }
        return build(seqs, anchors);
    }

    private int[] randomAnchors(RegeneratedData.Sequence s, SplittableRandom rng) {
        int first = s.responseStart(); // the first anchor at inference is the first response token
        int last = Math.min(s.ids().length, maxLength) - 2; // needs a label at anchor + 1
        int span = last - first + 1;
        int count = Math.min(blocksPerSequence, span);
        // partial Fisher-Yates over the span: distinct anchors
        int[] pool = new int[span];
        for (int i = 0; i < span; i++) {
            pool[i] = first + i;
        }
        for (int i = 0; i < count; i++) {
            int j = i + rng.nextInt(span - i);
            int t = pool[i];
            pool[i] = pool[j];
            pool[j] = t;
        }
        int[] a = java.util.Arrays.copyOf(pool, count);
        java.util.Arrays.sort(a);
        return a;
    }

    private Batch build(List<RegeneratedData.Sequence> seqs, List<int[]> anchors) {
        int s = seqs.size(), b = blockSize, m = blocksPerSequence, q = m * b;
        int l = 1;
        for (RegeneratedData.Sequence seq : seqs) {
            l = Math.max(l, Math.min(seq.ids().length, maxLength));
        }
        long[] ids = new long[s * l];
        long[] blockIds = new long[s * q];
        long[] blockPos = new long[s * q];
        long[] anchorOf = new long[s * m];
        long[] labels = new long[s * m * (b - 1)];
        float[] slotMask = new float[s * m * (b - 1)];
        int real = 0;
        for (int r = 0; r < s; r++) {
            int[] seq = seqs.get(r).ids();
            int len = Math.min(seq.length, maxLength);
            for (int i = 0; i < l; i++) {
                ids[r * l + i] = i < len ? seq[i] : padId;
            }
            int[] a = anchors.get(r);
            for (int j = 0; j < m; j++) {
                boolean isReal = j < a.length;
                int anchor = isReal ? a[j] : 0;
                real += isReal ? 1 : 0;
                anchorOf[r * m + j] = anchor;
                for (int i = 0; i < b; i++) {
                    int qi = j * b + i;
                    blockIds[r * q + qi] = i == 0 ? (isReal ? seq[anchor] : padId) : maskId;
                    blockPos[r * q + qi] = anchor + i;
                    if (i > 0) {
                        int slot = (r * m + j) * (b - 1) + (i - 1);
                        int target = anchor + i;
                        boolean labelled = isReal && target < len;
                        labels[slot] = labelled ? seq[target] : 0;
                        slotMask[slot] = labelled ? 1f : 0f;
                    }
                }
            }
        }
        return new Batch(s, l, m, b, ids, blockIds, blockPos, anchorOf, labels, slotMask, real);
    }
}
