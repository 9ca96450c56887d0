package dev.blockdraft.nn;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.IValueUtils;
import ai.djl.pytorch.jni.JniUtils;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Logger;

/**
 * Torch functions DJL 0.36's JNI does not bind — fused attention ({@code scaled_dot_product_attention},
 * flash and memory-efficient kernels), fused AdamW — and groups of ops run as one call (RMSNorm, SwiGLU,
 * a frozen model's whole decoder layer, a drafter layer in training and decoding), through a parameterless
 * TorchScript module ({@code tools/make_fused_ops.py}; the layers there must stay those of {@code LlamaModel}
 * and {@code Drafter}, which {@code FusedOpsTest} checks), and a frozen model's whole forward, a drafter's
 * context update and its whole block as one call each, so a decoding step is a handful of host calls
 * instead of dozens per layer.
 *
 * <p>Why: on a GPU the step was bound by the host, one JNI call and kernel launch per op; eager
 * attention also materialised (B, H, T, S) scores. A TorchScript method runs its ops in C++ under the
 * caller's grad mode, so the drafter's backward goes through them too.
 *
 * <p>Which of these a model uses is its {@link Backend}'s choice, made once per model and device;
 * {@code -Dblockdraft.fusedOpsModule=FILE} loads another copy of the module (a GPU host's own build). The
 * module's generator is pinned by {@code fused_ops.pt.sha256} beside it ({@code FusedOpsModuleTest}).
 * TorchScript's optimising executor is switched off for the calling thread: it re-profiled a method at
 * every new input shape.
 */
public final class FusedOps {
    private static final Logger LOG = Logger.getLogger(FusedOps.class.getName());
    static final String RESOURCE = "fused_ops.pt";
    private static final Map<Device, Optional<FusedOps>> LOADED = new ConcurrentHashMap<>();
    private static final ThreadLocal<Boolean> PLAIN_EXECUTOR = ThreadLocal.withInitial(() -> false);

    private final PtSymbolBlock module;
    private final NDManager manager;
    private final Map<String, NDArray> methodSelectors = new ConcurrentHashMap<>();
    private final NDManager hostManager = NDManager.newBaseManager(Device.cpu(), "PyTorch");
    private final Map<String, NDArray> hostConstants = new ConcurrentHashMap<>();
    private final Map<DataType, NDArray> emptyArrays = new ConcurrentHashMap<>();

    private FusedOps(PtSymbolBlock module, NDManager manager) {
        this.module = module;
        this.manager = manager;
    }

    /** The module on {@code device}, loaded once per device; empty where it does not load (logged). */
    static Optional<FusedOps> forDevice(Device device) {
        return LOADED.computeIfAbsent(device, FusedOps::load);
    }

