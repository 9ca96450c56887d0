package dev.blockdraft.train.objective;

import ai.djl.ndarray.NDArray;
import java.util.Map;
import dev.blockdraft.nn.Scalars;

/**
 * D-PACE: cross-entropy weighted by a smoothed, per-block estimate of how much of the block's
 * future each slot carries, as published by D-PACE's authors (their SpecForge-based reference,
 * {@code _dpace_weight(variant="full")}).
 *
 * <p>Within block n, over valid slots:
 *
 * <pre>
 * s_j = (1 − a)·q_j(y_j) + a          smoothed survival of slot j
 * P_k = Π_{j ≤ k} s_j                 smoothed probability of reaching past slot k
 * w_k = stopgrad(Σ_{m ≥ k, valid} P_m)
 * L   = Σ_{n,k} w_{n,k}·CE_{n,k} / Z
 * </pre>
 *
 * w_k is the expected number of accepted tokens that depend on slot k, so an early slot weighs
 * more than a late one, and blocks the drafter already handles well weigh more in the batch.
 * The floor a keeps late slots trained while q is still small. a = 0.5 is D-PACE's default.
 *
 * <p>Z, the normaliser ({@link Normalization}): D-PACE's reference divides by the batch size in
 * sequences ({@link Normalization#SEQUENCES}, the default here because it is what the method's
 * authors ran); vLLM's speculators divides by the number of valid slots
 * ({@link Normalization#SLOTS}); {@link Normalization#WEIGHTS} is the weighted mean Σw (this
 * project's earlier variant). Under AdamW the three differ by a per-batch factor, which matters
 * through gradient clipping and when D-PACE is summed with other terms. Uses q_j(y_j) even when
 * target distributions are present. Term "dpace_ce" = L.
 *
 * @param a the survival floor, in [0, 1]
 * @param normalization the divisor Z
 */
public record DPace(double a, Normalization normalization) implements StatsObjective {

    /** D-PACE's published smoothing floor. */
    public static final double DEFAULT_A = 0.5;

    /** What the weighted sum of CE is divided by. */
    public enum Normalization {
        /** By the number of training sequences in the batch (D-PACE's reference). */
        SEQUENCES,
        /** By the number of valid slots (speculators). */
        SLOTS,
        /** By Σ w over valid slots (a weighted mean). */
        WEIGHTS
    }

    public DPace {
        Check.unit("a", a, true);
        java.util.Objects.requireNonNull(normalization, "normalization");
    }

    /** D-PACE as published: the given floor, normalised by the batch's sequence count. */
    public DPace(double a) {
        this(a, Normalization.SEQUENCES);
    }

    @Override
    public ObjectiveValue loss(SlotStats stats) {
        NDArray w = weights(stats);
        NDArray weighted = stats.ce().mul(w).sum();
        NDArray l = switch (normalization) {
            case SEQUENCES -> weighted.div(Nd.constant(weighted, stats.batch().sequenceCount()));
            case SLOTS -> weighted.div(Nd.atLeast(stats.validSlots(), 1));
            case WEIGHTS -> weighted.div(Nd.atLeast(w.sum(), 1e-12));
        };
        return new ObjectiveValue(l, Map.of(name(), ObjectiveValue.host(l)));
    }

    @Override
    public BatchTotals counts(DraftBatch batch) {
        return switch (normalization) {
            case SEQUENCES -> BatchTotals.of("sequences", batch.sequenceCount());
            case SLOTS -> BatchTotals.of("slots", MaskCounts.of(batch).slots());
            case WEIGHTS -> BatchTotals.NONE;
        };
    }

    /** Σw depends on q, so pooling it takes the logits. */
    @Override
    public boolean needsStatistics() {
        return normalization == Normalization.WEIGHTS;
    }

    @Override
    public BatchTotals statistics(SlotStats stats) {
        return needsStatistics() ? BatchTotals.of("weights", ObjectiveValue.host(weights(stats).sum())) : BatchTotals.NONE;
    }

    /** w is a function of the block alone, so only Z is pooled. */
    @Override
    public ObjectiveValue share(SlotStats stats, BatchTotals totals) {
        NDArray weighted = stats.ce().mul(weights(stats)).sum();
        double z = switch (normalization) {
            case SEQUENCES -> totals.scalar("sequences");
            case SLOTS -> Math.max(totals.scalar("slots"), 1);
            case WEIGHTS -> Math.max(totals.scalar("weights"), 1e-12);
        };
        NDArray l = weighted.div(Nd.fresh(weighted, z));
        return new ObjectiveValue(l, Map.of(name(), ObjectiveValue.host(l)));
    }

    /** (N, K) w_k = Σ_{m ≥ k, valid} P_m at valid slots, 0 elsewhere; constants (no graph). */
    private NDArray weights(SlotStats stats) {
        NDArray mask = stats.mask();
        // log s_j; at invalid slots q = 1 so s = 1 and log s = 0, neutral for the product.
        // The weights are constants, so detach q first and build no graph for them.
        NDArray logS = stats.q().stopGradient().mul(Scalars.of(mask, 1 - a)).add(Scalars.of(mask, a)).log();
        NDArray p = logS.cumSum(1).exp().mul(mask); // (N, K), 0 at invalid slots
        NDArray suffix = p.sum(new int[] {1}, true).sub(p.cumSum(1)).add(p); // Σ_{m ≥ k} P_m
        return suffix.mul(mask);
    }

    @Override
    public String name() {
        return "dpace_ce";
    }

    @Override
    public String toString() {
        return "DPace(a=" + a + ", normalization=" + normalization.name().toLowerCase(java.util.Locale.ROOT) + ")";
    }
}
