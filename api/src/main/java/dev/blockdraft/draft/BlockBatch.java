package dev.blockdraft.draft;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.blockdraft.nn.Ops;

/**
 * The drafter's training input: S sequences, each with M blocks at chosen anchors, as host
 * arrays; {@link #toDevice} moves them to a step's manager.
 *
 * <p>Block m of sequence s drafts positions anchor+1..anchor+B−1 from the queries
 * [token at anchor, MASK×(B−1)]; it sees the target's features strictly before its anchor, and
 * its own B queries. Many blocks share one target forward per sequence. So that memory stays
 * bounded with hundreds of blocks per sequence, the blocks of a sequence are laid out in rows of
 * {@code rowBlocks} blocks: each row is one attention problem with its own copy of the
 * sequence's context and a mask (rows, 1, rowBlocks·B, L + rowBlocks·B) — blocks in other rows
 * are not keys at all, blocks in the same row are masked out. The rows change where the work is
 * done, not what is computed: every block's logits are those of the per-block definition.
 *
 * <p>Shapes: S sequences, L padded length, M blocks per sequence (a multiple of rowBlocks,
 * padding blocks where a sequence has fewer), B block size, K = B−1 slots, R = S·M/rowBlocks rows.
 *
 * @param ids (S·L) context tokens, padded with the pad id
 * @param anchors (S·M) each block's anchor position; 0 for padding blocks, which see no context
 * @param anchorTokens (S·M) the token at each anchor (the pad id for padding blocks)
 * @param labels (S·M·K) the tokens at anchor+1..anchor+K (0 where unlabelled)
 * @param slotMask (S·M·K) 1 where a slot has a label inside the sequence, 0 elsewhere
 * @param realBlocks how many of the S·M blocks are real (not padding)
 */
