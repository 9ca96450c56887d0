package dev.blockdraft.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.blockdraft.draft.Drafter;
import dev.blockdraft.draft.DrafterConfig;
import dev.blockdraft.lm.LlamaConfig;
import dev.blockdraft.lm.LlamaModel;
import dev.blockdraft.train.AdamW;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * The TorchScript module's ops compute what the eager ones do — attention with grouped kv heads,
 * RMSNorm and SwiGLU (values and gradients), AdamW and the global norm — on the CPU here, and on
 * a GPU where one is visible.
 */
class FusedOpsTest {

    @Test
    void fusedMatchesEagerOnEveryVisibleDevice() {
        for (Device device : devices()) {
            FusedOps fused = FusedOps.load(device)
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

    @Test
    void rmsNormAndSwiGluMatchTheEagerOps() {
        for (Device device : devices()) {
            FusedOps fused = FusedOps.load(device).orElseThrow();
            try (NDManager m = NDManager.newBaseManager(device)) {
                m.getEngine().setRandomSeed(5);
                NDArray x = m.randomNormal(new Shape(3, 5, 16)).mul(3);
                NDArray w = m.randomNormal(new Shape(16));
                NDArray gate = m.randomNormal(new Shape(24, 16)), up = m.randomNormal(new Shape(24, 16));
                NDArray down = m.randomNormal(new Shape(16, 24));
                String on = device.toString();
                assertClose(on + " rms_norm", withFusedOps("off", () -> Ops.rmsNorm(x, w, 1e-6)), fused.rmsNorm(x, w, 1e-6), 1e-5);
                assertClose(on + " swiglu", withFusedOps("off", () -> Ops.swiGlu(x, gate, up, down)), fused.swiGlu(x, gate, up, down), 1e-4);
                // gradients through the norm, w.r.t. x and the weight
                float[][] e = normGradients(x, w, false), f = normGradients(x, w, true);
                for (int i = 0; i < 2; i++) {
                    assertClose(on + " rms_norm grad " + i, e[i], f[i], 1e-4);
                }
            }
        }
    }

    @Test
    void fusedAdamWAndGlobalNormMatchTheEagerOptimizer() {
        for (Device device : devices()) {
            FusedOps fused = FusedOps.load(device).orElseThrow();
            try (NDManager m = NDManager.newBaseManager(device)) {
                m.getEngine().setRandomSeed(9);
                List<NDArray> grads = List.of(m.randomNormal(new Shape(6, 4)), m.randomNormal(new Shape(4)));
                float expectedNorm = 0;
                for (NDArray g : grads) {
                    expectedNorm += g.square().sum().getFloat();
                }
                assertEquals(Math.sqrt(expectedNorm), fused.globalNorm(grads).getFloat(), 1e-5, device + " global norm");
                float[][] eager = adamRun(m, grads, "off"), withKernel = adamRun(m, grads, "on");
                for (int i = 0; i < eager.length; i++) {
                    assertClose(device + " AdamW parameter " + i, eager[i], withKernel[i], 1e-6);
                }
            }
        }
    }

    @Test
    void fusedDecoderLayersMatchTheEagerForward() {
        for (Device device : devices()) {
            for (LlamaConfig config : new LlamaConfig[] {
                    LlamaConfig.llama(40, 32, 48, 3, 4, 2, 64),
                    LlamaConfig.qwen3(40, 32, 48, 3, 4, 2, 64)}) {
                try (LlamaModel model = LlamaModel.initialize(config, device, 7);
                        NDManager m = model.manager().newSubManager()) {
                    NDArray ids = m.create(new long[] {1, 5, 9, 2, 33, 7, 7, 3, 0, 12, 39, 4, 8, 8, 20, 1}).reshape(2, 8);
                    int[] capture = {0, 2};
                    LlamaModel.Output eager = withFusedOps("off", () -> model.forward(ids, capture, LlamaModel.Logits.ALL));
                    LlamaModel.Output fused = withFusedOps("on", () -> model.forward(ids, capture, LlamaModel.Logits.ALL));
                    String what = device + " " + config.modelType();
                    assertClose(what + " logits", eager.logits(), fused.logits(), 1e-4);
                    for (int i = 0; i < capture.length; i++) {
                        assertClose(what + " hidden " + i, eager.hidden().get(i), fused.hidden().get(i), 1e-4);
                    }
                }
            }
        }
    }

    @Test
    void fusedDrafterLayersMatchTheEagerForwardAndGradients() {
        for (Device device : devices()) {
            try (LlamaModel target = LlamaModel.initialize(LlamaConfig.qwen3(40, 32, 48, 4, 4, 2, 64), device, 3);
                    Drafter drafter = Drafter.initialize(DrafterConfig.forTarget(target.config(), "t", 4, 5).withLayers(2),
                            target, 9);
                    NDManager m = drafter.parameters().manager().newSubManager()) {
                m.getEngine().setRandomSeed(4);
                long s = 2, len = 6, q = 8; // two blocks of 4 per sequence, anchors at 2 and 4
                NDArray blockIds = m.create(new long[] {7, 5, 5, 5, 9, 5, 5, 5, 3, 5, 5, 5, 11, 5, 5, 5}).reshape(s, q);
                NDArray blockPositions = m.create(new long[] {2, 3, 4, 5, 4, 5, 6, 7, 2, 3, 4, 5, 4, 5, 6, 7}).reshape(s, q);
                NDArray contextPositions = m.arange(0, (int) len).toType(DataType.INT64, false).reshape(1, len).repeat(0, s);
                float[] allowed = new float[(int) (s * q * (len + q))];
                for (int r = 0; r < s; r++) {
                    for (int i = 0; i < q; i++) {
                        int anchor = i < 4 ? 2 : 4;
                        for (int j = 0; j < len + q; j++) {
                            boolean ok = j < len ? j < anchor : (j - len) / 4 == i / 4;
                            allowed[(int) ((r * q + i) * (len + q) + j)] = ok ? 0f : Float.NEGATIVE_INFINITY;
                        }
                    }
                }
                NDArray mask = m.create(allowed, new Shape(s, 1, q, len + q));
                NDArray context0 = m.randomNormal(new Shape(s, len, 32));
                NDArray weights = m.randomNormal(new Shape(s, q, 32));
                float[][] eager = withFusedOps("off", () -> drafterRun(drafter, blockIds, blockPositions, context0,
                        contextPositions, mask, weights));
                float[][] fused = withFusedOps("on", () -> drafterRun(drafter, blockIds, blockPositions, context0,
                        contextPositions, mask, weights));
                String[] what = {"output", "d context", "d q_proj (layer 0)", "d k_norm (layer 1)", "d down_proj (layer 1)"};
                for (int i = 0; i < what.length; i++) {
                    assertClose(device + " drafter " + what[i], eager[i], fused[i], 1e-4);
                }
            }
        }
    }

    /** Drafter.forward, then d/d(context, some parameters) of Σ out·weights. */
    private static float[][] drafterRun(Drafter drafter, NDArray blockIds, NDArray blockPositions, NDArray context0,
            NDArray contextPositions, NDArray mask, NDArray weights) {
        StateDict params = drafter.parameters();
        params.requireGradients(true);
        NDArray context = context0.duplicate();
        context.setRequiresGradient(true);
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            NDArray out = drafter.forward(blockIds, blockPositions, context, contextPositions, mask);
            gc.backward(out.mul(weights).sum());
            float[][] r = {out.toFloatArray(), context.getGradient().toFloatArray(),
                params.get("layers.0.self_attn.q_proj.weight").getGradient().toFloatArray(),
                params.get("layers.1.self_attn.k_norm.weight").getGradient().toFloatArray(),
                params.get("layers.1.mlp.down_proj.weight").getGradient().toFloatArray()};
            AdamW.zeroGradients(params);
            return r;
        } finally {
            params.requireGradients(false);
        }
    }

    /** Three AdamW steps (weight decay on the matrix only, a gradient scale) with the given fused mode. */
    private static float[][] adamRun(NDManager m, List<NDArray> grads, String fusedMode) {
        return withFusedOps(fusedMode, () -> {
            try (NDManager scope = m.newSubManager(); AdamW adam = AdamW.standard(scope, 0.1)) {
                StateDict params = new StateDict(scope);
                params.put("w", m.arange(24f).reshape(6, 4).div(10));
                params.put("b", m.ones(new Shape(4)));
                for (int step = 0; step < 3; step++) {
                    Map<String, NDArray> g = new LinkedHashMap<>();
                    g.put("w", grads.get(0).mul(step + 1));
                    g.put("b", grads.get(1).sub(step));
                    adam.step(params, g, 1e-2, 0.5);
                }
                return new float[][] {params.get("w").toFloatArray(), params.get("b").toFloatArray()};
            }
        });
    }

    private static float[][] normGradients(NDArray x0, NDArray w0, boolean fused) {
        NDArray x = x0.duplicate(), w = w0.duplicate();
        x.setRequiresGradient(true);
        w.setRequiresGradient(true);
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            NDArray y = fused ? FusedOps.load(x.getDevice()).orElseThrow().rmsNorm(x, w, 1e-6)
                    : withFusedOps("off", () -> Ops.rmsNorm(x, w, 1e-6));
            gc.backward(y.mul(y).sum());
            return new float[][] {x.getGradient().toFloatArray(), w.getGradient().toFloatArray()};
        }
    }

