package dev.blockdraft.train.objective;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import java.util.Arrays;
import java.util.Map;
import java.util.Objects;

/**
 * Cross-entropy with a per-position weight w_k (the same for every block of the batch):
 *
 * <pre>L = Σ_{n,k} m_{n,k}·w_k·CE_{n,k} / Σ_{n,k} m_{n,k}·w_k</pre>
 *
 * normalised over the whole batch (all blocks and valid slots). The weights are constants
 * (no gradient). Term "positional_ce" = L.
 *
 * @param schedule the weights w_1..w_K; {@link Schedule#reachProbability} is stateful, so give
 *     each training run its own instance
 */
public record PositionalWeighting(Schedule schedule) implements StatsObjective {

    public PositionalWeighting {
        Objects.requireNonNull(schedule, "schedule");
    }

    @Override
    public ObjectiveValue loss(SlotStats stats) {
        double[] w = schedule.weights(stats);
        if (w.length != stats.slots()) {
            throw new IllegalStateException(schedule + " gave " + w.length + " weights for " + stats.slots() + " slots");
        }
        NDArray wk = stats.logits().getManager().create(w).toType(stats.logits().getDataType(), false); // (K)
        NDArray weights = stats.mask().mul(wk); // (N, K)
        NDArray l = stats.ce().mul(weights).sum().div(Nd.atLeast(weights.sum(), 1e-12));
        return new ObjectiveValue(l, Map.of(name(), ObjectiveValue.host(l)));
    }

    @Override
    public BatchTotals counts(DraftBatch batch) {
        return new BatchTotals(Map.of("slot_blocks", MaskCounts.of(batch).perSlot()));
    }

    /** A stateful schedule's estimate is a mean over the batch's blocks of a quantity of the logits. */
    @Override
    public boolean needsStatistics() {
        return schedule.stateful();
    }

    @Override
    public BatchTotals statistics(SlotStats stats) {
        return schedule.stateful() ? new BatchTotals(Map.of("reach_sums", schedule.statistics(stats))) : BatchTotals.NONE;
    }

    @Override
    public void advance(BatchTotals totals) {
        if (schedule.stateful()) {
            schedule.advance(totals.get("reach_sums"), totals.get("slot_blocks"));
        }
    }

    /** Σ_n m·w·CE over this micro-batch over Σ_k w_k·(blocks where k is valid, whole step): the weights are per slot, so the denominator pools through the per-slot counts. */
    @Override
    public ObjectiveValue share(SlotStats stats, BatchTotals totals) {
        double[] w = schedule.stepWeights(stats);
        double[] slotBlocks = totals.get("slot_blocks");
        if (w.length != stats.slots() || slotBlocks.length != w.length) {
            throw new IllegalStateException(schedule + " gave " + w.length + " weights for " + stats.slots()
                    + " slots and " + slotBlocks.length + " pooled counts");
        }
        double den = 0;
        for (int k = 0; k < w.length; k++) {
            den += w[k] * slotBlocks[k];
        }
        NDArray wk = stats.logits().getManager().create(w).toType(stats.logits().getDataType(), false); // (K)
        NDArray l = stats.ce().mul(stats.mask().mul(wk)).sum().div(Nd.fresh(stats.logits(), Math.max(den, 1e-12)));
        return new ObjectiveValue(l, Map.of(name(), ObjectiveValue.host(l)));
    }

    @Override
    public Map<String, double[]> state() {
        return schedule.state();
    }

    @Override
    public void restoreState(Map<String, double[]> state) {
        schedule.restoreState(state);
    }

    @Override
    public String name() {
        return "positional_ce";
    }

    @Override
    public String toString() {
        return "PositionalWeighting(schedule=" + schedule + ")";
    }

    /** Per-slot weights w_1..w_K for one batch. */
    public interface Schedule {

        /** The weights for this batch, length K; may read the batch's statistics and update state. */
        double[] weights(SlotStats stats);

        /**
         * Whether the weights follow running state fitted to the batches (then
         * {@link #statistics}, {@link #advance} and {@link #stepWeights} split {@link #weights}
         * so that a step over micro-batches moves the state once, by all of them).
         */
        default boolean stateful() {
            return false;
        }

