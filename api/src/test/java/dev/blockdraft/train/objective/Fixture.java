package dev.blockdraft.train.objective;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.SplittableRandom;
import java.util.function.ToDoubleFunction;

/**
 * Tiny hand-made batches and a plain-Java reference of every objective (doubles, softmax by hand,
 * products taken directly rather than in log space), written independently of the DJL code.
 */
final class Fixture {
    final int n;
    final int k;
    final int v;
    final long[][] labels;
    final int[] valid;
    final double[] logits; // flat (N, K, V)
    double[] probs; // flat (N, K, V) target distributions, or null

    Fixture(long[][] labels, int[] valid, double[] logits, int v) {
        this.n = labels.length;
        this.k = labels[0].length;
        this.v = v;
        this.labels = labels;
        this.valid = valid;
        this.logits = logits;
    }

    /**
     * N=3, K=3, V=4. Block 0: all valid, slot 1 right, slots 2 and 3 wrong (first error at slot 2).
     * Block 1: slots 1–2 valid and right (no error), slot 3 invalid with padding label −100.
     * Block 2: only slot 1 valid, and wrong; invalid slots carry labels −1 and 7 (out of range).
     */
    static Fixture small() {
        double[][][] l = {
            {{0.1, -0.4, 1.3, 0.2}, {0.9, 0.5, -0.2, 0.0}, {-0.3, 0.4, 0.1, 1.1}},
            {{2.0, 0.3, -1.0, 0.5}, {0.2, 0.1, 0.0, 0.8}, {5.0, -3.0, 0.7, 0.1}},
            {{0.3, 0.2, 0.6, -0.5}, {1.0, 1.0, 1.0, 1.0}, {9.0, 0.0, 0.0, 0.0}},
        };
        long[][] y = {{2, 1, 1}, {0, 3, -100}, {0, -1, 7}};
        return new Fixture(y, new int[] {3, 2, 1}, flatten(l), 4);
    }

