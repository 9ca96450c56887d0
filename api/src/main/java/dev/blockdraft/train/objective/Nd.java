package dev.blockdraft.train.objective;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

/**
 * Scalar helpers. DJL's {@code x.mul(double)} creates a float64 0-d tensor, and PyTorch promotes
 * a 0-d float32 ⊗ 0-d float64 to float64; these keep a scalar loss in the logits' type.
 */
final class Nd {
    private Nd() {}

    /** A 0-d constant of {@code like}'s floating type, in {@code like}'s manager. */
    static NDArray constant(NDArray like, double v) {
        return like.getDataType() == DataType.FLOAT64 ? like.getManager().create(v) : like.getManager().create((float) v);
    }

    static NDArray mul(NDArray x, double v) {
        return x.mul(constant(x, v));
    }

    static NDArray atLeast(NDArray x, double v) {
        return x.maximum(constant(x, v));
    }
}
