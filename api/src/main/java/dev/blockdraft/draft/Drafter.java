package dev.blockdraft.draft;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.blockdraft.lm.KvCache;
import dev.blockdraft.lm.LlamaModel;
import dev.blockdraft.nn.Backend;
import dev.blockdraft.nn.FusedOps;
import dev.blockdraft.nn.Ops;
import dev.blockdraft.nn.StateDict;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A DFlash-style block-diffusion drafter. It predicts a block of B−1 tokens in parallel from
 * queries {@code [anchor, MASK × (B−1)]}, conditioned on the target's hidden states:
 *
 * <ul>
 *   <li>features of the target's {@code featureLayers} are concatenated, projected to the width C
 *       ({@code fc}) and RMS-normalised ({@code hidden_norm});</li>
 *   <li>each drafter layer projects these context features with its own k/v projections and
 *       prepends them to the block's keys and values ("KV injection");</li>
 *   <li>attention is bidirectional within a block and sees the context strictly before the anchor;
 *       rotary positions continue the context's;</li>
 *   <li>token embeddings and the LM head are the target's, frozen.</li>
 * </ul>
 *
 * <p>Shape legend: S sequences, L context tokens, Q block query tokens (blocks × B), F = n·C
 * concatenated features, C hidden, H heads, G kv heads, D head dim, V vocabulary.
 */
public final class Drafter implements AutoCloseable {
    public static final String FC = "fc.weight";
    public static final String HIDDEN_NORM = "hidden_norm.weight";
    public static final String FINAL_NORM = "norm.weight";

    private final DrafterConfig config;
    private final StateDict params;
    private final LlamaModel target;
    private final Layer[] layers;

    private record Layer(String inputNorm, String q, String k, String v, String o, String qNorm, String kNorm,
            String postNorm, String gate, String up, String down) {
        static Layer of(int i) {
            String p = "layers." + i + ".";
            return new Layer(p + "input_layernorm.weight", p + "self_attn.q_proj.weight", p + "self_attn.k_proj.weight",
                    p + "self_attn.v_proj.weight", p + "self_attn.o_proj.weight", p + "self_attn.q_norm.weight",
                    p + "self_attn.k_norm.weight", p + "post_attention_layernorm.weight", p + "mlp.gate_proj.weight",
                    p + "mlp.up_proj.weight", p + "mlp.down_proj.weight");
        }
    }

    Drafter(DrafterConfig config, StateDict params, LlamaModel target) {
        this.config = config;
        this.params = params;
        this.target = target;
        this.layers = new Layer[config.numLayers()];
        for (int i = 0; i < layers.length; i++) {
            layers[i] = Layer.of(i);
        }
    }

    /** A new drafter for {@code target}, weights N(0, 0.02), norms at one. */
    public static Drafter initialize(DrafterConfig config, LlamaModel target, long seed) {
        StateDict p = new StateDict(NDManager.newBaseManager(target.device()));
        SplittableRandom rng = new SplittableRandom(seed);
        parameterShapes(config).forEach((name, shape) -> {
            if (name.endsWith("norm.weight")) {
                p.ones(name, shape);
            } else {
                p.normal(name, shape, 0.02, rng);
            }
        });
        return new Drafter(config, p, target);
    }

    static Drafter fromParameters(DrafterConfig config, StateDict params, LlamaModel target) {
        return new Drafter(config, params, target);
    }

    public static LinkedHashMap<String, long[]> parameterShapes(DrafterConfig c) {
        long hidden = c.hiddenSize(), d = c.headDim(), h = c.numHeads(), g = c.numKvHeads(), i = c.intermediateSize();
        LinkedHashMap<String, long[]> s = new LinkedHashMap<>();
        s.put(FC, new long[] {hidden, hidden * c.featureLayers().length});
        s.put(HIDDEN_NORM, new long[] {hidden});
        for (int l = 0; l < c.numLayers(); l++) {
            Layer n = Layer.of(l);
            s.put(n.inputNorm, new long[] {hidden});
            s.put(n.q, new long[] {h * d, hidden});
            s.put(n.k, new long[] {g * d, hidden});
            s.put(n.v, new long[] {g * d, hidden});
            s.put(n.o, new long[] {hidden, h * d});
            s.put(n.qNorm, new long[] {d});
            s.put(n.kNorm, new long[] {d});
            s.put(n.postNorm, new long[] {hidden});
            s.put(n.gate, new long[] {i, hidden});
            s.put(n.up, new long[] {i, hidden});
            s.put(n.down, new long[] {hidden, i});
        }
        s.put(FINAL_NORM, new long[] {hidden});
        return s;
    }