    /** Random logits with labels chosen so that each valid slot is right with probability pRight. */
    static Fixture random(long seed, int n, int k, int v, int[] valid, double pRight) {
        SplittableRandom r = new SplittableRandom(seed);
        double[] l = new double[n * k * v];
        long[][] y = new long[n][k];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < k; j++) {
                int best = 0;
                for (int c = 0; c < v; c++) {
                    l[(i * k + j) * v + c] = r.nextGaussian() * 1.5;
                    if (l[(i * k + j) * v + c] > l[(i * k + j) * v + best]) {
                        best = c;
                    }
                }
                y[i][j] = r.nextDouble() < pRight ? best : (best + 1 + r.nextInt(v - 1)) % v;
            }
        }
        return new Fixture(y, valid, l, v);
    }

    /** Attaches random target distributions (Dirichlet-ish, strictly positive). */
    Fixture withRandomProbs(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        probs = new double[n * k * v];
        for (int s = 0; s < n * k; s++) {
            double z = 0;
            for (int c = 0; c < v; c++) {
                probs[s * v + c] = Math.exp(r.nextGaussian() * 1.5);
                z += probs[s * v + c];
            }
            for (int c = 0; c < v; c++) {
                probs[s * v + c] /= z;
            }
        }
        return this;
    }

    static double[] flatten(double[][][] a) {
        int n = a.length, k = a[0].length, v = a[0][0].length;
        double[] f = new double[n * k * v];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < k; j++) {
                System.arraycopy(a[i][j], 0, f, (i * k + j) * v, v);
            }
        }
        return f;
    }

    // ---- DJL side ----

    DraftBatch batch(NDManager m) {
        DraftBatch b = DraftBatch.of(m, labels, valid);
        if (probs != null) {
            b = b.withTargetProbs(m.create(toFloat(probs), new Shape(n, k, v)));
        }
        return b;
    }

    NDArray logits(NDManager m, DataType type) {
        return type == DataType.FLOAT64
                ? m.create(logits.clone(), new Shape(n, k, v))
                : m.create(toFloat(logits), new Shape(n, k, v));
    }

    static float[] toFloat(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            f[i] = (float) d[i];
        }
        return f;
    }

    // ---- plain-Java reference ----

    boolean isValid(int i, int j) {
        return j < valid[i];
    }

    double[] softmax(double[] l, int i, int j) {
        double[] q = new double[v];
        int o = (i * k + j) * v;
        double max = Double.NEGATIVE_INFINITY;
        for (int c = 0; c < v; c++) {
            max = Math.max(max, l[o + c]);
        }
        double z = 0;
        for (int c = 0; c < v; c++) {
            q[c] = Math.exp(l[o + c] - max);
            z += q[c];
        }
        for (int c = 0; c < v; c++) {
            q[c] /= z;
        }
        return q;
    }

    double q(double[] l, int i, int j) {
        return softmax(l, i, j)[(int) labels[i][j]];
    }

    double ce(double[] l, int i, int j) {
        return -Math.log(q(l, i, j));
    }

    /** Greedy acceptance q(y), or Σ min(p, q) when probs are attached. */
    double acceptance(double[] l, int i, int j) {
        if (probs == null) {
            return q(l, i, j);
        }
        double[] q = softmax(l, i, j);
        double a = 0;
        for (int c = 0; c < v; c++) {
            a += Math.min(q[c], probs[(i * k + j) * v + c]);
        }
        return a;
    }

    boolean right(double[] l, int i, int j) {
        int o = (i * k + j) * v;
        int best = 0;
        for (int c = 1; c < v; c++) {
            if (l[o + c] > l[o + best]) {
                best = c;
            }
        }
        return best == labels[i][j];
    }

    /** k* (0-based) of block i, or −1. */
    int firstError(double[] l, int i) {
        for (int j = 0; j < valid[i]; j++) {
            if (!right(l, i, j)) {
                return j;
            }
        }
        return -1;
    }

    double uniform(double[] l) {
        double s = 0;
        int c = 0;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < valid[i]; j++) {
                s += ce(l, i, j);
                c++;
            }
        }
        return s / c;
    }

    /** Σ w_{ij} CE / Σ w_{ij} over valid slots, with a per-slot weight w[i][j]. */
    double weighted(double[] l, double[][] w) {
        double s = 0, z = 0;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < valid[i]; j++) {
                s += w[i][j] * ce(l, i, j);
                z += w[i][j];
            }
        }
        return s / z;
    }

    double positional(double[] l, double[] wk) {
        double[][] w = new double[n][];
        for (int i = 0; i < n; i++) {
            w[i] = wk;
        }
        return weighted(l, w);
    }

    /** L_fe (unweighted). */
    double firstErrorFocal(double[] l, double gamma) {
        double s = 0;
        int c = 0;
        for (int i = 0; i < n; i++) {
            int e = firstError(l, i);
            if (e >= 0) {
                s += Math.pow(1 - q(l, i, e), gamma) * ce(l, i, e);
                c++;
            }
        }
        return c == 0 ? 0 : s / c;
    }

    /** Per-block E[τ] = Σ_k Π_{j≤k} a_j over valid slots. */
    double[] expectedTau(double[] l) {
        double[] t = new double[n];
        for (int i = 0; i < n; i++) {
            double p = 1;
            for (int j = 0; j < valid[i]; j++) {
                p *= acceptance(l, i, j);
                t[i] += p;
            }
        }
        return t;
    }

    /** Mean E[τ] over blocks with a valid slot. */
    double meanTau(double[] l) {
        double[] t = expectedTau(l);
        double s = 0;
        int c = 0;
        for (int i = 0; i < n; i++) {
            if (valid[i] > 0) {
                s += t[i];
                c++;
            }
        }
        return s / c;
    }

    double chain(double[] l) {
        return -meanTau(l) / k;
    }

    /** DPace weights w[i][j] = Σ_{m ≥ j, valid} Π_{t ≤ m} ((1−c) q_t + c). */
    double[][] dpaceWeights(double[] l, double c) {
        double[][] w = new double[n][k];
        for (int i = 0; i < n; i++) {
            double[] p = new double[k];
            double prod = 1;
            for (int j = 0; j < valid[i]; j++) {
                prod *= (1 - c) * q(l, i, j) + c;
                p[j] = prod;
            }
            for (int j = 0; j < valid[i]; j++) {
                for (int m = j; m < valid[i]; m++) {
                    w[i][j] += p[m];
                }
            }
        }
        return w;
    }

    double dpace(double[] l, double c) {
        return weighted(l, dpaceWeights(l, c));
    }

    /** Central differences of f at the fixture's logits, step h. */
    double[] numericGradient(ToDoubleFunction<double[]> f, double h) {
        double[] g = new double[logits.length];
        double[] x = logits.clone();
        for (int i = 0; i < x.length; i++) {
            double x0 = x[i];
            x[i] = x0 + h;
            double up = f.applyAsDouble(x);
            x[i] = x0 - h;
            double down = f.applyAsDouble(x);
            x[i] = x0;
            g[i] = (up - down) / (2 * h);
        }
        return g;
    }
}
