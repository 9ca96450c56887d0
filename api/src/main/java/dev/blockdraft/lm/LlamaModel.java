package dev.blockdraft.lm;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.blockdraft.nn.Backend;
import dev.blockdraft.nn.FusedOps;
import dev.blockdraft.nn.Ops;
import dev.blockdraft.nn.StateDict;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A Llama-family decoder-only transformer (Llama 2/3, Qwen2, Qwen3) on DJL, with parameters
 * named as in Hugging Face checkpoints.
 *
 * <p>Shape legend: B batch, T new tokens, S = cached + new tokens, C hidden, H heads, G kv
 * heads, D head dim, V vocabulary.
 */
public final class LlamaModel implements AutoCloseable {

    /** Which positions get logits: all (training, verification), only the last (sampling), none. */
    public enum Logits { ALL, LAST, NONE }

    /**
     * One forward pass's results.
     *
     * @param logits (B, T, V) for ALL, (B, 1, V) for LAST, null for NONE; fp32
     * @param hidden outputs of the requested layers, each (B, T, C), in request order
     */
    public record Output(NDArray logits, List<NDArray> hidden) {}

    private final LlamaConfig config;
    private final StateDict params;
    private final NDArray ropeCos; // (P, D)
    private final NDArray ropeSin; // (P, D)
    private final NDArray ropeSignedSin; // (P, D): sin with its first half negated, as Ops.Rotary holds it
    private final LayerNames[] layers;
    private final Backend backend; // eager or fused ops, chosen once for this model

    /** Parameter names of one decoder layer, built once so the forward pass does no string work. */
    private record LayerNames(String inputNorm, String q, String k, String v, String o, String qBias, String kBias,
            String vBias, String qNorm, String kNorm, String postNorm, String gate, String up, String down) {
        static LayerNames of(int i) {
            String p = "model.layers." + i + ".";
            return new LayerNames(p + "input_layernorm.weight",
                    p + "self_attn.q_proj.weight", p + "self_attn.k_proj.weight", p + "self_attn.v_proj.weight",
                    p + "self_attn.o_proj.weight",
                    p + "self_attn.q_proj.bias", p + "self_attn.k_proj.bias", p + "self_attn.v_proj.bias",
                    p + "self_attn.q_norm.weight", p + "self_attn.k_norm.weight",
                    p + "post_attention_layernorm.weight",
                    p + "mlp.gate_proj.weight", p + "mlp.up_proj.weight", p + "mlp.down_proj.weight");
        }
    }

    /** Below this many new tokens (B·T) a frozen forward keeps its temporaries until the caller's scope closes. */
    private static final long LAYER_SCOPE_MIN_TOKENS = 256;

    /** Up to this many new tokens over a cache (a verification step), the causal mask is one host copy. */
    private static final int HOST_MASK_MAX_QUERIES = 64;

    public static final String EMBED = "model.embed_tokens.weight";
    public static final String FINAL_NORM = "model.norm.weight";
    public static final String LM_HEAD = "lm_head.weight";

    LlamaModel(LlamaConfig config, StateDict params, Backend backend) {
        this(config, params, ropeTablesFor(config, params), backend);
    }

    private LlamaModel(LlamaConfig config, StateDict params, NDArray[] rope, Backend backend) {
        this(config, params, rope[0], rope[1], signedSin(rope[1]), backend);
    }

    /** sin (P, D) with its first half negated, in sin's manager: the factor rotate_half multiplies. */
    private static NDArray signedSin(NDArray sin) {
        long half = sin.getShape().get(1) / 2;
        try (NDArray first = sin.get(new NDIndex("..., :{}", half)); NDArray negated = first.neg();
                NDArray second = sin.get(new NDIndex("..., {}:", half))) {
            return negated.concat(second, -1);
        }
    }