    /**
     * The same drafter over other parameters and target, e.g. fp16 working copies of this one's
     * weights with an fp16 copy of the target. The view owns nothing: close its parameters, not it.
     */
    public Drafter over(StateDict workingParams, LlamaModel workingTarget) {
        return new Drafter(config, workingParams, workingTarget);
    }

    /** The type the forward pass computes in (that of the parameters). */
    public DataType computeType() {
        return params.get(FC).getDataType();
    }

    public DrafterConfig config() {
        return config;
    }

    public StateDict parameters() {
        return params;
    }

    public LlamaModel target() {
        return target;
    }

    public Device device() {
        return params.manager().getDevice();
    }

    /**
     * The target's backend, which this drafter runs on too: with the fused drafter layer, training and
     * decoding both call it ({@link #forward}, {@link #blockLogits}), so they compute alike.
     */
    public Backend backend() {
        return target.backend();
    }

    /** Projects concatenated target features (S, L, F) to context states (S, L, C). */
    public NDArray contextStates(NDArray features) {
        return backend().rmsNorm(Ops.linear(features, params.get(FC)), params.get(HIDDEN_NORM), eps());
    }

    /** Concatenates captured target hidden states along the feature axis → (S, L, F). */
    public static NDArray concatFeatures(List<NDArray> hidden) {
        NDArray out = hidden.get(0);
        for (int i = 1; i < hidden.size(); i++) {
            out = out.concat(hidden.get(i), -1);
        }
        return out;
    }

    /**
     * Training forward over many blocks at once.
     *
     * @param blockIds (S, Q) int64: per block [anchor, MASK×(B−1)]
     * @param blockPositions (S, Q) int64 absolute positions (anchor position + slot)
     * @param context (S, L, C) from {@link #contextStates}
     * @param contextPositions (S, L) int64
     * @param mask (S, 1, Q, L+Q) additive: which context and block keys each query sees
     * @return hidden states (S, Q, C) before the final norm; {@link #head} turns them into logits
     */
    public NDArray forward(NDArray blockIds, NDArray blockPositions, NDArray context, NDArray contextPositions,
            NDArray mask) {
        Ops.Rotary blockRotary = rotary(blockPositions);
        Ops.Rotary contextRotary = rotary(contextPositions);
        NDArray x = Ops.embed(blockIds, target.embeddings()); // (S, Q, C)
        var fused = backend().kernels(Backend.Op.DRAFTER_LAYER);
        if (fused.isPresent()) {
            return fusedLayers(fused.get(), x, context, blockRotary, contextRotary, mask);
        }
        for (int l = 0; l < layers.length; l++) {
            NDArray[] ctxKv = contextKv(l, context, contextRotary); // (S, G, L, D) each
            x = layer(l, x, blockRotary, ctxKv[0], ctxKv[1], mask);
        }
        return x;
    }

    /**
     * Every layer as one call each (training and decoding alike): each derives its context K/V from the
     * context states (S, L, C) inside the call, as {@link #contextKv} + {@link #layer} do eagerly.
     */
    private NDArray fusedLayers(FusedOps fused, NDArray x, NDArray context, Ops.Rotary blockRotary,
            Ops.Rotary contextRotary, NDArray mask) {
        for (Layer n : layers) {
            x = fused.drafterLayer(x, context, weights(n), blockRotary, contextRotary, mask, config.numHeads(),
                    config.numKvHeads(), config.headDim(), eps());
        }
        return x;
    }

    /** One layer's weights in the fused module's order. */
    private NDArray[] weights(Layer n) {
        return new NDArray[] {params.get(n.inputNorm), params.get(n.q), params.get(n.k), params.get(n.v), params.get(n.o),
            params.get(n.qNorm), params.get(n.kNorm), params.get(n.postNorm), params.get(n.gate), params.get(n.up),
            params.get(n.down)};
    }

