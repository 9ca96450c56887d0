package dev.blockdraft.spec;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.blockdraft.lm.LlamaModel;
import dev.blockdraft.lm.TokenDistribution;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The user-facing exactness check: draws {@code trials} continuations of {@code tokens} tokens of
 * one prompt with plain sampling and as many with speculative sampling (same {@link
 * dev.blockdraft.lm.Sampling}), and compares the two empirical distributions over continuations:
 * total-variation distance and a chi-square test of homogeneity ({@link ChiSquare}). Equality is
 * rejected when p &lt; {@link #ALPHA}.
 *
 * <p>Each trial has its own random stream (split from {@code decoding.seed()}), so a check
 * replays. The prompt is prefilled once; every speculative trial rewinds the caches to it.
 *
 * @param trials continuations drawn each way (≥ 100)
 * @param tokens length of a continuation (≥ 1; 2–4 keeps the categories few enough for the test)
 */
public record ExactnessCheck(int trials, int tokens) {

    /** The rejection threshold: p-values below it fail the check. */
    public static final double ALPHA = 0.001;

    private static final int PLAIN_BATCH = 512;

    public ExactnessCheck {
        if (trials < 100) {
            throw new IllegalArgumentException("--trials=" + trials + " must be >= 100 for a meaningful test");
        }
        if (tokens < 1) {
            throw new IllegalArgumentException("--tokens=" + tokens + " must be >= 1");
        }
    }

    /**
     * The outcome.
     *
     * @param categories distinct continuations seen (either way)
     * @param tvDistance ½ Σ |plain − speculative| over the empirical frequencies
     * @param test chi-square test of homogeneity of the two samples
     * @param tau tokens per verification step of the speculative trials
     */
    public record Result(Decoding decoding, int trials, int tokens, int categories, double tvDistance, ChiSquare test,
            double tau, double plainSeconds, double speculativeSeconds) {
        public boolean rejected() {
            return test.pValue() < ALPHA;
        }

        @Override
        public String toString() {
            return String.format("""
                    exactness check: %s, %d trials of %d tokens each way
                      distinct continuations  %d
                      TV distance             %.4f
                      chi-square              %.2f (df %d)
                      p-value                 %.4g  (equality rejected below %s)
                      tau (speculative)       %.3f
                      time                    plain %.1f s, speculative %.1f s
                    %s""", decoding, trials, tokens, categories, tvDistance, test.statistic(), test.degreesOfFreedom(),
                    test.pValue(), ALPHA, tau, plainSeconds, speculativeSeconds,
                    rejected() ? "FAILED: speculative sampling's distribution differs from plain sampling's"
                            : "passed: no difference found");
        }
    }

    /** Runs both samplers and compares them. */
    public Result run(SpeculativeDecoder decoder, int[] prompt) {
        long t0 = System.nanoTime();
        Map<List<Integer>, Long> plain = plain(decoder.target(), prompt, decoder.decoding());
        long t1 = System.nanoTime();
        double[] tau = new double[1];
        Map<List<Integer>, Long> spec = speculative(decoder, prompt, tau);
        long t2 = System.nanoTime();
        List<List<Integer>> keys = new ArrayList<>(plain.keySet());
        spec.keySet().stream().filter(k -> !plain.containsKey(k)).forEach(keys::add);
        long[] a = new long[keys.size()];
        long[] b = new long[keys.size()];
        double tv = 0;
        for (int i = 0; i < keys.size(); i++) {
            a[i] = plain.getOrDefault(keys.get(i), 0L);
            b[i] = spec.getOrDefault(keys.get(i), 0L);
            tv += Math.abs(a[i] - b[i]) / (2.0 * trials);
        }
        return new Result(decoder.decoding(), trials, tokens, keys.size(), tv, ChiSquare.homogeneity(a, b), tau[0],
                (t1 - t0) / 1e9, (t2 - t1) / 1e9);
    }

    /** Counts of speculative continuations; {@code tau[0]} receives the trials' τ. */
    public Map<List<Integer>, Long> speculative(SpeculativeDecoder decoder, int[] prompt, double[] tau) {
        SplittableRandom streams = new SplittableRandom(decoder.decoding().seed() ^ 0x5DEECE66DL);
        Map<List<Integer>, Long> counts = new LinkedHashMap<>();
        long steps = 0, emitted = 0;
        try (SpeculativeDecoder.Sequence sequence = decoder.open(prompt, tokens)) {
            for (int t = 0; t < trials; t++) {
                SpeculativeDecoder.Output out = sequence.decode(streams.nextLong(), -1);
                if (out.tokens().length < tokens) {
                    throw new IllegalArgumentException("the prompt of " + prompt.length + " tokens leaves no room for "
                            + tokens + " new tokens in the target's context");
                }
                counts.merge(key(out.tokens()), 1L, Long::sum);
                steps += out.stats().steps();
                emitted += out.stats().emitted();
            }
        }
        if (tau != null && tau.length > 0) {
            tau[0] = steps == 0 ? Double.NaN : (double) emitted / steps;
        }
        return counts;
    }

    /** Counts of plain continuations, sampled in batches of full forward passes (no cache needed for a few tokens). */
    public Map<List<Integer>, Long> plain(LlamaModel target, int[] prompt, Decoding decoding) {
        if (prompt.length + tokens > target.config().maxPositionEmbeddings()) {
            throw new IllegalArgumentException("the prompt of " + prompt.length + " tokens leaves no room for " + tokens
                    + " new tokens in the target's context of " + target.config().maxPositionEmbeddings());
        }
        SplittableRandom streams = new SplittableRandom(decoding.seed() ^ 0x2545F4914F6CDD1DL);
        Map<List<Integer>, Long> counts = new LinkedHashMap<>();
        for (int start = 0; start < trials; start += PLAIN_BATCH) {
            int rows = Math.min(PLAIN_BATCH, trials - start);
            SplittableRandom[] rng = new SplittableRandom[rows];
            int[][] seqs = new int[rows][];
            for (int r = 0; r < rows; r++) {
                rng[r] = new SplittableRandom(streams.nextLong());
                seqs[r] = prompt;
            }
            for (int t = 0; t < tokens; t++) {
                try (NDManager scope = target.manager().newSubManager()) {
                    int len = prompt.length + t;
                    long[] ids = new long[rows * len];
                    for (int r = 0; r < rows; r++) {
                        for (int i = 0; i < len; i++) {
                            ids[r * len + i] = seqs[r][i];
                        }
                    }
                    NDArray logits = target.forward(scope.create(ids).reshape(rows, len), new int[0],
                            LlamaModel.Logits.LAST).logits().reshape(rows, -1); // (R, V)
                    TokenDistribution[] p = decoding.sampling().distributions(logits);
                    for (int r = 0; r < rows; r++) {
                        int[] next = Arrays.copyOf(seqs[r], len + 1);
                        next[len] = p[r].sample(rng[r]);
                        seqs[r] = next;
                    }
                }
            }
            for (int r = 0; r < rows; r++) {
                counts.merge(key(Arrays.copyOfRange(seqs[r], prompt.length, prompt.length + tokens)), 1L, Long::sum);
            }
        }
        return counts;
    }

    private List<Integer> key(int[] out) {
        List<Integer> k = new ArrayList<>(tokens);
        for (int i = 0; i < tokens; i++) {
            k.add(out[i]);
        }
        return List.copyOf(k);
    }
}
