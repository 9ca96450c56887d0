package dev.blockdraft.grid;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Confidence intervals and a paired test for τ measured over seeds × prompts.
 *
 * <p>A benchmark's τ in one cell (one seed) is a ratio of sums over its prompts (Σ emitted ÷ Σ
 * verification steps), as in {@link dev.blockdraft.eval.Bootstrap}; an arm (one objective) is
 * summarised by the <b>mean over seeds</b> of those per-seed τ. Two sources of noise move it: which
 * prompts were drawn, and which seeds (initialisation, batch order, anchors). The interval of
 * {@link #tauInterval} is a <b>hierarchical percentile bootstrap</b>: each resample draws S seeds
 * with replacement from the S seeds, then, within each drawn seed, that seed's P prompts with
 * replacement, recomputes each drawn seed's τ and averages them; the 2.5% and 97.5% percentiles of
 * {@value #RESAMPLES} resamples bound the 95% interval. With one seed it is the prompt bootstrap
 * of {@code eval.Bootstrap}, draw for draw (same generator, seed and order), so it cannot be
 * narrower than the spread over prompts alone, and with several seeds the seed spread widens it.
 *
 * <p>Draw order, so an independent implementation can reproduce every number: one
 * {@code SplittableRandom(seed)}; per resample, when S &gt; 1, S calls {@code nextInt(S)} for the
 * seeds, then for each drawn seed in turn P calls {@code nextInt(P)} for its prompts.
 *
 * <p>{@link #relativeChangeInterval} is the <b>paired</b> version: both arms use the same drawn
 * seeds and the same drawn prompts (prompts are matched by position, seeds by position: callers
 * align them by prompt id and seed value), and the statistic is mean τ(arm) ÷ mean τ(baseline) − 1.
 *
 * <p>{@link #signFlipPValue} is a <b>paired sign-flip permutation test</b> over prompts × seeds: the
 * units are the (seed, prompt) pairs, each with d = τ_arm − τ_baseline of that prompt under that
 * seed; under the null of no difference each d is as likely to have the other sign, so the p-value
 * is the share of sign assignments whose |mean d| is at least the observed one — exact (all 2^n
 * assignments) up to {@value #EXACT_UNITS} units, else {@value #RESAMPLES}·5 random ones (p =
 * (1 + hits) / (1 + draws)). Identical arms give p = 1.
 */
public final class SeedBootstrap {
    public static final int RESAMPLES = dev.blockdraft.eval.Bootstrap.RESAMPLES;
    public static final long SEED = dev.blockdraft.eval.Bootstrap.SEED;
    /** Up to this many units the sign-flip test enumerates every assignment. */
    public static final int EXACT_UNITS = 16;

    private SeedBootstrap() {}

    /**
     * One arm's per-prompt counts: {@code emitted[s][p]} and {@code steps[s][p]} for seed s and
     * prompt p. Seeds may have different prompt counts; paired statistics need equal ones.
     */
    public record Arm(long[][] emitted, long[][] steps) {
        public Arm {
            if (emitted.length != steps.length || emitted.length == 0) {
                throw new IllegalArgumentException(emitted.length + " seeds of emitted counts but " + steps.length
                        + " of steps (at least one needed)");
            }
            for (int s = 0; s < emitted.length; s++) {
                if (emitted[s].length != steps[s].length || emitted[s].length == 0) {
                    throw new IllegalArgumentException("seed " + s + ": " + emitted[s].length + " prompts emitted, "
                            + steps[s].length + " with steps (at least one needed)");
                }
            }
        }

        public int seeds() {
            return emitted.length;
        }

        /** τ of seed s: Σ emitted ÷ Σ steps over its prompts. */
        public double seedTau(int s) {
            long e = 0, n = 0;
            for (int p = 0; p < emitted[s].length; p++) {
                e += emitted[s][p];
                n += steps[s][p];
            }
            return n == 0 ? Double.NaN : (double) e / n;
        }

        /** The mean over seeds of the per-seed τ. */
        public double tau() {
            double sum = 0;
            for (int s = 0; s < seeds(); s++) {
                sum += seedTau(s);
            }
            return sum / seeds();
        }
    }

    /** The 95% hierarchical bootstrap interval of {@link Arm#tau()}. */
    public static double[] tauInterval(Arm arm) {
        return tauInterval(arm, RESAMPLES, 0.95, SEED);
    }

    public static double[] tauInterval(Arm arm, int resamples, double level, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        double[] stats = new double[resamples];
        int kept = 0;
        int[] seeds = new int[arm.seeds()];
        for (int r = 0; r < resamples; r++) {
            drawSeeds(rng, seeds);
            double sum = 0;
            boolean ok = true;
            for (int s : seeds) {
                int n = arm.emitted()[s].length;
                long e = 0, d = 0;
                for (int i = 0; i < n; i++) {
                    int p = rng.nextInt(n);
                    e += arm.emitted()[s][p];
                    d += arm.steps()[s][p];
                }
                if (d == 0) {
                    ok = false;
                } else {
                    sum += (double) e / d;
                }
            }
            if (ok) {
                stats[kept++] = sum / seeds.length;
            }
        }
        return percentiles(stats, kept, level);
    }

    /** mean τ(arm) ÷ mean τ(baseline) − 1. */
    public static double relativeChange(Arm arm, Arm baseline) {
        return arm.tau() / baseline.tau() - 1;
    }

    /** The 95% paired hierarchical bootstrap interval of {@link #relativeChange}. */
    public static double[] relativeChangeInterval(Arm arm, Arm baseline) {
        return relativeChangeInterval(arm, baseline, RESAMPLES, 0.95, SEED);
    }

    public static double[] relativeChangeInterval(Arm arm, Arm baseline, int resamples, double level, long seed) {
        checkPaired(arm, baseline);
        SplittableRandom rng = new SplittableRandom(seed);
        double[] stats = new double[resamples];
        int kept = 0;
        int[] seeds = new int[arm.seeds()];
        for (int r = 0; r < resamples; r++) {
            drawSeeds(rng, seeds);
            double sumA = 0, sumB = 0;
            boolean ok = true;
            for (int s : seeds) {
                int n = arm.emitted()[s].length;
                long ea = 0, da = 0, eb = 0, db = 0;
                for (int i = 0; i < n; i++) {
                    int p = rng.nextInt(n);
                    ea += arm.emitted()[s][p];
                    da += arm.steps()[s][p];
                    eb += baseline.emitted()[s][p];
                    db += baseline.steps()[s][p];
                }
                if (da == 0 || db == 0) {
                    ok = false;
                } else {
                    sumA += (double) ea / da;
                    sumB += (double) eb / db;
                }
            }
            if (ok && sumB > 0) {
                stats[kept++] = sumA / sumB - 1;
            }
        }
        return percentiles(stats, kept, level);
    }

    /** The two-sided p-value of the paired sign-flip test (see the class comment). */
    public static double signFlipPValue(Arm arm, Arm baseline) {
        return signFlipPValue(arm, baseline, RESAMPLES * 5, SEED);
    }

    public static double signFlipPValue(Arm arm, Arm baseline, int draws, long seed) {
        checkPaired(arm, baseline);
        double[] d = differences(arm, baseline);
        int n = d.length;
        if (n == 0) {
            return Double.NaN;
        }
        double observed = Math.abs(sum(d));
        double tolerance = 1e-9 * (1 + observed);
        if (n <= EXACT_UNITS) {
            long hits = 0, total = 1L << n;
            for (long mask = 0; mask < total; mask++) {
                double s = 0;
                for (int k = 0; k < n; k++) {
                    s += ((mask >>> k) & 1) == 0 ? d[k] : -d[k];
                }
                if (Math.abs(s) >= observed - tolerance) {
                    hits++;
                }
            }
            return (double) hits / total;
        }
        SplittableRandom rng = new SplittableRandom(seed);
        long hits = 0;
        for (int r = 0; r < draws; r++) {
            double s = 0;
            for (double x : d) {
                s += rng.nextBoolean() ? x : -x;
            }
            if (Math.abs(s) >= observed - tolerance) {
                hits++;
            }
        }
        return (1.0 + hits) / (1.0 + draws);
    }

    /** Per (seed, prompt) unit: τ_arm − τ_baseline of that prompt; units where either made no step are left out. */
    static double[] differences(Arm arm, Arm baseline) {
        double[] out = new double[Arrays.stream(arm.emitted()).mapToInt(a -> a.length).sum()];
        int k = 0;
        for (int s = 0; s < arm.seeds(); s++) {
            for (int p = 0; p < arm.emitted()[s].length; p++) {
                long da = arm.steps()[s][p], db = baseline.steps()[s][p];
                if (da > 0 && db > 0) {
                    out[k++] = (double) arm.emitted()[s][p] / da - (double) baseline.emitted()[s][p] / db;
                }
            }
        }
        return Arrays.copyOf(out, k);
    }

    private static void checkPaired(Arm a, Arm b) {
        if (a.seeds() != b.seeds()) {
            throw new IllegalArgumentException("paired arms need the same seeds: " + a.seeds() + " vs " + b.seeds());
        }
        for (int s = 0; s < a.seeds(); s++) {
            if (a.emitted()[s].length != b.emitted()[s].length) {
                throw new IllegalArgumentException("paired arms need the same prompts: seed " + s + " has "
                        + a.emitted()[s].length + " vs " + b.emitted()[s].length);
            }
        }
    }

    private static void drawSeeds(SplittableRandom rng, int[] seeds) {
        for (int j = 0; j < seeds.length; j++) {
            seeds[j] = seeds.length == 1 ? 0 : rng.nextInt(seeds.length);
        }
    }

    private static double sum(double[] d) {
        double s = 0;
        for (double x : d) {
            s += x;
        }
        return s;
    }

    private static double[] percentiles(double[] stats, int kept, double level) {
        return dev.blockdraft.eval.Bootstrap.percentiles(stats, kept, level);
    }
}