    // ---- training forward: many blocks per sequence, one target pass --------------------------

    /**
     * The frozen target's features of {@code ids} (S, L): its feature layers' outputs concatenated,
     * in this drafter's compute type, detached, in the ids' manager. {@code featureModel} is the
     * target or a copy of it in another precision. The target's activations are needed only until
     * then: computing them in a sub-scope frees every layer's attention tensors before the drafter runs.
     */
    public NDArray targetFeatures(LlamaModel featureModel, NDArray ids) {
        return targetFeatures(featureModel, ids, config.featureLayers(), computeType());
    }

    /** {@code layers}' outputs of {@code model} over ids (S, L), concatenated, in {@code type}, detached. */
    public static NDArray targetFeatures(LlamaModel featureModel, NDArray ids, int[] layers, DataType type) {
        NDManager stepScope = ids.getManager();
        try (NDManager targetScope = stepScope.newSubManager()) {
            NDArray view = ids.get(":"); // a view, moved into the sub-scope so results land there
            view.attach(targetScope);
            LlamaModel.Output out = featureModel.forward(view, layers, LlamaModel.Logits.NONE);
            NDArray features = concatFeatures(out.hidden());
            features = features.getDataType() == type ? features.stopGradient() : features.toType(type, false);
            features.attach(stepScope);
            return features;
        }
    }

    /**
     * The logits of every block's B−1 slots, (S·M, B−1, V), in the compute type: the target's
     * features once per sequence ({@link #targetFeatures}), then all blocks of the batch in one
     * drafter pass, row by row as {@link BlockBatch} lays them out. What training, validation and
     * the offline τ of an evaluation score; equal to what {@link #blockLogits} drafts at the same
     * anchor during decoding.
     */
    public NDArray slotLogits(LlamaModel featureModel, BlockBatch.OnDevice batch) {
        return slotLogits(targetFeatures(featureModel, batch.ids()), batch);
    }

    /** {@link #slotLogits(LlamaModel, BlockBatch.OnDevice)} from features already computed, (S, L, F). */
    public NDArray slotLogits(NDArray features, BlockBatch.OnDevice batch) {
        NDArray context = contextStates(features); // (S, L, C)
        NDArray positions = batch.contextPositions();
        int perSequence = batch.rowsPerSequence();
        if (perSequence > 1) { // each row attends to its own copy of its sequence's context
            context = repeatRows(context, perSequence);
            positions = repeatRows(positions, perSequence);
        }
        NDArray hidden = forward(batch.blockIds(), batch.blockPositions(), context, positions, batch.mask()); // (R, Q, C)
        int b = config.blockSize();
        long blocks = batch.labels().getShape().get(0), c = hidden.getShape().get(2);
        NDArray slots = hidden.reshape(blocks, b, c).get(":, 1:, :"); // (S·M, B−1, C): the anchor needs no logits
        return head(slots);
    }

    /**
     * Teacher-forced greedy acceptance at given anchors of one sequence: for each anchor, how many
     * of the block's drafts (argmax per slot) match the sequence's next tokens, stopping at the
     * first mismatch or at the sequence's end — the accepted length greedy verification gives
     * there when the sequence is the target's own greedy output.
     */
    public int[] acceptedAt(LlamaModel featureModel, int[] ids, int[] anchors, int padId) {
        if (anchors.length == 0) {
            return new int[0];
        }
        BlockBatch batch = BlockBatch.of(List.of(ids), List.of(anchors), config.blockSize(), ids.length, config.maskTokenId(),
                padId, 512);
        int k = config.slots();
        try (NDManager scope = params.manager().newSubManager()) {
            NDArray logits = slotLogits(featureModel, batch.toDevice(scope, computeType())); // (M, K, V)
            long[] best = logits.argMax(-1).toLongArray();
            int[] out = new int[anchors.length];
            for (int j = 0; j < anchors.length; j++) {
                int a = 0;
                while (a < k && batch.slotMask()[j * k + a] > 0 && best[j * k + a] == batch.labels()[j * k + a]) {
                    a++;
                }
                out[j] = a;
            }
            return out;
        }
    }

