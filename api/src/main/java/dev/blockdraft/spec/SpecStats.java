package dev.blockdraft.spec;

/**
 * Acceptance statistics of speculative decoding.
 *
 * @param blockSize B of the drafter (B−1 drafted slots per step)
 * @param steps verification steps (target forward passes after the prefill)
 * @param emitted tokens emitted by those steps (accepted drafts plus one bonus each)
 * @param acceptedHistogram index n: steps that accepted exactly n drafted tokens (0..B−1)
 * @param slotReached index k−1: steps in which slot k was verified with slots 1..k−1 accepted
 * @param slotAccepted index k−1: of those, steps in which slot k was accepted too
 * @param seconds wall-clock time of decoding, prefill included
 */
public record SpecStats(int blockSize, long steps, long emitted, long[] acceptedHistogram, long[] slotReached,
        long[] slotAccepted, double seconds) {

    public static SpecStats empty(int blockSize) {
        return new SpecStats(blockSize, 0, 0, new long[blockSize], new long[blockSize - 1], new long[blockSize - 1], 0);
    }

    /** τ: tokens emitted per verification step, the bonus token included (plain decoding: 1). */
    public double tau() {
        return steps == 0 ? Double.NaN : (double) emitted / steps;
    }

    /** Conditional acceptance rate of slot k (1-based): P(accept k | accepted 1..k−1). */
    public double slotAcceptance(int k) {
        long reached = slotReached[k - 1];
        return reached == 0 ? Double.NaN : (double) slotAccepted[k - 1] / reached;
    }

    public double tokensPerSecond() {
        return emitted / Math.max(seconds, 1e-9);
    }

    /** Sums two runs' statistics (same block size). */
    public SpecStats plus(SpecStats o) {
        if (o.blockSize != blockSize) {
            throw new IllegalArgumentException("block sizes differ: " + blockSize + " vs " + o.blockSize);
        }
        long[] h = acceptedHistogram.clone();
        long[] r = slotReached.clone();
        long[] a = slotAccepted.clone();
        for (int i = 0; i < h.length; i++) {
            h[i] += o.acceptedHistogram[i];
        }
        for (int i = 0; i < r.length; i++) {
            r[i] += o.slotReached[i];
            a[i] += o.slotAccepted[i];
        }
        return new SpecStats(blockSize, steps + o.steps, emitted + o.emitted, h, r, a, seconds + o.seconds);
    }

    @Override
    public String toString() {
        return String.format("SpecStats(τ %.3f over %d steps, %d tokens, %.1f tok/s)", tau(), steps, emitted, tokensPerSecond());
    }
}
