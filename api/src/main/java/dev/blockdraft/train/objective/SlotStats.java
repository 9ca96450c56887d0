package dev.blockdraft.train.objective;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.Objects;
import dev.blockdraft.nn.Scalars;

/**
 * Per-slot statistics of one batch, computed lazily from the logits and memoised, so that the
 * log-softmax runs once per step however many objectives read it. Not thread-safe (one step,
 * one thread).
 *
 * <p>Masking convention, for every (N, K) array here: quantities that are summed (CE, acceptance,
 * indicators) are 0 at invalid slots; quantities that are multiplied along a block (q, log q,
 * log a) hold the neutral element (q = 1, log = 0) there, so a product over a block's slots
 * only sees its valid slots.
 *
 * <p>Memory: everything derived from the logits lives in the logits' manager (they or arrays
 * derived from them are the first operand); the few casts of the batch's mask and labels live in
 * the batch's manager. Create both in the per-step manager.
 */
public final class SlotStats {
    private static final double TINY = 1e-30;

    private final DraftBatch batch;
    private final NDArray logits;
    private NDArray mask;
    private NDArray safeLabels;
    private NDArray logProbs;
    private NDArray logQ;
    private NDArray q;
    private NDArray ce;
    private NDArray logAcceptance;
    private NDArray acceptance;
    private NDArray correct;
    private NDArray firstError;
    private NDArray validBlocks;

    private SlotStats(DraftBatch batch, NDArray logits) {
        this.batch = batch;
        this.logits = logits;
    }

    /** Validates shapes and wraps; computes nothing yet. */
    public static SlotStats of(DraftBatch batch, NDArray logits) {
        Objects.requireNonNull(batch, "batch");
        Objects.requireNonNull(logits, "logits");
        Shape s = logits.getShape();
        if (s.dimension() != 3 || s.get(0) != batch.blocks() || s.get(1) != batch.slots()) {
            throw new IllegalArgumentException("logits must be (N, K, V) = (" + batch.blocks() + ", "
                    + batch.slots() + ", V), got " + s);
        }
        DataType t = logits.getDataType();
        if (t != DataType.FLOAT32 && t != DataType.FLOAT64) {
            throw new IllegalArgumentException("logits must be float32 (or float64), got " + t);
        }
        if (batch.targetProbs() != null && batch.targetProbs().getShape().get(2) != s.get(2)) {
            throw new IllegalArgumentException("targetProbs vocab " + batch.targetProbs().getShape().get(2)
                    + " != logits vocab " + s.get(2));
        }
        return new SlotStats(batch, logits);
    }

    public DraftBatch batch() {
        return batch;
    }

    public NDArray logits() {
        return logits;
    }

    public int blocks() {
        return batch.blocks();
    }

    public int slots() {
        return batch.slots();
    }

    /** (N, K) slot mask in the logits' floating type: 1 valid, 0 invalid. */
    public NDArray mask() {
        if (mask == null) {
            mask = batch.slotMask().toType(logits.getDataType(), false);
        }
        return mask;
    }

    /** (N, K, V) log q, the drafter's log-softmax over the vocabulary. */
    public NDArray logProbs() {
        if (logProbs == null) {
            logProbs = logits.logSoftmax(-1);
        }
        return logProbs;
    }

    /** (N, K) log q_k(y_k) at valid slots, 0 at invalid ones (labels there are never read). */
    public NDArray logQ() {
        if (logQ == null) {
            logQ = logProbs().gather(safeLabels().expandDims(-1), -1).squeeze(-1).mul(mask());
        }
        return logQ;
    }

    /** (N, K) q_k(y_k) at valid slots, 1 at invalid ones. */
    public NDArray q() {
        if (q == null) {
            q = logQ().exp();
        }
        return q;
    }

    /** (N, K) CE_k = −log q_k(y_k) at valid slots, 0 at invalid ones. */
    public NDArray ce() {
        if (ce == null) {
            ce = logQ().neg();
        }
        return ce;
    }

    /**
     * (N, K) log a_k at valid slots, 0 at invalid ones: a_k = q_k(y_k) (greedy verification) or,
     * when the batch has target distributions, a_k = Σ_v min(p_k(v), q_k(v)) (clamped at 1e-30
     * before the log).
     */
    public NDArray logAcceptance() {
        if (logAcceptance == null) {
            if (batch.targetProbs() == null) {
                logAcceptance = logQ();
            } else {
                NDArray overlap = logProbs().exp().minimum(batch.targetProbs()).sum(new int[] {-1});
                logAcceptance = overlap.maximum(TINY).log().mul(mask());
            }
        }
        return logAcceptance;
    }

    /** (N, K) acceptance a_k at valid slots, 0 at invalid ones (for sums and means). */
    public NDArray acceptance() {
        if (acceptance == null) {
            acceptance = logAcceptance().exp().mul(mask());
        }
        return acceptance;
    }

    /** (N, K) boolean: valid and argmax_v q_k(v) = y_k (ties go to the lowest id). */
    public NDArray correct() {
        if (correct == null) {
            correct = logits.argMax(-1).eq(safeLabels()).logicalAnd(batch.slotMask().gt(Scalars.of(logits, 0.5, DataType.FLOAT32)));
        }
        return correct;
    }

    /**
     * (N, K) in the logits' type: 1 at k*, the first valid slot of the block whose argmax is
     * wrong; 0 elsewhere (all zero for a block without an error). Because invalid slots only
     * trail, k* is the first slot that greedy verification rejects.
     */
    public NDArray firstError() {
        if (firstError == null) {
            NDArray wrong = mask().sub(correct().toType(logits.getDataType(), false)); // valid ∧ ¬correct
            NDArray errorsSoFar = wrong.cumSum(1);
            firstError = wrong.mul(errorsSoFar.eq(Scalars.of(errorsSoFar, 1)).toType(logits.getDataType(), false));
        }
        return firstError;
    }

    /** Scalar: the number of blocks with at least one valid slot. */
    public NDArray validBlocks() {
        if (validBlocks == null) {
            validBlocks = mask().max(new int[] {1}).sum();
        }
        return validBlocks;
    }

    /** Scalar: the number of valid slots. */
    public NDArray validSlots() {
        return mask().sum();
    }

    /** Labels with invalid slots replaced by 0, so gather/eq never see padding ids. */
    private NDArray safeLabels() {
        if (safeLabels == null) {
            safeLabels = batch.labels().mul(batch.slotMask().toType(DataType.INT64, false));
        }
        return safeLabels;
    }
}