    static Optional<FusedOps> load(Device device) {
        String file = System.getProperty("blockdraft.fusedOpsModule");
        // never closed: one parameterless module per device for the life of the JVM
        PtNDManager manager = (PtNDManager) NDManager.newBaseManager(device, "PyTorch");
        try (InputStream in = file != null ? Files.newInputStream(Path.of(file))
                : FusedOps.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                LOG.warning("fused ops module " + RESOURCE + " is not on the classpath: eager ops");
                return Optional.empty();
            }
            return Optional.of(new FusedOps(JniUtils.loadModule(manager, in, true, false), manager));
        } catch (IOException | RuntimeException e) {
            LOG.warning("could not load the fused ops module" + (file == null ? "" : " " + file) + " on "
                    + device + " (" + e.getMessage() + "): eager ops");
            return Optional.empty();
        }
    }

    /**
     * Attention of q (B, H, T, D) over k, v (B, G, S, D) under an additive mask broadcastable to
     * (B, H, T, S), in q's type, in q's manager; (B, H, T, D).
     */
    public NDArray masked(NDArray q, NDArray k, NDArray v, NDArray additiveMask) {
        return run("forward", q, k, v, additiveMask);
    }

    /** Causal attention of q (B, H, T, D) over k, v (B, G, T, D): query t sees keys 0..t. */
    public NDArray causal(NDArray q, NDArray k, NDArray v) {
        return run("causal", q, k, v);
    }

    /** HF's RMSNorm of x over its last axis, accumulated in fp32 whatever x's type, times weight. */
    public NDArray rmsNorm(NDArray x, NDArray weight, double eps) {
        return run("rms_norm", x, weight, Scalars.of(x, eps, DataType.FLOAT32));
    }

    /** down(silu(gate(x)) · up(x)), weights as in HF's {@code nn.Linear}. */
    public NDArray swiGlu(NDArray x, NDArray gate, NDArray up, NDArray down) {
        return run("swiglu", x, gate, up, down);
    }

    /**
     * A whole Llama / Qwen3 decoder layer over full sequences x (B, T, C), causal, without a cache and
     * without autograd (a frozen model's forward: one call instead of ~35). {@code weights} in the order
     * input norm, q, k, v, o, q/k/v bias, q/k norm, post norm, gate, up, down; null for an absent bias or
     * q/k norm. The result is an inference-mode tensor in x's manager: use it in further ops, but
     * {@code duplicate()} it before autograd would save it.
     */
    public NDArray decoderLayer(NDArray x, NDArray[] weights, Ops.Rotary rotary, int heads, int kvHeads, int headDim,
            double eps) {
        NDArray none = empty(x.getDataType());
        IValue[] in = new IValue[weights.length + 7];
        in[0] = IValue.from((PtNDArray) x);
        for (int i = 0; i < weights.length; i++) {
            in[i + 1] = IValue.from((PtNDArray) (weights[i] == null ? none : weights[i]));
        }
        int k = weights.length + 1;
        in[k] = IValue.from((PtNDArray) rotary.cos());
        in[k + 1] = IValue.from((PtNDArray) rotary.signedSin());
        in[k + 2] = IValue.from((long) heads);
        in[k + 3] = IValue.from((long) kvHeads);
        in[k + 4] = IValue.from((long) headDim);
        in[k + 5] = IValue.from(eps);
        return call("decoder_layer", in, (PtNDManager) x.getManager())[0];
    }

    /**
     * One drafter layer for training (autograd on): the context states (S, L, C) give this layer's
     * K/V (k-norm, rope at context positions), the blocks x (S, Q, C) attend over [context; block]
     * under the additive mask (S, 1, Q, L+Q). {@code weights}: input norm, q, k, v, o, q norm, k norm,
     * post norm, gate, up, down. The same computation as {@code Drafter.contextKv} + its layer.
     */
    public NDArray drafterLayer(NDArray x, NDArray context, NDArray[] weights, Ops.Rotary block, Ops.Rotary contextRotary,
            NDArray mask, int heads, int kvHeads, int headDim, double eps) {
        NDArray[] in = new NDArray[weights.length + 9];
        in[0] = x;
        in[1] = context;
        System.arraycopy(weights, 0, in, 2, weights.length);
        int k = weights.length + 2;
        in[k] = block.cos();
        in[k + 1] = block.signedSin();
        in[k + 2] = contextRotary.cos();
        in[k + 3] = contextRotary.signedSin();
        in[k + 4] = mask;
        // ints and eps as host tensors: read on the host inside the module, no device sync
        in[k + 5] = hostConstants.computeIfAbsent("dims " + heads + " " + kvHeads + " " + headDim,
                key -> hostManager.create(new long[] {heads, kvHeads, headDim}));
        in[k + 6] = hostConstants.computeIfAbsent("eps " + eps, key -> hostManager.create(eps));
        return run("drafter_layer", in);
    }

    /**
     * A frozen model's whole forward over new tokens {@code ids} (B, T) in one call ({@code frozen_forward}):
     * embedding, every layer ({@code layerWeights}, 14 per layer in {@link #decoderLayer}'s order, null for an
     * absent bias or q/k norm), the final norm and LM head. With {@code keys}/{@code values} (the KV cache's
     * per-layer (B, G, capacity, D) buffers; null: no cache) the new rows are written in place at
     * {@code offset}..offset+T and attended up to there. {@code positions} (B, 1, T) int64 and an additive
     * {@code mask} broadcastable to (B, 1, T, offset+T) may be null: positions offset.. for every row, causal
     * attention. {@code logits}: 0 none, 1 the last position's, 2 all. Returns [logits (null for 0), then the
     * outputs of the {@code capture} layers in that order], inference-mode arrays in ids' manager.
     */
    public NDArray[] frozenForward(NDArray ids, NDArray embed, NDArray[] layerWeights, NDArray[] keys, NDArray[] values,
            int offset, NDArray positions, NDArray mask, NDArray cosTable, NDArray signedSinTable, NDArray finalNorm,
            NDArray lmHead, int[] capture, int logits, int heads, int kvHeads, int headDim, double eps) {
        PtNDManager scope = (PtNDManager) ids.getManager();
        NDArray none = empty(embed.getDataType());
        long[] captured = new long[capture.length];
        for (int i = 0; i < capture.length; i++) {
            captured[i] = capture[i];
        }
        IValue[] in = {IValue.from((PtNDArray) ids), IValue.from((PtNDArray) embed), list(layerWeights, none),
            list(keys == null ? new NDArray[0] : keys, none), list(values == null ? new NDArray[0] : values, none),
            IValue.from((long) offset),
            IValue.from((PtNDArray) (positions == null ? empty(DataType.INT64) : positions)),
            IValue.from((PtNDArray) (mask == null ? none : mask)), IValue.from((PtNDArray) cosTable),
            IValue.from((PtNDArray) signedSinTable), IValue.from((PtNDArray) finalNorm), IValue.from((PtNDArray) lmHead),
            IValue.listFrom(captured), IValue.from((long) logits), IValue.from((long) heads), IValue.from((long) kvHeads),
            IValue.from((long) headDim), IValue.from(eps)};
        NDArray[] result = call("frozen_forward", in, scope);
        if (logits == 0) {
            result[0].close();
            result[0] = null;
        }
        return result;
    }

    /**
     * A drafter's context of newly verified tokens in one call ({@code drafter_context}): target features
     * (1, T, F) at positions {@code offset}.. become context states ({@code fc}, {@code hiddenNorm}) and then
     * each layer's context keys (k-norm, rope) and values, written in place into {@code keys}/{@code values}
     * (1, G, capacity, D) per layer. {@code layerWeights}: 11 per layer in {@link #drafterLayer}'s order.
     */
    public void drafterContext(NDArray features, NDArray fc, NDArray hiddenNorm, NDArray[] layerWeights, NDArray[] keys,
            NDArray[] values, int offset, NDArray cosTable, NDArray signedSinTable, int kvHeads, int headDim, double eps) {
        IValue[] in = {IValue.from((PtNDArray) features), IValue.from((PtNDArray) fc), IValue.from((PtNDArray) hiddenNorm),
            list(layerWeights, null), list(keys, null), list(values, null), IValue.from((long) offset),
            IValue.from((PtNDArray) cosTable), IValue.from((PtNDArray) signedSinTable), IValue.from((long) kvHeads),
            IValue.from((long) headDim), IValue.from(eps)};
        call("drafter_context", in, null);
    }

    /**
     * A drafter's logits (B−1, V) for one block {@code ids} (1, B) = [anchor, mask…] at positions
     * {@code length}.. after its cached context keys and values ({@link #drafterContext}'s), in one call
     * ({@code drafter_block}): every layer with the block seeing the whole context and itself, the final norm
     * and the LM head over slots 1..B−1. An inference-mode array in ids' manager.
     */
    public NDArray drafterBlock(NDArray ids, NDArray embed, NDArray[] layerWeights, NDArray[] keys, NDArray[] values,
            int length, NDArray cosTable, NDArray signedSinTable, NDArray finalNorm, NDArray lmHead, int heads,
            int kvHeads, int headDim, double eps) {
        IValue[] in = {IValue.from((PtNDArray) ids), IValue.from((PtNDArray) embed), list(layerWeights, null),
            list(keys, null), list(values, null), IValue.from((long) length), IValue.from((PtNDArray) cosTable),
            IValue.from((PtNDArray) signedSinTable), IValue.from((PtNDArray) finalNorm), IValue.from((PtNDArray) lmHead),
            IValue.from((long) heads), IValue.from((long) kvHeads), IValue.from((long) headDim), IValue.from(eps)};
        return call("drafter_block", in, (PtNDManager) ids.getManager())[0];
    }

    /** Runs a method on IValues it then closes; its tensor or tensor-list result in {@code scope} (null: none). */
    private NDArray[] call(String method, IValue[] in, PtNDManager scope) {
        try {
            plainExecutor();
            try (IValue out = IValueUtils.runMethod(module, method, in)) {
                if (scope == null) {
                    return null;
                }
                return out.isTensor() ? new NDArray[] {out.toTensor(scope)} : out.toTensorArray(scope);
            }
        } finally {
            for (IValue v : in) {
                v.close();
            }
        }
    }

    /** An empty array of {@code type} on this module's device: its "none" (no bias, no mask, no positions). */
    private NDArray empty(DataType type) {
        return emptyArrays.computeIfAbsent(type, t -> manager.zeros(new Shape(0), t));
    }

    /** The arrays as one TorchScript list, {@code none} standing in for each null. */
    private static IValue list(NDArray[] arrays, NDArray none) {
        PtNDArray[] pt = new PtNDArray[arrays.length];
        for (int i = 0; i < arrays.length; i++) {
            pt[i] = (PtNDArray) (arrays[i] == null ? none : arrays[i]);
        }
        return IValue.listFrom(pt);
    }

    /**
     * PyTorch's fused AdamW step over all parameters at once, in place: each gradient is divided
     * by {@code gradDivisor} first; {@code step} counts this update (1 for the first).
     */
    public void adamW(List<NDArray> params, List<NDArray> grads, List<NDArray> firstMoments,
            List<NDArray> secondMoments, double lr, double beta1, double beta2, double weightDecay, double eps,
            long step, double gradDivisor) {
        if (params.isEmpty()) {
            return;
        }
        try (NDManager tmp = params.get(0).getManager().newSubManager()) {
            NDArray stepAndScale = tmp.create(new float[] {step, (float) gradDivisor}); // one host-to-device copy
            IValue[] in = {list(params), list(grads), list(firstMoments), list(secondMoments), IValue.from(lr),
                IValue.from(beta1), IValue.from(beta2), IValue.from(weightDecay), IValue.from(eps),
                IValue.from((PtNDArray) stepAndScale)};
            call("adamw", in, null);
        }
    }

    /** ‖(all entries of all arrays)‖₂ as a 0-d fp32 array in the first array's manager (no host sync). */
    public NDArray globalNorm(List<NDArray> arrays) {
        return call("global_norm", new IValue[] {list(arrays)}, (PtNDManager) arrays.get(0).getManager())[0];
    }

    private static IValue list(List<NDArray> arrays) {
        return IValue.listFrom(arrays.stream().map(a -> (PtNDArray) a).toArray(PtNDArray[]::new));
    }

    private static void plainExecutor() {
        if (!PLAIN_EXECUTOR.get()) {
            JniUtils.setGraphExecutorOptimize(false); // thread-local in libtorch
            PLAIN_EXECUTOR.set(true);
        }
    }

    private NDArray run(String method, NDArray... inputs) {
        plainExecutor();
        NDList list = new NDList(inputs.length + 1);
        for (NDArray a : inputs) {
            list.add(a);
        }
        if (!method.equals("forward")) {
            // an array named "module_method:NAME" selects the method and is not passed to it
            list.add(methodSelectors.computeIfAbsent(method, name -> {
                NDArray selector = manager.zeros(new Shape(0));
                selector.setName("module_method:" + name);
                return selector;
            }));
        }
        // isTrain = true: run under the caller's grad mode, so a GradientCollector records the graph;
        // the result lands in the first input's manager
        return IValueUtils.forward(module, list, true).singletonOrThrow();
    }
}
