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
 *
 * <h2>Exact gradient accumulation (and data parallelism)</h2>
 *
 * Every built-in term is a ratio num/den: num a sum over blocks in the autograd graph, den a sum
 * over blocks without gradient (valid slots, blocks, sequences, blocks with an error, Σw). Averaging
 * the losses of micro-batches B1..Bk normalises each by its own den, which is not the loss of their
 * concatenation whenever the dens differ; {@linkplain #pools pooling} objectives make a step over
 * B1..Bk equal one over their concatenation:
 *
 * <ol>
 *   <li>for every micro-batch, {@link #counts} (from the masks alone) and, when
 *       {@link #needsStatistics}, {@link #statistics} (from a no-gradient forward pass); their
 *       {@linkplain BatchTotals#plus sum} is the concatenation's totals;
 *   <li>{@link #advance}(totals) once: running state (reach estimates) moves as it would for the
 *       concatenation, before any weight is taken, as {@link #loss(SlotStats)} does for one batch;
 *   <li>for every micro-batch, backward of {@link #share}(stats, totals) = num_i / den(totals);
 *       the shares and their gradients add up to the concatenation's loss and gradient.
 * </ol>
 *
 * A data-parallel step does the same with shards for micro-batches: it all-reduces (sums) the
 * totals before step 2 and the gradients of the shares after step 3; nothing else. One batch needs
 * none of this: {@link #loss(DraftBatch, NDArray)} is the same quantity.
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

    /**
     * Whether this objective implements exact accumulation ({@link #counts}, {@link #statistics},
     * {@link #advance}, {@link #share}); all built-ins do. A step over several micro-batches with
     * an objective that does not averages the micro-batches' losses instead, which is exact only
     * when they have equal normalisers (e.g. equal valid-slot counts for {@link Uniform}).
     */
    default boolean pools() {
        return false;
    }

    /** This batch's additive totals that need only its masks and sizes (no forward pass, no gradient). */
    default BatchTotals counts(DraftBatch batch) {
        throw new UnsupportedOperationException(this + " does not pool micro-batches");
    }

    /**
     * Whether {@link #statistics} reads the logits; then a step over several micro-batches runs
     * a no-gradient forward pass per micro-batch before the first backward.
     */
    default boolean needsStatistics() {
        return false;
    }

    /** This batch's additive totals that need the logits (no gradient; read on the host); none by default. */
    default BatchTotals statistics(SlotStats stats) {
        return BatchTotals.NONE;
    }

    /**
     * Moves running state once for a step, from the totals of all its micro-batches ({@link #counts}
     * and {@link #statistics}, summed); stateless objectives do nothing.
     */
    default void advance(BatchTotals totals) {}

    /**
     * This micro-batch's share of the loss over the whole step: its numerators divided by the
     * denominators of {@code totals} (all micro-batches' totals, after {@link #advance}). The
     * shares' totals, terms and gradients sum to those of {@link #loss(SlotStats)} over the
     * concatenated batch. Reads running state, does not change it.
     */
    default ObjectiveValue share(SlotStats stats, BatchTotals totals) {
        throw new UnsupportedOperationException(this + " does not pool micro-batches");
    }

    /** Running state that must survive a checkpoint (e.g. reach-probability estimates); empty if none. */
    default java.util.Map<String, double[]> state() {
        return java.util.Map.of();
    }

    /** Restores what {@link #state()} returned. */
    default void restoreState(java.util.Map<String, double[]> state) {}
}
