package dev.blockdraft.train.objective;

import ai.djl.ndarray.NDArray;
import java.util.Map;

/**
 * Plain cross-entropy, every valid slot weighted alike:
 *
 * <pre>L = Σ_{n,k} m_{n,k}·CE_{n,k} / Σ_{n,k} m_{n,k}</pre>
 *
 * where m is the slot mask and CE_{n,k} = −log q_{n,k}(y_{n,k}). Term: "ce" (= L).
 */
public record Uniform() implements StatsObjective {

    @Override
    public ObjectiveValue loss(SlotStats stats) {
        NDArray l = stats.ce().sum().div(Nd.atLeast(stats.validSlots(), 1));
        return new ObjectiveValue(l, Map.of(name(), ObjectiveValue.host(l)));
    }

    @Override
    public BatchTotals counts(DraftBatch batch) {
        return BatchTotals.of("slots", MaskCounts.of(batch).slots());
    }

    @Override
    public ObjectiveValue share(SlotStats stats, BatchTotals totals) {
        NDArray l = stats.ce().sum().div(Nd.fresh(stats.logits(), Math.max(totals.scalar("slots"), 1)));
        return new ObjectiveValue(l, Map.of(name(), ObjectiveValue.host(l)));
    }

    @Override
    public String name() {
        return "ce";
    }

    @Override
    public String toString() {
        return "Uniform()";
    }
}