    /** (S, …) → (S·n, …): each sequence's row repeated n times, in order. */
    private static NDArray repeatRows(NDArray x, int n) {
        Shape s = x.getShape();
        long[] out = s.getShape().clone();
        out[0] *= n;
        return x.expandDims(1).repeat(1, n).reshape(new Shape(out));
    }

    /** Final norm and the target's LM head: (…, C) → (…, V). */
    public NDArray head(NDArray x) {
        return Ops.linear(backend().rmsNorm(x, params.get(FINAL_NORM), eps()), target.lmHead());
    }

    /** The keys and values that context states inject into layer l: (S, G, L, D) each. */
    NDArray[] contextKv(int l, NDArray context, Ops.Rotary rotary) {
        Layer n = layers[l];
        long s = context.getShape().get(0), len = context.getShape().get(1);
        int g = config.numKvHeads(), d = config.headDim();
        NDArray k = Ops.linear(context, params.get(n.k)).reshape(s, len, g, d); // (S, L, G, D)
        k = backend().rmsNorm(k, params.get(n.kNorm), eps());
        k = Ops.rope(k.transpose(0, 2, 1, 3), rotary); // (S, G, L, D)
        NDArray v = Ops.linear(context, params.get(n.v)).reshape(s, len, g, d).transpose(0, 2, 1, 3);
        return new NDArray[] {k, v};
    }

    private NDArray layer(int l, NDArray x, Ops.Rotary rotary, NDArray ctxK, NDArray ctxV, NDArray mask) {
        Layer n = layers[l];
        long s = x.getShape().get(0), q = x.getShape().get(1);
        int h = config.numHeads(), g = config.numKvHeads(), d = config.headDim();
        Backend ops = backend();
        NDArray xn = ops.rmsNorm(x, params.get(n.inputNorm), eps()); // (S, Q, C)
        NDArray qh = ops.rmsNorm(Ops.linear(xn, params.get(n.q)).reshape(s, q, h, d), params.get(n.qNorm), eps());
        qh = Ops.rope(qh.transpose(0, 2, 1, 3), rotary); // (S, H, Q, D)
        NDArray kb = ops.rmsNorm(Ops.linear(xn, params.get(n.k)).reshape(s, q, g, d), params.get(n.kNorm), eps());
        kb = Ops.rope(kb.transpose(0, 2, 1, 3), rotary); // (S, G, Q, D)
        NDArray vb = Ops.linear(xn, params.get(n.v)).reshape(s, q, g, d).transpose(0, 2, 1, 3); // (S, G, Q, D)
        NDArray k = ctxK.concat(kb, 2); // (S, G, L+Q, D): context first, then the block
        NDArray v = ctxV.concat(vb, 2);
        NDArray attn = ops.attention(qh, k, v, mask).transpose(0, 2, 1, 3).reshape(s, q, (long) h * d); // (S, Q, H·D)
        x = x.add(Ops.linear(attn, params.get(n.o)));
        NDArray xn2 = ops.rmsNorm(x, params.get(n.postNorm), eps());
        return x.add(ops.swiGlu(xn2, params.get(n.gate), params.get(n.up), params.get(n.down)));
    }

    // ---- decoding: context K/V cached per layer (or the context states, for the fused layer) ------

    /**
     * A cache for the drafter's injected context, one per decoded sequence: each layer's keys and values, or,
     * where the backend fuses the drafter layer but not the whole block, the context states (one row of width
     * C), from which that layer derives its keys and values in the call training makes.
     */
    public KvCache newContextCache(NDManager parent, int capacity) {
        if (backend().fuses(Backend.Op.DRAFTER_LAYER) && wholeBlockKernel() == null) {
            return new KvCache(parent, 1, 1, 1, capacity, config.hiddenSize(), computeType());
        }
        return new KvCache(parent, config.numLayers(), 1, config.numKvHeads(), capacity, config.headDim(), DataType.FLOAT32);
    }

