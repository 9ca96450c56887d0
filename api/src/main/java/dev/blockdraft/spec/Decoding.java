package dev.blockdraft.spec;

import dev.blockdraft.lm.Sampling;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How speculative decoding drafts and verifies.
 *
 * <ul>
 *   <li>{@code drafts = 1, treeNodes = 0}: one block per step, the DFlash way: the drafter's own
 *       (argmax) block, or with {@code sampledDrafts} each slot drawn from the drafter's warped slot
 *       distribution q;</li>
 *   <li>{@code drafts = K > 1}: K candidate blocks from one drafter pass (the argmax block first,
 *       unless {@code sampledDrafts}, then K−1 blocks drawn slot by slot from q), merged into a
 *       prefix tree and verified in one target pass; the longest accepted candidate wins;</li>
 *   <li>{@code treeNodes = N > 0}: a best-first tree of N drafted tokens from the drafter's slot
 *       marginals, verified in one target pass.</li>
 * </ul>
 *
 * <p>With several denoising steps the single block is the drafter's multi-step block; candidates and
 * trees are built from its first (all-masked) pass, whose slot marginals are what q means there.
 *
 * @param sampling the target's sampling: greedy at temperature 0, otherwise exact speculative sampling
 * @param drafts K ≥ 1 candidate blocks
 * @param treeNodes N ≥ 0 drafted nodes of a draft tree; 0 for none (then K decides)
 * @param sampledDrafts draw every candidate from q (the general min(1, p/q) rule) instead of putting the
 *     drafter's argmax block first (the one-hot rule)
 * @param seed the random stream of a decoded sequence starts from it ({@link SpeculativeDecoder#generate})
 */
public record Decoding(Sampling sampling, int drafts, int treeNodes, boolean sampledDrafts, long seed) {

    public Decoding {
        java.util.Objects.requireNonNull(sampling, "sampling");
        if (drafts < 1) {
            throw new IllegalArgumentException("--drafts=" + drafts + " must be >= 1");
        }
        if (treeNodes < 0) {
            throw new IllegalArgumentException("--tree-nodes=" + treeNodes + " must be >= 0 (0: no tree)");
        }
        if (treeNodes > 0 && drafts > 1) {
            throw new IllegalArgumentException("--drafts=" + drafts + " and --tree-nodes=" + treeNodes
                    + " do not combine: a draft tree already holds many candidates; give one of them");
        }
        if (treeNodes > 0 && sampledDrafts) {
            throw new IllegalArgumentException("sampled drafts do not combine with --tree-nodes: a draft tree is built"
                    + " deterministically from the slot marginals");
        }
    }

    /** Greedy, one argmax block per step: the decoder as it always was. */
    public static Decoding greedy() {
        return new Decoding(Sampling.GREEDY, 1, 0, false, 0);
    }

    public static Decoding of(Sampling sampling) {
        return new Decoding(sampling, 1, 0, false, 0);
    }

    public Decoding withSampling(Sampling s) {
        return new Decoding(s, drafts, treeNodes, sampledDrafts, seed);
    }

    public Decoding withDrafts(int k) {
        return new Decoding(sampling, k, treeNodes, sampledDrafts, seed);
    }

    public Decoding withTreeNodes(int n) {
        return new Decoding(sampling, drafts, n, sampledDrafts, seed);
    }

    public Decoding withSampledDrafts(boolean sampled) {
        return new Decoding(sampling, drafts, treeNodes, sampled, seed);
    }

    public Decoding withSeed(long s) {
        return new Decoding(sampling, drafts, treeNodes, sampledDrafts, s);
    }

    /** Whether drafting needs the slot distributions rather than just the drafter's block. */
    boolean needsSlotLogits() {
        return treeNodes > 0 || drafts > 1 || sampledDrafts;
    }

    /** The settings as strings, for provenance and reports. */
    public Map<String, String> asSettings() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("temperature", Double.toString(sampling.temperature()));
        m.put("top_p", Double.toString(sampling.topP()));
        m.put("top_k", Integer.toString(sampling.topK()));
        m.put("drafts", Integer.toString(drafts));
        m.put("tree_nodes", Integer.toString(treeNodes));
        m.put("sampled_drafts", Boolean.toString(sampledDrafts));
        m.put("seed", Long.toString(seed));
        return m;
    }

    @Override
    public String toString() {
        return "Decoding(" + sampling + (treeNodes > 0 ? ", tree of " + treeNodes + " nodes" : "")
                + (drafts > 1 ? ", " + drafts + " drafts" : "") + (sampledDrafts ? ", sampled drafts" : "")
                + (sampling.isGreedy() && !needsSlotLogits() ? "" : ", seed " + seed) + ")";
    }
}