    /** Rotary tables in the parameters' manager and compute type (no per-call cast in rope). */
    private static NDArray[] ropeTablesFor(LlamaConfig config, StateDict params) {
        NDArray[] rope = Ops.ropeTables(params.manager(), config.maxPositionEmbeddings(), config.headDim(),
                config.ropeTheta());
        if (params.contains(EMBED) && params.get(EMBED).getDataType() != DataType.FLOAT32) {
            DataType type = params.get(EMBED).getDataType(); // constants: the cast detaching them is fine
            for (int i = 0; i < rope.length; i++) {
                NDArray narrow = rope[i].toType(type, true);
                rope[i].close();
                rope[i] = narrow;
            }
        }
        return rope;
    }

    private LlamaModel(LlamaConfig config, StateDict params, NDArray ropeCos, NDArray ropeSin, NDArray ropeSignedSin,
            Backend backend) {
        if (!backend.device().equals(params.manager().getDevice())) {
            throw new IllegalArgumentException("a backend for " + backend.device() + " cannot run parameters on "
                    + params.manager().getDevice());
        }
        this.backend = backend;
        this.config = config;
        this.params = params;
        this.ropeCos = ropeCos;
        this.ropeSin = ropeSin;
        this.ropeSignedSin = ropeSignedSin; // made once, so a forward's rotary factors are two gathers
        this.layers = new LayerNames[config.numHiddenLayers()];
        for (int i = 0; i < layers.length; i++) {
            layers[i] = LayerNames.of(i);
        }
    }

    /**
     * The same model over other parameters, e.g. the fp16 working copies of one training step
     * ({@link StateDict#halfPrecisionCopy}); the rotary tables are cast into their manager, so the
     * view lives exactly as long as those parameters.
     */
    public LlamaModel over(StateDict workingParams) {
        DataType type = workingParams.get(EMBED).getDataType();
        NDArray cos = ropeCos.toType(type, true);
        NDArray sin = ropeSin.toType(type, true);
        NDArray signedSin = ropeSignedSin.toType(type, true);
        cos.attach(workingParams.manager());
        sin.attach(workingParams.manager());
        signedSin.attach(workingParams.manager());
        return new LlamaModel(config, workingParams, cos, sin, signedSin, backend);
    }

    /**
     * The same model with another backend (e.g. eager next to fused, for a comparison). The view shares
     * this model's parameters and rotary tables: close this model, not the view.
     */
    public LlamaModel withBackend(Backend other) {
        return new LlamaModel(config, params, ropeCos, ropeSin, ropeSignedSin, other);
    }

    /**
     * A freshly initialised model: N(0, 0.02) weights as in HF, norms at one, biases at zero; the device's
     * backend ({@link Backend#forDevice}).
     */
    public static LlamaModel initialize(LlamaConfig config, Device device, long seed) {
        return initialize(config, Backend.forDevice(device), seed);
    }

    /** {@link #initialize(LlamaConfig, Device, long)} on {@code backend}'s device, running on it. */
    public static LlamaModel initialize(LlamaConfig config, Backend backend, long seed) {
        StateDict p = new StateDict(NDManager.newBaseManager(backend.device()));
        SplittableRandom rng = new SplittableRandom(seed);
        parameterShapes(config).forEach((name, shape) -> {
            if (name.endsWith("norm.weight")) {
                p.ones(name, shape);
            } else if (name.endsWith(".bias")) {
                p.put(name, p.manager().zeros(new Shape(shape)));
            } else {
                p.normal(name, shape, 0.02, rng);
            }
        });
        return new LlamaModel(config, p, backend);
    }

    /**
     * Wraps loaded parameters, with their device's backend ({@link Backend#forDevice}, resolved now);
     * {@link HfCheckpoint} has checked every name and shape.
     */
    public static LlamaModel fromParameters(LlamaConfig config, StateDict params) {
        return new LlamaModel(config, params, Backend.forDevice(params.manager().getDevice()));
    }

