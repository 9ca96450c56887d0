package dev.blockdraft.train.objective;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.Objects;

/**
 * The supervision for one training step of a block-diffusion drafter: N blocks of K = B−1
 * predicted slots each (slot k = 1..K follows the block's anchor).
 *
 * <p>Preconditions the caller guarantees (not checked, checking would cost a host sync): within a
 * block a valid slot never follows an invalid one, i.e. each row of {@code slotMask} is a run of
 * ones followed by zeros; labels at valid slots lie in [0, V). Labels at invalid slots are
 * ignored (any value, e.g. −100 padding, is fine).
 *
 * @param labels (N, K) int64, the target model's tokens y_k
 * @param slotMask (N, K) float32, 1 where the slot has a label, 0 where the block ran past the
 *     end of the response
 * @param targetProbs (N, K, V) float32, the target's distributions p_k, or null when only greedy
 *     labels are available
 * @param sequences how many training sequences the N blocks were cut from (D-PACE normalises
 *     by it); 0 when unknown, and then each block counts as its own sequence
 */
public record DraftBatch(NDArray labels, NDArray slotMask, NDArray targetProbs, int sequences) {

    public DraftBatch {
        Objects.requireNonNull(labels, "labels");
        Objects.requireNonNull(slotMask, "slotMask");
        Shape ls = labels.getShape();
        if (ls.dimension() != 2) {
            throw new IllegalArgumentException("labels must be (N, K), got " + ls);
        }
        if (labels.getDataType() != DataType.INT64) {
            throw new IllegalArgumentException("labels must be int64, got " + labels.getDataType());
        }
        if (!slotMask.getShape().equals(ls)) {
            throw new IllegalArgumentException("slotMask shape " + slotMask.getShape() + " != labels shape " + ls);
        }
        if (slotMask.getDataType() != DataType.FLOAT32) {
            throw new IllegalArgumentException("slotMask must be float32, got " + slotMask.getDataType());
        }
        if (targetProbs != null) {
            Shape ps = targetProbs.getShape();
            if (ps.dimension() != 3 || ps.get(0) != ls.get(0) || ps.get(1) != ls.get(1)) {
                throw new IllegalArgumentException("targetProbs must be (N, K, V) with (N, K) = " + ls + ", got " + ps);
            }
            if (targetProbs.getDataType() != DataType.FLOAT32) {
                throw new IllegalArgumentException("targetProbs must be float32, got " + targetProbs.getDataType());
            }
        }
        if (sequences < 0) {
            throw new IllegalArgumentException("sequences=" + sequences + " must be >= 0");
        }
    }

    /** A batch without target distributions (greedy acceptance a_k = q_k(y_k)). */
    public DraftBatch(NDArray labels, NDArray slotMask) {
        this(labels, slotMask, null, 0);
    }

    public DraftBatch(NDArray labels, NDArray slotMask, NDArray targetProbs) {
        this(labels, slotMask, targetProbs, 0);
    }

    /** This batch, recording that its blocks come from {@code count} sequences. */
    public DraftBatch withSequences(int count) {
        return new DraftBatch(labels, slotMask, targetProbs, count);
    }

    /** The number of source sequences: {@link #sequences} when known, else N (one per block). */
    public int sequenceCount() {
        return sequences > 0 ? sequences : blocks();
    }

    /**
     * Builds a batch from host arrays; block i has its first {@code validSlots[i]} slots valid,
     * which guarantees the prefix invariant of the mask. Arrays are created in {@code manager}
     * (pass the per-step manager).
     */
    public static DraftBatch of(NDManager manager, long[][] labels, int[] validSlots) {
        int n = labels.length;
        if (validSlots.length != n) {
            throw new IllegalArgumentException("validSlots has " + validSlots.length + " entries for " + n + " blocks");
        }
        int k = n == 0 ? 0 : labels[0].length;
        long[] flat = new long[n * k];
        float[] mask = new float[n * k];
        for (int i = 0; i < n; i++) {
            if (labels[i].length != k) {
                throw new IllegalArgumentException("block " + i + " has " + labels[i].length + " labels, block 0 has " + k);
            }
            if (validSlots[i] < 0 || validSlots[i] > k) {
                throw new IllegalArgumentException("validSlots[" + i + "]=" + validSlots[i] + " must be in [0, " + k + "]");
            }
            System.arraycopy(labels[i], 0, flat, i * k, k);
            for (int j = 0; j < validSlots[i]; j++) {
                mask[i * k + j] = 1f;
            }
        }
        Shape shape = new Shape(n, k);
        return new DraftBatch(manager.create(flat, shape), manager.create(mask, shape));
    }

    /** This batch with the target's distributions p (N, K, V) float32 attached. */
    public DraftBatch withTargetProbs(NDArray probs) {
        return new DraftBatch(labels, slotMask, probs, sequences);
    }

    /** N, the number of blocks. */
    public int blocks() {
        return Math.toIntExact(labels.getShape().get(0));
    }

    /** K = B−1, the number of predicted slots per block. */
    public int slots() {
        return Math.toIntExact(labels.getShape().get(1));
    }
}
