package dev.blockdraft.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** {@link ChiSquare}'s p-values against tabulated quantiles, and both tests on samples with a known answer. */
class ChiSquareTest {

    @Test
    void survivalMatchesTabulatedQuantiles() {
        for (int x = 0; x < 20; x++) {
            assertEquals(Math.exp(-x / 2.0), ChiSquare.survival(x, 2), 1e-12, "df 2 is exponential"); // exact
        }
        assertEquals(0.05, ChiSquare.survival(3.841458820694124, 1), 1e-9);
        assertEquals(0.05, ChiSquare.survival(18.307038053275146, 10), 1e-9);
        assertEquals(0.001, ChiSquare.survival(29.588298445074418, 10), 1e-10);
        assertEquals(0.05, ChiSquare.survival(124.34211340400407, 100), 1e-9);
        assertEquals(0.99, ChiSquare.survival(70.06489492250081, 100), 1e-9);
    }

    @Test
    void testsAcceptTheTruthAndRejectADifference() {
        SplittableRandom rng = new SplittableRandom(3);
        double[] p = {0.4, 0.3, 0.2, 0.05, 0.03, 0.02};
        double[] skewed = {0.36, 0.34, 0.2, 0.05, 0.03, 0.02};
        long[] a = draw(p, 20_000, rng), b = draw(p, 20_000, rng), c = draw(skewed, 20_000, rng);
        assertTrue(ChiSquare.goodnessOfFit(a, p).pValue() > 0.001, ChiSquare.goodnessOfFit(a, p).toString());
        assertTrue(ChiSquare.goodnessOfFit(c, p).pValue() < 0.001, ChiSquare.goodnessOfFit(c, p).toString());
        assertTrue(ChiSquare.homogeneity(a, b).pValue() > 0.001, ChiSquare.homogeneity(a, b).toString());
        assertTrue(ChiSquare.homogeneity(a, c).pValue() < 0.001, ChiSquare.homogeneity(a, c).toString());
        assertEquals(5, ChiSquare.homogeneity(a, b).degreesOfFreedom());
    }

    static long[] draw(double[] p, int n, SplittableRandom rng) {
        long[] counts = new long[p.length];
        for (int i = 0; i < n; i++) {
            double u = rng.nextDouble(), c = 0;
            int k = 0;
            while (k < p.length - 1 && u >= (c += p[k])) {
                k++;
            }
            counts[k]++;
        }
        return counts;
    }
}
