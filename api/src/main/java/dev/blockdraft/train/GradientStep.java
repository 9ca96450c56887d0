package dev.blockdraft.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.blockdraft.nn.StateDict;
import java.util.Map;

/**
 * The tail of every training step, fp32 or fp16: read the accumulated gradients, take their global
 * norm (one host sync), clip, and let AdamW update the fp32 masters — or, when the gradients
 * overflowed, skip the update and let the loss scaler back off.
 */
final class GradientStep {
    private GradientStep() {}

    /** What the tail did: the true (unscaled, divided) gradient norm, and whether it skipped. */
    record Outcome(double gradNorm, boolean skipped) {}

    /**
     * @param working the parameters backward ran on: {@code master} itself in fp32, its fp16 copies in fp16
     * @param scaler the loss scaler the loss was multiplied by, or null (fp32)
     * @param scope owns the gradient arrays read here (a per-step manager)
     * @param divisor what the accumulated gradients are divided by: the number of micro-batches
     *     when their losses are averaged, 1 when they are shares of one pooled loss
     */
    static Outcome apply(StateDict master, StateDict working, AdamW optimizer, LossScaler scaler, int divisor,
            double lr, double clipNorm, NDManager scope) {
        Map<String, NDArray> grads = fp32Gradients(working, scope);
        Outcome out = applyGradients(master, grads, optimizer, scaler, divisor, lr, clipNorm);
        if (working == master) {
            AdamW.zeroGradients(master); // backward accumulates into .grad: clear it for the next step
        }
        return out;
    }

    /** The gradients of {@code params} in fp32 (fp16 working copies' widened), owned by {@code scope}. */
    static Map<String, NDArray> fp32Gradients(StateDict params, NDManager scope) {
        Map<String, NDArray> grads = AdamW.gradients(params, scope);
        grads.replaceAll((name, g) -> g.getDataType() == DataType.FLOAT32 ? g : g.toType(DataType.FLOAT32, false));
        return grads;
    }

    /**
     * {@link #apply} on gradients already read (and, for a data-parallel step, summed over the
     * devices): fp32, on the masters' device, in the masters' order; nothing is cleared.
     */
    static Outcome applyGradients(StateDict master, Map<String, NDArray> grads, AdamW optimizer, LossScaler scaler,
            int divisor, double lr, double clipNorm) {
        double lossScale = scaler == null ? 1 : scaler.scale();
        double gradNorm = optimizer.norm(grads.values()) / (divisor * lossScale);
        boolean finite = Double.isFinite(gradNorm);
        if (scaler != null) {
            scaler.update(finite);
        }
        if (finite) {
            double clip = clipNorm > 0 && gradNorm > clipNorm ? clipNorm / gradNorm : 1.0;
            optimizer.step(master, grads, lr, clip / (divisor * lossScale));
        }
        return new Outcome(gradNorm, !finite);
    }
}
