package dev.blockdraft.train.objective;

import ai.djl.ndarray.NDArray;
import java.util.Map;
import dev.blockdraft.nn.Scalars;

/**
 * Focal cross-entropy at each block's first error, the slot where greedy verification stops.
 *
 * <p>For block n let k* be the first valid slot whose argmax differs from y (blocks whose valid
 * slots are all correct have none). With q* = q_{k*}(y_{k*}):
 *
 * <pre>
 * L_fe = (1 / |E|) Σ_{n ∈ E} (1 − q*)^γ · CE_{k*}      E = blocks with an error
 * total = α · L_fe
 * </pre>
 *
 * The focal factor is differentiated through (as in focal loss). Since argmax ≠ y at k*,
 * q* ≤ ½, so (1 − q*)^γ ∈ [2^−γ, 1]: γ controls how much the hardest first errors dominate.
 * When no block has an error the total is a graph-connected 0. Term "first_error" = L_fe.
 *
 * @param gamma focal exponent γ ≥ 0 (0 gives plain CE at the first error)
 * @param alpha weight α ≥ 0 of this term in a sum
 */
public record FirstErrorFocal(double gamma, double alpha) implements StatsObjective {

    public FirstErrorFocal {
        Check.nonNegative("gamma", gamma);
        Check.nonNegative("alpha", alpha);
    }

    @Override
    public ObjectiveValue loss(SlotStats stats) {
        return value(stats, Nd.atLeast(stats.firstError().sum(), 1));
    }

    @Override
    public BatchTotals counts(DraftBatch batch) {
        return BatchTotals.NONE;
    }

    /** |E| depends on the drafter's argmax, so pooling it takes the logits. */
    @Override
    public boolean needsStatistics() {
        return true;
    }

    @Override
    public BatchTotals statistics(SlotStats stats) {
        return BatchTotals.of("error_blocks", ObjectiveValue.host(stats.firstError().sum()));
    }

    @Override
    public ObjectiveValue share(SlotStats stats, BatchTotals totals) {
        return value(stats, Nd.fresh(stats.logits(), Math.max(totals.scalar("error_blocks"), 1)));
    }

    private ObjectiveValue value(SlotStats stats, NDArray errorBlocks) {
        NDArray f = stats.firstError(); // (N, K), one 1 per block with an error
        // Base of the focal factor: 1 − q at k*, exactly 1 elsewhere (keeps 0^γ and its gradient
        // out of the graph at slots that are masked away anyway).
        NDArray one = Scalars.of(f, 1);
        NDArray base = stats.q().neg().add(one).mul(f).add(f.neg().add(one));
        NDArray perSlot = base.pow(Scalars.of(base, gamma)).mul(stats.ce()).mul(f);
        NDArray lfe = perSlot.sum().div(errorBlocks);
        return new ObjectiveValue(Nd.mul(lfe, alpha), Map.of(name(), ObjectiveValue.host(lfe)));
    }

    @Override
    public String name() {
        return "first_error";
    }

    @Override
    public String toString() {
        return "FirstErrorFocal(gamma=" + gamma + ", alpha=" + alpha + ")";
    }
}
