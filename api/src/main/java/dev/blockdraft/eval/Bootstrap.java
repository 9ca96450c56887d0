package dev.blockdraft.eval;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Percentile bootstrap intervals over prompts. A benchmark's τ is a ratio of sums over its
 * prompts (tokens emitted ÷ verification steps), so prompts — not steps — are the unit resampled:
 * steps within one prompt are correlated, and treating them as independent would make the
 * interval far too narrow.
 */
public final class Bootstrap {
    /** Resamples per interval: enough for the 2.5% and 97.5% percentiles to be stable to ~0.01 in τ. */
    public static final int RESAMPLES = 2000;
    /** A fixed seed: the same results give the same interval. */
    public static final long SEED = 0x5EED;

    private Bootstrap() {}

    /** The 95% percentile interval of Σ numerator / Σ denominator, resampling units with replacement. */
    public static double[] ratioInterval(long[] numerator, long[] denominator) {
        return ratioInterval(numerator, denominator, RESAMPLES, 0.95, SEED);
    }

    /**
     * The {@code level} percentile interval of Σ numerator / Σ denominator over {@code resamples}
     * bootstrap resamples of the units; {NaN, NaN} for no units, the point value twice for one.
     */
    public static double[] ratioInterval(long[] numerator, long[] denominator, int resamples, double level, long seed) {
        if (numerator.length != denominator.length) {
            throw new IllegalArgumentException(numerator.length + " numerators but " + denominator.length + " denominators");
        }
        int n = numerator.length;
        if (n == 0) {
            return new double[] {Double.NaN, Double.NaN};
        }
        SplittableRandom rng = new SplittableRandom(seed);
        double[] stats = new double[resamples];
        int kept = 0;
        for (int r = 0; r < resamples; r++) {
            long num = 0, den = 0;
            for (int i = 0; i < n; i++) {
                int pick = rng.nextInt(n);
                num += numerator[pick];
                den += denominator[pick];
            }
            if (den > 0) {
                stats[kept++] = (double) num / den;
            }
        }
        return percentiles(stats, kept, level);
    }

    /**
     * The central {@code level} interval of the first {@code kept} resampled statistics (percentile
     * bootstrap); {NaN, NaN} when none was kept.
     */
    public static double[] percentiles(double[] stats, int kept, double level) {
        if (kept == 0) {
            return new double[] {Double.NaN, Double.NaN};
        }
        double[] s = Arrays.copyOf(stats, kept);
        Arrays.sort(s);
        double tail = (1 - level) / 2;
        return new double[] {quantile(s, tail), quantile(s, 1 - tail)};
    }

    /** Linear interpolation between order statistics (type 7, as numpy's default). */
    public static double quantile(double[] sorted, double p) {
        double h = (sorted.length - 1) * p;
        int lo = (int) Math.floor(h);
        int hi = Math.min(sorted.length - 1, lo + 1);
        return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
    }
}
