package dev.blockdraft.lm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

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
     * Whether {@code token} ends generation: it is one of {@code stopIds} (a tokenizer's
     * {@code stopIds()}: the eos token and {@code generation_config.json}'s; none, or only negative
     * ids, to decode to the budget).
     */
    public static boolean isStop(int token, int... stopIds) {
        for (int id : stopIds) {
            if (token == id) {
                return true;
            }
        }
        return false;
    }

    /**
     * Generates up to {@code maxNewTokens} after {@code prompt}, stopping after the first of
     * {@code stopIds} (included; see {@link #isStop}).
     */
    public static Generation generate(LlamaModel model, int[] prompt, int maxNewTokens, Sampler sampler, int... stopIds) {
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
                    int token;
                    if (sampler == Sampler.GREEDY) {
                        // the argmax stays on the device as the next step's ids: no copy back to it per token
                        NDArray best = logits.reshape(1, -1).argMax(1).reshape(1, 1); // (1, 1) int64
                        token = (int) best.getLong();
                        next = best;
                    } else {
                        token = sampler.sample(logits.reshape(-1));
                        next = toIds(step, new int[] {token});
                    }
                    next.attach(scope); // outlives this step's scope
                    out[n++] = token;
                    if (isStop(token, stopIds)) {
                        break;
                    }
                }
            }
        }
        return new Generation(prompt, Arrays.copyOf(out, n), (System.nanoTime() - t0) / 1e9);
    }

    /**
     * Generates for many prompts at once (left-padded into one batch), each row stopping at
     * the first of {@code stopIds}; greedy rows give the same tokens as {@link #generate} up to float
     * summation order. Whenever half the rows still in the batch have stopped, the others continue in a smaller
     * batch, so a step computes at most twice the rows still answering. Returns the new tokens per prompt, in input
     * order.
     */
    public static List<int[]> generateBatch(LlamaModel model, List<int[]> prompts, int maxNewTokens, Sampler sampler,
            int... stopIds) {
        int rows = prompts.size();
        int longest = 0;
        for (int[] p : prompts) {
            if (p.length == 0) {
                throw new IllegalArgumentException("empty prompt in batch");
            }
            longest = Math.max(longest, p.length);
        }
        int budget = Math.min(maxNewTokens, model.config().maxPositionEmbeddings() - longest);
        if (budget <= 0) {
            throw new IllegalArgumentException("prompt of " + longest + " tokens leaves no room in the model's context of "
                    + model.config().maxPositionEmbeddings());
        }
        int[] pad = new int[rows];
        long[] first = new long[rows * longest];
        for (int r = 0; r < rows; r++) {
            int[] p = prompts.get(r);
            pad[r] = longest - p.length;
            for (int i = 0; i < p.length; i++) {
                first[r * longest + pad[r] + i] = p[i];
            }
        }
        int[][] out = new int[rows][budget];
        int[] length = new int[rows];
        boolean[] done = new boolean[rows];
        int active = rows;
        int[] rowOf = new int[rows]; // the prompt each row of the batch answers: finished rows are dropped
        for (int r = 0; r < rows; r++) {
            rowOf[r] = r;
        }
        try (NDManager scope = model.manager().newSubManager();
                KvCache cache = KvCache.forModel(model, scope, rows, longest + budget)) {
            NDArray next = scope.create(first).reshape(rows, longest);
            for (int step = 0; step < budget && active > 0; step++) {
                int now = rowOf.length;
                try (NDManager stepScope = scope.newSubManager()) {
                    next.attach(stepScope);
                    NDArray logits = model.forward(next, cache, new int[0], LlamaModel.Logits.LAST, pad).logits();
                    NDArray rowsLogits = logits.reshape(now, -1); // (R, V)
                    long[] chosen;
                    NDArray nextIds = null;
                    if (sampler == Sampler.GREEDY) {
                        nextIds = rowsLogits.argMax(1); // (R) int64, the next step's ids on the device
                        chosen = nextIds.toLongArray();
                    } else {
                        chosen = sampler.sampleRows(rowsLogits);
                    }
                    for (int i = 0; i < now; i++) {
                        int r = rowOf[i];
                        if (!done[r]) {
                            out[r][length[r]++] = (int) chosen[i];
                            if (isStop((int) chosen[i], stopIds)) {
                                done[r] = true;
                                active--;
                            }
                        }
                    }
                    next = nextIds != null ? nextIds.reshape(now, 1) : stepScope.create(chosen, new ai.djl.ndarray.types.Shape(now, 1));
                    if (active > 0 && active <= now / 2) {
                        // half the rows have finished: the others continue as a smaller batch, so each step
                        // computes at most twice the rows still answering (at most log2(B) compactions in all)
                        long[] keep = new long[active];
                        int[] keptRows = new int[active];
                        int[] keptPad = new int[active];
                        for (int i = 0, j = 0; i < now; i++) {
                            if (!done[rowOf[i]]) {
                                keep[j] = i;
                                keptRows[j] = rowOf[i];
                                keptPad[j++] = pad[i];
                            }
                        }
                        cache.keepRows(keep);
                        next = next.get(stepScope.create(keep));
                        rowOf = keptRows;
                        pad = keptPad;
                    }
                    next.attach(scope); // outlives this step's scope
                }
            }
        }
        List<int[]> result = new ArrayList<>();
        for (int r = 0; r < rows; r++) {
            result.add(Arrays.copyOf(out[r], length[r]));
        }
        return result;
    }

    static NDArray toIds(NDManager m, int[] ids) {
        long[] l = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            l[i] = ids[i];
        }
        return m.create(l, new ai.djl.ndarray.types.Shape(1, ids.length));
    }
}
