package dev.blockdraft.spec;

import dev.blockdraft.lm.TokenDistribution;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.PriorityQueue;
import java.util.SplittableRandom;

/**
 * The drafted continuations of one step as a tree rooted at the anchor (node 0): a single block is a
 * chain, K candidate blocks a prefix tree (candidates sharing a prefix share its nodes), a best-first
 * draft tree anything in between. Nodes are numbered so that a parent precedes its children, which
 * is the order the target scores them in ({@link dev.blockdraft.lm.LlamaModel#forwardTree}).
 *
 * <p>Each node also lists its <em>proposals</em> in verification order: one per candidate passing
 * through it, naming the child that candidate continues with and the distribution q it drew that
 * token from (one-hot for a deterministic token). {@link Verifier} walks them.
 */
public final class DraftTree {

    /** Candidate {@code child}'s token was drawn from {@code q} (one-hot when chosen deterministically). */
    public record Proposal(int child, TokenDistribution q) {}

    private final int[] tokens;
    private final int[] parents;
    private final int[] depths;
    private final List<List<Proposal>> proposals;

    private DraftTree(Builder b) {
        int n = b.tokens.size();
        tokens = new int[n];
        parents = new int[n];
        depths = new int[n];
        for (int i = 0; i < n; i++) {
            tokens[i] = b.tokens.get(i);
            parents[i] = b.parents.get(i);
            depths[i] = i == 0 ? 0 : depths[parents[i]] + 1;
        }
        proposals = b.proposals.stream().map(List::copyOf).toList();
    }

    /** The anchor followed by one block, every token deterministic. */
    public static DraftTree chain(int anchor, int[] block) {
        Builder b = new Builder(anchor);
        int node = 0;
        for (int token : block) {
            node = b.propose(node, token, TokenDistribution.oneHot(token));
        }
        return b.build();
    }

    /**
     * K candidate blocks merged into a prefix tree; candidate j's slot d was drawn from
     * {@code q[j][d]}. Proposals keep the candidates' order.
     */
    public static DraftTree candidates(int anchor, int[][] blocks, TokenDistribution[][] q) {
        Builder b = new Builder(anchor);
        for (int j = 0; j < blocks.length; j++) {
            int node = 0;
            for (int d = 0; d < blocks[j].length; d++) {
                node = b.propose(node, blocks[j][d], q[j][d]);
            }
        }
        return b.build();
    }

    /**
     * A best-first tree of {@code nodes} drafted tokens (DDTree-style): the score of a path is the
     * product of its tokens' slot marginals (slot d at depth d, the drafter's slots being predicted in
     * parallel), and the tree holds the {@code nodes} highest-scoring paths' prefixes — each added node
     * the best not yet in it whose parent is. Children are deterministic (one-hot proposals), most
     * probable first.
     *
     * @param ranked per slot, token ids in descending marginal probability
     * @param probs per slot, their probabilities
     */
    public static DraftTree bestFirst(int anchor, int[][] ranked, float[][] probs, int nodes) {
        record Frontier(double logScore, int parent, int depth, int rank) {}
        Builder b = new Builder(anchor);
        double[] nodeScore = new double[nodes + 1];
        PriorityQueue<Frontier> queue = new PriorityQueue<>((x, y) -> Double.compare(y.logScore, x.logScore));
        if (ranked.length > 0) {
            queue.add(new Frontier(Math.log(probs[0][0]), 0, 1, 0));
        }
        while (b.size() <= nodes && !queue.isEmpty()) {
            Frontier f = queue.poll();
            int slot = f.depth - 1;
            int token = ranked[slot][f.rank];
            int node = b.propose(f.parent, token, TokenDistribution.oneHot(token));
            nodeScore[node] = f.logScore;
            if (f.rank + 1 < ranked[slot].length) { // the parent's next-best child
                queue.add(new Frontier(nodeScore[f.parent] + Math.log(probs[slot][f.rank + 1]), f.parent, f.depth, f.rank + 1));
            }
            if (f.depth < ranked.length) { // this node's best child
                queue.add(new Frontier(f.logScore + Math.log(probs[f.depth][0]), node, f.depth + 1, 0));
            }
        }
        return b.build();
    }

