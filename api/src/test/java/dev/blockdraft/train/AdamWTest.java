package dev.blockdraft.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.blockdraft.nn.StateDict;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The native-kernel AdamW against PyTorch's AdamW update rule, written out in doubles. */
class AdamWTest {
    static final double B1 = 0.9, B2 = 0.95, EPS = 1e-8, WD = 0.1;

    @Test
    void matchesPyTorchAdamWIncludingDecayOnlyOnMatricesAndGradScale() {
        float[] w0 = {0.5f, -1.0f, 2.0f, 0.25f, -0.75f, 1.5f};
        float[] b0 = {0.3f, -0.2f};
        double[][] gw = {{0.1, -0.2, 0.3, 1e-4, -5, 0.05}, {0.2, 0.2, -0.1, 0, 3, -0.05}, {-0.3, 0.1, 0.1, 1e-3, 1, 0}};
        double[][] gb = {{1, -1}, {0.5, 0.1}, {-2, 0}};
        double[] lrs = {1e-2, 5e-3, 2e-2};
        double[] scales = {1.0, 0.5, 0.25};
        try (NDManager m = NDManager.newBaseManager(ai.djl.Device.cpu())) {
            StateDict p = new StateDict(m.newSubManager());
            p.put("w", m.create(w0, new Shape(2, 3)));
            p.put("b", m.create(b0, new Shape(2)));
            double[] w = toDouble(w0), b = toDouble(b0);
            double[][] state = new double[4][]; // mw, vw, mb, vb
            state[0] = new double[6];
            state[1] = new double[6];
            state[2] = new double[2];
            state[3] = new double[2];
            try (AdamW opt = new AdamW(m, B1, B2, EPS, WD)) {
                for (int t = 0; t < 3; t++) {
                    Map<String, NDArray> grads = new LinkedHashMap<>();
                    grads.put("w", m.create(toFloat(gw[t]), new Shape(2, 3)));
                    grads.put("b", m.create(toFloat(gb[t]), new Shape(2)));
                    opt.step(p, grads, lrs[t], scales[t]);
                    reference(w, gw[t], state[0], state[1], t + 1, lrs[t], scales[t], WD);
                    reference(b, gb[t], state[2], state[3], t + 1, lrs[t], scales[t], 0); // vectors: no decay
                }
                float[] gotW = p.get("w").toFloatArray();
                float[] gotB = p.get("b").toFloatArray();
                for (int i = 0; i < w.length; i++) {
                    assertEquals(w[i], gotW[i], 1e-6, "w[" + i + "]");
                }
                for (int i = 0; i < b.length; i++) {
                    assertEquals(b[i], gotB[i], 1e-6, "b[" + i + "]");
                }
                assertEquals(3, opt.stepCount());
                float[] mw = opt.firstMoments().get("w").toFloatArray();
                assertEquals(state[0][4], mw[4], 1e-6, "first moment kept by the optimizer");
            }
            p.close();
        }
    }

    /** torch.optim.AdamW: p *= 1 - lr·wd; m, v updated; p -= lr/bc1 · m / (sqrt(v)/sqrt(bc2) + eps). */
    static void reference(double[] p, double[] g, double[] m, double[] v, int t, double lr, double scale, double wd) {
        double bc1 = 1 - Math.pow(B1, t), bc2 = 1 - Math.pow(B2, t);
        for (int i = 0; i < p.length; i++) {
            double gi = (float) g[i] * scale;
            p[i] *= 1 - lr * wd;
            m[i] = B1 * m[i] + (1 - B1) * gi;
            v[i] = B2 * v[i] + (1 - B2) * gi * gi;
            p[i] -= lr / bc1 * m[i] / (Math.sqrt(v[i]) / Math.sqrt(bc2) + EPS);
        }
    }

    static double[] toDouble(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            d[i] = a[i];
        }
        return d;
    }

    static float[] toFloat(double[] a) {
        float[] f = new float[a.length];
        for (int i = 0; i < a.length; i++) {
            f[i] = (float) a[i];
        }
        return f;
    }
}
