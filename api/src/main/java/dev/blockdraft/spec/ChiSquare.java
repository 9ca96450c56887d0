package dev.blockdraft.spec;

import java.util.ArrayList;
import java.util.List;

/**
 * Pearson's chi-square tests for the exactness checks: goodness of fit of observed counts to exact
 * probabilities, and homogeneity of two samples' counts. Categories whose expected count is below 5
 * are pooled into one (when that pool itself expects at least 5, else it is dropped), the usual
 * condition for the chi-square approximation.
 *
 * @param statistic Σ (O − E)² / E over the kept categories
 * @param degreesOfFreedom kept categories − 1 (goodness of fit) or (categories − 1)·(2 − 1) (homogeneity)
 * @param pValue P(χ²(df) ≥ statistic)
 */
public record ChiSquare(double statistic, int degreesOfFreedom, double pValue) {

    static final double MIN_EXPECTED = 5;

    /** Tests {@code observed} counts against probabilities {@code p} (summing to 1). */
    public static ChiSquare goodnessOfFit(long[] observed, double[] p) {
        long n = 0;
        for (long o : observed) {
            n += o;
        }
        List<double[]> cells = new ArrayList<>(); // {observed, expected}
        double pooledO = 0, pooledE = 0;
        for (int i = 0; i < observed.length; i++) {
            double e = n * p[i];
            if (e >= MIN_EXPECTED) {
                cells.add(new double[] {observed[i], e});
            } else {
                pooledO += observed[i];
                pooledE += e;
            }
        }
        if (pooledE >= MIN_EXPECTED) {
            cells.add(new double[] {pooledO, pooledE});
        }
        double x = 0;
        for (double[] c : cells) {
            x += (c[0] - c[1]) * (c[0] - c[1]) / c[1];
        }
        int df = Math.max(cells.size() - 1, 1);
        return new ChiSquare(x, df, survival(x, df));
    }

    /** Tests whether two samples' counts over the same categories come from one distribution. */
    public static ChiSquare homogeneity(long[] a, long[] b) {
        long na = 0, nb = 0;
        for (int i = 0; i < a.length; i++) {
            na += a[i];
            nb += b[i];
        }
        double fa = (double) na / (na + nb), fb = (double) nb / (na + nb);
        List<long[]> cells = new ArrayList<>();
        long pooledA = 0, pooledB = 0;
        for (int i = 0; i < a.length; i++) {
            long t = a[i] + b[i];
            if (Math.min(fa, fb) * t >= MIN_EXPECTED) {
                cells.add(new long[] {a[i], b[i]});
            } else {
                pooledA += a[i];
                pooledB += b[i];
            }
        }
        if (Math.min(fa, fb) * (pooledA + pooledB) >= MIN_EXPECTED) {
            cells.add(new long[] {pooledA, pooledB});
        }
        double x = 0;
        for (long[] c : cells) {
            double t = c[0] + c[1];
            double ea = t * fa, eb = t * fb;
            x += (c[0] - ea) * (c[0] - ea) / ea + (c[1] - eb) * (c[1] - eb) / eb;
        }
        int df = Math.max(cells.size() - 1, 1);
        return new ChiSquare(x, df, survival(x, df));
    }

    /** P(χ²(df) ≥ x): the regularized upper incomplete gamma Q(df/2, x/2). */
    public static double survival(double x, int df) {
        if (x <= 0) {
            return 1;
        }
        double a = df / 2.0, z = x / 2.0;
        return z < a + 1 ? 1 - lowerSeries(a, z) : upperFraction(a, z);
    }

    // Numerical Recipes §6.2: the series for P(a, z) when z < a + 1, Lentz's continued fraction for Q otherwise.
    private static double lowerSeries(double a, double z) {
        double term = 1 / a, sum = term;
        for (int n = 1; n < 10_000; n++) {
            term *= z / (a + n);
            sum += term;
            if (Math.abs(term) < Math.abs(sum) * 1e-15) {
                break;
            }
        }
        return sum * Math.exp(-z + a * Math.log(z) - logGamma(a));
    }

    private static double upperFraction(double a, double z) {
        double tiny = 1e-300;
        double b = z + 1 - a, c = 1 / tiny, d = 1 / b, h = d;
        for (int i = 1; i < 10_000; i++) {
            double an = -i * (i - a);
            b += 2;
            d = an * d + b;
            d = Math.abs(d) < tiny ? tiny : d;
            c = b + an / c;
            c = Math.abs(c) < tiny ? tiny : c;
            d = 1 / d;
            double delta = d * c;
            h *= delta;
            if (Math.abs(delta - 1) < 1e-15) {
                break;
            }
        }
        return Math.exp(-z + a * Math.log(z) - logGamma(a)) * h;
    }

    /** ln Γ(a) by Lanczos' approximation (g = 7, 9 terms; relative error ~1e-15). */
    static double logGamma(double a) {
        double[] c = {0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
            -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7};
        if (a < 0.5) {
            return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * a))) - logGamma(1 - a);
        }
        a -= 1;
        double x = c[0];
        for (int i = 1; i < 9; i++) {
            x += c[i] / (a + i);
        }
        double t = a + 7.5;
        return 0.5 * Math.log(2 * Math.PI) + (a + 0.5) * Math.log(t) - t + Math.log(x);
    }

    @Override
    public String toString() {
        return String.format("χ² = %.2f, df = %d, p = %.4g", statistic, degreesOfFreedom, pValue);
    }
}
