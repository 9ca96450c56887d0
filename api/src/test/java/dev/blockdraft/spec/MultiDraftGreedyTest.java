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
import dev.blockdraft.nn.Backend;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Greedy exactness of K candidate blocks and draft trees at every accepted length: a scripted
 * proposer knows the target's greedy continuation and gives slot logits whose best token is the
 * truth with one slot corrupted (or none); at a corrupted slot the truth is, at random, the
 * second-best token (a tree or another candidate can then get past it) or absent. Every output must
 * equal plain greedy decoding, every accepted length 0..B−1 must occur, and a tree must accept more
 * than the single block on the same script.
 */
@org.junit.jupiter.api.extension.ExtendWith(dev.blockdraft.eval.OneTorchThread.class)
class MultiDraftGreedyTest {
    static final int VOCAB = 50;

    /** Scripted slot logits after each anchor; {@link #propose} is their argmax (the single block). */
    static final class ScriptedMarginals implements BlockProposer {
        final int blockSize;
        final int[] reference;
        final long seed;

        ScriptedMarginals(int blockSize, int[] reference, long seed) {
            this.blockSize = blockSize;
            this.reference = reference;
            this.seed = seed;
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
                int verified;

                @Override
                public void accept(NDArray features) {
                    verified += Math.toIntExact(features.getShape().get(1));
                }

                /** Slot logits for the block after position {@code verified}: deterministic per position. */
                float[] logits() {
                    Random rng = new Random(seed * 1_000_003L + verified);
                    int wrong = rng.nextInt(blockSize); // blockSize − 1: all correct
                    boolean truthSecond = rng.nextBoolean();
                    float[] z = new float[(blockSize - 1) * VOCAB];
                    for (int k = 0; k < blockSize - 1; k++) {
                        int pos = verified + 1 + k;
                        int truth = pos < reference.length ? reference[pos] : 0;
                        int best = k == wrong ? (truth + 1 + rng.nextInt(VOCAB - 1)) % VOCAB : truth;
                        int second = k == wrong && truthSecond ? truth : (best + 7) % VOCAB == truth ? (best + 8) % VOCAB
                                : (best + 7) % VOCAB;
                        for (int v = 0; v < VOCAB; v++) {
                            z[k * VOCAB + v] = rng.nextFloat(); // noise below the two scripted tokens
                        }
                        z[k * VOCAB + best] = 6;
                        z[k * VOCAB + second] = 5;
                    }
                    return z;
                }

                @Override
                public int[] propose(int anchor, NDManager stepScope) {
                    assertEquals(reference[verified], anchor, "the anchor is the target's own token at position " + verified);
                    float[] z = logits();
                    int[] block = new int[blockSize - 1];
                    for (int k = 0; k < block.length; k++) {
                        for (int v = 1; v < VOCAB; v++) {
                            block[k] = z[k * VOCAB + v] > z[k * VOCAB + block[k]] ? v : block[k];
                        }
                    }
                    return block;
                }

                @Override
                public NDArray slotLogits(int anchor, NDManager stepScope) {
                    assertEquals(reference[verified], anchor, "the anchor is the target's own token at position " + verified);
                    return stepScope.create(logits()).reshape(blockSize - 1, VOCAB);
                }

                @Override
                public void close() {}
            };
        }
    }

    /** With eager ops, and with the fused backend (each decode and verification step one call). */
    @ParameterizedTest
    @ValueSource(strings = {"eager", "fused"})
    void everyDraftingModeIsTokenIdenticalToGreedyAtEveryAcceptedLength(String backend) {
        LlamaConfig config = LlamaConfig.llama(VOCAB, 32, 48, 2, 4, 2, 256);
        Random prompts = new Random(12);
        Decoding[] modes = {Decoding.greedy(), Decoding.greedy().withDrafts(3), Decoding.greedy().withDrafts(4)
                .withSampledDrafts(true), Decoding.greedy().withTreeNodes(12)};
        try (LlamaModel initial = LlamaModel.initialize(config, Device.cpu(), 4)) {
            LlamaModel target = initial.withBackend(backend.equals("fused") ? Backend.fused(Device.cpu()) : Backend.eager(Device.cpu()));
            for (var e : target.parameters().asMap().entrySet()) {
                if (!e.getKey().endsWith("norm.weight")) {
                    e.getValue().muli(12); // peaked attention: a misplaced context changes the output
                }
            }
            for (int blockSize : new int[] {3, 6}) {
                long[][] histogram = new long[modes.length][blockSize];
                long[] stepsPerMode = new long[modes.length];
                for (int p = 0; p < 4; p++) {
                    int[] prompt = new int[3 + prompts.nextInt(10)];
                    for (int i = 0; i < prompt.length; i++) {
                        prompt[i] = prompts.nextInt(VOCAB);
                    }
                    int budget = 50;
                    int[] longer = Generator.generate(target, prompt, budget + blockSize, Sampler.greedy(), -1).tokens();
                    int[] greedy = Arrays.copyOf(longer, budget);
                    int[] reference = new int[prompt.length + longer.length];
                    System.arraycopy(prompt, 0, reference, 0, prompt.length);
                    System.arraycopy(longer, 0, reference, prompt.length, longer.length);
                    for (int m = 0; m < modes.length; m++) {
                        SpeculativeDecoder decoder = new SpeculativeDecoder(target,
                                new ScriptedMarginals(blockSize, reference, 10L * blockSize + p)).with(modes[m].withSeed(p));
                        SpeculativeDecoder.Output out = decoder.generate(prompt, budget, -1);
                        assertArrayEquals(greedy, out.tokens(), modes[m] + " B=" + blockSize + " prompt " + p);
                        for (int n = 0; n < blockSize; n++) {
                            histogram[m][n] += out.stats().acceptedHistogram()[n];
                        }
                        stepsPerMode[m] += out.stats().steps();
                        assertEquals(out.stats().steps(), out.steps().size());
                    }
                }
                for (int m = 0; m < modes.length; m++) {
                    for (int n = 0; n < blockSize; n++) {
                        assertTrue(histogram[m][n] > 0, modes[m] + " B=" + blockSize + ": accepted length " + n + " was exercised "
                                + Arrays.toString(histogram[m]));
                    }
                }
                // the same script in fewer steps: the tree and the candidates get past corrupted slots
                assertTrue(stepsPerMode[3] < stepsPerMode[0], "tree steps " + stepsPerMode[3] + " vs block " + stepsPerMode[0]);
                assertTrue(stepsPerMode[1] <= stepsPerMode[0], "3 drafts steps " + stepsPerMode[1] + " vs " + stepsPerMode[0]);
            }
        }
    }
}