    /**
     * Appends target features of newly verified tokens (1, T, F) at positions
     * cache.length()..+T-1 to the context cache.
     */
    public void appendContext(KvCache cache, NDArray features) {
        NDManager scope = features.getManager();
        int t = Math.toIntExact(features.getShape().get(1));
        FusedOps whole = wholeBlockKernel();
        if (whole != null) {
            cache.ensureRoom(t);
            whole.drafterContext(features, params.get(FC), params.get(HIDDEN_NORM), allWeights(), cache.keyBuffers(),
                    cache.valueBuffers(), cache.length(), target.ropeCos(), target.ropeSignedSin(), config.numKvHeads(),
                    config.headDim(), eps());
            cache.advance(t);
            return;
        }
        NDArray ctx = contextStates(features); // (1, T, C)
        if (backend().fuses(Backend.Op.DRAFTER_LAYER)) {
            NDArray row = ctx.expandDims(1); // (1, 1, T, C)
            cache.append(0, row, row, scope);
            cache.advance(t);
            return;
        }
        NDArray positions = scope.arange(cache.length(), cache.length() + t).toType(DataType.INT64, false).reshape(1, t);
        Ops.Rotary rotary = rotary(positions);
        for (int l = 0; l < layers.length; l++) {
            NDArray[] kv = contextKv(l, ctx, rotary);
            cache.append(l, kv[0], kv[1], scope);
        }
        cache.advance(t);
    }

    /**
     * Drafts one block after the context in {@code cache}: the anchor sits at position
     * cache.length(). Returns the B−1 drafted tokens (greedy per slot; with several denoising
     * steps, the least confident slots are re-masked and predicted again).
     */
    public int[] draftBlock(KvCache cache, int anchor, NDManager scope) {
        if (config.denoisingSteps() == 1) {
            long[] best = blockLogits(cache, anchor, scope).argMax(1).toLongArray();
            int[] out = new int[best.length];
            for (int i = 0; i < out.length; i++) {
                out[i] = (int) best[i];
            }
            return out;
        }
        return denoise(cache, anchor, scope);
    }

    /**
     * The logits (B−1, V) of one block after the context in {@code cache}, the anchor at position
     * cache.length(), in one parallel step with every slot masked: what {@link #draftBlock} takes
     * the argmax of (its first pass, with several denoising steps), and the marginals that sampled
     * drafts and draft trees are built from.
     */
    public NDArray blockLogits(KvCache cache, int anchor, NDManager scope) {
        int b = config.blockSize();
        long[] ids = new long[b];
        ids[0] = anchor;
        java.util.Arrays.fill(ids, 1, b, config.maskTokenId());
        FusedOps whole = wholeBlockKernel();
        if (whole != null) {
            return wholeBlock(whole, cache, ids, scope);
        }
        int p = cache.length();
        NDArray positions = scope.arange(p, p + b).toType(DataType.INT64, false).reshape(1, b);
        Ops.Rotary rotary = rotary(positions);
        NDArray mask = scope.zeros(new Shape(1, 1, b, p + b)); // everything before the anchor, and the block
        NDArray x = Ops.embed(scope.create(ids).reshape(1, b), target.embeddings()); // (1, B, C)
        x = blockLayers(cache, x, rotary, mask, scope);
        return head(x.get(":, 1:, :")).reshape(b - 1, -1);
    }

    /** One block's logits (B−1, V) in one call, after the context keys and values in {@code cache}. */
    private NDArray wholeBlock(FusedOps whole, KvCache cache, long[] ids, NDManager scope) {
        return whole.drafterBlock(scope.create(ids).reshape(1, ids.length), target.embeddings(), allWeights(),
                cache.keyBuffers(), cache.valueBuffers(), cache.length(), target.ropeCos(), target.ropeSignedSin(),
                params.get(FINAL_NORM), target.lmHead(), config.numHeads(), config.numKvHeads(), config.headDim(), eps());
    }

    /**
     * The context update and the whole block as one call each ({@link FusedOps#drafterContext},
     * {@link FusedOps#drafterBlock}) where the backend fuses the block and the target's tables, embeddings
     * and head are in this drafter's compute type; else null.
     */
    private FusedOps wholeBlockKernel() {
        if (target.ropeCos().getDataType() != computeType() || target.embeddings().getDataType() != computeType()) {
            return null;
        }
        return backend().kernels(Backend.Op.DRAFTER_BLOCK).orElse(null);
    }

    /** Every layer's weights, 11 a layer, in the fused module's order. */
    private NDArray[] allWeights() {
        NDArray[] all = new NDArray[layers.length * 11];
        for (int l = 0; l < layers.length; l++) {
            System.arraycopy(weights(layers[l]), 0, all, l * 11, 11);
        }
        return all;
    }

