package dev.blockdraft.nn;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The TorchScript module's fused attention computes what the eager formula does, values and
 * gradients, with grouped kv heads — on the CPU here, and on a GPU where one is visible.
 */
class FusedAttentionTest {

    @Test
    void fusedMatchesEagerOnEveryVisibleDevice() {
        List<Device> devices = new ArrayList<>(List.of(Device.cpu()));
        if (Engine.getInstance().getGpuCount() > 0) {
            devices.add(Device.gpu());
        }
        for (Device device : devices) {
            FusedAttention fused = FusedAttention.load(device)
                    .orElseThrow(() -> new AssertionError("the fused attention module did not load on " + device));
            try (NDManager m = NDManager.newBaseManager(device)) {
                m.getEngine().setRandomSeed(3);
                long b = 2, h = 4, g = 2, t = 9, d = 16;
                NDArray q = m.randomNormal(new Shape(b, h, t, d));
                NDArray k = m.randomNormal(new Shape(b, g, t, d));
                NDArray v = m.randomNormal(new Shape(b, g, t, d));
                NDArray weights = m.randomNormal(new Shape(b, h, t, d));
                NDArray causal = Ops.causalMask(m, 0, (int) t, DataType.FLOAT32);
                compare(device + " causal", q, k, v, weights,
                        fused::causal, (qq, kk, vv) -> Ops.eagerAttention(qq, kk, vv, causal));
                // a drafter-like mask: each row sees a prefix and its own block of 3, per batch row
                float[] allowed = new float[(int) (b * t * t)];
                for (int r = 0; r < b; r++) {
                    for (int i = 0; i < t; i++) {
                        for (int j = 0; j < t; j++) {
                            boolean sameBlock = i / 3 == j / 3;
                            boolean prefix = j < 2 + r;
                            allowed[(int) ((r * t + i) * t + j)] = sameBlock || prefix ? 0f : Float.NEGATIVE_INFINITY;
                        }
                    }
                }
                NDArray mask = m.create(allowed, new Shape(b, 1, t, t));
                compare(device + " masked", q, k, v, weights,
                        (qq, kk, vv) -> fused.masked(qq, kk, vv, mask), (qq, kk, vv) -> Ops.eagerAttention(qq, kk, vv, mask));
            }
        }
    }

    private static void compare(String what, NDArray q, NDArray k, NDArray v, NDArray weights,
            Attention fused, Attention eager) {
        float[][] a = valueAndGradients(q, k, v, weights, fused);
        float[][] e = valueAndGradients(q, k, v, weights, eager);
        String[] names = {"output", "dq", "dk", "dv"};
        for (int i = 0; i < names.length; i++) {
            double worst = 0;
            for (int j = 0; j < a[i].length; j++) {
                worst = Math.max(worst, Math.abs(a[i][j] - e[i][j]));
            }
            assertTrue(worst < 1e-4, what + " " + names[i] + " differs by " + worst);
            assertTrue(a[i].length > 0 && !Float.isNaN(a[i][0]), what + " " + names[i]);
        }
    }

    interface Attention {
        NDArray apply(NDArray q, NDArray k, NDArray v);
    }

    private static float[][] valueAndGradients(NDArray q0, NDArray k0, NDArray v0, NDArray weights, Attention attention) {
        NDArray q = q0.duplicate(), k = k0.duplicate(), v = v0.duplicate(); // fresh leaves: gradients accumulate
        for (NDArray x : new NDArray[] {q, k, v}) {
            x.setRequiresGradient(true);
        }
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            NDArray out = attention.apply(q, k, v);
            gc.backward(out.mul(weights).sum());
            return new float[][] {out.toFloatArray(), q.getGradient().toFloatArray(), k.getGradient().toFloatArray(),
                    v.getGradient().toFloatArray()};
        }
    }
}
