package dev.blockdraft.train;

import java.nio.IntBuffer;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * How degenerate a target's regenerated answers are: the share of response tokens that close an
 * n-gram already seen earlier in the same answer (repetition loops, which a drafter predicts easily
 * and which therefore inflate held-out τ), and the share of answers that ran to the token cap
 * instead of stopping. Recorded in the regenerated data's provenance so that held-out τ from two
 * runs can be compared knowing what the answers were like.
 */
public record AnswerStats(long answers, long responseTokens, long repeatedTokens, long cappedAnswers) {
    /** Length of the repeated runs counted: long enough that prose and code rarely repeat one by chance. */
    public static final int NGRAM = 8;

    public static AnswerStats of(List<RegeneratedData.Sequence> sequences, int maxNewTokens) {
        long tokens = 0;
        long repeated = 0;
        long capped = 0;
        for (RegeneratedData.Sequence s : sequences) {
            tokens += s.responseLength();
            repeated += repeatedTokens(s.ids(), s.responseStart(), NGRAM);
            if (s.responseLength() >= maxNewTokens) {
                capped++;
            }
        }
        return new AnswerStats(sequences.size(), tokens, repeated, capped);
    }

    /**
     * Tokens of {@code ids[from..]} that end an {@code n}-gram (of the response) seen earlier in the
     * response; the first occurrence of a repeated run is not counted, its repeats are.
     */
    static long repeatedTokens(int[] ids, int from, int n) {
        long repeated = 0;
        for (boolean r : repeatedMask(ids, from, n)) {
            repeated += r ? 1 : 0;
        }
        return repeated;
    }

    /**
     * Per position of {@code ids}: whether it lies in {@code ids[from..]} and ends an {@code n}-gram of
     * that span seen earlier in it (the tokens {@link #repeatedTokens} counts).
     */
    static boolean[] repeatedMask(int[] ids, int from, int n) {
        Set<IntBuffer> seen = new HashSet<>(); // a buffer's equals and hashCode are its remaining ints: exact, no copy
        boolean[] repeated = new boolean[ids.length];
        for (int end = from + n; end <= ids.length; end++) {
            repeated[end - 1] = !seen.add(IntBuffer.wrap(ids, end - n, n));
        }
        return repeated;
    }

    public double repeatedShare() {
        return responseTokens == 0 ? 0 : (double) repeatedTokens / responseTokens;
    }

    public double cappedShare() {
        return answers == 0 ? 0 : (double) cappedAnswers / answers;
    }

    /** E.g. "12.5% of tokens in repeated 8-grams, 30.0% of answers at the cap". */
    public String describe() {
        return String.format(Locale.ROOT, "%.1f%% of tokens in repeated %d-grams, %.1f%% of answers at the cap",
                100 * repeatedShare(), NGRAM, 100 * cappedShare());
    }
}
