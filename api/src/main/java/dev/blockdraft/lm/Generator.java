package dev.blockdraft.lm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.Arrays;

/** Plain autoregressive decoding with a KV cache: the baseline speculative decoding must equal. */
public final class Generator {
    private Generator() {}

    /** The result of one generation, with its timing. */
    public record Generation(int[] prompt, int[] tokens, double seconds) {
        public double tokensPerSecond() {
            return tokens.length / Math.max(seconds, 1e-9);
        }
    }

    /**
     * Generates up to {@code maxNewTokens} after {@code prompt}, stopping after {@code stopId}
     * (included) when it is ≥ 0.
     */
    public static Generation generate(LlamaModel model, int[] prompt, int maxNewTokens, Sampler sampler, int stopId) {
        int context = model.config().maxPositionEmbeddings();
        if (prompt.length == 0) {
            throw new IllegalArgumentException("empty prompt");
        }
        if (prompt.length >= context) {
            throw new IllegalArgumentException("prompt of " + prompt.length + " tokens does not fit the model's context of "
                    + context + " tokens");
        }
        int budget = Math.min(maxNewTokens, context - prompt.length);
        int[] out = new int[budget];
        int n = 0;
        long t0 = System.nanoTime();
        try (NDManager scope = model.manager().newSubManager();
                KvCache cache = KvCache.forModel(model, scope, 1, prompt.length + budget)) {
            NDArray next = toIds(scope, prompt);
            while (n < budget) {
                try (NDManager step = scope.newSubManager()) {
                    next.attach(step);
                    NDArray logits = model.forward(next, cache, new int[0], LlamaModel.Logits.LAST).logits(); // (1,1,V)
                    int token = sampler.sample(logits.reshape(-1));
                    out[n++] = token;
                    if (token == stopId) {
                        break;
                    }
                    next = toIds(scope, new int[] {token});
                }
            }
        }
        return new Generation(prompt, Arrays.copyOf(out, n), (System.nanoTime() - t0) / 1e9);
    }

    static NDArray toIds(NDManager m, int[] ids) {
        long[] l = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            l[i] = ids[i];
        }
        return m.create(l).reshape(1, ids.length);
    }
}
