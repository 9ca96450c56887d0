package dev.blockdraft.train;

import java.util.Locale;

/**
 * How a drafter-training step computes. {@code FP32}: everything in fp32 (TF32 matmuls where the
 * environment enables them). {@code FP16}: fp32 master weights and optimizer state; each step
 * runs forward and backward on fresh fp16 copies, with the frozen target in fp16 and a dynamic
 * loss scale; logits are widened to fp32 for the loss. fp16 is for GPUs.
 */
public enum Precision {
    FP32, FP16;

    public static Precision parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown precision '" + s + "' (fp32 | fp16)");
        }
    }

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
