package dev.blockdraft.train;

import java.util.List;
import java.util.SplittableRandom;

/**
 * Tokenised documents concatenated into one stream, from which fixed-length training windows
 * are cut. Window positions depend only on (seed, step, micro-batch), so a resumed run sees
 * exactly the batches it would have seen.
 */
public final class TokenStream {
    private final int[] tokens;

    public TokenStream(int[] tokens) {
        this.tokens = tokens;
    }

    public static TokenStream concat(List<int[]> documents) {
        long total = 0;
        for (int[] d : documents) {
            total += d.length;
        }
        int[] all = new int[Math.toIntExact(total)];
        int pos = 0;
        for (int[] d : documents) {
            System.arraycopy(d, 0, all, pos, d.length);
            pos += d.length;
        }
        return new TokenStream(all);
    }

    public int length() {
        return tokens.length;
    }

    public int[] tokens() {
        return tokens;
    }

    /** B random windows of T+1 tokens (inputs and shifted labels), row-major (B·(T+1)). */
    public long[] randomWindows(int batch, int seqLen, long seed, int step, int micro) {
        int span = seqLen + 1;
        if (tokens.length <= span) {
            throw new IllegalArgumentException("token stream of " + tokens.length + " tokens is shorter than a window of "
                    + span + "; use more data or a shorter --seq-len");
        }
        SplittableRandom rng = new SplittableRandom(seed ^ (0x9E3779B97F4A7C15L * (step * 64L + micro + 1)));
        long[] out = new long[batch * span];
        for (int b = 0; b < batch; b++) {
            int start = rng.nextInt(tokens.length - span);
            for (int i = 0; i < span; i++) {
                out[b * span + i] = tokens[start + i];
            }
        }
        return out;
    }

    /** Consecutive non-overlapping windows for evaluation: deterministic, at most {@code maxWindows}. */
    public long[] evalWindows(int batch, int seqLen, int index) {
        int span = seqLen + 1;
        long[] out = new long[batch * span];
        int windows = Math.max(1, (tokens.length - 1) / span);
        for (int b = 0; b < batch; b++) {
            int w = (index * batch + b) % windows;
            for (int i = 0; i < span; i++) {
                out[b * span + i] = tokens[(w * span + i) % tokens.length];
            }
        }
        return out;
    }

    /** Empirical unigram entropy in nats: the loss of a model that ignores context. */
    public double unigramEntropy(int vocabSize) {
        long[] counts = new long[vocabSize];
        for (int t : tokens) {
            counts[t]++;
        }
        double h = 0;
        for (long c : counts) {
            if (c > 0) {
                double p = (double) c / tokens.length;
                h -= p * Math.log(p);
            }
        }
        return h;
    }
}
