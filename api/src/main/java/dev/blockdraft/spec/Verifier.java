package dev.blockdraft.spec;

import dev.blockdraft.lm.TokenDistribution;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.IntFunction;

/**
 * Verifies a {@link DraftTree} against the target's distributions at its nodes: walks from the root,
 * at each node deciding among its proposals by {@link AcceptanceRule} (recursive rejection:
 * SpecInfer's multi-step speculative sampling), descends into the accepted child, and stops at the
 * first node where every proposal is rejected, emitting a draw from what is left of p there (the
 * bonus token; at a leaf, p itself).
 *
 * <p>Why this is exact for every tree the decoder builds: at a node, each proposal's token was
 * drawn from its q independently of the others and of the path so far (the drafter predicts slots
 * in parallel: a candidate's slot d+1 is drawn regardless of its slot d; deterministic tokens have
 * a one-hot q). Under that condition the rule's lemma applies proposal after proposal, so the token
 * emitted at each node is distributed as the target's p given the tokens emitted before it — which
 * is what plain sampling draws.
 *
 * <p>The one-hot case of the exact rule: when every proposal at a node is deterministic, rejecting
 * child tokens c₁, c₂, … in turn and finally drawing from p without them is the same as drawing
 * y ~ p once and descending iff y is a child; on a miss y already is the residual draw. That is
 * what runs (one uniform per node, no residual vectors), for the drafter's argmax block and for
 * best-first trees. At temperature 0, p is one-hot and nothing consumes randomness: greedy
 * verification (accept the longest prefix matching the target's argmax) is the special case.
 */
public final class Verifier {

    /**
     * @param path accepted nodes below the root, in depth order
     * @param bonus the token emitted after them (the next anchor)
     */
    public record Verdict(int[] path, int bonus) {
        public int accepted() {
            return path.length;
        }

        @Override
        public String toString() {
            return "Verdict(path " + Arrays.toString(path) + ", bonus " + bonus + ")";
        }
    }

    private final AcceptanceRule rule;

    public Verifier(AcceptanceRule rule) {
        this.rule = rule;
    }

    public AcceptanceRule rule() {
        return rule;
    }

    /** Verifies {@code tree}; {@code target.apply(i)} is p at node i (after its path). */
    public Verdict verify(DraftTree tree, IntFunction<TokenDistribution> target, SplittableRandom rng) {
        int[] path = new int[tree.size()];
        int accepted = 0;
        int node = 0;
        while (true) {
            TokenDistribution p = target.apply(node);
            List<DraftTree.Proposal> proposals = tree.proposals(node);
            int next = -1;
            if (rule == AcceptanceRule.EXACT && allOneHot(proposals)) {
                int y = p.sample(rng);
                next = tree.child(node, y);
                if (next < 0) {
                    return new Verdict(Arrays.copyOf(path, accepted), y);
                }
            } else {
                for (DraftTree.Proposal proposal : proposals) {
                    int x = tree.token(proposal.child());
                    double a = rule.acceptProbability(p.probability(x), proposal.q().probability(x));
                    if (a >= 1 || (a > 0 && rng.nextDouble() < a)) {
                        next = proposal.child();
                        break;
                    }
                    p = rule.residual(p, proposal.q());
                }
                if (next < 0) {
                    return new Verdict(Arrays.copyOf(path, accepted), p.sample(rng));
                }
            }
            path[accepted++] = next;
            node = next;
        }
    }

    private static boolean allOneHot(List<DraftTree.Proposal> proposals) {
        for (DraftTree.Proposal p : proposals) {
            if (!(p.q() instanceof TokenDistribution.OneHot)) {
                return false;
            }
        }
        return true;
    }

    @Override
    public String toString() {
        return "Verifier(" + rule + ")";
    }
}