    /** The HF parameter names and shapes this config needs, in checkpoint order. */
    public static LinkedHashMap<String, long[]> parameterShapes(LlamaConfig config) {
        long c = config.hiddenSize(), d = config.headDim();
        long h = config.numAttentionHeads(), g = config.numKeyValueHeads(), i = config.intermediateSize();
        LinkedHashMap<String, long[]> s = new LinkedHashMap<>();
        s.put(EMBED, new long[] {config.vocabSize(), c});
        for (int l = 0; l < config.numHiddenLayers(); l++) {
            LayerNames n = LayerNames.of(l);
            s.put(n.inputNorm, new long[] {c});
            s.put(n.q, new long[] {h * d, c});
            s.put(n.k, new long[] {g * d, c});
            s.put(n.v, new long[] {g * d, c});
            s.put(n.o, new long[] {c, h * d});
            if (config.qkvBias()) {
                s.put(n.qBias, new long[] {h * d});
                s.put(n.kBias, new long[] {g * d});
                s.put(n.vBias, new long[] {g * d});
            }
            if (config.qkNorm()) {
                s.put(n.qNorm, new long[] {d});
                s.put(n.kNorm, new long[] {d});
            }
            s.put(n.postNorm, new long[] {c});
            s.put(n.gate, new long[] {i, c});
            s.put(n.up, new long[] {i, c});
            s.put(n.down, new long[] {c, i});
        }
        s.put(FINAL_NORM, new long[] {c});
        if (!config.tieWordEmbeddings()) {
            s.put(LM_HEAD, new long[] {config.vocabSize(), c});
        }
        return s;
    }

    public LlamaConfig config() {
        return config;
    }

    public StateDict parameters() {
        return params;
    }

    public Device device() {
        return params.manager().getDevice();
    }

    /** Eager or fused ops, chosen when this model was made; its drafter and optimizers use the same. */
    public Backend backend() {
        return backend;
    }

    public NDManager manager() {
        return params.manager();
    }

    /** The LM head's matrix (V, C): the embedding table when tied. */
    public NDArray lmHead() {
        return config.tieWordEmbeddings() ? params.get(EMBED) : params.get(LM_HEAD);
    }

    public NDArray embeddings() {
        return params.get(EMBED);
    }

    public NDArray ropeCos() {
        return ropeCos;
    }

    public NDArray ropeSin() {
        return ropeSin;
    }

    /** {@link #ropeSin} with its first half negated (the factor rotate_half multiplies), made once. */
    public NDArray ropeSignedSin() {
        return ropeSignedSin;
    }

    /** Full-sequence forward with a causal mask (training, scoring). ids (B, T) int64. */
    public Output forward(NDArray ids, int[] captureLayers, Logits logits) {
        return forward(ids, null, captureLayers, logits);
    }

    /**
     * Forward pass over new tokens {@code ids} (B, T), attending to {@code cache} (which it then
     * extends by T) or, without a cache, causally within {@code ids}. Results live in ids' manager.
     *
     * @param captureLayers 0-based layer indices whose outputs to return (the drafter's features)
     */
    public Output forward(NDArray ids, KvCache cache, int[] captureLayers, Logits logits) {
        return forward(ids, cache, captureLayers, logits, null);
    }

