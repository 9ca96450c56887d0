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

    /**
     * One token per row of logits (R, V). The default samples row by row; samplers that can draw
     * all rows with a few device ops override it, since a regeneration batch has thousands of rows
     * and a per-row draw is a dozen JNI calls and a device sync each.
     */
    default long[] sampleRows(NDArray logits) {
        long rows = logits.getShape().get(0);
        long[] chosen = new long[(int) rows];
        for (int r = 0; r < rows; r++) {
            chosen[r] = sample(logits.get(r));
        }
        return chosen;
    }

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
        return new Sampler() {
            @Override
            public int sample(NDArray logits) {
                return (int) sampleRows(logits.reshape(1, -1))[0];
            }

            @Override
            public long[] sampleRows(NDArray logits) {
                NDManager m = logits.getManager();
                NDArray logP = warp.probabilities(logits).log(); // (R, V), −inf outside the nucleus
                NDArray u = m.randomUniform(1e-10f, 1f, logP.getShape());
                NDArray gumbel = u.log().neg().log().neg();
                return logP.add(gumbel).argMax(1).toLongArray();
            }
        };
    }
}
