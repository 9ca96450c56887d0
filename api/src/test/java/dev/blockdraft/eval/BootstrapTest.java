package dev.blockdraft.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class BootstrapTest {

    /** Prompts whose steps and accepted tokens vary: each prompt's τ drawn around a true mean. */
    private static long[][] prompts(SplittableRandom r, int n, double trueTau) {
        long[] emitted = new long[n], steps = new long[n];
        for (int i = 0; i < n; i++) {
            steps[i] = 10 + r.nextInt(60);
            double tau = Math.max(1, trueTau + r.nextGaussian() * 0.8);
            emitted[i] = Math.round(steps[i] * tau);
        }
        return new long[][] {emitted, steps};
    }

    @Test
    void intervalsCoverTheTrueRatioAboutAsOftenAsTheyClaim() {
        // the population: τ per prompt ~ N(2.5, 0.8) clipped at 1; its ratio estimand computed on a huge sample
        long[][] population = prompts(new SplittableRandom(1), 200_000, 2.5);
        double truth = 0, den = 0;
        for (int i = 0; i < population[0].length; i++) {
            truth += population[0][i];
            den += population[1][i];
        }
        truth /= den;
        SplittableRandom r = new SplittableRandom(2);
        int trials = 300, covered = 0;
        for (int t = 0; t < trials; t++) {
            long[][] sample = prompts(r, 20, 2.5);
            double[] ci = Bootstrap.ratioInterval(sample[0], sample[1], 1000, 0.95, t);
            covered += ci[0] <= truth && truth <= ci[1] ? 1 : 0;
        }
        double rate = covered / (double) trials;
        // a percentile bootstrap on 20 units runs a little under nominal; 0.88..0.99 brackets 95% ± sampling noise
        assertTrue(rate >= 0.88 && rate <= 0.99, "coverage " + rate);
    }

    @Test
    void identicalPromptsGiveAPointAndOnePromptItsOwnValue() {
        assertArrayEquals(new double[] {2.0, 2.0}, Bootstrap.ratioInterval(new long[] {20, 40, 60}, new long[] {10, 20, 30}),
                1e-12);
        assertArrayEquals(new double[] {1.5, 1.5}, Bootstrap.ratioInterval(new long[] {3}, new long[] {2}), 1e-12);
        double[] none = Bootstrap.ratioInterval(new long[0], new long[0]);
        assertTrue(Double.isNaN(none[0]) && Double.isNaN(none[1]));
    }

    @Test
    void theIntervalBracketsThePointEstimateAndIsReproducible() {
        long[][] s = prompts(new SplittableRandom(5), 20, 3.0);
        double point = (double) java.util.Arrays.stream(s[0]).sum() / java.util.Arrays.stream(s[1]).sum();
        double[] a = Bootstrap.ratioInterval(s[0], s[1]);
        double[] b = Bootstrap.ratioInterval(s[0], s[1]);
        assertArrayEquals(a, b, 0);
        assertTrue(a[0] < point && point < a[1], java.util.Arrays.toString(a) + " vs " + point);
        assertEquals(0.5, Bootstrap.quantile(new double[] {0, 1}, 0.5), 1e-12);
    }
}