    /**
     * As {@link #forward(NDArray, KvCache, int[], Logits)} for a batch of left-padded rows:
     * row r starts with {@code leftPad[r]} padding columns that no query attends to, and its
     * positions count from its first real token, so each row computes what it would alone.
     */
    public Output forward(NDArray ids, KvCache cache, int[] captureLayers, Logits logits, int[] leftPad) {
        NDManager scope = ids.getManager();
        Shape shape = ids.getShape();
        int b = Math.toIntExact(shape.get(0));
        int t = Math.toIntExact(shape.get(1));
        int offset = cache == null ? 0 : cache.length();
        if (offset + t > config.maxPositionEmbeddings()) {
            throw new IllegalArgumentException("sequence of " + (offset + t) + " tokens exceeds the model's context of "
                    + config.maxPositionEmbeddings() + " (max_position_embeddings)");
        }
        FusedOps whole = frozenForwardKernel();
        if (whole != null && leftPad == null) {
            // the module derives positions and the causal mask (over the cache) itself
            return frozenForward(whole, ids, cache, captureLayers, logits, null, null);
        }
        NDArray positions; // (B, 1, T): the layout the rotary gathers want
        if (leftPad == null) {
            // on the device: a copy from the host would wait for the kernels still queued (training)
            positions = scope.arange(offset, offset + t, 1, DataType.INT64).reshape(1, 1, t);
            positions = b == 1 ? positions : positions.broadcast(b, 1, t);
        } else {
            long[] position = new long[b * t]; // one copy instead of half a dozen small ops
            for (int r = 0; r < b; r++) {
                for (int i = 0; i < t; i++) {
                    position[r * t + i] = Math.max(offset + i - leftPad[r], 0); // padding columns sit at 0, unseen
                }
            }
            positions = scope.create(position, new Shape(b, 1, t));
        }
        NDArray mask;
        // plain causal attention over the new tokens alone: the fused kernel needs no mask at all
        FusedOps causalKernel = leftPad == null && offset == 0 ? backend.kernels(Backend.Op.ATTENTION).orElse(null) : null;
        int s = offset + t;
        if (causalKernel != null) {
            mask = null;
        } else if (leftPad == null) {
            if (t == 1) {
                mask = scope.zeros(new Shape(1, 1, 1, s), computeType()); // one new token sees every cached one
            } else if (cache != null && t <= HOST_MASK_MAX_QUERIES) {
                boolean[] allowed = new boolean[t * s]; // a verification step: query i sees keys up to offset + i
                for (int i = 0; i < t; i++) {
                    java.util.Arrays.fill(allowed, i * s, i * s + offset + i + 1, true);
                }
                mask = hostMask(scope, allowed, new Shape(1, 1, t, s));
            } else {
                mask = Ops.causalMask(scope, offset, t, computeType());
            }
        } else if (t == 1) {
            // a batched decode step: row r sees its real keys, min(leftPad[r], offset)..S-1, compared on the device
            // against B first positions (a (B, 1, 1, S) mask made on the host was 9 MB per step for regeneration's
            // 3,000 rows at 768 keys; at 600 keys, building and copying it took 10-13 ms on this 2-core machine)
            long[] firstReal = new long[b];
            for (int r = 0; r < b; r++) {
                firstReal[r] = Math.min(leftPad[r], offset);
            }
            NDArray first = scope.create(firstReal).reshape(b, 1, 1, 1);
            NDArray keyCol = scope.arange(0, s, 1, DataType.INT64).reshape(1, 1, 1, s);
            mask = Ops.additiveMask(keyCol.gte(first), computeType()); // (B, 1, 1, S)
        } else {
            long[] pads = new long[b];
            for (int r = 0; r < b; r++) {
                pads[r] = leftPad[r];
            }
            NDArray pad = scope.create(pads).reshape(b, 1, 1, 1); // (B, 1, 1, 1)
            NDArray keyCol = scope.arange(0, s, 1, DataType.INT64).reshape(1, 1, 1, s);
            NDArray realKey = keyCol.gte(pad); // (B, 1, 1, S)
            NDArray queryPos = scope.arange(offset, s, 1, DataType.INT64).reshape(1, 1, t, 1);
            NDArray causal = keyCol.lte(queryPos); // (1, 1, T, S)
            // a padding query sees only itself, so its softmax row stays finite
            NDArray self = keyCol.eq(queryPos);
            NDArray allowed = causal.logicalAnd(realKey).logicalOr(self); // (B, 1, T, S)
            mask = Ops.additiveMask(allowed, computeType());
        }
        return layers(ids, cache, captureLayers, logits, positions, mask, causalKernel);
    }

