package dev.blockdraft.spec;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.blockdraft.draft.Drafter;
import dev.blockdraft.lm.Generator;
import dev.blockdraft.lm.KvCache;
import dev.blockdraft.lm.LlamaModel;
import dev.blockdraft.lm.Sampling;
import dev.blockdraft.lm.TokenDistribution;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.function.IntFunction;

/**
 * Speculative decoding with a block drafter, lossless at any temperature. Each step: the drafter
 * proposes continuations of the anchor (one block, K candidate blocks, or a draft tree:
 * {@link Decoding}); the target scores all of them in one forward pass over its KV cache (a tree
 * with an ancestor-only attention mask); {@link Verifier} accepts the longest path the target's
 * sampling allows and draws the bonus token, the next anchor; both caches keep the accepted path
 * only. The output is distributed exactly as plain sampling with the same {@link Sampling} —
 * token-identical to greedy decoding at temperature 0.
 *
 * <p>Every sequence has one random stream, {@code new SplittableRandom(seed)}: the same prompt and
 * seed decode the same tokens. Greedy decoding with deterministic drafts draws nothing from it.
 *
 * <p>Immutable; {@link #with} returns a decoder with other settings.
 */
public final class SpeculativeDecoder {
    private final LlamaModel target;
    private final BlockProposer proposer;
    private final Drafter drafter; // null for proposers that are not block drafters
    private final Decoding decoding;
    private final Verifier verifier;

    /**
     * One verification step: the anchor's position in the sequence (prompt included) and how many
     * drafted tokens after it were accepted.
     */
    public record Step(int anchorPosition, int accepted) {}

    /** One decoded sequence, its statistics, and its verification steps in order. */
    public record Output(int[] tokens, SpecStats stats, List<Step> steps) {}

    public SpeculativeDecoder(Drafter drafter) {
        this(drafter.target(), BlockProposer.of(drafter), drafter, Decoding.greedy(), AcceptanceRule.EXACT);
    }

    /** Decodes {@code target} with any proposer (tests script one to reach every accepted length). */
    public SpeculativeDecoder(LlamaModel target, BlockProposer proposer) {
        this(target, proposer, null, Decoding.greedy(), AcceptanceRule.EXACT);
    }

    private SpeculativeDecoder(LlamaModel target, BlockProposer proposer, Drafter drafter, Decoding decoding,
            AcceptanceRule rule) {
        this.target = target;
        this.proposer = proposer;
        this.drafter = drafter;
        this.decoding = Objects.requireNonNull(decoding, "decoding");
        this.verifier = new Verifier(rule);
    }

    /** The same decoder with other sampling, drafting or seed. */
    public SpeculativeDecoder with(Decoding settings) {
        return new SpeculativeDecoder(target, proposer, drafter, settings, rule());
    }

    /** With another acceptance rule: for tests that check a wrong rule is caught. */
    SpeculativeDecoder withRule(AcceptanceRule rule) {
        return new SpeculativeDecoder(target, proposer, drafter, decoding, rule);
    }

    private AcceptanceRule rule() {
        return verifier.rule();
    }

    public Decoding decoding() {
        return decoding;
    }

    public LlamaModel target() {
        return target;
    }

    /** The block drafter, or null when decoding with another proposer. */
    public Drafter drafter() {
        return drafter;
    }

    /**
     * Decodes up to {@code maxNewTokens} after {@code prompt}, stopping after the first of
     * {@code stopIds} (included; {@link Generator#isStop}), with the random stream of {@link Decoding#seed()}.
     */
    public Output generate(int[] prompt, int maxNewTokens, int... stopIds) {
        return generate(prompt, maxNewTokens, stopIds, decoding.seed());
    }

    /** As {@link #generate(int[], int, int...)} with the random stream {@code new SplittableRandom(seed)}. */
    public Output generate(int[] prompt, int maxNewTokens, int[] stopIds, long seed) {
        try (Sequence s = open(prompt, maxNewTokens)) {
            return s.decode(seed, stopIds);
        }
    }

