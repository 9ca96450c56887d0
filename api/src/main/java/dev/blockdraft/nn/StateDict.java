package dev.blockdraft.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * An ordered map from Hugging Face tensor names ({@code model.layers.0.self_attn.q_proj.weight})
 * to fp32 parameter arrays, all owned by one {@link NDManager}. Loading a checkpoint is a lookup
 * here, and the optimizer walks it in order.
 */
public final class StateDict implements AutoCloseable {
    private final NDManager manager;
    private final Map<String, NDArray> tensors = new LinkedHashMap<>();

    public StateDict(NDManager manager) {
        this.manager = manager;
    }

    public NDManager manager() {
        return manager;
    }

    public NDArray get(String name) {
        NDArray a = tensors.get(name);
        if (a == null) {
            throw new IllegalArgumentException("no parameter '" + name + "'; have " + tensors.size() + " parameters");
        }
        return a;
    }

    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    /** Adds (or replaces) a parameter; the array is attached to this dict's manager. */
    public NDArray put(String name, NDArray array) {
        array.attach(manager);
        NDArray old = tensors.put(name, array);
        if (old != null && old != array) {
            old.close();
        }
        return array;
    }

    /** A parameter drawn from N(0, std²) with a seeded Java RNG, so init is identical on any device. */
    public NDArray normal(String name, long[] shape, double std, SplittableRandom rng) {
        int n = Math.toIntExact(numel(shape));
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (rng.nextGaussian() * std);
        }
        return put(name, manager.create(v, new ai.djl.ndarray.types.Shape(shape)));
    }

    public NDArray ones(String name, long[] shape) {
        return put(name, manager.ones(new ai.djl.ndarray.types.Shape(shape)));
    }

    public Map<String, NDArray> asMap() {
        return Collections.unmodifiableMap(tensors);
    }

    public List<String> names() {
        return List.copyOf(tensors.keySet());
    }

    public long parameterCount() {
        long n = 0;
        for (NDArray a : tensors.values()) {
            n += a.size();
        }
        return n;
    }

    /**
     * fp16 copies of every parameter, owned by {@code manager}: fresh autograd leaves (the cast
     * detaches), so a training step can take gradients in fp16 and apply them to these fp32 masters.
     */
    public StateDict halfPrecisionCopy(NDManager manager) {
        StateDict half = new StateDict(manager);
        for (Map.Entry<String, NDArray> e : tensors.entrySet()) {
            half.put(e.getKey(), e.getValue().toType(ai.djl.ndarray.types.DataType.FLOAT16, true));
        }
        return half;
    }

    /** Marks every parameter as requiring gradients (training). */
    public void requireGradients(boolean requires) {
        for (NDArray a : tensors.values()) {
            a.setRequiresGradient(requires);
        }
    }

    private static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    @Override
    public void close() {
        manager.close();
    }
}
