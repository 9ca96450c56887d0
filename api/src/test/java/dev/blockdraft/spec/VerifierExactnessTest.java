package dev.blockdraft.spec;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.blockdraft.lm.ReferenceWarp;
import dev.blockdraft.lm.Sampling;
import dev.blockdraft.lm.TokenDistribution;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Exactness of drafting ({@link DraftTree#draft}) and verification ({@link Verifier}) over the
 * whole grid of settings, on a pure-Java toy language model fast enough for 2·10⁴ trials per
 * setting: the first three tokens of speculative sampling must fit their exact distribution under
 * plain sampling (chi-square goodness of fit, passing at p ≥ 0.001), and two wrong acceptance rules
 * must fail. {@link SpeculativeSamplingExactnessTest} runs the same check through the real decoder,
 * target and drafter for fewer settings.
 *
 * <p>The toy target's logits depend on the last two tokens and the position (hash-seeded Gaussians
 * over a prior shared with the toy drafter); the toy drafter predicts every slot of a block from the
 * context up to the anchor, in parallel, as a block drafter does.
 */
class VerifierExactnessTest {
    static final int VOCAB = 8;
    static final int TOKENS = 3;
    static final int TRIALS = 20_000;
    static final int SLOTS = 3; // B = 4
    static final int[] PROMPT = {3, 1, 4};

    static double[] targetLogits(List<Integer> context) {
        int n = context.size();
        long h = 31L * context.get(n - 1) + 977L * context.get(n - 2) + 7919L * n;
        SplittableRandom g = new SplittableRandom(h);
        double[] z = new double[VOCAB];
        for (int v = 0; v < VOCAB; v++) {
            z[v] = 2.0 * (VOCAB - 1 - v) / (VOCAB - 1) + 1.3 * g.nextGaussian();
        }
        return z;
    }

    /**
     * Slot d (1-based) after {@code context} (which ends with the anchor): slot 1 is the target's own
     * logits plus noise; later slots, which cannot see the tokens before them, only share its prior.
     */
    static double[] draftLogits(List<Integer> context, int d) {
        int n = context.size();
        SplittableRandom g = new SplittableRandom(131L * context.get(n - 1) + 17L * n + 1_000_003L * d);
        double[] z = d == 1 ? targetLogits(context) : new double[VOCAB]; // slot 1 sees what the target sees
        for (int v = 0; v < VOCAB; v++) {
            z[v] = d == 1 ? z[v] + 0.6 * g.nextGaussian() : 2.0 * (VOCAB - 1 - v) / (VOCAB - 1) + g.nextGaussian();
        }
        return z;
    }

    static SlotMarginals toyMarginals(List<Integer> context) {
        double[][] z = new double[SLOTS][];
        for (int d = 0; d < SLOTS; d++) {
            z[d] = draftLogits(context, d + 1);
        }
        return new SlotMarginals() {
            @Override
            public int slots() {
                return SLOTS;
            }

            @Override
            public int[] argmax() {
                int[] a = new int[SLOTS];
                for (int d = 0; d < SLOTS; d++) {
                    a[d] = ReferenceWarp.distribution(z[d], Sampling.GREEDY).mode();
                }
                return a;
            }

            @Override
            public TokenDistribution[] warped(Sampling s) {
                TokenDistribution[] q = new TokenDistribution[SLOTS];
                for (int d = 0; d < SLOTS; d++) {
                    q[d] = ReferenceWarp.distribution(z[d], s.isGreedy() ? s.withTemperature(1) : s);
                }
                return q;
            }

            @Override
            public Ranked ranked(int width) {
                int w = Math.min(width, VOCAB);
                int[][] t = new int[SLOTS][w];
                float[][] p = new float[SLOTS][w];
                for (int d = 0; d < SLOTS; d++) {
                    double[] q = ReferenceWarp.probabilities(z[d], Sampling.temperature(1));
                    Integer[] order = new Integer[VOCAB];
                    for (int i = 0; i < VOCAB; i++) {
                        order[i] = i;
                    }
                    java.util.Arrays.sort(order, (a, b) -> Double.compare(q[b], q[a]));
                    for (int r = 0; r < w; r++) {
                        t[d][r] = order[r];
                        p[d][r] = (float) q[order[r]];
                    }
                }
                return new Ranked(t, p);
            }
        };
    }

    /** The first TOKENS tokens of one speculative decode, and the accepted drafts (for τ). */
    static int[] decode(Decoding decoding, Verifier verifier, SplittableRandom rng, long[] acceptedAndSteps) {
        Sampling s = decoding.sampling();
        List<Integer> context = new ArrayList<>();
        for (int t : PROMPT) {
            context.add(t);
        }
        int anchor = ReferenceWarp.distribution(targetLogits(context), s).sample(rng);
        context.add(anchor);
        int start = PROMPT.length;
        while (context.size() - start < TOKENS) {
            List<Integer> before = List.copyOf(context);
            DraftTree tree = DraftTree.draft(decoding, anchor, toyMarginals(before), rng);
            Verifier.Verdict v = verifier.verify(tree, node -> {
                List<Integer> path = new ArrayList<>();
                for (int i = node; i > 0; i = tree.parent(i)) {
                    path.add(0, tree.token(i));
                }
                List<Integer> c = new ArrayList<>(before);
                c.addAll(path);
                return ReferenceWarp.distribution(targetLogits(c), s);
            }, rng);
            for (int node : v.path()) {
                context.add(tree.token(node));
            }
            context.add(v.bonus());
            anchor = v.bonus();
            acceptedAndSteps[0] += v.accepted();
            acceptedAndSteps[1]++;
        }
        return context.subList(start, start + TOKENS).stream().mapToInt(Integer::intValue).toArray();
    }

    /** P of every 3-token continuation under plain sampling, index c₁·V² + c₂·V + c₃. */
    static double[] exact(Sampling s) {
        double[] p = new double[VOCAB * VOCAB * VOCAB];
        List<Integer> c = new ArrayList<>();
        for (int t : PROMPT) {
            c.add(t);
        }
        double[] p1 = ReferenceWarp.probabilities(targetLogits(c), s);
        for (int a = 0; a < VOCAB; a++) {
            c.add(a);
            double[] p2 = ReferenceWarp.probabilities(targetLogits(c), s);
            for (int b = 0; b < VOCAB; b++) {
                c.add(b);
                double[] p3 = ReferenceWarp.probabilities(targetLogits(c), s);
                for (int d = 0; d < VOCAB; d++) {
                    p[(a * VOCAB + b) * VOCAB + d] = p1[a] * p2[b] * p3[d];
                }
                c.remove(c.size() - 1);
            }
            c.remove(c.size() - 1);
        }
        return p;
    }

    record Fit(ChiSquare test, double acceptedPerStep, long impossible) {}

    static Fit fit(Decoding decoding, AcceptanceRule rule) {
        double[] p = exact(decoding.sampling());
        long[] observed = new long[p.length];
        long[] acc = new long[2];
        SplittableRandom seeds = new SplittableRandom(decoding.seed());
        Verifier verifier = new Verifier(rule);
        long impossible = 0;
        for (int t = 0; t < TRIALS; t++) {
            int[] c = decode(decoding, verifier, new SplittableRandom(seeds.nextLong()), acc);
            int index = (c[0] * VOCAB + c[1]) * VOCAB + c[2];
            observed[index]++;
            impossible += p[index] == 0 ? 1 : 0;
        }
        return new Fit(ChiSquare.goodnessOfFit(observed, p), (double) acc[0] / acc[1], impossible);
    }

    static Stream<Arguments> grid() {
        List<Arguments> out = new ArrayList<>();
        for (double t : new double[] {0.7, 1.0, 1.5}) {
            Decoding base = Decoding.of(Sampling.temperature(t)).withSeed(99);
            out.add(Arguments.of(base));
            out.add(Arguments.of(base.withSampledDrafts(true)));
            out.add(Arguments.of(base.withDrafts(4)));
            out.add(Arguments.of(base.withDrafts(4).withSampledDrafts(true)));
            out.add(Arguments.of(base.withTreeNodes(10)));
        }
        Decoding nucleus = Decoding.of(Sampling.temperature(1.0).withTopP(0.8)).withSeed(7);
        out.add(Arguments.of(nucleus));
        out.add(Arguments.of(nucleus.withDrafts(3).withSampledDrafts(true)));
        out.add(Arguments.of(nucleus.withTreeNodes(8)));
        Decoding topK = Decoding.of(Sampling.temperature(1.2).withTopK(3)).withSeed(8);
        out.add(Arguments.of(topK.withSampledDrafts(true)));
        out.add(Arguments.of(topK.withDrafts(3)));
        return out.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("grid")
    void speculativeSamplingIsExact(Decoding decoding) {
        Fit fit = fit(decoding, AcceptanceRule.EXACT);
        assertTrue(fit.acceptedPerStep > 0.3, decoding + ": drafts must often be accepted; per step " + fit.acceptedPerStep);
        assertTrue(fit.impossible == 0, decoding + ": " + fit.impossible + " continuations plain sampling cannot produce");
        assertTrue(fit.test.pValue() >= ExactnessCheck.ALPHA, decoding + ": " + fit.test);
    }

    @Test
    void wrongAcceptanceRulesFailTheSameTest() {
        Decoding base = Decoding.of(Sampling.temperature(1.0)).withSeed(99);
        for (AcceptanceRule wrong : List.of(SpeculativeSamplingExactnessTest.ACCEPT_IF_POSSIBLE,
                SpeculativeSamplingExactnessTest.RESAMPLE_FROM_P)) {
            for (Decoding d : List.of(base, base.withSampledDrafts(true), base.withDrafts(4), base.withTreeNodes(10))) {
                Fit fit = fit(d, wrong);
                assertTrue(fit.test.pValue() < ExactnessCheck.ALPHA, d + " with a wrong rule must be caught: " + fit.test);
            }
        }
    }
}
