package dev.blockdraft.train.objective;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.GradientCollector;
import dev.blockdraft.train.objective.PositionalWeighting.Schedule;
import java.util.function.ToDoubleFunction;
import org.junit.jupiter.api.Test;

/**
 * Autograd gradients w.r.t. the logits (float64 logits through the same code path) against
 * central finite differences of the plain-Java reference.
 */
class GradientTest {
    private static final double H = 1e-6;

    private static double[] autograd(Objective o, Fixture f) {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray logits = f.logits(m, DataType.FLOAT64);
            logits.setRequiresGradient(true);
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                ObjectiveValue v = o.loss(f.batch(m), logits);
                gc.backward(v.total());
            }
            return logits.getGradient().toDoubleArray();
        }
    }

    private static void assertGradient(Objective o, Fixture f, ToDoubleFunction<double[]> reference) {
        double[] got = autograd(o, f);
        double[] want = f.numericGradient(reference, H);
        double scale = 0;
        for (double w : want) {
            scale = Math.max(scale, Math.abs(w));
        }
        assertTrue(scale > 1e-3, "reference gradient is ~0, the check would be vacuous");
        for (int i = 0; i < got.length; i++) {
            int slot = i / f.v;
            String where = o + " d/dlogit[block " + slot / f.k + ", slot " + (slot % f.k + 1) + ", v " + i % f.v + "]";
            // Finite differences in double with h = 1e-6 are good to ~1e-9; float32 masks and
            // weights bound the agreement at ~1e-7 relative.
            assertEquals(want[i], got[i], 1e-6 * Math.max(1, scale), where);
            if (!f.isValid(slot / f.k, slot % f.k)) {
                assertEquals(0.0, got[i], 0, where + " (invalid slot)");
            }
        }
    }

    @Test
    void uniformAndPositional() {
        Fixture f = Fixture.small();
        assertGradient(new Uniform(), f, f::uniform);
        double[] w = {1, Math.exp(-1 / 2.0), Math.exp(-2 / 2.0)};
        assertGradient(new PositionalWeighting(Schedule.exponential(2)), f, l -> f.positional(l, w));
    }

    @Test
    void chainLoss() {
        Fixture f = Fixture.small();
        assertGradient(new ChainLoss(0.5), f, l -> 0.5 * f.chain(l));
        Fixture r = Fixture.random(5, 3, 5, 6, new int[] {5, 3, 1}, 0.7);
        assertGradient(new ChainLoss(1), r, r::chain);
    }

    @Test
    void chainLossThroughOverlapAcceptance() {
        Fixture f = Fixture.small().withRandomProbs(23);
        assertGradient(new ChainLoss(1), f, f::chain);
    }

    @Test
    void firstErrorFocal() {
        Fixture f = Fixture.small();
        assertGradient(new FirstErrorFocal(2, 0.5), f, l -> 0.5 * f.firstErrorFocal(l, 2));
        assertGradient(new FirstErrorFocal(0.5, 1), f, l -> f.firstErrorFocal(l, 0.5));
        Fixture r = Fixture.random(9, 4, 4, 5, new int[] {4, 4, 2, 3}, 0.6);
        assertGradient(new FirstErrorFocal(2, 1), r, l -> r.firstErrorFocal(l, 2));
    }

    @Test
    void dpaceWeightsAreConstants() {
        Fixture f = Fixture.small();
        double c = 0.5;
        double[][] frozen = f.dpaceWeights(f.logits, c);
        // Gradient of Σ w·CE / Σ w with w held at its value: the stop-gradient.
        assertGradient(new DPace(c, DPace.Normalization.WEIGHTS), f, l -> f.weighted(l, frozen));
        // ...which differs from differentiating through the weights.
        double[] through = f.numericGradient(l -> f.dpace(l, c), H);
        double[] got = autograd(new DPace(c, DPace.Normalization.WEIGHTS), f);
        double maxDiff = 0;
        for (int i = 0; i < got.length; i++) {
            maxDiff = Math.max(maxDiff, Math.abs(through[i] - got[i]));
        }
        assertTrue(maxDiff > 1e-3, "DPace weights seem to carry gradient");
    }

    @Test
    void sumOfEverything() {
        Fixture f = Fixture.small().withRandomProbs(4);
        double[] w = {1, Math.exp(-1 / 7.0), Math.exp(-2 / 7.0)};
        double[][] frozen = f.dpaceWeights(f.logits, 0.85);
        Objective all = Objective.sum(new PositionalWeighting(Schedule.exponential(7)), new FirstErrorFocal(2, 0.5),
                new ChainLoss(0.5), new DPace(0.85, DPace.Normalization.WEIGHTS));
        assertGradient(all, f, l -> f.positional(l, w) + 0.5 * f.firstErrorFocal(l, 2) + 0.5 * f.chain(l)
                + f.weighted(l, frozen));
    }
}
