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
import dev.blockdraft.lm.KvCache;
import dev.blockdraft.lm.LlamaConfig;
import dev.blockdraft.lm.LlamaModel;
import dev.blockdraft.train.AdamW;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every method of the fused TorchScript module computes what its eager twin does, values and gradients:
 * attention (masked and causal, grouped kv heads), RMSNorm, SwiGLU, a frozen decoder layer, a model's
 * training forward and cached decoding through the fused ops, the drafter layer, AdamW and the global norm;
 * for Llama, Qwen2 (q/k/v biases) and Qwen3 (q/k norm) shapes, in fp32 and fp16, on the CPU (libtorch 2.7.1 has
 * CPU kernels for all of them in fp16) and on a GPU where one is visible. The frozen decoder layer runs without
 * autograd by design (a frozen model's forward), so it is compared in values; the gradients of a model trained
 * through the fused ops come from the training-forward test.
 */
class FusedOpsTest {
    static final String[] MODEL_TYPES = {"llama", "qwen2", "qwen3"};
    static final DataType[] TYPES = {DataType.FLOAT32, DataType.FLOAT16};

    /** Largest difference allowed, relative to the largest |expected|: fp16 keeps ~3 decimal digits. */
    static double tolerance(DataType type) {
        return type == DataType.FLOAT16 ? 2e-2 : 1e-4;
    }

    @Test
    void attentionMatchesEagerInValuesAndGradients() {
        for (Device device : devices()) {
            FusedOps fused = Backend.fused(device).kernels(Backend.Op.ATTENTION).orElseThrow();
            for (DataType type : TYPES) {
                try (NDManager m = NDManager.newBaseManager(device)) {
                    m.getEngine().setRandomSeed(3);
                    long b = 2, h = 4, g = 2, t = 9, d = 16;
                    NDArray q = m.randomNormal(new Shape(b, h, t, d)).toType(type, false);
                    NDArray k = m.randomNormal(new Shape(b, g, t, d)).toType(type, false);
                    NDArray v = m.randomNormal(new Shape(b, g, t, d)).toType(type, false);
                    NDArray weights = m.randomNormal(new Shape(b, h, t, d)).toType(type, false);
                    NDArray causal = Ops.causalMask(m, 0, (int) t, type);
                    String what = device + " " + type;
                    compare(what + " causal", type, List.of(q, k, v), weights,
                            in -> fused.causal(in.get(0), in.get(1), in.get(2)),
                            in -> Ops.attention(in.get(0), in.get(1), in.get(2), causal));
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
                    NDArray mask = m.create(allowed, new Shape(b, 1, t, t)).toType(type, false);
                    compare(what + " masked", type, List.of(q, k, v), weights,
                            in -> fused.masked(in.get(0), in.get(1), in.get(2), mask),
                            in -> Ops.attention(in.get(0), in.get(1), in.get(2), mask));
                }
            }
        }
    }

    @Test
    void rmsNormAndSwiGluMatchEagerInValuesAndGradients() {
        for (Device device : devices()) {
            Backend fused = Backend.fused(device);
            Backend eager = Backend.eager(device);
            for (DataType type : TYPES) {
                try (NDManager m = NDManager.newBaseManager(device)) {
                    m.getEngine().setRandomSeed(5);
                    NDArray x = m.randomNormal(new Shape(3, 5, 16)).mul(3).toType(type, false);
                    NDArray w = m.randomNormal(new Shape(16)).toType(type, false);
                    NDArray gate = m.randomNormal(new Shape(24, 16)).div(4).toType(type, false);
                    NDArray up = m.randomNormal(new Shape(24, 16)).div(4).toType(type, false);
                    NDArray down = m.randomNormal(new Shape(16, 24)).div(4).toType(type, false);
                    NDArray normWeights = m.randomNormal(new Shape(3, 5, 16)).toType(type, false);
                    NDArray mlpWeights = m.randomNormal(new Shape(3, 5, 16)).toType(type, false);
                    String what = device + " " + type;
                    // gradients w.r.t. the input and the weight(s), as training takes them
                    compare(what + " rms_norm", type, List.of(x, w), normWeights,
                            in -> fused.rmsNorm(in.get(0), in.get(1), 1e-6), in -> eager.rmsNorm(in.get(0), in.get(1), 1e-6));
                    compare(what + " swiglu", type, List.of(x, gate, up, down), mlpWeights,
                            in -> fused.swiGlu(in.get(0), in.get(1), in.get(2), in.get(3)),
                            in -> eager.swiGlu(in.get(0), in.get(1), in.get(2), in.get(3)));
                }
            }
        }
    }

    @Test
    void fusedAdamWAndGlobalNormMatchTheEagerOptimizer() {
        for (Device device : devices()) {
            try (NDManager m = NDManager.newBaseManager(device)) {
                m.getEngine().setRandomSeed(9);
                List<NDArray> grads = List.of(m.randomNormal(new Shape(6, 4)), m.randomNormal(new Shape(4)));
                float expectedNorm = 0;
                for (NDArray g : grads) {
                    expectedNorm += g.square().sum().getFloat();
                }
                try (AdamW fusedAdam = AdamW.standard(m, 0, Backend.fused(device));
                        AdamW eagerAdam = AdamW.standard(m, 0, Backend.eager(device))) {
                    assertEquals(Math.sqrt(expectedNorm), fusedAdam.norm(grads), 1e-5, device + " fused global norm");
                    assertEquals(Math.sqrt(expectedNorm), eagerAdam.norm(grads), 1e-5, device + " eager global norm");
                }
                float[][] eager = adamRun(m, grads, Backend.eager(device));
                float[][] fused = adamRun(m, grads, Backend.fused(device));
                for (int i = 0; i < eager.length; i++) {
                    assertClose(device + " AdamW parameter " + i, eager[i], fused[i], 1e-6);
                }
            }
        }
    }

    /**
     * A frozen model's forward (the drafter's features, scoring): each decoder layer as one call, and the
     * same with that call kept eager (fused attention, norm and MLP op by op, in inference mode).
     */
    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen2", "qwen3"})
    void frozenForwardMatchesEager(String modelType) {
        for (Device device : devices()) {
            for (DataType type : TYPES) {
                try (LlamaModel fp32 = randomModel(tiny(modelType), device, 7);
                        LlamaModel model = type == DataType.FLOAT16 ? fp32.halfPrecisionCopy() : null;
                        NDManager m = fp32.manager().newSubManager()) {
                    LlamaModel base = model != null ? model : fp32;
                    NDArray ids = m.create(new long[] {1, 5, 9, 2, 33, 7, 7, 3, 0, 12, 39, 4, 8, 8, 20, 1}).reshape(2, 8);
                    int[] capture = {0, 2};
                    LlamaModel.Output eager = base.withBackend(Backend.eager(device)).forward(ids, capture, LlamaModel.Logits.ALL);
                    for (Backend backend : new Backend[] {Backend.fused(device),
                        Backend.fused(device).skipping(Backend.Op.DECODER_LAYER)}) {
                        LlamaModel.Output fused = base.withBackend(backend).forward(ids, capture, LlamaModel.Logits.ALL);
                        String what = device + " " + modelType + " " + type + " " + backend;
                        assertClose(what + " logits", eager.logits(), fused.logits(), tolerance(type));
                        for (int i = 0; i < capture.length; i++) {
                            assertClose(what + " hidden " + i, eager.hidden().get(i), fused.hidden().get(i), tolerance(type));
                        }
                    }
                }
            }
        }
    }

    /**
     * Cached decoding (prefill, then one token at a time: masked attention over the cache) through the fused
     * ops gives the eager logits. fp32 only: the KV cache holds fp32 (decoding runs fp32 models).
     */
    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen2", "qwen3"})
    void cachedDecodingMatchesEager(String modelType) {
        for (Device device : devices()) {
            try (LlamaModel model = randomModel(tiny(modelType), device, 6)) {
                long[] ids = {3, 14, 15, 9, 26, 5, 35, 8};
                int prefill = 5;
                List<float[]> eager = decode(model.withBackend(Backend.eager(device)), ids, prefill);
                List<float[]> fused = decode(model.withBackend(Backend.fused(device)), ids, prefill);
                for (int i = 0; i < eager.size(); i++) {
                    assertClose(device + " " + modelType + " decode step " + i, eager.get(i), fused.get(i),
                            tolerance(DataType.FLOAT32));
                }
            }
        }
    }

    /** The last logits after the prefill ids[0..prefill) and after each further token fed one at a time. */
    private static List<float[]> decode(LlamaModel model, long[] ids, int prefill) {
        List<float[]> out = new ArrayList<>();
        try (NDManager scope = model.manager().newSubManager();
                KvCache cache = KvCache.forModel(model, scope, 1, ids.length)) {
            NDArray first = scope.create(java.util.Arrays.copyOf(ids, prefill)).reshape(1, prefill);
            out.add(toFloats(model.forward(first, cache, new int[0], LlamaModel.Logits.LAST).logits()));
            for (int t = prefill; t < ids.length; t++) {
                NDArray next = scope.create(new long[] {ids[t]}).reshape(1, 1);
                out.add(toFloats(model.forward(next, cache, new int[0], LlamaModel.Logits.LAST).logits()));
            }
        }
        return out;
    }

    /** Training a target through the fused ops: logits and the gradient of every parameter (biases, q/k norms). */
    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen2", "qwen3"})
    void trainingForwardAndGradientsMatchEager(String modelType) {
        for (Device device : devices()) {
            for (DataType type : TYPES) {
                try (LlamaModel fp32 = randomModel(tiny(modelType), device, 8);
                        LlamaModel model = type == DataType.FLOAT16 ? fp32.halfPrecisionCopy() : null;
                        NDManager m = fp32.manager().newSubManager()) {
                    LlamaModel base = model != null ? model : fp32;
                    NDArray ids = m.create(new long[] {4, 8, 15, 16, 23, 32, 2, 9, 1, 1, 30, 6, 0, 18, 27, 3}).reshape(2, 8);
                    NDArray weights = m.randomNormal(new Shape(2, 8, base.config().vocabSize()));
                    Map<String, float[]> eager = trainingRun(base.withBackend(Backend.eager(device)), ids, weights);
                    Map<String, float[]> fused = trainingRun(base.withBackend(Backend.fused(device)), ids, weights);
                    if (modelType.equals("qwen2")) {
                        assertTrue(eager.containsKey("model.layers.1.self_attn.k_proj.bias"), "the bias branch is exercised");
                    }
                    if (modelType.equals("qwen3")) {
                        assertTrue(eager.containsKey("model.layers.1.self_attn.q_norm.weight"), "q/k norm is exercised");
                    }
                    for (String name : eager.keySet()) {
                        assertClose(device + " " + modelType + " " + type + " " + name, eager.get(name), fused.get(name),
                                tolerance(type));
                    }
                }
            }
        }
    }

    /** The drafter layer as one call (with autograd): output, d context and the gradients of every parameter. */
    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen2", "qwen3"})
    void drafterLayersMatchEagerInValuesAndGradients(String targetType) {
        for (Device device : devices()) {
            for (DataType type : TYPES) {
                try (LlamaModel target = randomModel(tiny(targetType).withTiedEmbeddings(true), device, 3);
                        LlamaModel halfTarget = type == DataType.FLOAT16 ? target.halfPrecisionCopy() : null;
                        Drafter drafter = Drafter.initialize(DrafterConfig.forTarget(target.config(), "t", 4, 5, ai.djl.Device.cpu()).withLayers(2),
                                target, 9);
                        NDManager m = drafter.parameters().manager().newSubManager()) {
                    m.getEngine().setRandomSeed(4);
                    perturbNorms(drafter.parameters(), 12);
                    StateDict params = type == DataType.FLOAT16 ? drafter.parameters().halfPrecisionCopy(m) : drafter.parameters();
                    LlamaModel t = halfTarget != null ? halfTarget : target;
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
                    NDArray mask = m.create(allowed, new Shape(s, 1, q, len + q)).toType(type, false);
                    NDArray context0 = m.randomNormal(new Shape(s, len, 32)).toType(type, false);
                    NDArray weights = m.randomNormal(new Shape(s, q, 32)).toType(type, false);
                    Map<String, float[]> eager = drafterRun(drafter.over(params, t.withBackend(Backend.eager(device))),
                            blockIds, blockPositions, context0, contextPositions, mask, weights);
                    Map<String, float[]> fused = drafterRun(drafter.over(params, t.withBackend(Backend.fused(device))),
                            blockIds, blockPositions, context0, contextPositions, mask, weights);
                    assertEquals(2 * 11 + 2, eager.size(), "output, d context and 11 parameters in each of 2 layers");
                    for (String name : eager.keySet()) {
                        assertClose(device + " " + targetType + " " + type + " drafter " + name, eager.get(name),
                                fused.get(name), tolerance(type));
                    }
                }
            }
        }
    }

    static LlamaConfig tiny(String type) {
        return switch (type) {
            case "llama" -> LlamaConfig.llama(40, 32, 48, 3, 4, 2, 64);
            case "qwen2" -> new LlamaConfig("qwen2", 40, 32, 48, 3, 4, 2, 8, 64, 10000, 1e-6, true, true, 0, 1);
            case "qwen3" -> LlamaConfig.qwen3(40, 32, 48, 3, 4, 2, 64);
            default -> throw new IllegalArgumentException(type);
        };
    }

    /** A model with norm weights and biases away from their 1 / 0 init, so that their branches show. */
    static LlamaModel randomModel(LlamaConfig config, Device device, long seed) {
        LlamaModel model = LlamaModel.initialize(config, Backend.eager(device), seed);
        perturbNorms(model.parameters(), seed + 1);
        return model;
    }

    static void perturbNorms(StateDict params, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        for (Map.Entry<String, NDArray> e : params.asMap().entrySet()) {
            boolean norm = e.getKey().endsWith("norm.weight");
            if (norm || e.getKey().endsWith(".bias")) {
                float[] v = e.getValue().toFloatArray();
                for (int i = 0; i < v.length; i++) {
                    v[i] = (norm ? 1f : 0f) + (float) (rng.nextGaussian() * 0.3);
                }
                e.getValue().set(v);
            }
        }
    }

    /** Logits of a forward with gradients on, then d/d(every parameter) of Σ logits·weights. */
    private static Map<String, float[]> trainingRun(LlamaModel model, NDArray ids, NDArray weights) {
        StateDict params = model.parameters();
        params.requireGradients(true);
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            NDArray logits = model.forward(ids, new int[0], LlamaModel.Logits.ALL).logits();
            gc.backward(logits.mul(weights.toType(logits.getDataType(), false)).sum()); // a cast would detach
            Map<String, float[]> r = new LinkedHashMap<>();
            r.put("logits", toFloats(logits));
            params.asMap().forEach((name, p) -> r.put(name, toFloats(p.getGradient())));
            AdamW.zeroGradients(params);
            return r;
        } finally {
            params.requireGradients(false);
        }
    }

    /** Drafter.forward, then d/d(context, every layer parameter) of Σ out·weights (fc and the norms act outside it). */
    private static Map<String, float[]> drafterRun(Drafter drafter, NDArray blockIds, NDArray blockPositions,
            NDArray context0, NDArray contextPositions, NDArray mask, NDArray weights) {
        StateDict params = drafter.parameters();
        params.requireGradients(true);
        NDArray context = context0.duplicate();
        context.setRequiresGradient(true);
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            NDArray out = drafter.forward(blockIds, blockPositions, context, contextPositions, mask);
            gc.backward(out.mul(weights).sum());
            Map<String, float[]> r = new LinkedHashMap<>();
            r.put("output", toFloats(out));
            r.put("d context", toFloats(context.getGradient()));
            params.asMap().forEach((name, p) -> {
                if (name.startsWith("layers.")) {
                    r.put("d " + name, toFloats(p.getGradient()));
                }
            });
            AdamW.zeroGradients(params);
            return r;
        } finally {
            params.requireGradients(false);
        }
    }

    /** Three AdamW steps (weight decay on the matrix only, a gradient scale) on the given backend. */
    private static float[][] adamRun(NDManager m, List<NDArray> grads, Backend backend) {
        try (NDManager scope = m.newSubManager(); AdamW adam = AdamW.standard(scope, 0.1, backend)) {
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
    }

    /** Compares values and the gradients w.r.t. every input of Σ f(inputs)·weights. */
    private static void compare(String what, DataType type, List<NDArray> inputs, NDArray weights,
            Function<List<NDArray>, NDArray> fused, Function<List<NDArray>, NDArray> eager) {
        float[][] f = valueAndGradients(inputs, weights, fused);
        float[][] e = valueAndGradients(inputs, weights, eager);
        for (int i = 0; i < f.length; i++) {
            assertClose(what + (i == 0 ? " output" : " d input " + (i - 1)), e[i], f[i], tolerance(type));
        }
    }

    private static float[][] valueAndGradients(List<NDArray> inputs0, NDArray weights, Function<List<NDArray>, NDArray> op) {
        List<NDArray> inputs = new ArrayList<>();
        for (NDArray x : inputs0) {
            NDArray leaf = x.duplicate(); // fresh leaves: gradients accumulate
            leaf.setRequiresGradient(true);
            inputs.add(leaf);
        }
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            NDArray out = op.apply(inputs);
            gc.backward(out.mul(weights).sum());
            float[][] r = new float[inputs.size() + 1][];
            r[0] = toFloats(out);
            for (int i = 0; i < inputs.size(); i++) {
                r[i + 1] = toFloats(inputs.get(i).getGradient());
            }
            return r;
        }
    }

    private static float[] toFloats(NDArray a) {
        return a.toType(DataType.FLOAT32, false).toFloatArray();
    }

    private static void assertClose(String what, NDArray expected, NDArray actual, double tolerance) {
        assertClose(what, toFloats(expected), toFloats(actual), tolerance);
    }

    /** Within tolerance·(largest |expected|) everywhere, finite, and not all zero (a branch that ran). */
    static void assertClose(String what, float[] expected, float[] actual, double tolerance) {
        assertEquals(expected.length, actual.length, what);
        double worst = 0, scale = 0;
        for (int i = 0; i < expected.length; i++) {
            assertTrue(Float.isFinite(expected[i]) && Float.isFinite(actual[i]), what + " not finite at " + i);
            worst = Math.max(worst, Math.abs(expected[i] - actual[i]));
            scale = Math.max(scale, Math.abs(expected[i]));
        }
        assertTrue(scale > 0, what + " is all zeros: the comparison would prove nothing");
        assertTrue(worst <= tolerance * scale, what + " differs by " + worst + " (scale " + scale + ")");
    }

    static List<Device> devices() {
        List<Device> devices = new ArrayList<>(List.of(Device.cpu()));
        if (Engine.getInstance().getGpuCount() > 0) {
            devices.add(Device.gpu());
        }
        return devices;
    }
}