    /**
     * Verification of a token tree: node i of {@code ids} (1, N) has parent {@code parents[i]}
     * (−1 for the root, node 0; a parent precedes its children). Each node attends to the whole
     * cache and to its ancestors and itself only, at position cache.length() + its depth, so every
     * root-to-node path computes what it would as a plain sequence. The cache is extended by all N
     * nodes; {@link KvCache#keep} then compacts it to the accepted path.
     */
    public Output forwardTree(NDArray ids, KvCache cache, int[] parents, int[] captureLayers, Logits logits) {
        NDManager scope = ids.getManager();
        int n = parents.length;
        if (ids.getShape().get(0) != 1 || ids.getShape().get(1) != n || parents[0] != -1) {
            throw new IllegalArgumentException("a tree of " + n + " nodes needs ids (1, " + n + ") and a root at node 0, got "
                    + ids.getShape());
        }
        int offset = cache.length();
        int s = offset + n;
        long[] depth = new long[n];
        long deepest = 0;
        boolean[] allowed = new boolean[n * s];
        for (int i = 0; i < n; i++) {
            if (i > 0 && (parents[i] < 0 || parents[i] >= i)) {
                throw new IllegalArgumentException("node " + i + " has parent " + parents[i] + "; a parent must precede it");
            }
            depth[i] = i == 0 ? 0 : depth[parents[i]] + 1;
            deepest = Math.max(deepest, depth[i]);
            java.util.Arrays.fill(allowed, i * s, i * s + offset, true); // the whole cache
            for (int a = i; a >= 0; a = parents[a]) {
                allowed[i * s + offset + a] = true; // ancestors and itself
            }
        }
        if (offset + deepest >= config.maxPositionEmbeddings()) {
            throw new IllegalArgumentException("tree reaches position " + (offset + deepest)
                    + " beyond the model's context of " + config.maxPositionEmbeddings() + " (max_position_embeddings)");
        }
        long[] position = new long[n];
        for (int i = 0; i < n; i++) {
            position[i] = offset + depth[i];
        }
        NDArray positions = scope.create(position, new Shape(1, 1, n)); // (1, 1, N)
        NDArray mask = hostMask(scope, allowed, new Shape(1, 1, n, s)); // (1, 1, N, S)
        return layers(ids, cache, captureLayers, logits, positions, mask, null);
    }

    private Output layers(NDArray ids, KvCache cache, int[] captureLayers, Logits logits, NDArray positions, NDArray mask,
            FusedOps causalKernel) {
        FusedOps whole = frozenForwardKernel();
        if (whole != null) {
            return frozenForward(whole, ids, cache, captureLayers, logits, positions, mask);
        }
        NDManager scope = ids.getManager();
        int t = Math.toIntExact(ids.getShape().get(1));
        // positions (B, 1, T) → cos and signed sin (B, 1, T, D), shared by all layers; the tables are
        // in the compute type already
        Ops.Rotary rotary = new Ops.Rotary(Ops.embed(positions, ropeCos), Ops.embed(positions, ropeSignedSin));
        NDArray x = Ops.embed(ids, params.get(EMBED)); // (B, T, C)
        List<NDArray> hidden = new ArrayList<>();
        // Without a graph to keep (inference, a frozen target), each layer's temporaries (attention
        // scores, MLP activations) are freed as soon as the layer is done instead of when the caller's
        // scope closes: peak memory is one layer's, not all of them (a 256-row prefill needed ~100 GB).
        boolean frozen = !params.get(EMBED).hasGradient();
        // a frozen full-sequence forward (the drafter's features, scoring): one fused call per layer on a GPU
        FusedOps fusedLayer = frozen && causalKernel != null && cache == null
                ? backend.kernels(Backend.Op.DECODER_LAYER).orElse(null) : null;
        // a decode or verification step's temporaries are tiny: a scope per layer would only add calls
        boolean layerScopes = frozen && ids.getShape().size() > LAYER_SCOPE_MIN_TOKENS;
        boolean inputCaptured = false;
        for (int l = 0; l < layers.length; l++) {
            boolean captured = false;
            for (int want : captureLayers) {
                captured |= want == l;
            }
            if (layerScopes) {
                try (NDManager layerScope = scope.newSubManager()) {
                    NDArray in = x.get(":"); // a view in the layer's scope, so the layer's results land there
                    in.attach(layerScope);
                    NDArray out = fusedLayer != null ? fusedLayer(fusedLayer, l, in, rotary)
                            : layer(l, in, rotary, mask, causalKernel, cache);
                    out.attach(scope);
                    if (!inputCaptured) {
                        x.close(); // the previous layer's output, needed by nobody else
                    }
                    x = out;
                }
            } else {
                x = fusedLayer != null ? fusedLayer(fusedLayer, l, x, rotary) : layer(l, x, rotary, mask, causalKernel, cache);
            }
            if (captured) {
                hidden.add(x);
            }
            inputCaptured = captured;
        }
        if (fusedLayer != null) {
            // the fused layers ran in inference mode: hand out ordinary arrays that autograd may save
            hidden.replaceAll(NDArray::duplicate);
        }
        if (hidden.size() != captureLayers.length) {
            throw new IllegalArgumentException("capture layers " + java.util.Arrays.toString(captureLayers)
                    + " must be within 0.." + (layers.length - 1));
        }
        if (cache != null) {
            cache.advance(t);
        }
        NDArray out = null;
        if (logits != Logits.NONE) {
            NDArray last = logits == Logits.LAST && t > 1 ? x.get(new NDIndex(":, -1:, :")) : x; // (B, T|1, C)
            out = Ops.linear(backend.rmsNorm(last, params.get(FINAL_NORM), config.rmsNormEps()), lmHead()); // (B, T, V)
        }
        return new Output(out, hidden);
    }

