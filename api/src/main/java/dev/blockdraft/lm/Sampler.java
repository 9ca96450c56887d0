package dev.blockdraft.lm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

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
     * Temperature and nucleus (top-p) sampling over {@link Sampling#probabilities}, the warp that
     * speculative sampling uses too. Random draws come from the engine's generator (seed it with
     * {@code Engine.getInstance().setRandomSeed}); {@link Sampling#sampler} draws from a seeded stream
     * of its own instead.
     */
    static Sampler temperature(double temperature, double topP) {
        if (!(temperature > 0)) {
            throw new IllegalArgumentException("temperature=" + temperature + " must be > 0 (use greedy for 0)");
        }
        Sampling warp = new Sampling(temperature, topP, 0);
        return logits -> {
            NDManager m = logits.getManager();
            NDArray logP = warp.probabilities(logits.reshape(1, -1)).log(); // (1, V), −inf outside the nucleus
            NDArray u = m.randomUniform(1e-10f, 1f, logP.getShape());
            NDArray gumbel = u.log().neg().log().neg();
            return (int) logP.add(gumbel).argMax().getLong();
        };
    }
}