    /** The drafter's layers over one block x (1, B, C) after the cached context: (1, B, C). */
    private NDArray blockLayers(KvCache cache, NDArray x, Ops.Rotary rotary, NDArray mask, NDManager scope) {
        var fused = backend().kernels(Backend.Op.DRAFTER_LAYER);
        if (fused.isPresent()) {
            int p = cache.length();
            NDArray context = cache.view(0, scope)[0].reshape(1, p, config.hiddenSize()); // (1, p, C)
            NDArray positions = scope.arange(0, p).toType(DataType.INT64, false).reshape(1, p);
            return fusedLayers(fused.get(), x, context, rotary, rotary(positions), mask);
        }
        for (int l = 0; l < layers.length; l++) {
            NDArray[] kv = cache.view(l, scope); // (1, G, p, D)
            x = layer(l, x, rotary, kv[0], kv[1], mask);
        }
        return x;
    }

    /** Several denoising steps: the least confident slots are re-masked and predicted again. */
    private int[] denoise(KvCache cache, int anchor, NDManager scope) {
        int b = config.blockSize();
        int p = cache.length();
        int[] tokens = new int[b];
        tokens[0] = anchor;
        boolean[] fixed = new boolean[b];
        fixed[0] = true;
        int remaining = b - 1;
        int steps = config.denoisingSteps();
        FusedOps whole = wholeBlockKernel();
        // the layer-by-layer path's rotary factors and mask, made once for every step (the fused block needs neither)
        Ops.Rotary rotary = whole != null ? null
                : rotary(scope.arange(p, p + b).toType(DataType.INT64, false).reshape(1, b));
        NDArray mask = whole != null ? null : scope.zeros(new Shape(1, 1, b, p + b)); // all before the anchor, and the block
        for (int step = 0; step < steps && remaining > 0; step++) {
            long[] ids = new long[b];
            for (int i = 0; i < b; i++) {
                ids[i] = fixed[i] ? tokens[i] : config.maskTokenId();
            }
            NDArray logits; // (B−1, V)
            if (whole != null) {
                logits = wholeBlock(whole, cache, ids, scope);
            } else {
                NDArray x = blockLayers(cache, Ops.embed(scope.create(ids).reshape(1, b), target.embeddings()), rotary,
                        mask, scope); // (1, B, C)
                logits = head(x.get(":, 1:, :")).reshape(b - 1, -1);
            }
            long[] best = logits.argMax(1).toLongArray();
            int take = step == steps - 1 ? remaining : Math.max(1, (b - 1) / steps);
            if (take >= remaining) {
                for (int i = 1; i < b; i++) {
                    if (!fixed[i]) {
                        tokens[i] = (int) best[i - 1];
                        fixed[i] = true;
                    }
                }
                remaining = 0;
            } else {
                // keep the most confident predictions, re-mask the rest
                float[] conf = logits.softmax(1).max(new int[] {1}).toFloatArray();
                for (int k = 0; k < take; k++) {
                    int arg = -1;
                    for (int i = 1; i < b; i++) {
                        if (!fixed[i] && (arg < 0 || conf[i - 1] > conf[arg - 1])) {
                            arg = i;
                        }
                    }
                    tokens[arg] = (int) best[arg - 1];
                    fixed[arg] = true;
                }
                remaining -= take;
            }
        }
        return java.util.Arrays.copyOfRange(tokens, 1, b);
    }

    /**
     * Rotary factors at positions (S, T) in the compute type, gathered once per forward: from the
     * target's cos and signed-sin tables when they are in the compute type (two gathers, no per-call
     * negation: the same values, since negation and rounding commute), else cast after gathering.
     */
    private Ops.Rotary rotary(NDArray positions) {
        if (target.ropeCos().getDataType() == computeType()) {
            return new Ops.Rotary(Ops.embed(positions, target.ropeCos()).expandDims(1),
                    Ops.embed(positions, target.ropeSignedSin()).expandDims(1));
        }
        return Ops.rotary(positions, target.ropeCos(), target.ropeSin(), computeType());
    }

    private double eps() {
        return config.target().rmsNormEps();
    }

    @Override
    public void close() {
        params.close();
    }
}