    /** The fused whole forward where this model is frozen (no parameter trained) and its backend fuses it. */
    private FusedOps frozenForwardKernel() {
        return params.get(EMBED).hasGradient() ? null : backend.kernels(Backend.Op.FROZEN_FORWARD).orElse(null);
    }

    /**
     * Every layer, the cache writes, the final norm and the LM head as one call: a decoding step costs a few
     * host calls instead of ~40 per layer. Null positions and mask: positions from the cache's length for
     * every row, causal attention over the cache and the new tokens.
     */
    private Output frozenForward(FusedOps whole, NDArray ids, KvCache cache, int[] captureLayers, Logits logits,
            NDArray positions, NDArray mask) {
        for (int want : captureLayers) {
            if (want < 0 || want >= layers.length) {
                throw new IllegalArgumentException("capture layers " + java.util.Arrays.toString(captureLayers)
                        + " must be within 0.." + (layers.length - 1));
            }
        }
        int t = Math.toIntExact(ids.getShape().get(1));
        if (cache != null) {
            cache.ensureRoom(t);
        }
        NDArray[] weights = new NDArray[layers.length * 14];
        for (int l = 0; l < layers.length; l++) {
            System.arraycopy(layerWeights(l), 0, weights, l * 14, 14);
        }
        NDArray[] out = whole.frozenForward(ids, params.get(EMBED), weights, cache == null ? null : cache.keyBuffers(),
                cache == null ? null : cache.valueBuffers(), cache == null ? 0 : cache.length(), positions, mask, ropeCos,
                ropeSignedSin, params.get(FINAL_NORM), lmHead(), captureLayers,
                logits == Logits.NONE ? 0 : logits == Logits.LAST ? 1 : 2, config.numAttentionHeads(),
                config.numKeyValueHeads(), config.headDim(), config.rmsNormEps());
        List<NDArray> hidden = new ArrayList<>(java.util.Arrays.asList(out).subList(1, out.length));
        NDArray logitsOut = out[0];
        if (cache != null) {
            cache.advance(t);
        } else {
            // a full-sequence pass (features, scoring) may feed autograd, which cannot save inference-mode arrays
            hidden.replaceAll(NDArray::duplicate);
            logitsOut = logitsOut == null ? null : logitsOut.duplicate();
        }
        return new Output(logitsOut, hidden);
    }

    /**
     * An additive mask (0 where allowed, −inf elsewhere) in the compute type, built on the host and
     * sent in one copy: for the small masks of decode and verification steps, which come right after
     * a host read, so the copy waits for no queued kernel.
     */
    private NDArray hostMask(NDManager scope, boolean[] allowed, Shape shape) {
        float[] additive = new float[allowed.length];
        for (int i = 0; i < additive.length; i++) {
            additive[i] = allowed[i] ? 0f : Float.NEGATIVE_INFINITY;
        }
        NDArray mask = scope.create(additive, shape);
        return computeType() == DataType.FLOAT32 ? mask : mask.toType(computeType(), false);
    }

    /** The type activations are computed in: that of the parameters (fp32, or fp16 for a half copy). */
    public DataType computeType() {
        return params.get(EMBED).getDataType();
    }

