package dev.blockdraft.train.objective;

import ai.djl.ndarray.NDArray;
import java.util.Map;
import dev.blockdraft.nn.Scalars;

/**
 * Cross-entropy weighted by a smoothed, per-block estimate of how much of the block's future
 * each slot carries ("pace" weighting).
 *
 * <p>Within block n, over valid slots:
 *
 * <pre>
 * s_j = (1 − c)·q_j(y_j) + c          smoothed survival of slot j
 * P_k = Π_{j ≤ k} s_j                 smoothed probability of reaching past slot k
 * w_k = stopgrad(Σ_{m ≥ k, valid} P_m)
 * L   = Σ_{n,k} w_{n,k}·CE_{n,k} / Σ_{n,k} w_{n,k}
 * </pre>
 *
 * w_k is the expected number of accepted tokens that depend on slot k, so an early slot weighs
 * more than a late one, and blocks the drafter already handles well weigh more in the batch
 * (normalisation is over the whole batch, as in {@link PositionalWeighting}). The floor c keeps
 * late slots trained while q is still small: with q ≈ 0 (a fresh drafter) w_k ∝ c^k roughly,
 * and as q → 1 the weights flatten towards linear decay. c = 1 gives w_k = number of valid slots
 * ≥ k. Uses q_j(y_j) even when target distributions are present. Term "dpace_ce" = L.
 *
 * @param c the survival floor, in [0, 1]
 */
public record DPace(double c) implements StatsObjective {

    public DPace {
        Check.unit("c", c, true);
    }

    @Override
    public ObjectiveValue loss(SlotStats stats) {
        NDArray mask = stats.mask();
        // log s_j; at invalid slots q = 1 so s = 1 and log s = 0, neutral for the product.
        // The weights are constants, so detach q first and build no graph for them.
        NDArray logS = stats.q().stopGradient().mul(Scalars.of(mask, 1 - c)).add(Scalars.of(mask, c)).log();
        NDArray p = logS.cumSum(1).exp().mul(mask); // (N, K), 0 at invalid slots
        NDArray suffix = p.sum(new int[] {1}, true).sub(p.cumSum(1)).add(p); // Σ_{m ≥ k} P_m
        NDArray w = suffix.mul(mask);
        NDArray l = stats.ce().mul(w).sum().div(Nd.atLeast(w.sum(), 1e-12));
        return new ObjectiveValue(l, Map.of(name(), ObjectiveValue.host(l)));
    }

    @Override
    public String name() {
        return "dpace_ce";
    }

    @Override
    public String toString() {
        return "DPace(c=" + c + ")";
    }
}