    /**
     * The continuations {@code decoding} drafts from the slot marginals: a best-first tree of
     * {@code treeNodes}, or K candidate blocks — the argmax block first (one-hot q) unless
     * {@code sampledDrafts}, the others drawn slot by slot from the warped q, independently.
     */
    public static DraftTree draft(Decoding decoding, int anchor, SlotMarginals marginals, SplittableRandom rng) {
        int slots = marginals.slots();
        if (decoding.treeNodes() > 0) {
            SlotMarginals.Ranked r = marginals.ranked(decoding.treeNodes());
            return bestFirst(anchor, r.tokens(), r.probabilities(), decoding.treeNodes());
        }
        int k = decoding.drafts();
        int[][] blocks = new int[k][];
        TokenDistribution[][] qs = new TokenDistribution[k][];
        int sampledFrom = 0;
        if (!decoding.sampledDrafts()) {
            blocks[0] = marginals.argmax();
            qs[0] = new TokenDistribution[slots];
            for (int d = 0; d < slots; d++) {
                qs[0][d] = TokenDistribution.oneHot(blocks[0][d]);
            }
            sampledFrom = 1;
        }
        if (sampledFrom < k) {
            // at temperature 0 any proposal is fine (greedy verification is exact anyway): q is then the drafter at T = 1
            TokenDistribution[] q = marginals.warped(decoding.sampling());
            int[][] sampled = sampleBlocks(q, k - sampledFrom, rng);
            for (int j = sampledFrom; j < k; j++) {
                blocks[j] = sampled[j - sampledFrom];
                qs[j] = q;
            }
        }
        return candidates(anchor, blocks, qs);
    }

    /** Draws {@code count} blocks, each slot independently from its distribution. */
    static int[][] sampleBlocks(TokenDistribution[] slots, int count, SplittableRandom rng) {
        int[][] out = new int[count][slots.length];
        for (int j = 0; j < count; j++) {
            for (int d = 0; d < slots.length; d++) {
                out[j][d] = slots[d].sample(rng);
            }
        }
        return out;
    }

    public int size() {
        return tokens.length;
    }

    public int token(int node) {
        return tokens[node];
    }

    public int parent(int node) {
        return parents[node];
    }

    public int depth(int node) {
        return depths[node];
    }

    /** Parents of all nodes, −1 for the root. */
    public int[] parents() {
        return parents.clone();
    }

    /** All tokens, the anchor first. */
    public int[] tokens() {
        return tokens.clone();
    }

    public List<Proposal> proposals(int node) {
        return proposals.get(node);
    }

    /** Whether the tree is one path in node order (verified with the plain causal forward). */
    public boolean isChain() {
        for (int i = 1; i < parents.length; i++) {
            if (parents[i] != i - 1) {
                return false;
            }
        }
        return true;
    }

    /** The child of {@code node} carrying {@code token}, or −1. */
    public int child(int node, int token) {
        for (Proposal p : proposals.get(node)) {
            if (tokens[p.child()] == token) {
                return p.child();
            }
        }
        return -1;
    }

    @Override
    public String toString() {
        return "DraftTree(" + size() + " nodes, tokens " + Arrays.toString(tokens) + ", parents " + Arrays.toString(parents) + ")";
    }

    /** Adds nodes under existing ones, merging a token already present under the same parent. */
    static final class Builder {
        private final List<Integer> tokens = new ArrayList<>();
        private final List<Integer> parents = new ArrayList<>();
        private final List<List<Proposal>> proposals = new ArrayList<>();

        Builder(int anchor) {
            tokens.add(anchor);
            parents.add(-1);
            proposals.add(new ArrayList<>());
        }

        int size() {
            return tokens.size();
        }

        /** Records a proposal of {@code token} (drawn from q) after {@code parent}; returns the child's node. */
        int propose(int parent, int token, TokenDistribution q) {
            int child = -1;
            for (Proposal p : proposals.get(parent)) {
                if (tokens.get(p.child()) == token) {
                    child = p.child();
                }
            }
            if (child < 0) {
                child = tokens.size();
                tokens.add(token);
                parents.add(parent);
                proposals.add(new ArrayList<>());
            }
            proposals.get(parent).add(new Proposal(child, q));
            return child;
        }

        DraftTree build() {
            return new DraftTree(this);
        }
    }
}
