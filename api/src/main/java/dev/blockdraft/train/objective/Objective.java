package dev.blockdraft.train.objective;

import ai.djl.ndarray.NDArray;

/**
 * A training loss for a block-diffusion drafter over one batch of blocks.
 *
 * <p>Implementations need only {@link #loss(DraftBatch, NDArray)}. The built-in objectives also
 * implement {@link #loss(SlotStats)}, so that a {@linkplain #sum sum} of them computes the
 * log-softmax and per-slot statistics once per step and shares them.
 *
 * <p>Memory: DJL puts an op's result in its first operand's manager. The built-in objectives keep
 * the logits (or arrays derived from them) first, so their temporaries land in the logits'
 * manager; casts of the batch's mask and labels land in the batch's. Create both in the per-step
 * manager and nothing reaches a long-lived one.
 */
public interface Objective {

    /**
     * @param batch labels, slot mask and optional target distributions for N blocks of K slots
     * @param logits (N, K, V) float32 drafter logits for slots 1..K (float64 is accepted too,
     *     which gradient checks use)
     * @return the scalar total in the autograd graph of {@code logits}, and unweighted terms
     */
    ObjectiveValue loss(DraftBatch batch, NDArray logits);

    /**
     * The loss from shared per-batch statistics. The default recomputes from the batch and logits;
     * built-in objectives override it to reuse {@code stats}.
     */
    default ObjectiveValue loss(SlotStats stats) {
        return loss(stats.batch(), stats.logits());
    }

    /** Short name, the key of this objective's main term in {@link ObjectiveValue#terms()}. */
    String name();

    /**
     * The sum of the parts' totals (each part already carries its own α); the terms are the
     * union of the parts' terms (a repeated key gets a suffix "_2", "_3", …). Nested sums are
     * flattened. All parts share one {@link SlotStats}.
     */
    static Objective sum(Objective... parts) {
        return Sum.of(parts);
    }

    /** Running state that must survive a checkpoint (e.g. reach-probability estimates); empty if none. */
    default java.util.Map<String, double[]> state() {
        return java.util.Map.of();
    }

    /** Restores what {@link #state()} returned. */
    default void restoreState(java.util.Map<String, double[]> state) {}
}