    /** Prefills {@code prompt} once; {@link Sequence#decode} may then run many times from there. */
    Sequence open(int[] prompt, int maxNewTokens) {
        return new Sequence(prompt, maxNewTokens);
    }

    /** One prompt's caches, prefilled once: each {@link #decode} rewinds to the prompt and decodes afresh. */
    final class Sequence implements AutoCloseable {
        private final int b = proposer.blockSize();
        private final int[] features = proposer.featureLayers();
        private final int promptLength;
        private final int budget;
        private final NDManager scope;
        private final KvCache targetCache;
        private final BlockProposer.Context draftContext;
        private final TokenDistribution first; // the target's p after the prompt
        private int[] lastKept = {0};

        Sequence(int[] prompt, int maxNewTokens) {
            int context = target.config().maxPositionEmbeddings();
            if (prompt.length == 0) {
                throw new IllegalArgumentException("empty prompt");
            }
            if (prompt.length + 1 >= context) {
                throw new IllegalArgumentException("prompt of " + prompt.length
                        + " tokens does not fit the target's context of " + context + " tokens");
            }
            promptLength = prompt.length;
            budget = Math.min(maxNewTokens, context - prompt.length - b);
            int widest = 1 + Math.max(decoding.treeNodes(), decoding.drafts() * (b - 1));
            int capacity = prompt.length + Math.max(budget, 1) + widest;
            scope = target.manager().newSubManager();
            try {
                targetCache = KvCache.forModel(target, scope, 1, capacity);
                draftContext = proposer.open(scope, capacity);
                try (NDManager step = scope.newSubManager()) {
                    LlamaModel.Output pre = target.forward(ids(step, prompt), targetCache, features, LlamaModel.Logits.LAST);
                    first = decoding.sampling().distributions(pre.logits().reshape(1, -1))[0];
                    draftContext.accept(Drafter.concatFeatures(pre.hidden()));
                }
            } catch (RuntimeException e) {
                scope.close();
                throw e;
            }
        }

        KvCache targetCache() {
            return targetCache;
        }

        /** Decodes from the prompt with the random stream {@code new SplittableRandom(seed)}. */
        Output decode(long seed, int... stopIds) {
            return decode(seed, stopIds, null);
        }

        /** The tree nodes the last step kept (the anchor and its accepted path), for tests. */
        int[] lastKept() {
            return lastKept.clone();
        }