    /**
     * An fp16 copy for a GPU (a frozen target's features, the embeddings and LM head of an fp16
     * drafter): half the memory traffic and fp16 tensor cores; norms accumulate in fp32. The copy
     * owns its own parameters.
     */
    public LlamaModel halfPrecisionCopy() {
        StateDict half = new StateDict(NDManager.newBaseManager(device()));
        for (var e : params.asMap().entrySet()) {
            half.put(e.getKey(), e.getValue().toType(DataType.FLOAT16, true));
        }
        return new LlamaModel(config, half, backend);
    }

    /** Applies the final norm and LM head to hidden states (B, T, C) → logits (B, T, V). */
    public NDArray logitsOf(NDArray hidden) {
        return Ops.linear(backend.rmsNorm(hidden, params.get(FINAL_NORM), config.rmsNormEps()), lmHead());
    }

    /** One decoder layer; {@code causalKernel} (when not null) replaces {@code mask} with fused causal attention. */
    private NDArray layer(int l, NDArray x, Ops.Rotary rotary, NDArray mask, FusedOps causalKernel, KvCache cache) {
        LayerNames n = layers[l];
        long b = x.getShape().get(0), t = x.getShape().get(1);
        int h = config.numAttentionHeads(), g = config.numKeyValueHeads(), d = config.headDim();
        double eps = config.rmsNormEps();

        NDArray xn = backend.rmsNorm(x, params.get(n.inputNorm), eps); // (B, T, C)
        NDArray q = Ops.linear(xn, params.get(n.q), bias(n.qBias)).reshape(b, t, h, d); // (B, T, H, D)
        NDArray k = Ops.linear(xn, params.get(n.k), bias(n.kBias)).reshape(b, t, g, d); // (B, T, G, D)
        NDArray v = Ops.linear(xn, params.get(n.v), bias(n.vBias)).reshape(b, t, g, d); // (B, T, G, D)
        if (config.qkNorm()) {
            q = backend.rmsNorm(q, params.get(n.qNorm), eps);
            k = backend.rmsNorm(k, params.get(n.kNorm), eps);
        }
        // q and k rotated together: the same arithmetic per element, half the calls
        NDList qk = Ops.rope(q.concat(k, 2).transpose(0, 2, 1, 3), rotary).split(new long[] {h}, 1); // (B, H+G, T, D)
        q = qk.get(0); // (B, H, T, D)
        k = qk.get(1); // (B, G, T, D)
        v = v.transpose(0, 2, 1, 3); // (B, G, T, D)
        if (cache != null) {
            NDArray[] kv = cache.append(l, k, v, x.getManager());
            k = kv[0]; // (B, G, S, D)
            v = kv[1];
        }
        NDArray attn = (causalKernel != null ? causalKernel.causal(q, k, v) : backend.attention(q, k, v, mask)) // (B, H, T, D)
                .transpose(0, 2, 1, 3).reshape(b, t, (long) h * d); // (B, T, H·D)
        x = x.add(Ops.linear(attn, params.get(n.o))); // (B, T, C)
        NDArray xn2 = backend.rmsNorm(x, params.get(n.postNorm), eps);
        return x.add(backend.swiGlu(xn2, params.get(n.gate), params.get(n.up), params.get(n.down)));
    }

    private NDArray fusedLayer(FusedOps fused, int l, NDArray x, Ops.Rotary rotary) {
        return fused.decoderLayer(x, layerWeights(l), rotary, config.numAttentionHeads(), config.numKeyValueHeads(),
                config.headDim(), config.rmsNormEps());
    }

    /** Layer l's weights in the fused module's order, null for an absent bias or q/k norm. */
    private NDArray[] layerWeights(int l) {
        LayerNames n = layers[l];
        boolean qk = config.qkNorm();
        return new NDArray[] {params.get(n.inputNorm), params.get(n.q), params.get(n.k), params.get(n.v), params.get(n.o),
            bias(n.qBias), bias(n.kBias), bias(n.vBias), qk ? params.get(n.qNorm) : null, qk ? params.get(n.kNorm) : null,
            params.get(n.postNorm), params.get(n.gate), params.get(n.up), params.get(n.down)};
    }

    private NDArray bias(String name) {
        return config.qkvBias() ? params.get(name) : null;
    }

    @Override
    public void close() {
        params.close();
    }
}
