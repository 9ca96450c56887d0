package dev.blockdraft.spec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.blockdraft.lm.Generator;
import dev.blockdraft.lm.LlamaConfig;
import dev.blockdraft.lm.LlamaModel;
import dev.blockdraft.lm.Sampler;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Greedy exactness at every accepted length: a scripted proposer knows the target's greedy
 * continuation and corrupts one slot per block at random (or none), so verification meets
 * accepted prefixes of every length 0..B−1. The output must still equal plain greedy decoding,
 * and the statistics must match what the script did.
 */
class ScriptedProposerExactnessTest {

    /** Proposes the reference continuation with one slot (chosen by the rng) replaced, or intact. */
    static final class Scripted implements BlockProposer {
        final int blockSize;
        final int[] reference; // prompt followed by the greedy continuation
        final Random rng;
        final int vocab;
        final long[] plannedAccepts;

        Scripted(int blockSize, int[] reference, long seed, int vocab) {
            this.blockSize = blockSize;
            this.reference = reference;
            this.rng = new Random(seed);
            this.vocab = vocab;
            this.plannedAccepts = new long[blockSize];
        }

        @Override
        public int blockSize() {
            return blockSize;
        }

        @Override
        public int[] featureLayers() {
            return new int[] {0};
        }

        @Override
        public Context open(NDManager scope, int capacity) {
            return new Context() {
                int verified; // tokens whose features arrived = position of the next anchor

                @Override
                public void accept(NDArray features) {
                    verified += Math.toIntExact(features.getShape().get(1));
                }

                @Override
                public int[] propose(int anchor, NDManager stepScope) {
                    assertEquals(reference[verified], anchor, "the anchor is the target's own token at position " + verified);
                    int[] draft = new int[blockSize - 1];
                    int wrong = rng.nextInt(blockSize); // blockSize - 1 means: all correct
                    for (int k = 0; k < draft.length; k++) {
                        int pos = verified + 1 + k;
                        int truth = pos < reference.length ? reference[pos] : 0;
                        draft[k] = k == wrong ? (truth + 1) % vocab : truth;
                    }
                    plannedAccepts[Math.min(wrong, blockSize - 1)]++;
                    return draft;
                }

                @Override
                public void close() {}
            };
        }
    }

    @Test
    void everyAcceptedLengthKeepsTheOutputIdenticalToGreedy() {
        LlamaConfig config = LlamaConfig.llama(50, 32, 48, 2, 4, 2, 256);
        Random prompts = new Random(11);
        try (LlamaModel target = LlamaModel.initialize(config, Device.cpu(), 4)) {
            // Sharpen the random weights so attention is peaked: every token of the context then
            // matters, and a decoder that loses or misplaces context changes the output.
            for (var e : target.parameters().asMap().entrySet()) {
                if (!e.getKey().endsWith("norm.weight")) {
                    e.getValue().muli(12);
                }
            }
            for (int blockSize : new int[] {2, 5, 8}) {
                long[] histogram = new long[blockSize];
                for (int p = 0; p < 6; p++) {
                    int[] prompt = new int[3 + prompts.nextInt(10)];
                    for (int i = 0; i < prompt.length; i++) {
                        prompt[i] = prompts.nextInt(50);
                    }
                    int budget = 60;
                    // the reference runs a block past the budget: the last step may draft beyond it
                    int[] longer = Generator.generate(target, prompt, budget + blockSize, Sampler.greedy(), -1).tokens();
                    int[] greedy = java.util.Arrays.copyOf(longer, budget);
                    int[] reference = new int[prompt.length + longer.length];
                    System.arraycopy(prompt, 0, reference, 0, prompt.length);
                    System.arraycopy(longer, 0, reference, prompt.length, longer.length);
                    Scripted script = new Scripted(blockSize, reference, 100L * blockSize + p, 50);
                    SpeculativeDecoder.Output out = new SpeculativeDecoder(target, script).generate(prompt, budget, -1);
                    assertArrayEquals(greedy, out.tokens(), "B=" + blockSize + " prompt " + p);
                    // The verifier must accept exactly what the script made correct, step by step.
                    assertArrayEquals(script.plannedAccepts, out.stats().acceptedHistogram(), "B=" + blockSize);
                    for (int n = 0; n < blockSize; n++) {
                        histogram[n] += out.stats().acceptedHistogram()[n];
                    }
                }
                for (int n = 0; n < blockSize; n++) {
                    assertTrue(histogram[n] > 0, "B=" + blockSize + ": accepted length " + n + " was exercised");
                }
            }
        }
    }
}