        /** Stateful schedules: the batch's per-slot sums (length K) whose means over valid blocks the state tracks. */
        default double[] statistics(SlotStats stats) {
            throw new UnsupportedOperationException(this + " keeps no state");
        }

        /**
         * Stateful schedules: one update from per-slot sums and valid-block counts pooled over a
         * step's micro-batches; {@code weights(stats)} is {@code advance} with the batch's own
         * sums followed by {@code stepWeights}.
         */
        default void advance(double[] sums, double[] counts) {}

        /** The weights for this batch without updating any state (after {@link #advance} for a stateful schedule). */
        default double[] stepWeights(SlotStats stats) {
            return weights(stats);
        }

        /** Running state to checkpoint (stateful schedules); empty by default. */
        default Map<String, double[]> state() {
            return Map.of();
        }

        /** Restores what {@link #state} saved; keys it does not know are ignored. */
        default void restoreState(Map<String, double[]> state) {}

        /**
         * w_k = exp(−(k−1)/γ) with a fixed γ (slot k = 1..K; slot 1 weighs 1). DFlash uses γ = 7 for
         * blocks of 16 (slot 15 then weighs e^{−2} ≈ 0.13 of slot 1).
         */
        static Schedule exponential(double gamma) {
            return new Exponential(gamma);
        }

        /** w_k = exp(−(k−1)/γ(B)) with DFlash's published γ for the batch's block size; see {@link DFlashDecay}. */
        static Schedule dflash() {
            return new DFlashDecay();
        }

        /** Reach from hard greedy acceptance, the paper's positional weighting; see {@link HardReach}. */
        static HardReach hardReach(double momentum) {
            return new HardReach(momentum);
        }

        /** w_k = (K − k + 1)/K: slot 1 weighs 1, slot K weighs 1/K. */
        static Schedule linear() {
            return new Linear();
        }

        /** Reach-probability weights from a running estimate of per-slot acceptance; see {@link ReachProbability}. */
        static ReachProbability reachProbability(double momentum) {
            return new ReachProbability(momentum);
        }

        /** @param gamma decay length γ > 0, in slots */
        record Exponential(double gamma) implements Schedule {
            public Exponential {
                Check.positive("gamma", gamma);
            }

            @Override
            public double[] weights(SlotStats stats) {
                double[] w = new double[stats.slots()];
                for (int k = 1; k <= w.length; k++) {
                    w[k - 1] = Math.exp(-(k - 1) / gamma);
                }
                return w;
            }

            @Override
            public String toString() {
                return "exponential(gamma=" + gamma + ")";
            }
        }

        /**
         * DFlash's decay with γ chosen from the block size B = K + 1 as DFlash and SpecForge
         * recommend: γ = 4 at B = 8, 5 at B = 10, 7 at B = 16 ({@link #gammaFor}).
         */
        record DFlashDecay() implements Schedule {
            /**
             * The published γ for B ∈ {8, 10, 16}; linear between them; B/2 below 8 and 7·B/16 above
             * 16 (the published ratios at the two ends), never below 1.
             */
            public static double gammaFor(int blockSize) {
                double b = blockSize;
                double g;
                if (b <= 8) {
                    g = b / 2;
                } else if (b <= 10) {
                    g = 4 + (b - 8) / 2;
                } else if (b <= 16) {
                    g = 5 + (b - 10) * 2 / 6;
                } else {
                    g = 7 * b / 16;
                }
                return Math.max(1, g);
            }

            @Override
            public double[] weights(SlotStats stats) {
                return new Exponential(gammaFor(stats.slots() + 1)).weights(stats);
            }

            @Override
            public String toString() {
                return "exponential(gamma=dflash(B))";
            }
        }

        record Linear() implements Schedule {
            @Override
            public double[] weights(SlotStats stats) {
                int kk = stats.slots();
                double[] w = new double[kk];
                for (int k = 1; k <= kk; k++) {
                    w[k - 1] = (kk - k + 1) / (double) kk;
                }
                return w;
            }

            @Override
            public String toString() {
                return "linear()";
            }
        }
    }

