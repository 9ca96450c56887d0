package dev.blockdraft.spec;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.blockdraft.lm.KvCache;
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
     * The outcome. With a large vocabulary most continuations are seen once and the joint test has
     * little power, so each position's token is also tested on its own; the verdict combines the
     * {@code tokens + 1} tests by Bonferroni: p = min(1, (tokens + 1) · the smallest p-value).
     *
     * @param categories distinct continuations seen (either way)
     * @param tvDistance ½ Σ |plain − speculative| over the empirical frequencies of whole continuations
     *     (with many categories mostly sampling noise: compare it with {@code positionTv})
     * @param joint chi-square test of homogeneity over whole continuations
     * @param positions the same test for the token at each position alone
     * @param positionTv the TV distance of each position's token alone
     * @param pValue the combined p-value the verdict uses
     * @param tau tokens per verification step of the speculative trials
     */
    public record Result(Decoding decoding, int trials, int tokens, int categories, double tvDistance, ChiSquare joint,
            List<ChiSquare> positions, double[] positionTv, double pValue, double tau, double plainSeconds,
            double speculativeSeconds) {
        public boolean rejected() {
            return pValue < ALPHA;
        }

        @Override
        public String toString() {
            StringBuilder perPosition = new StringBuilder();
            for (int i = 0; i < positions.size(); i++) {
                perPosition.append(String.format("  token %d alone          TV %.4f, %s%n", i + 1, positionTv[i], positions.get(i)));
            }
            return String.format("""
                    exactness check: %s, %d trials of %d tokens each way
                      distinct continuations  %d
                      TV distance             %.4f
                      chi-square              %s
                    %s  p-value (combined)      %.4g  (equality rejected below %s)
                      tau (speculative)       %.3f
                      time                    plain %.1f s, speculative %.1f s
                    %s""", decoding, trials, tokens, categories, tvDistance, joint, perPosition, pValue, ALPHA, tau,
                    plainSeconds, speculativeSeconds,
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
        double[] tv = new double[1];
        ChiSquare joint = compare(plain, spec, k -> k, tv);
        List<ChiSquare> positions = new ArrayList<>();
        double[] positionTv = new double[tokens];
        double smallest = joint.pValue();
        for (int i = 0; i < tokens; i++) {
            int at = i;
            double[] d = new double[1];
            positions.add(compare(plain, spec, k -> List.of(k.get(at)), d));
            positionTv[i] = d[0];
            smallest = Math.min(smallest, positions.get(i).pValue());
        }
        return new Result(decoder.decoding(), trials, tokens, plain.size() + (int) spec.keySet().stream()
                .filter(k -> !plain.containsKey(k)).count(), tv[0], joint, List.copyOf(positions), positionTv,
                Math.min(1, (tokens + 1) * smallest), tau[0], (t1 - t0) / 1e9, (t2 - t1) / 1e9);
    }

    /** Chi-square homogeneity of the two samples' counts grouped by {@code group}; {@code tv[0]} gets their TV distance. */
    private ChiSquare compare(Map<List<Integer>, Long> plain, Map<List<Integer>, Long> spec,
            java.util.function.UnaryOperator<List<Integer>> group, double[] tv) {
        Map<List<Integer>, long[]> cells = new LinkedHashMap<>();
        plain.forEach((k, n) -> cells.computeIfAbsent(group.apply(k), x -> new long[2])[0] += n);
        spec.forEach((k, n) -> cells.computeIfAbsent(group.apply(k), x -> new long[2])[1] += n);
        long[] a = new long[cells.size()];
        long[] b = new long[cells.size()];
        int i = 0;
        double distance = 0;
        for (long[] c : cells.values()) {
            a[i] = c[0];
            b[i] = c[1];
            distance += Math.abs(c[0] - c[1]) / (2.0 * trials);
            i++;
        }
        tv[0] = distance;
        return ChiSquare.homogeneity(a, b);
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

    /** Counts of plain continuations: the prompt prefilled once, then batches of rows decoding over copies of its cache. */
    public Map<List<Integer>, Long> plain(LlamaModel target, int[] prompt, Decoding decoding) {
        if (prompt.length + tokens > target.config().maxPositionEmbeddings()) {
            throw new IllegalArgumentException("the prompt of " + prompt.length + " tokens leaves no room for " + tokens
                    + " new tokens in the target's context of " + target.config().maxPositionEmbeddings());
        }
        SplittableRandom streams = new SplittableRandom(decoding.seed() ^ 0x2545F4914F6CDD1DL);
        Map<List<Integer>, Long> counts = new LinkedHashMap<>();
        try (NDManager scope = target.manager().newSubManager();
                KvCache promptCache = KvCache.forModel(target, scope, 1, prompt.length)) {
            NDArray ids0 = scope.create(Arrays.stream(prompt).asLongStream().toArray()).reshape(1, prompt.length);
            TokenDistribution first = decoding.sampling().distributions(
                    target.forward(ids0, promptCache, new int[0], LlamaModel.Logits.LAST).logits().reshape(1, -1))[0];
            for (int start = 0; start < trials; start += PLAIN_BATCH) {
                int rows = Math.min(PLAIN_BATCH, trials - start);
                SplittableRandom[] rng = new SplittableRandom[rows];
                int[][] drawn = new int[rows][tokens];
                for (int r = 0; r < rows; r++) {
                    rng[r] = new SplittableRandom(streams.nextLong());
                    drawn[r][0] = first.sample(rng[r]);
                }
                try (NDManager batch = scope.newSubManager();
                        KvCache cache = promptCache.repeated(batch, rows, prompt.length + tokens)) {
                    for (int t = 1; t < tokens; t++) {
                        try (NDManager step = batch.newSubManager()) {
                            long[] last = new long[rows];
                            for (int r = 0; r < rows; r++) {
                                last[r] = drawn[r][t - 1];
                            }
                            NDArray logits = target.forward(step.create(last).reshape(rows, 1), cache, new int[0],
                                    LlamaModel.Logits.LAST).logits().reshape(rows, -1); // (R, V)
                            TokenDistribution[] p = decoding.sampling().distributions(logits);
                            for (int r = 0; r < rows; r++) {
                                drawn[r][t] = p[r].sample(rng[r]);
                            }
                        }
                    }
                }
                for (int r = 0; r < rows; r++) {
                    counts.merge(key(drawn[r]), 1L, Long::sum);
                }
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
