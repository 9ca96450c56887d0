package dev.blockdraft.nn;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValueUtils;
import ai.djl.pytorch.jni.JniUtils;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Logger;

/**
 * PyTorch's fused {@code scaled_dot_product_attention} (flash and memory-efficient kernels), reached
 * through a tiny TorchScript module because DJL 0.36's JNI binds no such op. Eager attention
 * materialises (B, H, T, S) scores and runs a mask add and a softmax over them; on a GPU that was
 * most of the target's forward time. The module ({@code tools/make_fused_attention.py}) has no
 * parameters; it runs with autograd, so the drafter's backward goes through the fused kernels too.
 *
 * <p>Used on GPUs by default. {@code -Dblockdraft.attention=eager} turns it off everywhere,
 * {@code =fused} turns it on for CPUs as well; {@code -Dblockdraft.fusedAttentionModule=FILE} loads
 * another copy of the module (e.g. one saved by the host's own torch).
 */
public final class FusedAttention {
    private static final Logger LOG = Logger.getLogger(FusedAttention.class.getName());
    private static final String RESOURCE = "fused_attention.pt";
    private static final Map<Device, Optional<FusedAttention>> LOADED = new ConcurrentHashMap<>();

    private final PtSymbolBlock module;

    private FusedAttention(PtSymbolBlock module) {
        this.module = module;
    }

    /** The fused kernels for arrays on {@code device}, or empty where eager attention is to be used. */
    public static Optional<FusedAttention> on(Device device) {
        String mode = System.getProperty("blockdraft.attention", "auto");
        boolean wanted = switch (mode) {
            case "eager" -> false;
            case "fused" -> true;
            case "auto" -> device.isGpu();
            default -> throw new IllegalArgumentException(
                    "-Dblockdraft.attention must be auto, fused or eager, not '" + mode + "'");
        };
        return wanted ? LOADED.computeIfAbsent(device, FusedAttention::load) : Optional.empty();
    }

    static Optional<FusedAttention> load(Device device) {
        String file = System.getProperty("blockdraft.fusedAttentionModule");
        // never closed: one parameterless module per device for the life of the JVM
        PtNDManager manager = (PtNDManager) NDManager.newBaseManager(device, "PyTorch");
        try (InputStream in = file != null ? Files.newInputStream(Path.of(file))
                : FusedAttention.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                LOG.warning("fused attention module " + RESOURCE + " is not on the classpath: eager attention");
                return Optional.empty();
            }
            return Optional.of(new FusedAttention(JniUtils.loadModule(manager, in, true, false)));
        } catch (IOException | RuntimeException e) {
            LOG.warning("could not load the fused attention module" + (file == null ? "" : " " + file) + " on "
                    + device + " (" + e.getMessage() + "): eager attention");
            return Optional.empty();
        }
    }

    /**
     * Attention of q (B, H, T, D) over k, v (B, G, S, D) under an additive mask broadcastable to
     * (B, H, T, S), in q's type, in q's manager; (B, H, T, D).
     */
    public NDArray masked(NDArray q, NDArray k, NDArray v, NDArray additiveMask) {
        return run(new NDList(q, k, v, additiveMask));
    }

    /** Causal attention of q (B, H, T, D) over k, v (B, G, T, D): query t sees keys 0..t. */
    public NDArray causal(NDArray q, NDArray k, NDArray v) {
        // an array named "module_method:NAME" selects the method and is not passed to it
        NDArray method = q.getManager().zeros(new Shape(0));
        method.setName("module_method:causal");
        return run(new NDList(q, k, v, method));
    }

    private NDArray run(NDList inputs) {
        // isTrain = true: run under the caller's grad mode, so a GradientCollector records the graph
        return IValueUtils.forward(module, inputs, true).singletonOrThrow();
    }
}
