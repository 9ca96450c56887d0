package dev.blockdraft.nn;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Constant scalars as 0-d arrays that live on the device, made once per (device, type, value).
 *
 * <p>Why: DJL's {@code x.mul(2.0)} creates a fresh 0-d array from a host value on every call, and
 * on a GPU that host-to-device copy waits for all queued kernels (PyTorch synchronises the stream
 * after a pageable copy). Hundreds of them per training step (every norm's eps, every attention's
 * scale, every AdamW coefficient) made the CPU and the GPU run in lockstep. {@code x.mul(Scalars.of(x, 2.0))}
 * computes exactly what {@code x.mul(2.0)} does — the same float64 0-d operand, so the same type
 * promotion and rounding — without the copy.
 */
public final class Scalars {
    /** Beyond this many distinct constants (a caller passing step-varying values), stop caching. */
    private static final int MAX_CACHED = 4096;

    private record Key(Device device, DataType type, double value) {}

    private static final Map<Key, NDArray> CACHE = new ConcurrentHashMap<>();
    private static final Map<Device, NDManager> OWNERS = new ConcurrentHashMap<>();

    private Scalars() {}

    /** The float64 0-d array DJL's {@code like.mul(value)} would make, on like's device, made once. */
    public static NDArray of(NDArray like, double value) {
        return of(like, value, DataType.FLOAT64);
    }

    /**
     * A 0-d constant of the given floating type on like's device. A 0-d operand does not widen a
     * tensor with dimensions, but two 0-d operands promote: use the scalar loss's own type there.
     */
    public static NDArray of(NDArray like, double value, DataType type) {
        Device device = like.getDevice();
        Key key = new Key(device, type, value);
        NDArray cached = CACHE.get(key);
        if (cached != null) {
            return cached;
        }
        if (CACHE.size() >= MAX_CACHED) {
            return create(like.getManager(), value, type); // owned by the caller's scope
        }
        return CACHE.computeIfAbsent(key, k -> create(owner(device), value, type));
    }

    private static NDManager owner(Device device) {
        // never closed: a handful of 0-d arrays per device for the life of the JVM
        return OWNERS.computeIfAbsent(device, d -> NDManager.newBaseManager(d));
    }

    private static NDArray create(NDManager manager, double value, DataType type) {
        return switch (type) {
            case FLOAT64 -> manager.create(value);
            case FLOAT32 -> manager.create((float) value);
            default -> manager.create((float) value).toType(type, false);
        };
    }
}
