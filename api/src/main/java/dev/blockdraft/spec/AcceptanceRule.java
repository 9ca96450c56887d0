package dev.blockdraft.spec;

import dev.blockdraft.lm.TokenDistribution;

/**
 * The two choices of speculative sampling for one drafted token x ~ q against the target's p:
 * <pre>
 *   accept x with probability min(1, p(x) / q(x));   on rejection continue with norm(max(0, p − q))
 * </pre>
 * ({@link #EXACT}; Leviathan et al. 2023, Chen et al. 2023). The emitted token is then distributed
 * exactly as p: it is x with probability min(p, q)(x), and otherwise a draw from the residual,
 * whose mass 1 − Σ min(p, q) times norm(max(0, p − q)) is exactly max(0, p − q). Applied to a
 * node's proposals in turn, each rejection replacing p by its residual, the same argument gives
 * SpecInfer's multi-draft rule (Miao et al. 2024, Theorem 4.2): {@link Verifier}.
 *
 * <p>The interface exists so that tests can swap in wrong rules and see the exactness test fail.
 */
public interface AcceptanceRule {

    /** The probability to accept a token with target probability p and proposal probability q. */
    double acceptProbability(double p, double q);

    /** What the target distribution becomes after rejecting a draft from q. */
    TokenDistribution residual(TokenDistribution p, TokenDistribution q);

    AcceptanceRule EXACT = new AcceptanceRule() {
        @Override
        public double acceptProbability(double p, double q) {
            return q > 0 ? Math.min(1, p / q) : (p > 0 ? 1 : 0);
        }

        @Override
        public TokenDistribution residual(TokenDistribution p, TokenDistribution q) {
            return p.residual(q);
        }

        @Override
        public String toString() {
            return "min(1, p/q), residual norm(max(0, p-q))";
        }
    };
}
