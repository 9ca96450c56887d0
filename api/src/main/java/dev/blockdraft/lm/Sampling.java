package dev.blockdraft.lm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.util.SplittableRandom;

/**
 * How the next token is chosen from logits: greedy at temperature 0, otherwise a draw from
 * <pre>
 *   p = softmax(z / T) restricted to the top-k tokens, then to the nucleus (top-p), renormalised
 * </pre>
 * The nucleus keeps, in descending order, every token whose preceding mass is below p (the top
 * token always), computed over the top-k tokens' renormalised softmax, as Hugging Face orders its
 * warpers (temperature, top-k, top-p). Plain sampling ({@link #sampler}) and speculative sampling
 * both call {@link #distributions}, so the two draw from the same p by construction.
 *
 * @param temperature T ≥ 0; 0 is greedy (top-k and top-p are then irrelevant)
 * @param topP nucleus mass within (0, 1]; 1 keeps every token
 * @param topK tokens kept, ≥ 0; 0 keeps every token
 */
public record Sampling(double temperature, double topP, int topK) {

    public static final Sampling GREEDY = new Sampling(0, 1, 0);

    public Sampling {
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("--temperature=" + temperature + " must be a finite number >= 0 (0 is greedy)");
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("--top-p=" + topP + " must be within (0, 1]");
        }
        if (topK < 0) {
            throw new IllegalArgumentException("--top-k=" + topK + " must be >= 0 (0 keeps every token)");
        }
    }

    public static Sampling greedy() {
        return GREEDY;
    }

    public static Sampling temperature(double t) {
        return new Sampling(t, 1, 0);
    }

    public Sampling withTopP(double p) {
        return new Sampling(temperature, p, topK);
    }

    public Sampling withTopK(int k) {
        return new Sampling(temperature, topP, k);
    }

    public Sampling withTemperature(double t) {
        return new Sampling(t, topP, topK);
    }

    public boolean isGreedy() {
        return temperature == 0;
    }

    /**
     * The warped probabilities of logits (N, V), on their device, fp32; rows outside the kept set are
     * exactly 0. Greedy rows are one-hot at the argmax.
     */
    public NDArray probabilities(NDArray logits) {
        NDManager m = logits.getManager();
        NDArray z = logits.toType(DataType.FLOAT32, false); // (N, V)
        long v = z.getShape().get(1);
        if (isGreedy()) {
            return z.argMax(1).oneHot((int) v).toType(DataType.FLOAT32, false); // (N, V)
        }
        NDArray scaled = z.div(temperature); // (N, V)
        if ((topK > 0 && topK < v) || topP < 1) {
            NDArray sorted = scaled.neg().sort(1).neg(); // (N, V) descending
            NDArray rank = m.arange(0, (int) v).toType(DataType.FLOAT32, false).reshape(1, v);
            NDArray keep = (topK > 0 ? rank.lt(topK) : rank.gte(0)).broadcast(sorted.getShape()); // (N, V) in sorted order
            if (topP < 1) {
                NDArray masked = NDArrays.where(keep, sorted, m.full(sorted.getShape(), Float.NEGATIVE_INFINITY));
                NDArray p = masked.softmax(1);
                NDArray before = p.cumSum(1).sub(p); // mass strictly before each token
                keep = keep.logicalAnd(before.lt(topP));
            }
            // the kept tokens are a prefix of the sorted row: keep every logit at least the last kept one
            NDArray count = keep.toType(DataType.INT64, false).sum(new int[] {1}, true); // (N, 1)
            NDArray threshold = sorted.gather(count.sub(1), 1); // (N, 1)
            scaled = NDArrays.where(scaled.gte(threshold), scaled, m.full(scaled.getShape(), Float.NEGATIVE_INFINITY));
        }
        return scaled.softmax(1);
    }

    /** {@link #probabilities} of logits (N, V) as host distributions, one per row. */
    public TokenDistribution[] distributions(NDArray logits) {
        long n = logits.getShape().get(0);
        TokenDistribution[] out = new TokenDistribution[(int) n];
        if (isGreedy()) {
            long[] best = logits.argMax(1).toLongArray();
            for (int i = 0; i < n; i++) {
                out[i] = TokenDistribution.oneHot((int) best[i]);
            }
            return out;
        }
        float[] p = probabilities(logits).toFloatArray();
        int v = (int) (p.length / n);
        for (int i = 0; i < n; i++) {
            out[i] = TokenDistribution.of(java.util.Arrays.copyOfRange(p, i * v, (i + 1) * v));
        }
        return out;
    }

    /** Plain sampling with its own random stream: each call draws one token from {@link #distributions}. */
    public Sampler sampler(SplittableRandom rng) {
        if (isGreedy()) {
            return Sampler.GREEDY;
        }
        return logits -> distributions(logits.reshape(1, -1))[0].sample(rng);
    }

    @Override
    public String toString() {
        if (isGreedy()) {
            return "greedy";
        }
        return "T=" + temperature + (topP < 1 ? " top-p=" + topP : "") + (topK > 0 ? " top-k=" + topK : "");
    }
}
