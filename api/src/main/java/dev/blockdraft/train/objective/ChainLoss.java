package dev.blockdraft.train.objective;

import ai.djl.ndarray.NDArray;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Maximises the expected accepted length of a block directly.
 *
 * <p>With a_j the acceptance of slot j (see {@link SlotStats#logAcceptance()}), the expected
 * number of accepted draft tokens of block n is
 *
 * <pre>
 * E[τ_n] = Σ_{k valid} Π_{j ≤ k} a_j = Σ_{k valid} exp(Σ_{j ≤ k} log a_j)
 * L_chain = −(1 / |blocks with a valid slot|) Σ_n E[τ_n] / K
 * total = α · L_chain
 * </pre>
 *
 * computed as a cumulative sum of log a_j and one exp, which is stable and differentiable.
 * Invalid slots add nothing to the sum and, trailing the valid ones, never enter an earlier
 * product. Dividing by K puts L_chain in [−1, 0]. Terms: "chain" = L_chain and "expected_tau"
 * = mean E[τ] (both unweighted, from one host sync).
 *
 * @param alpha weight α ≥ 0 of this term in a sum
 */
public record ChainLoss(double alpha) implements StatsObjective {

    public ChainLoss {
        Check.nonNegative("alpha", alpha);
    }

    @Override
    public ObjectiveValue loss(SlotStats stats) {
        return value(stats, Nd.atLeast(stats.validBlocks(), 1));
    }

    @Override
    public BatchTotals counts(DraftBatch batch) {
        return BatchTotals.of("blocks", MaskCounts.of(batch).blocks());
    }

    /** Σ_n E[τ_n] / K over this micro-batch, divided by the whole step's blocks; expected_tau adds up likewise. */
    @Override
    public ObjectiveValue share(SlotStats stats, BatchTotals totals) {
        return value(stats, Nd.fresh(stats.logits(), Math.max(totals.scalar("blocks"), 1)));
    }

    private ObjectiveValue value(SlotStats stats, NDArray blocks) {
        int k = stats.slots();
        NDArray reach = stats.logAcceptance().cumSum(1).exp().mul(stats.mask()); // (N, K)
        NDArray meanTau = reach.sum().div(blocks);
        NDArray chain = Nd.mul(meanTau, -1.0 / Math.max(k, 1));
        double chainValue = ObjectiveValue.host(chain);
        Map<String, Double> terms = new LinkedHashMap<>();
        terms.put(name(), chainValue);
        terms.put("expected_tau", -chainValue * Math.max(k, 1));
        return new ObjectiveValue(Nd.mul(chain, alpha), terms);
    }

    @Override
    public String name() {
        return "chain";
    }

    @Override
    public String toString() {
        return "ChainLoss(alpha=" + alpha + ")";
    }
}