    /** Runs {@code op} with -Dblockdraft.fusedOps={@code mode} (the Ops functions consult it at every call). */
    private static <T> T withFusedOps(String mode, Supplier<T> op) {
        String before = System.getProperty("blockdraft.fusedOps");
        System.setProperty("blockdraft.fusedOps", mode);
        try {
            return op.get();
        } finally {
            if (before == null) {
                System.clearProperty("blockdraft.fusedOps");
            } else {
                System.setProperty("blockdraft.fusedOps", before);
            }
        }
    }

    private static void assertClose(String what, NDArray expected, NDArray actual, double tolerance) {
        assertClose(what, expected.toFloatArray(), actual.toFloatArray(), tolerance);
    }

    private static void assertClose(String what, float[] expected, float[] actual, double tolerance) {
        assertEquals(expected.length, actual.length, what);
        double worst = 0, scale = 0;
        for (int i = 0; i < expected.length; i++) {
            worst = Math.max(worst, Math.abs(expected[i] - actual[i]));
            scale = Math.max(scale, Math.abs(expected[i]));
        }
        assertTrue(worst <= tolerance * Math.max(1, scale), what + " differs by " + worst + " (scale " + scale + ")");
    }

    private static List<Device> devices() {
        List<Device> devices = new ArrayList<>(List.of(Device.cpu()));
        if (Engine.getInstance().getGpuCount() > 0) {
            devices.add(Device.gpu());
        }
        return devices;
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
