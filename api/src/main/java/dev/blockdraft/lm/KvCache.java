package dev.blockdraft.lm;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;

/**
 * Preallocated keys and values for incremental decoding: per layer (B, G, capacity, D) buffers
 * filled in place. {@link #truncate} rolls back rejected speculative tokens in O(1): later writes
 * simply overwrite them.
 */
public final class KvCache implements AutoCloseable {
    private final NDManager manager;
    private final NDArray[] keys;
    private final NDArray[] values;
    private final int capacity;
    private int length;

    public KvCache(NDManager parent, int layers, int batch, int kvHeads, int capacity, int headDim, DataType type) {
        this.manager = parent.newSubManager();
        this.capacity = capacity;
        this.keys = new NDArray[layers];
        this.values = new NDArray[layers];
        Shape shape = new Shape(batch, kvHeads, capacity, headDim);
        for (int l = 0; l < layers; l++) {
            keys[l] = manager.zeros(shape, type);
            values[l] = manager.zeros(shape, type);
        }
    }

    public static KvCache forModel(LlamaModel model, NDManager parent, int batch, int capacity) {
        LlamaConfig c = model.config();
        return new KvCache(parent, c.numHiddenLayers(), batch, c.numKeyValueHeads(), capacity, c.headDim(),
                DataType.FLOAT32);
    }

    public int length() {
        return length;
    }

    public int capacity() {
        return capacity;
    }

    public Device device() {
        return manager.getDevice();
    }

    /**
     * Writes k, v (B, G, T, D) at positions length..length+T-1 of one layer and returns the cached
     * keys and values up to there, (B, G, length+T, D), as views owned by {@code scope}. Call
     * {@link #advance} once all layers are written.
     */
    public NDArray[] append(int layer, NDArray k, NDArray v, NDManager scope) {
        int t = Math.toIntExact(k.getShape().get(2));
        ensureRoom(t);
        NDIndex slot = new NDIndex().addAllDim(2).addSliceDim(length, length + t); // built, not parsed: once per layer and token
        keys[layer].set(slot, k);
        values[layer].set(slot, v);
        return views(layer, length + t, scope);
    }

    /** The cached keys and values of one layer, (B, G, length, D), as views owned by {@code scope}. */
    public NDArray[] view(int layer, NDManager scope) {
        return views(layer, length, scope);
    }

    private NDArray[] views(int layer, int positions, NDManager scope) {
        NDArray k = narrow(keys[layer], positions);
        NDArray v = narrow(values[layer], positions);
        k.attach(scope);
        v.attach(scope);
        return new NDArray[] {k, v};
    }

    /**
     * buffer[:, :, :positions] as a view. On PyTorch one narrow of the sequence axis; DJL's general
     * indexing slices every axis (three dispatches), twice per layer and token.
     */
    private static NDArray narrow(NDArray buffer, int positions) {
        if (buffer instanceof PtNDArray pt) {
            return JniUtils.slice(pt, 2, 0, positions, 1);
        }
        return buffer.get(new NDIndex().addAllDim(2).addSliceDim(0, positions));
    }

    /** Fails unless {@code tokens} more positions fit. */
    public void ensureRoom(int tokens) {
        if (length + tokens > capacity) {
            throw new IllegalStateException("KV cache full: " + length + " + " + tokens + " tokens exceed capacity " + capacity);
        }
    }

    /** Every layer's key buffer (B, G, capacity, D), for a fused forward that writes them in place. */
    public NDArray[] keyBuffers() {
        return keys.clone();
    }

    /** Every layer's value buffer (B, G, capacity, D). */
    public NDArray[] valueBuffers() {
        return values.clone();
    }

    public void advance(int tokens) {
        if (length + tokens > capacity) {
            throw new IllegalStateException("KV cache overflow");
        }
        length += tokens;
    }

    /** Forgets everything after the first {@code newLength} positions. */
    public void truncate(int newLength) {
        if (newLength < 0 || newLength > length) {
            throw new IllegalArgumentException("cannot truncate a cache of length " + length + " to " + newLength);
        }
        length = newLength;
    }