    /**
     * w_k = Π_{j<k} â_j (w_1 = 1): the probability, under the drafter's current acceptance rates,
     * that greedy verification reaches slot k at all — the fraction of the time slot k matters.
     *
     * <p>â_j is an exponential moving average of the batch mean of a_j over blocks where slot j
     * is valid (a_j as in {@link SlotStats#acceptance()}, so Σ min(p, q) when target
     * distributions are given):
     *
     * <pre>â_j ← μ·â_j + (1 − μ)·mean_n a_{n,j}</pre>
     *
     * updated on every call, <em>before</em> the weights are taken, from host floats (one host
     * sync per batch; no gradient). A slot with no valid block in the batch keeps its estimate.
     * Estimates start at 1.0, so the first steps weigh all slots alike and the weights tighten as
     * the estimate settles (a fresh drafter has a ≈ 1/V, and starting from that would put all the
     * weight on slot 1 at once). The number of slots is fixed by the first batch.
     *
     * <p>Stateful: every call updates the estimate, so don't evaluate a validation set through
     * the same instance (or {@link #restore} the estimate afterwards). A step over several
     * micro-batches updates it once, from their pooled sums and counts ({@link #statistics},
     * {@link #advance}), and weighs every micro-batch by the result ({@link #stepWeights}), as one
     * call over their concatenation would.
     */
    public static final class ReachProbability extends EmaSchedule {
        /** @param momentum μ in [0, 1): the weight of the old estimate */
        public ReachProbability(double momentum) {
            super(momentum, "reachProbability");
        }

        public double momentum() {
            return momentum;
        }

        /** (2K) per-slot acceptance sums, then per-slot valid counts: one host sync. */
        @Override
        double[] sumsAndCounts(SlotStats stats) {
            NDArray acceptSum = stats.acceptance().stopGradient().sum(new int[] {0});
            NDArray count = stats.mask().sum(new int[] {0});
            return NDArrays.stack(new NDList(acceptSum, count)).toType(DataType.FLOAT64, false).toDoubleArray();
        }

        @Override
        double[] weightsOf(double[] est) {
            return reach(est);
        }

        /** The weights the current estimate gives (without updating it), or null before the first batch. */
        public synchronized double[] currentWeights() {
            return estimate == null ? null : reach(estimate);
        }

        @Override
        public Map<String, double[]> state() {
            double[] e = estimate();
            return e == null ? Map.of() : Map.of("reach_estimate", e);
        }

        @Override
        public void restoreState(Map<String, double[]> state) {
            if (state.containsKey("reach_estimate")) {
                restore(state.get("reach_estimate"));
            }
        }

        /** Replaces the estimate (e.g. from a checkpoint); null forgets it. */
        public synchronized void restore(double[] est) {
            if (est != null) {
                for (int j = 0; j < est.length; j++) {
                    Check.unit("estimate[" + j + "]", est[j], true);
                }
            }
            estimate = est == null ? null : est.clone();
        }

        private static double[] reach(double[] est) {
            double[] w = new double[est.length];
            double p = 1;
            for (int k = 0; k < w.length; k++) {
                w[k] = p;
                p *= est[k];
            }
            return w;
        }

        @Override
        public String toString() {
            return "reachProbability(momentum=" + momentum + ")";
        }
    }

    /**
     * w_k = r̂_k, an exponential moving average of the fraction of blocks in which greedy
     * verification reaches slot k: r_{n,k} = Π_{j<k} 1[argmax q_j = y_j] (r_{n,1} = 1). This is the
     * reach the paper's positional weighting asks for; unlike {@link ReachProbability}'s product of
     * soft marginals q_j(y_j), it does not starve late slots when the drafter is right but unsure
     * (a block whose argmaxes are all right reaches slot K with certainty, whatever q is).
     *
     * <pre>r̂_k ← μ·r̂_k + (1 − μ)·mean_{n: slot k valid} r_{n,k}</pre>
     *
     * updated on every call before the weights are taken (one host sync per batch, no gradient); a
     * slot with no valid block in the batch keeps its estimate; estimates start at 1.0 (all slots
     * alike until the drafter's acceptance is known). Stateful, like {@link ReachProbability}, and
     * pooled over micro-batches the same way.
     */
    public static final class HardReach extends EmaSchedule {
        /** @param momentum μ in [0, 1): the weight of the old estimate */
        public HardReach(double momentum) {
            super(momentum, "hardReach");
        }

