package dev.blockdraft.lm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

/**
 * Chooses the next token from logits (V,) fp32 on the device. DJL's PyTorch engine has no
 * multinomial op, so sampling uses the Gumbel-max trick: argmax(logits/T + G) with
 * G = −log(−log U) is an exact sample of softmax(logits/T).
 */
@FunctionalInterface
public interface Sampler {

    int sample(NDArray logits);

    Sampler GREEDY = logits -> (int) logits.argMax().getLong();

    static Sampler greedy() {
        return GREEDY;
    }

    /**
     * Temperature and nucleus (top-p) sampling. Random draws come from the engine's generator
     * (seed it with {@code Engine.getInstance().setRandomSeed}).
     */
    static Sampler temperature(double temperature, double topP) {
        if (!(temperature > 0)) {
            throw new IllegalArgumentException("temperature=" + temperature + " must be > 0 (use greedy for 0)");
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("top-p=" + topP + " must be within (0, 1]");
        }
        return logits -> {
            NDManager m = logits.getManager();
            NDArray scaled = logits.div(temperature); // (V,)
            if (topP < 1) {
                NDArray order = scaled.argSort(0, false); // (V,) descending
                NDArray sorted = scaled.get(order);
                NDArray cumulative = sorted.softmax(0).cumSum(0);
                // keep a token if the mass before it is < p (the top token is always kept)
                NDArray before = cumulative.sub(sorted.softmax(0));
                NDArray dropSorted = before.gte(topP);
                NDArray drop = m.zeros(scaled.getShape(), DataType.BOOLEAN);
                drop = drop.put(order, dropSorted);
                scaled = ai.djl.ndarray.NDArrays.where(drop, m.full(scaled.getShape(), Float.NEGATIVE_INFINITY), scaled);
            }
            NDArray u = m.randomUniform(1e-10f, 1f, scaled.getShape());
            NDArray gumbel = u.log().neg().log().neg();
            return (int) scaled.add(gumbel).argMax().getLong();
        };
    }
}
