package dev.blockdraft.lm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** {@link Sampling}'s device warp against the plain-Java {@link ReferenceWarp}, row by row. */
class SamplingTest {

    @ParameterizedTest(name = "T={0} top-p={1} top-k={2}")
    @CsvSource({"0, 1, 0", "1, 1, 0", "0.7, 1, 0", "1.5, 0.9, 0", "1, 0.5, 0", "1, 1, 3", "0.8, 0.7, 5", "1, 0.01, 0"})
    void warpMatchesTheReference(double t, double topP, int topK) {
        Sampling s = new Sampling(t, topP, topK);
        SplittableRandom rng = new SplittableRandom(5);
        int rows = 6, v = 17;
        double[][] logits = new double[rows][v];
        float[] flat = new float[rows * v];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < v; i++) {
                logits[r][i] = (float) (2 * rng.nextGaussian());
                flat[r * v + i] = (float) logits[r][i];
            }
        }
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray z = m.create(flat).reshape(rows, v);
            float[] p = s.probabilities(z).toFloatArray();
            TokenDistribution[] d = s.distributions(z);
            for (int r = 0; r < rows; r++) {
                double[] want = ReferenceWarp.probabilities(logits[r], s);
                int kept = 0;
                for (int i = 0; i < v; i++) {
                    assertEquals(want[i], p[r * v + i], 1e-5, "row " + r + " token " + i);
                    assertEquals(want[i], d[r].probability(i), 1e-5, "row " + r + " token " + i);
                    kept += want[i] > 0 ? 1 : 0;
                }
                assertTrue(topK == 0 || kept <= topK, "top-k keeps at most k tokens");
            }
        }
    }

    /**
     * {@link Sampler#temperature}'s batched draw: each row of a (R, V) batch follows its own warped
     * distribution (4 rows with different preferred tokens and a nucleus, 4,000 draws each, every
     * frequency within 5 standard errors), so a regeneration batch samples all rows in a few ops.
     */
    @Test
    void batchedTemperatureDrawsFollowEachRowsDistribution() {
        Sampling warp = new Sampling(0.7, 0.9, 0);
        Sampler sampler = Sampler.temperature(0.7, 0.9);
        int rows = 4, v = 5, draws = 4000;
        double[][] logits = {{2, 1, 0, -1, -3}, {-3, 2, 1.5, 0, 0}, {0, 0, 0, 0, 3}, {1, 1, 1, 1, 1}};
        float[] flat = new float[rows * v];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < v; i++) {
                flat[r * v + i] = (float) logits[r][i];
            }
        }
        int[][] counts = new int[rows][v];
        try (NDManager m = NDManager.newBaseManager()) {
            Engine.getInstance().setRandomSeed(11);
            NDArray z = m.create(flat).reshape(rows, v);
            for (int k = 0; k < draws; k++) {
                long[] chosen = sampler.sampleRows(z);
                assertEquals(rows, chosen.length);
                for (int r = 0; r < rows; r++) {
                    counts[r][(int) chosen[r]]++;
                }
            }
        }
        for (int r = 0; r < rows; r++) {
            double[] want = ReferenceWarp.probabilities(logits[r], warp);
            for (int i = 0; i < v; i++) {
                double se = Math.sqrt(want[i] * (1 - want[i]) / draws);
                double got = counts[r][i] / (double) draws;
                assertEquals(want[i], got, 5 * se + 1e-9, "row " + r + " token " + i);
            }
        }
    }

    @Test
    void greedyIsOneHotAndDrawsNothing() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray z = m.create(new float[] {0.1f, 3f, -1f, 2.9f}).reshape(1, 4);
            TokenDistribution d = Sampling.GREEDY.distributions(z)[0];
            assertEquals(TokenDistribution.oneHot(1), d);
            SplittableRandom rng = new SplittableRandom(1);
            long before = new SplittableRandom(1).nextLong();
            assertEquals(1, d.sample(rng));
            assertEquals(before, rng.nextLong(), "a one-hot draw consumes no randomness");
        }
    }

    @Test
    void residualIsTheNormalisedPositivePart() {
        TokenDistribution p = TokenDistribution.of(new float[] {0.5f, 0.3f, 0.2f});
        TokenDistribution q = TokenDistribution.of(new float[] {0.2f, 0.6f, 0.2f});
        TokenDistribution r = p.residual(q); // max(0, p − q) = (0.3, 0, 0)
        assertEquals(1.0, r.probability(0), 1e-6);
        TokenDistribution without = p.residual(TokenDistribution.oneHot(0)); // (0, 0.3, 0.2) / 0.5
        assertEquals(0.6, without.probability(1), 1e-7);
        assertEquals(0.4, without.probability(2), 1e-7);
        assertEquals(0.0, without.probability(0), 0);
    }

    @Test
    void badSettingsNameTheFlag() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Sampling(-1, 1, 0)).getMessage()
                .contains("--temperature=-1.0"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Sampling(1, 0, 0)).getMessage()
                .contains("--top-p=0.0"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Sampling(1, 1, -2)).getMessage()
                .contains("--top-k=-2"));
    }
}
