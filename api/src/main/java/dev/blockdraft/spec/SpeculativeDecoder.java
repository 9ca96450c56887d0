package dev.blockdraft.spec;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.blockdraft.draft.Drafter;
import dev.blockdraft.lm.KvCache;
import dev.blockdraft.lm.LlamaModel;
import java.util.Arrays;

/**
 * Speculative decoding with a block drafter and greedy verification. Each step: the drafter
 * proposes B−1 tokens after the anchor; the target scores anchor + drafts in one forward pass
 * over its KV cache; the longest prefix matching the target's argmax is accepted and the
 * target's own next token is appended (the bonus, the next anchor); both caches drop what was
 * rejected. The output is token-identical to the target's greedy decoding.
 */
public final class SpeculativeDecoder {
    private final LlamaModel target;
    private final BlockProposer proposer;
    private final Drafter drafter; // null for proposers that are not block drafters

    /**
     * One decoded sequence and its statistics.
     *
     * @param anchors per verification step, the anchor's position in prompt + tokens
     * @param accepted per verification step, the drafted tokens the target accepted (before any
     *     cut at the stop token or the token budget)
     */
    public record Output(int[] tokens, SpecStats stats, int[] anchors, int[] accepted) {}

    public SpeculativeDecoder(Drafter drafter) {
        this.drafter = drafter;
        this.target = drafter.target();
        this.proposer = BlockProposer.of(drafter);
    }

    /** Decodes {@code target} with any proposer (tests script one to reach every accepted length). */
    public SpeculativeDecoder(LlamaModel target, BlockProposer proposer) {
        this.drafter = null;
        this.target = target;
        this.proposer = proposer;
    }

    /** The block drafter, or null when decoding with another proposer. */
    public Drafter drafter() {
        return drafter;
    }

    /**
     * Greedy-decodes up to {@code maxNewTokens} after {@code prompt}, stopping after
     * {@code stopId} (included) when it is ≥ 0.
     */
    public Output generate(int[] prompt, int maxNewTokens, int stopId) {
        int b = proposer.blockSize();
        int[] features = proposer.featureLayers();
        int context = target.config().maxPositionEmbeddings();
        if (prompt.length == 0) {
            throw new IllegalArgumentException("empty prompt");
        }
        if (prompt.length + 1 >= context) {
            throw new IllegalArgumentException("prompt of " + prompt.length + " tokens does not fit the target's context of "
                    + context + " tokens");
        }
        int budget = Math.min(maxNewTokens, context - prompt.length - b);
        int[] out = new int[Math.max(budget, 1) + b];
        int n = 0;
        long steps = 0, emitted = 0;
        long[] histogram = new long[b];
        long[] reached = new long[b - 1];
        long[] accepted = new long[b - 1];
        int[] visitedAnchors = new int[Math.max(budget, 1) + 1];
        int[] visitedAccepted = new int[visitedAnchors.length];
        long t0 = System.nanoTime();
        try (NDManager scope = target.manager().newSubManager();
                KvCache targetCache = KvCache.forModel(target, scope, 1, prompt.length + budget + b);
                BlockProposer.Context draftContext = proposer.open(scope, prompt.length + budget + b)) {
            int anchor;
            try (NDManager step = scope.newSubManager()) {
                LlamaModel.Output pre = target.forward(ids(step, prompt), targetCache, features, LlamaModel.Logits.LAST);
                anchor = (int) pre.logits().reshape(-1).argMax().getLong();
                draftContext.accept(Drafter.concatFeatures(pre.hidden()));
            }
            out[n++] = anchor;
            boolean stopped = anchor == stopId;
            while (!stopped && n < budget) {
                try (NDManager step = scope.newSubManager()) {
                    int position = targetCache.length(); // the anchor's position
                    int[] draft = draftContext.propose(anchor, step); // (B−1)
                    int[] block = new int[b];
                    block[0] = anchor;
                    System.arraycopy(draft, 0, block, 1, b - 1);
                    LlamaModel.Output verify = target.forward(ids(step, block), targetCache, features, LlamaModel.Logits.ALL);
                    long[] greedy = verify.logits().reshape(b, -1).argMax(1).toLongArray(); // target's choice after each
                    int accept = 0;
                    while (accept < b - 1 && draft[accept] == greedy[accept]) {
                        accept++;
                    }
                    for (int k = 0; k <= Math.min(accept, b - 2); k++) {
                        reached[k]++;
                        if (k < accept) {
                            accepted[k]++;
                        }
                    }
                    histogram[accept]++;
                    visitedAnchors[(int) steps] = position;
                    visitedAccepted[(int) steps] = accept;
                    steps++;
                    int bonus = (int) greedy[accept];
                    // keep anchor + accepted drafts in both caches; the bonus becomes the next anchor
                    targetCache.truncate(position + 1 + accept);
                    NDArray keptFeatures = Drafter.concatFeatures(verify.hidden()).get(":, :{}, :", 1 + accept);
                    draftContext.accept(keptFeatures);
                    int before = n;
                    for (int i = 0; i < accept && !stopped; i++) {
                        out[n++] = draft[i];
                        stopped = draft[i] == stopId;
                    }
                    if (!stopped) {
                        out[n++] = bonus;
                        stopped = bonus == stopId;
                    }
                    emitted += n - before;
                    anchor = bonus;
                }
            }
        }
        int length = Math.min(n, Math.max(budget, 1));
        double seconds = (System.nanoTime() - t0) / 1e9;
        return new Output(Arrays.copyOf(out, length),
                new SpecStats(b, steps, emitted, histogram, reached, accepted, seconds),
                Arrays.copyOf(visitedAnchors, (int) steps), Arrays.copyOf(visitedAccepted, (int) steps));
    }

    private static NDArray ids(NDManager m, int[] tokens) {
        long[] l = new long[tokens.length];
        for (int i = 0; i < tokens.length; i++) {
            l[i] = tokens[i];
        }
        return m.create(l).reshape(1, tokens.length);
    }
}
