package dev.blockdraft.train.objective;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.blockdraft.nn.Scalars;

/**
 * Scalar helpers. DJL's {@code x.mul(double)} creates a float64 0-d tensor, and PyTorch promotes
 * a 0-d float32 ⊗ 0-d float64 to float64; these keep a scalar loss in the logits' type.
 */
final class Nd {
    private Nd() {}

    /** A cached 0-d constant of {@code like}'s floating type (float64, else float32) on like's device. */
    static NDArray constant(NDArray like, double v) {
        return Scalars.of(like, v, like.getDataType() == DataType.FLOAT64 ? DataType.FLOAT64 : DataType.FLOAT32);
    }

    /**
     * A fresh 0-d array of like's floating type in like's manager: for step-varying values (pooled
     * counts), which would crowd the constant cache.
     */
    static NDArray fresh(NDArray like, double v) {
        NDManager m = like.getManager();
        return like.getDataType() == DataType.FLOAT64 ? m.create(v) : m.create((float) v);
    }

    static NDArray mul(NDArray x, double v) {
        return x.mul(constant(x, v));
    }

    static NDArray atLeast(NDArray x, double v) {
        return x.maximum(constant(x, v));
    }
}
