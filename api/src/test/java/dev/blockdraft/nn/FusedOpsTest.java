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
                    // the whole forward as one call; each layer as one call; the layers op by op (fused attention)
                    for (Backend backend : new Backend[] {Backend.fused(device),
                        Backend.fused(device).skipping(Backend.Op.FROZEN_FORWARD),
                        Backend.fused(device).skipping(Backend.Op.FROZEN_FORWARD, Backend.Op.DECODER_LAYER)}) {
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
     * Cached decoding through the fused ops gives the eager logits and captured features: a prefill, single
     * tokens, a verification chunk over the cache, a rollback and a token tree, with the whole step as one call
     * and with each layer op by op. fp32 only: the KV cache holds fp32 (decoding runs fp32 models).
     */
    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen2", "qwen3"})
    void cachedDecodingMatchesEager(String modelType) {
        for (Device device : devices()) {
            try (LlamaModel model = randomModel(tiny(modelType), device, 6)) {
                List<float[]> eager = decode(model.withBackend(Backend.eager(device)));
                for (Backend backend : new Backend[] {Backend.fused(device),
                    Backend.fused(device).skipping(Backend.Op.FROZEN_FORWARD)}) {
                    List<float[]> fused = decode(model.withBackend(backend));
                    assertEquals(eager.size(), fused.size());
                    for (int i = 0; i < eager.size(); i++) {
                        assertClose(device + " " + modelType + " " + backend + " decode output " + i, eager.get(i),
                                fused.get(i), tolerance(DataType.FLOAT32));
                    }
                }
            }
        }
    }

    /**
     * Logits and layer-1 features of: a prefill of 5, two single tokens, a verification chunk of 4 (all
     * logits), a rollback of 2 and a chunk of 3, then a 4-node tree ({@link LlamaModel#forwardTree}).
     */
    private static List<float[]> decode(LlamaModel model) {
        List<float[]> out = new ArrayList<>();
        int[] capture = {1};
        try (NDManager scope = model.manager().newSubManager();
                KvCache cache = KvCache.forModel(model, scope, 1, 24)) {
            long[][] chunks = {{3, 14, 15, 9, 26}, {5}, {35}, {8, 9, 7, 9}, null, {3, 2, 38}};
            for (long[] chunk : chunks) {
                if (chunk == null) {
                    cache.truncate(cache.length() - 2);
                    continue;
                }
                LlamaModel.Output o = model.forward(scope.create(chunk).reshape(1, chunk.length), cache, capture,
                        chunk.length == 4 ? LlamaModel.Logits.ALL : LlamaModel.Logits.LAST);
                out.add(toFloats(o.logits()));
                out.add(toFloats(o.hidden().get(0)));
            }
            LlamaModel.Output tree = model.forwardTree(scope.create(new long[] {4, 6, 8, 10}).reshape(1, 4), cache,
                    new int[] {-1, 0, 0, 1}, capture, LlamaModel.Logits.ALL);
            out.add(toFloats(tree.logits()));
            out.add(toFloats(tree.hidden().get(0)));
        }
        return out;
    }

    /**
     * Batched decoding of left-padded rows (regeneration's): a padded prefill, then steps with a mask per row,
     * the whole step as one call against eager ops.
     */
    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen3"})
    void leftPaddedBatchDecodingMatchesEager(String modelType) {
        for (Device device : devices()) {
            try (LlamaModel model = randomModel(tiny(modelType), device, 8)) {
                List<float[]> eager = paddedDecode(model.withBackend(Backend.eager(device)));
                List<float[]> fused = paddedDecode(model.withBackend(Backend.fused(device)));
                for (int i = 0; i < eager.size(); i++) {
                    assertClose(device + " " + modelType + " padded step " + i, eager.get(i), fused.get(i),
                            tolerance(DataType.FLOAT32));
                }
            }
        }
    }

    private static List<float[]> paddedDecode(LlamaModel model) {
        List<float[]> out = new ArrayList<>();
        int[] pad = {2, 0};
        try (NDManager scope = model.manager().newSubManager();
                KvCache cache = KvCache.forModel(model, scope, 2, 12)) {
            NDArray prompt = scope.create(new long[] {0, 0, 5, 6, 7, 1, 2, 3, 4, 5}).reshape(2, 5);
            out.add(toFloats(model.forward(prompt, cache, new int[0], LlamaModel.Logits.LAST, pad).logits()));
            for (long[] next : new long[][] {{9, 10}, {11, 12}}) {
                out.add(toFloats(model.forward(scope.create(next).reshape(2, 1), cache, new int[0], LlamaModel.Logits.LAST,
                        pad).logits()));
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

    /**
     * A drafter decoding blocks after its cached context: the context update and the whole block as one call
     * each, and the fused drafter layer over cached context states, against eager ops (logits of a block after
     * a context appended in two parts, then after one more verified token).
     */
    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen3"})
    void drafterDecodingMatchesEager(String targetType) {
        for (Device device : devices()) {
            try (LlamaModel target = randomModel(tiny(targetType), device, 5);
                    Drafter drafter = Drafter.initialize(DrafterConfig.forTarget(target.config(), "t", 4, 5,
                            ai.djl.Device.cpu()).withLayers(2), target, 11)) {
                perturbNorms(drafter.parameters(), 13);
                List<float[]> eager = drafterDecode(drafter.over(drafter.parameters(), target.withBackend(Backend.eager(device))));
                for (Backend backend : new Backend[] {Backend.fused(device),
                    Backend.fused(device).skipping(Backend.Op.DRAFTER_BLOCK)}) {
                    List<float[]> fused = drafterDecode(drafter.over(drafter.parameters(), target.withBackend(backend)));
                    for (int i = 0; i < eager.size(); i++) {
                        assertClose(device + " " + targetType + " " + backend + " block " + i, eager.get(i), fused.get(i),
                                tolerance(DataType.FLOAT32));
                    }
                }
            }
        }
    }

    private static List<float[]> drafterDecode(Drafter drafter) {
        List<float[]> out = new ArrayList<>();
        int width = drafter.config().featureLayers().length * drafter.target().config().hiddenSize();
        try (NDManager scope = drafter.parameters().manager().newSubManager();
                KvCache cache = drafter.newContextCache(scope, 16)) {
            scope.getEngine().setRandomSeed(21);
            NDArray features = scope.randomNormal(new Shape(1, 7, width));
            drafter.appendContext(cache, features.get(":, :4, :"));
            drafter.appendContext(cache, features.get(":, 4:6, :"));
            out.add(toFloats(drafter.blockLogits(cache, 9, scope)));
            drafter.appendContext(cache, features.get(":, 6:, :"));
            out.add(toFloats(drafter.blockLogits(cache, 3, scope)));
        }
        return out;
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
