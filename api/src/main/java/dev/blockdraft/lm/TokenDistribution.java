package dev.blockdraft.lm;

import java.util.SplittableRandom;

/**
 * A distribution over the vocabulary on the host: what a sampler draws the next token from, and what
 * speculative sampling compares drafts against. Greedy decoding is the {@link OneHot} case, which
 * draws without consuming randomness, so greedy runs stay token-identical whatever the seed.
 */
public sealed interface TokenDistribution permits TokenDistribution.OneHot, TokenDistribution.Dense {

    /** P(token). */
    double probability(int token);

    /** One draw, using at most one uniform from {@code rng}. */
    int sample(SplittableRandom rng);

    /** The most probable token (the lowest id among ties). */
    int mode();

    /**
     * The residual of speculative sampling, norm(max(0, this − q)): what a draft from q that was
     * rejected must be replaced with. When this − q has no positive mass left (this equals q, so a
     * draft is never rejected) it returns {@code this}.
     */
    TokenDistribution residual(TokenDistribution q);

    static TokenDistribution oneHot(int token) {
        return new OneHot(token);
    }

    /** Normalises non-negative weights (V) into a distribution; the array is copied. */
    static TokenDistribution of(float[] weights) {
        double sum = 0;
        for (float w : weights) {
            if (!(w >= 0) || Float.isInfinite(w)) {
                throw new IllegalArgumentException("weights must be finite and >= 0, found " + w);
            }
            sum += w;
        }
        if (!(sum > 0)) {
            throw new IllegalArgumentException("weights sum to " + sum + "; a distribution needs positive mass");
        }
        double[] p = new double[weights.length];
        for (int i = 0; i < p.length; i++) {
            p[i] = weights[i] / sum;
        }
        return new Dense(p);
    }

    /** All mass on one token. */
    record OneHot(int token) implements TokenDistribution {
        @Override
        public double probability(int t) {
            return t == token ? 1 : 0;
        }

        @Override
        public int sample(SplittableRandom rng) {
            return token;
        }

        @Override
        public int mode() {
            return token;
        }

        @Override
        public TokenDistribution residual(TokenDistribution q) {
            // max(0, δ − q) is positive only at the token itself (unless q is δ too): δ again
            return this;
        }
    }

    /** Explicit probabilities, normalised. */
    final class Dense implements TokenDistribution {
        private final double[] p;

        private Dense(double[] normalised) {
            this.p = normalised;
        }

        public int size() {
            return p.length;
        }

        @Override
        public double probability(int token) {
            return token >= 0 && token < p.length ? p[token] : 0;
        }

        @Override
        public int sample(SplittableRandom rng) {
            double u = rng.nextDouble();
            double cumulative = 0;
            int last = -1;
            for (int i = 0; i < p.length; i++) {
                if (p[i] > 0) {
                    cumulative += p[i];
                    last = i;
                    if (u < cumulative) {
                        return i;
                    }
                }
            }
            return last; // u fell into the rounding gap at the top: the last token with mass
        }

        @Override
        public int mode() {
            int best = 0;
            for (int i = 1; i < p.length; i++) {
                if (p[i] > p[best]) {
                    best = i;
                }
            }
            return best;
        }

        @Override
        public TokenDistribution residual(TokenDistribution q) {
            double[] r = new double[p.length];
            double sum = 0;
            for (int i = 0; i < p.length; i++) {
                r[i] = Math.max(0, p[i] - q.probability(i));
                sum += r[i];
            }
            if (!(sum > 1e-12)) {
                return this;
            }
            for (int i = 0; i < r.length; i++) {
                r[i] /= sum;
            }
            return new Dense(r);
        }

        @Override
        public String toString() {
            return "Dense(V=" + p.length + ", mode " + mode() + " p=" + String.format("%.3f", p[mode()]) + ")";
        }
    }
}