    /**
     * A new cache of {@code batch} rows, each holding this cache's first row (its {@link #length}
     * positions): one prefill of a prompt serves a batch of continuations of it.
     */
    public KvCache repeated(NDManager parent, int batch, int newCapacity) {
        if (newCapacity < length) {
            throw new IllegalArgumentException("capacity " + newCapacity + " cannot hold the " + length + " cached positions");
        }
        Shape s = keys[0].getShape(); // (B, G, capacity, D)
        KvCache out = new KvCache(parent, keys.length, batch, (int) s.get(1), newCapacity, (int) s.get(3), keys[0].getDataType());
        NDIndex prefix = new NDIndex(":, :, :{}", length);
        for (int l = 0; l < keys.length; l++) {
            try (NDManager scope = manager.newSubManager()) {
                NDArray k = keys[l].get(new NDIndex("0:1, :, :{}", length));
                NDArray v = values[l].get(new NDIndex("0:1, :, :{}", length));
                k.attach(scope);
                v.attach(scope);
                out.keys[l].set(prefix, k.broadcast(batch, s.get(1), length, s.get(3)));
                out.values[l].set(prefix, v.broadcast(batch, s.get(1), length, s.get(3)));
            }
        }
        out.length = length;
        return out;
    }

    /**
     * Keeps only the batch rows {@code rows} (in that order), layer by layer, each layer's old buffers freed as
     * soon as its rows are copied: a batch whose finished rows are dropped stops computing them, and the copy
     * needs one layer's memory beyond the cache, not a second cache (3,000 rows of a 146M target's fp32 cache
     * are ~113 GB).
     */
    public void keepRows(long[] rows) {
        try (NDManager scope = manager.newSubManager()) {
            NDArray index = scope.create(rows).toDevice(device(), false);
            for (int l = 0; l < keys.length; l++) {
                keys[l] = replace(keys[l], keys[l].get(index)); // a gather along the batch axis: a new array
                values[l] = replace(values[l], values[l].get(index));
            }
        }
    }

    private NDArray replace(NDArray old, NDArray gathered) {
        gathered.attach(manager);
        old.close();
        return gathered;
    }

    /**
     * Compacts a verified token tree: of the {@code length − start} positions after {@code start},
     * keeps those at offsets {@code kept} (increasing; offset i holds the tree node at depth i of the
     * accepted path, its keys rotated for position start + i) at start, start+1, … and forgets the
     * rest, as if only the accepted path had been appended.
     */
    public void keep(int start, int[] kept) {
        for (int i = 0; i < kept.length; i++) {
            if (kept[i] < i || start + kept[i] >= length || (i > 0 && kept[i] <= kept[i - 1])) {
                throw new IllegalArgumentException("cannot keep offsets " + java.util.Arrays.toString(kept) + " after "
                        + start + " in a cache of length " + length + ": offsets must increase, each at least its index");
            }
        }
        boolean identity = true;
        for (int i = 0; i < kept.length; i++) {
            identity &= kept[i] == i;
        }
        if (!identity) {
            try (NDManager scope = manager.newSubManager()) {
                long[] idx = new long[kept.length];
                for (int i = 0; i < kept.length; i++) {
                    idx[i] = start + kept[i];
                }
                NDArray index = scope.create(idx).toDevice(device(), false);
                NDIndex target = new NDIndex(":, :, {}:{}", start, start + kept.length);
                for (int l = 0; l < keys.length; l++) {
                    for (NDArray buffer : new NDArray[] {keys[l], values[l]}) {
                        Shape s = buffer.getShape(); // (B, G, capacity, D)
                        NDArray gather = index.reshape(1, 1, kept.length, 1).broadcast(s.get(0), s.get(1), kept.length, s.get(3));
                        buffer.set(target, buffer.gather(gather, 2)); // the gather copies before the write
                    }
                }
            }
        }
        length = start + kept.length;
    }

    @Override
    public void close() {
        manager.close();
    }
}
