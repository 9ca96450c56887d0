package dev.blockdraft.train.objective;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.blockdraft.train.objective.PositionalWeighting.ReachProbability;
import dev.blockdraft.train.objective.PositionalWeighting.Schedule;
import org.junit.jupiter.api.Test;

class ReachProbabilityTest {

    /** Batch mean of a_j over blocks where slot j is valid; NaN where none is. */
    private static double[] meanAcceptance(Fixture f) {
        double[] mean = new double[f.k];
        for (int j = 0; j < f.k; j++) {
            double s = 0;
            int c = 0;
            for (int i = 0; i < f.n; i++) {
                if (f.isValid(i, j)) {
                    s += f.acceptance(f.logits, i, j);
                    c++;
                }
            }
            mean[j] = c == 0 ? Double.NaN : s / c;
        }
        return mean;
    }

    @Test
    void weightsAreProductsOfTheEmaOfAcceptance() {
        double mu = 0.6;
        ReachProbability schedule = Schedule.reachProbability(mu);
        PositionalWeighting objective = new PositionalWeighting(schedule);
        assertNull(schedule.estimate());

        Fixture b1 = Fixture.small();
        Fixture b2 = Fixture.random(2, 3, 3, 4, new int[] {3, 3, 2}, 0.8);
        Fixture b3 = Fixture.random(3, 2, 3, 4, new int[] {2, 1}, 0.5); // slot 3 valid nowhere
        Fixture b4 = Fixture.random(4, 2, 3, 4, new int[] {3, 3}, 0.5).withRandomProbs(8); // Σ min(p, q)

        double[] est = {1, 1, 1};
        for (Fixture b : new Fixture[] {b1, b2, b3, b4}) {
            double[] mean = meanAcceptance(b);
            for (int j = 0; j < est.length; j++) {
                if (!Double.isNaN(mean[j])) {
                    est[j] = mu * est[j] + (1 - mu) * mean[j];
                }
            }
            double[] w = {1, est[0], est[0] * est[1]};
            double value;
            try (NDManager m = NDManager.newBaseManager()) {
                value = objective.loss(b.batch(m), b.logits(m, DataType.FLOAT32)).total().getFloat();
            }
            assertArrayEquals(est, schedule.estimate(), 1e-6);
            assertArrayEquals(w, schedule.currentWeights(), 1e-6);
            assertEquals(b.positional(b.logits, w), value, 1e-5);
        }
        // The third batch left slot 3's estimate alone; the estimates all moved below 1.
        for (double e : est) {
            assertTrue(e < 1);
        }
    }

    @Test
    void firstBatchWeightsFollowTheFormula() {
        // By hand for the small fixture and μ = 0.9: â_1 = 0.9 + 0.1·mean(q(y) of slot 1 over 3 blocks), etc.
        Fixture f = Fixture.small();
        double a1 = (f.q(f.logits, 0, 0) + f.q(f.logits, 1, 0) + f.q(f.logits, 2, 0)) / 3;
        double a2 = (f.q(f.logits, 0, 1) + f.q(f.logits, 1, 1)) / 2;
        double e1 = 0.9 + 0.1 * a1, e2 = 0.9 + 0.1 * a2;
        ReachProbability s = Schedule.reachProbability(0.9);
        try (NDManager m = NDManager.newBaseManager()) {
            double[] w = s.weights(SlotStats.of(f.batch(m), f.logits(m, DataType.FLOAT32)));
            assertArrayEquals(new double[] {1, e1, e1 * e2}, w, 1e-6);
        }
    }

    @Test
    void restoreAndSlotCountChecks() {
        ReachProbability s = Schedule.reachProbability(0.5);
        s.restore(new double[] {0.5, 0.2, 0.9});
        assertArrayEquals(new double[] {1, 0.5, 0.1}, s.currentWeights(), 1e-12);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> s.restore(new double[] {1.5}))
                .getMessage().contains("estimate[0]=1.5"));
        s.restore(new double[] {0.5, 0.5});
        Fixture f = Fixture.small(); // K = 3
        try (NDManager m = NDManager.newBaseManager()) {
            assertThrows(IllegalStateException.class,
                    () -> s.weights(SlotStats.of(f.batch(m), f.logits(m, DataType.FLOAT32))));
        }
    }
}
