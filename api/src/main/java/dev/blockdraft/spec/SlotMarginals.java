package dev.blockdraft.spec;

import ai.djl.ndarray.NDArray;
import dev.blockdraft.lm.Sampling;
import dev.blockdraft.lm.TokenDistribution;

/**
 * The drafter's per-slot predictions of one step, in the three forms drafting uses: the argmax
 * block, the slot distributions q under the decoding's sampling warp (candidates are drawn from
 * them), and each slot's most probable tokens (a draft tree is built from them).
 */
public interface SlotMarginals {

    /** Drafted slots, B−1. */
    int slots();

    /** The most probable token of every slot. */
    int[] argmax();

    /** q of every slot: {@code sampling}'s warp of the drafter's logits; at temperature 0, T = 1 with its top-k/top-p. */
    TokenDistribution[] warped(Sampling sampling);

    /** Per slot, the {@code width} most probable tokens (softmax at T = 1) in descending order, and their probabilities. */
    Ranked ranked(int width);

    record Ranked(int[][] tokens, float[][] probabilities) {}

    /** Marginals from slot logits (B−1, V) on the device; each form is computed there and copied once. */
    static SlotMarginals of(NDArray logits) {
        int slots = Math.toIntExact(logits.getShape().get(0));
        long vocab = logits.getShape().get(1);
        return new SlotMarginals() {
            @Override
            public int slots() {
                return slots;
            }

            @Override
            public int[] argmax() {
                long[] best = logits.argMax(1).toLongArray();
                int[] out = new int[slots];
                for (int d = 0; d < slots; d++) {
                    out[d] = (int) best[d];
                }
                return out;
            }

            @Override
            public TokenDistribution[] warped(Sampling sampling) {
                return (sampling.isGreedy() ? sampling.withTemperature(1) : sampling).distributions(logits);
            }

            @Override
            public Ranked ranked(int width) {
                int w = (int) Math.min(width, vocab);
                NDArray probs = logits.softmax(1);
                NDArray order = probs.argSort(1, false).get(":, :{}", w); // (B−1, W) most probable first
                long[] tokens = order.toLongArray();
                float[] p = probs.gather(order, 1).toFloatArray();
                int[][] t = new int[slots][w];
                float[][] q = new float[slots][w];
                for (int d = 0; d < slots; d++) {
                    for (int r = 0; r < w; r++) {
                        t[d][r] = (int) tokens[d * w + r];
                        q[d][r] = p[d * w + r];
                    }
                }
                return new Ranked(t, q);
            }
        };
    }
}