        /** (2K) per-slot reached sums (blocks whose greedy verification reaches slot k), then per-slot valid counts: one host sync. */
        @Override
        double[] sumsAndCounts(SlotStats stats) {
            int kk = stats.slots();
            NDArray mask = stats.mask();
            NDArray right = stats.correct().toType(mask.getDataType(), false); // (N, K), 0 at invalid slots
            // reached_k = Π_{j<k} right_j: an exclusive cumulative product (slot 1 always reached)
            NDArray ones = mask.get(":, :1").onesLike();
            NDArray reached = kk == 1 ? ones : ones.concat(right.get(":, :-1").cumProd(1), 1);
            NDArray reachedSum = reached.mul(mask).sum(new int[] {0});
            NDArray count = mask.sum(new int[] {0});
            return NDArrays.stack(new NDList(reachedSum, count)).toType(DataType.FLOAT64, false).toDoubleArray();
        }

        /** The estimates are the weights. */
        @Override
        double[] weightsOf(double[] est) {
            return est.clone();
        }

        @Override
        public Map<String, double[]> state() {
            double[] e = estimate();
            return e == null ? Map.of() : Map.of("hard_reach_estimate", e);
        }

        @Override
        public synchronized void restoreState(Map<String, double[]> state) {
            double[] e = state.get("hard_reach_estimate");
            if (e != null) {
                for (int j = 0; j < e.length; j++) {
                    Check.unit("hard_reach_estimate[" + j + "]", e[j], true);
                }
                estimate = e.clone();
            }
        }

        @Override
        public String toString() {
            return "hardReach(momentum=" + momentum + ")";
        }
    }

    /**
     * What both reach schedules share: an exponential moving average per slot of a batch statistic
     * (sums over valid blocks ÷ their count), updated before the weights are taken — from one batch
     * ({@link #weights}) or from a step's micro-batches pooled ({@link #statistics}, {@link #advance},
     * {@link #stepWeights}).
     */
    abstract static sealed class EmaSchedule implements Schedule permits ReachProbability, HardReach {
        final double momentum;
        private final String name;
        double[] estimate; // per slot, null before the first batch

        EmaSchedule(double momentum, String name) {
            this.momentum = Check.unit("momentum", momentum, false);
            this.name = name;
        }

        /** (2K): the batch's per-slot sums, then its per-slot valid-block counts. */
        abstract double[] sumsAndCounts(SlotStats stats);

        /** The weights an estimate gives. */
        abstract double[] weightsOf(double[] estimate);

        @Override
        public synchronized double[] weights(SlotStats stats) {
            int kk = stats.slots();
            double[] host = sumsAndCounts(stats);
            advance(Arrays.copyOfRange(host, 0, kk), Arrays.copyOfRange(host, kk, 2 * kk));
            return weightsOf(estimate);
        }

        @Override
        public boolean stateful() {
            return true;
        }

        @Override
        public double[] statistics(SlotStats stats) {
            return Arrays.copyOfRange(sumsAndCounts(stats), 0, stats.slots());
        }

        /** est ← μ·est + (1 − μ)·sum/count per slot with count > 0; a fresh estimate starts at 1.0. */
        @Override
        public synchronized void advance(double[] sums, double[] counts) {
            int kk = sums.length;
            if (counts.length != kk) {
                throw new IllegalArgumentException(name + ": " + kk + " sums but " + counts.length + " counts");
            }
            if (estimate == null) {
                estimate = new double[kk];
                Arrays.fill(estimate, 1.0);
            } else if (estimate.length != kk) {
                throw new IllegalStateException(name + " was fitted for " + estimate.length + " slots, got a batch with " + kk);
            }
            for (int j = 0; j < kk; j++) {
                double n = counts[j];
                if (n > 0) {
                    estimate[j] = momentum * estimate[j] + (1 - momentum) * (sums[j] / n);
                }
            }
        }

        /** The weights for this step's estimate; {@link #advance} must have run for this step. */
        @Override
        public synchronized double[] stepWeights(SlotStats stats) {
            int slots = stats.slots();
            if (estimate == null || estimate.length != slots) {
                throw new IllegalStateException(name + ": weights for " + slots + " slots asked before advance (estimate "
                        + (estimate == null ? "unset" : "for " + estimate.length + " slots") + ")");
            }
            return weightsOf(estimate);
        }

        /** The current estimates per slot (a copy), or null before the first batch. */
        public synchronized double[] estimate() {
            return estimate == null ? null : estimate.clone();
        }
    }
}