        /**
         * As {@link #decode(long, int...)}, handing {@code afterStep} the tokens emitted so far after every
         * verification step (the caches then hold the prompt and all of them but the last).
         */
        Output decode(long seed, int[] stopIds, java.util.function.Consumer<int[]> afterStep) {
            if (targetCache.length() > promptLength) {
                targetCache.truncate(promptLength);
                draftContext.truncate(promptLength);
            }
            SplittableRandom rng = new SplittableRandom(seed);
            int[] out = new int[Math.max(budget, 1) + b];
            int n = 0;
            long emitted = 0;
            long[] histogram = new long[b];
            long[] reached = new long[b - 1];
            long[] acceptedAt = new long[b - 1];
            List<Step> steps = new ArrayList<>();
            long t0 = System.nanoTime();
            int anchor = first.sample(rng);
            out[n++] = anchor;
            boolean stopped = Generator.isStop(anchor, stopIds);
            while (!stopped && n < budget) {
                try (NDManager step = scope.newSubManager()) {
                    int position = targetCache.length(); // the anchor's position
                    DraftTree tree = draft(anchor, step, rng);
                    NDArray ids = ids(step, tree.tokens());
                    LlamaModel.Output verify = tree.isChain()
                            ? target.forward(ids, targetCache, features, LlamaModel.Logits.ALL)
                            : target.forwardTree(ids, targetCache, tree.parents(), features, LlamaModel.Logits.ALL);
                    Verifier.Verdict verdict = verifier.verify(tree, targetDistributions(verify.logits()), rng);
                    int accept = verdict.accepted();
                    int[] kept = new int[accept + 1]; // the anchor and the accepted path, as node indices
                    for (int i = 0; i < accept; i++) {
                        kept[i + 1] = verdict.path()[i];
                    }
                    int end = accept == 0 ? 0 : verdict.path()[accept - 1];
                    for (int k = 0; k < Math.min(accept, b - 1); k++) {
                        reached[k]++;
                        acceptedAt[k]++;
                    }
                    if (accept < b - 1 && !tree.proposals(end).isEmpty()) {
                        reached[accept]++; // slot accept+1 was verified and rejected
                    }
                    histogram[accept]++;
                    steps.add(new Step(position, accept));
                    // keep anchor + accepted path in both caches; the bonus becomes the next anchor
                    NDArray allFeatures = Drafter.concatFeatures(verify.hidden()); // (1, N, F)
                    NDArray keptFeatures;
                    if (tree.isChain()) {
                        targetCache.truncate(position + 1 + accept);
                        keptFeatures = allFeatures.get(":, :{}, :", 1 + accept);
                    } else {
                        targetCache.keep(position, kept);
                        long[] idx = Arrays.stream(kept).asLongStream().toArray();
                        keptFeatures = allFeatures.get(":, {}, :", step.create(idx));
                    }
                    draftContext.accept(keptFeatures);
                    lastKept = kept;
                    int before = n;
                    for (int i = 0; i < accept && !stopped; i++) {
                        int token = tree.token(verdict.path()[i]);
                        out[n++] = token;
                        stopped = Generator.isStop(token, stopIds);
                    }
                    if (!stopped) {
                        out[n++] = verdict.bonus();
                        stopped = Generator.isStop(verdict.bonus(), stopIds);
                    }
                    emitted += n - before;
                    anchor = verdict.bonus();
                }
                if (afterStep != null) {
                    afterStep.accept(Arrays.copyOf(out, n));
                }
            }
            int length = Math.min(n, Math.max(budget, 1));
            double seconds = (System.nanoTime() - t0) / 1e9;
            return new Output(Arrays.copyOf(out, length),
                    new SpecStats(b, steps.size(), emitted, histogram, reached, acceptedAt, seconds), List.copyOf(steps));
        }

        /** The drafted continuations of {@code anchor} as {@link Decoding} asks. */
        private DraftTree draft(int anchor, NDManager step, SplittableRandom rng) {
            if (!decoding.needsSlotLogits()) {
                return DraftTree.chain(anchor, draftContext.propose(anchor, step)); // (B−1) deterministic
            }
            return DraftTree.draft(decoding, anchor, SlotMarginals.of(draftContext.slotLogits(anchor, step)), rng);
        }

        /** p at each scored node, computed on the device once and copied to the host per node on demand. */
        private IntFunction<TokenDistribution> targetDistributions(NDArray logits) {
            NDArray rows = logits.reshape(logits.getShape().get(1), -1); // (N, V)
            Sampling s = decoding.sampling();
            if (s.isGreedy()) {
                TokenDistribution[] all = s.distributions(rows);
                return i -> all[i];
            }
            NDArray probs = s.probabilities(rows);
            TokenDistribution[] cache = new TokenDistribution[Math.toIntExact(rows.getShape().get(0))];
            return i -> {
                if (cache[i] == null) {
                    cache[i] = TokenDistribution.of(probs.get(i).toFloatArray());
                }
                return cache[i];
            };
        }

        @Override
        public void close() {
            draftContext.close();
            targetCache.close();
            scope.close();
        }
    }

    private static NDArray ids(NDManager m, int[] tokens) {
        long[] l = new long[tokens.length];
        for (int i = 0; i < tokens.length; i++) {
            l[i] = tokens[i];
        }
        return m.create(l).reshape(1, tokens.length);
    }
}