public record BlockBatch(int sequences, int length, int blocks, int blockSize, int rowBlocks, int maskId, long[] ids,
        long[] anchors, long[] anchorTokens, long[] labels, float[] slotMask, int realBlocks) {

    public BlockBatch {
        if (rowBlocks < 1 || blocks % rowBlocks != 0) {
            throw new IllegalArgumentException("blocks per sequence " + blocks + " must be a multiple of row blocks " + rowBlocks);
        }
        if (ids.length != sequences * length || anchors.length != sequences * blocks
                || labels.length != sequences * blocks * (blockSize - 1) || slotMask.length != labels.length) {
            throw new IllegalArgumentException("array lengths do not match S=" + sequences + ", L=" + length + ", M="
                    + blocks + ", B=" + blockSize);
        }
    }

    /**
     * Blocks at the given anchors of each sequence (each list sorted or not, positions < the
     * sequence's length); sequences are cut at {@code maxLength}; rows hold ⌊rowQueries/B⌋ blocks.
     */
    public static BlockBatch of(java.util.List<int[]> sequences, java.util.List<int[]> anchors, int blockSize, int maxLength,
            int maskId, int padId, int rowQueries) {
        return of(sequences, anchors, null, blockSize, maxLength, maskId, padId, rowQueries);
    }

    /**
     * As {@link #of(java.util.List, java.util.List, int, int, int, int, int)}, the labels taken from
     * {@code greedyNext} where given (per sequence, the target's greedy token at each position after the tokens
     * before it; null: the sequence's own tokens): slot i of the block at anchor a is labelled greedyNext[a+i]
     * only while the sequence follows greedy decoding inside the block (ids[a+j] = greedyNext[a+j] for every
     * 0 < j < i), so each label is the token greedy verification compares that slot's draft with.
     */
    public static BlockBatch of(java.util.List<int[]> sequences, java.util.List<int[]> anchors,
            java.util.List<int[]> greedyNext, int blockSize, int maxLength, int maskId, int padId, int rowQueries) {
        int s = sequences.size(), b = blockSize, k = b - 1;
        int most = 1;
        for (int[] a : anchors) {
            most = Math.max(most, a.length);
        }
        int rowBlocks = Math.min(most, Math.max(1, rowQueries / b));
        int m = (most + rowBlocks - 1) / rowBlocks * rowBlocks; // blocks per sequence, padded to whole rows
        int l = 1;
        for (int[] seq : sequences) {
            l = Math.max(l, Math.min(seq.length, maxLength));
        }
        long[] ids = new long[s * l];
        long[] anchorOf = new long[s * m];
        long[] anchorTokens = new long[s * m];
        long[] labels = new long[s * m * k];
        float[] slotMask = new float[s * m * k];
        int real = 0;
        for (int r = 0; r < s; r++) {
            int[] seq = sequences.get(r);
            int len = Math.min(seq.length, maxLength);
            for (int i = 0; i < l; i++) {
                ids[r * l + i] = i < len ? seq[i] : padId;
            }
            int[] a = anchors.get(r);
            int[] greedy = greedyNext == null ? null : greedyNext.get(r);
            for (int j = 0; j < m; j++) {
                boolean isReal = j < a.length;
                int anchor = isReal ? a[j] : 0;
                real += isReal ? 1 : 0;
                anchorOf[r * m + j] = anchor;
                anchorTokens[r * m + j] = isReal ? seq[anchor] : padId;
                boolean onGreedyPath = true; // the block's tokens so far are greedy decoding's
                for (int i = 1; i < b; i++) {
                    int slot = (r * m + j) * k + (i - 1);
                    int target = anchor + i;
                    boolean labelled = isReal && target < len;
                    int label = labelled ? seq[target] : 0;
                    if (greedy != null && labelled) {
                        labelled = onGreedyPath && greedy[target] >= 0;
                        label = labelled ? greedy[target] : 0;
                        onGreedyPath &= seq[target] == greedy[target];
                    }
                    labels[slot] = label;
                    slotMask[slot] = labelled ? 1f : 0f;
                }
            }
        }
        return new BlockBatch(s, l, m, b, rowBlocks, maskId, ids, anchorOf, anchorTokens, labels, slotMask, real);
    }

    /** Device arrays of a batch; see {@link Drafter#slotLogits(ai.djl.ndarray.NDArray, OnDevice)}. */
    public record OnDevice(int sequences, int rowsPerSequence, NDArray ids, NDArray contextPositions, NDArray blockIds,
            NDArray blockPositions, NDArray mask, NDArray labels, NDArray slotMask) {}

    /** Rows per sequence (M / rowBlocks). */
    public int rowsPerSequence() {
        return blocks / rowBlocks;
    }

    /** Queries per row (rowBlocks·B). */
    public int rowQueries() {
        return rowBlocks * blockSize;
    }

    public OnDevice toDevice(NDManager m) {
        return toDevice(m, DataType.FLOAT32);
    }

    /** As {@link #toDevice(NDManager)}, with the additive mask in {@code maskType} (the drafter's compute type). */
    public OnDevice toDevice(NDManager m, DataType maskType) {
        int s = sequences, l = length, b = blockSize, rows = s * rowsPerSequence(), q = rowQueries();
        long[] blockIds = new long[s * blocks * b];
        long[] blockPositions = new long[blockIds.length];
        for (int blk = 0; blk < s * blocks; blk++) {
            for (int i = 0; i < b; i++) {
                blockIds[blk * b + i] = i == 0 ? anchorTokens[blk] : maskId;
                blockPositions[blk * b + i] = anchors[blk] + i;
            }
        }
        NDArray idArray = m.create(ids).reshape(s, l);
        NDArray ctxPos = m.arange(0, l).toType(DataType.INT64, false).reshape(1, l).broadcast(s, l);
        return new OnDevice(s, rowsPerSequence(), idArray, ctxPos, m.create(blockIds).reshape(rows, q),
                m.create(blockPositions).reshape(rows, q), deviceMask(m, maskType),
                m.create(labels).reshape((long) s * blocks, b - 1), m.create(slotMask).reshape((long) s * blocks, b - 1));
    }

    /**
     * The additive attention mask (R, 1, Q, L+Q), Q = rowBlocks·B, built on the device from the
     * anchors: a query sees context keys before its block's anchor, and the keys of its own block.
     */
    public NDArray deviceMask(NDManager m, DataType maskType) {
        int rows = sequences * rowsPerSequence(), l = length, q = rowQueries();
        long[] queryBlock = new long[q];
        for (int i = 0; i < q; i++) {
            queryBlock[i] = i / blockSize;
        }
        NDArray anchor = m.create(anchors).reshape(rows, rowBlocks, 1).repeat(2, blockSize).reshape(rows, q, 1); // (R, Q, 1)
        NDArray context = m.arange(0, l).toType(DataType.INT64, false).reshape(1, 1, l).lt(anchor); // (R, Q, L)
        NDArray qb = m.create(queryBlock);
        NDArray sameBlock = qb.reshape(q, 1).eq(qb.reshape(1, q)).expandDims(0).repeat(0, rows); // (R, Q, Q)
        NDArray allowed = context.concat(sameBlock, 2).reshape(rows, 1, q, l + q);
        return Ops.additiveMask(allowed, maskType);
    }

    /**
     * The same mask on the host, true = may attend, laid out (R, Q, L+Q) with the row layout of
     * {@link #deviceMask} (for tests and inspection).
     */
    public boolean[] allowed() {
        int rows = sequences * rowsPerSequence(), l = length, q = rowQueries();
        boolean[] out = new boolean[rows * q * (l + q)];
        for (int r = 0; r < rows; r++) {
            for (int qi = 0; qi < q; qi++) {
                int inRow = qi / blockSize;
                int rowBase = (r * q + qi) * (l + q);
                long anchor = anchors[r * rowBlocks + inRow];
                for (int c = 0; c < anchor; c++) {
                    out[rowBase + c] = true;
                }
                for (int k = 0; k < blockSize; k++) {
                    out[rowBase + l + inRow * blockSize + k] = true;
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
