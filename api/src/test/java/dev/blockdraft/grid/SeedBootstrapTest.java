package dev.blockdraft.grid;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.blockdraft.eval.Bootstrap;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The grid's intervals and test against plain-Java references on fixed data. */
class SeedBootstrapTest {
    // 3 seeds × 5 prompts: emitted tokens and verification steps per prompt
    static final long[][] EMITTED = {{40, 52, 33, 61, 47}, {38, 55, 30, 70, 41}, {45, 50, 36, 58, 49}};
    static final long[][] STEPS = {{10, 12, 11, 13, 10}, {11, 12, 10, 14, 12}, {10, 11, 12, 12, 10}};

    /** The hierarchical bootstrap written out in plain loops, following the documented draw order. */
    static double[] reference(long[][] e, long[][] n, int resamples, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        double[] means = new double[resamples];
        int seeds = e.length;
        for (int r = 0; r < resamples; r++) {
            int[] drawn = new int[seeds];
            for (int j = 0; j < seeds; j++) {
                drawn[j] = seeds == 1 ? 0 : rng.nextInt(seeds);
            }
            double total = 0;
            for (int j = 0; j < seeds; j++) {
                int s = drawn[j];
                double num = 0, den = 0;
                for (int i = 0; i < e[s].length; i++) {
                    int p = rng.nextInt(e[s].length);
                    num += e[s][p];
                    den += n[s][p];
                }
                total += num / den;
            }
            means[r] = total / seeds;
        }
        Arrays.sort(means);
        return new double[] {percentile(means, 0.025), percentile(means, 0.975)};
    }

    static double percentile(double[] sorted, double q) {
        double h = (sorted.length - 1) * q;
        int lo = (int) Math.floor(h);
        int hi = Math.min(lo + 1, sorted.length - 1);
        return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
    }

    @Test
    void hierarchicalIntervalMatchesAPlainJavaBootstrap() {
        SeedBootstrap.Arm arm = new SeedBootstrap.Arm(EMITTED, STEPS);
        double[] ci = SeedBootstrap.tauInterval(arm);
        assertArrayEquals(reference(EMITTED, STEPS, SeedBootstrap.RESAMPLES, SeedBootstrap.SEED), ci, 1e-12);
        double point = (ratio(EMITTED[0], STEPS[0]) + ratio(EMITTED[1], STEPS[1]) + ratio(EMITTED[2], STEPS[2])) / 3;
        assertEquals(point, arm.tau(), 1e-12);
        assertTrue(ci[0] < point && point < ci[1], Arrays.toString(ci));
    }

    @Test
    void oneSeedIsThePromptBootstrapOfEval() {
        SeedBootstrap.Arm one = new SeedBootstrap.Arm(new long[][] {EMITTED[1]}, new long[][] {STEPS[1]});
        assertArrayEquals(Bootstrap.ratioInterval(EMITTED[1], STEPS[1]), SeedBootstrap.tauInterval(one), 1e-12);
    }

    @Test
    void seedSpreadWidensTheInterval() {
        // seeds far apart: the interval must cover more than any one seed's prompt bootstrap
        long[][] e = {EMITTED[0], Arrays.stream(EMITTED[0]).map(x -> 2 * x).toArray()};
        long[][] n = {STEPS[0], STEPS[0]};
        double[] both = SeedBootstrap.tauInterval(new SeedBootstrap.Arm(e, n));
        double[] first = Bootstrap.ratioInterval(e[0], n[0]);
        assertTrue(both[1] - both[0] > 3 * (first[1] - first[0]), Arrays.toString(both) + " vs " + Arrays.toString(first));
    }

    @Test
    void identicalArmsChangeByZeroWithPOne() {
        SeedBootstrap.Arm a = new SeedBootstrap.Arm(EMITTED, STEPS);
        SeedBootstrap.Arm b = new SeedBootstrap.Arm(EMITTED, STEPS);
        assertEquals(0, SeedBootstrap.relativeChange(a, b), 1e-15);
        double[] ci = SeedBootstrap.relativeChangeInterval(a, b);
        assertTrue(ci[0] <= 0 && 0 <= ci[1], Arrays.toString(ci));
        assertEquals(1.0, SeedBootstrap.signFlipPValue(a, b), 1e-12);
    }

    @Test
    void aClearlyBetterArmIsSignificantWithAnIntervalAboveZero() {
        long[][] better = new long[3][];
        for (int s = 0; s < 3; s++) {
            better[s] = new long[5];
            for (int p = 0; p < 5; p++) {
                better[s][p] = EMITTED[s][p] + STEPS[s][p] / 2 + 1; // about +0.5 τ on every prompt
            }
        }
        SeedBootstrap.Arm a = new SeedBootstrap.Arm(better, STEPS);
        SeedBootstrap.Arm base = new SeedBootstrap.Arm(EMITTED, STEPS);
        double change = SeedBootstrap.relativeChange(a, base);
        double[] ci = SeedBootstrap.relativeChangeInterval(a, base);
        assertTrue(change > 0.1 && ci[0] > 0 && ci[0] <= change && change <= ci[1], change + " " + Arrays.toString(ci));
        // 15 units, all positive: exactly 2 of the 2^15 sign assignments reach |Σd| (all + and all −)
        assertEquals(2.0 / (1 << 15), SeedBootstrap.signFlipPValue(a, base), 1e-15);
    }

    @Test
    void signFlipPValueMatchesAHandEnumeration() {
        // one seed, three prompts with differences +1, +2, −0.5 in τ (steps 2: emitted differ by 2, 4, −1)
        SeedBootstrap.Arm a = new SeedBootstrap.Arm(new long[][] {{6, 8, 3}}, new long[][] {{2, 2, 2}});
        SeedBootstrap.Arm b = new SeedBootstrap.Arm(new long[][] {{4, 4, 4}}, new long[][] {{2, 2, 2}});
        // |Σ±d| ≥ 2.5 for sign patterns (+,+,−),(+,+,+),(−,−,+),(−,−,−): 4 of 8
        assertEquals(0.5, SeedBootstrap.signFlipPValue(a, b), 1e-15);
    }

    @Test
    void manyUnitsUseRandomFlipsWithTheAddOneRule() {
        long[][] e = new long[2][20], n = new long[2][20], f = new long[2][20];
        for (int s = 0; s < 2; s++) {
            for (int p = 0; p < 20; p++) {
                n[s][p] = 10;
                e[s][p] = 30 + (p % 5);
                f[s][p] = e[s][p];
            }
        }
        assertEquals(1.0, SeedBootstrap.signFlipPValue(new SeedBootstrap.Arm(e, n), new SeedBootstrap.Arm(f, n)), 1e-12);
        f[0][0] += 1; // a single tiny difference: no evidence at all
        double p = SeedBootstrap.signFlipPValue(new SeedBootstrap.Arm(f, n), new SeedBootstrap.Arm(e, n));
        assertEquals(1.0, p, 1e-12);
    }

    static double ratio(long[] e, long[] n) {
        return (double) Arrays.stream(e).sum() / Arrays.stream(n).sum();
    }
}
