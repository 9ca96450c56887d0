package dev.blockdraft.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.blockdraft.draft.Drafter;
import dev.blockdraft.draft.DrafterConfig;
import dev.blockdraft.lm.LlamaConfig;
import dev.blockdraft.lm.LlamaModel;
import dev.blockdraft.lm.Sampling;
import dev.blockdraft.lm.TokenDistribution;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Statistical exactness of speculative sampling on a tiny model: the first three emitted tokens of
 * 10⁴ speculative continuations of one prompt are tested (chi-square goodness of fit) against their
 * exact distribution under plain sampling, computed by enumerating every prefix with the target and
 * {@link Sampling#probabilities}. A configuration passes when p ≥ 0.001 ({@link ExactnessCheck#ALPHA});
 * seeds are fixed, so the outcome is reproducible. A wrong acceptance rule (a rejected draft replaced
 * by a draw from p instead of the residual) must fail the same test (p &lt; 0.001; it gets χ² ≈ 2800).
 *
 * <p>The target (vocabulary 8) and the drafter are random, the target's weights scaled so that its
 * distributions are neither flat nor one-hot and depend on the context. Drafts are accepted now and
 * then (τ 1.07 for the argmax block, 1.3 for the tree, 1.7 for three candidates; asserted above 1.05), so acceptance, the residual draw, the bonus token and the cache compaction all shape the
 * result. The whole grid of temperatures, top-p/top-k and drafting modes runs on a toy model in
 * {@link VerifierExactnessTest}; this test runs the decoder itself, one setting per code path.
 */
@org.junit.jupiter.api.extension.ExtendWith(dev.blockdraft.eval.OneTorchThread.class)
class SpeculativeSamplingExactnessTest {
    static final int VOCAB = 8;
    static final int TRIALS = 10_000;
    static final int TOKENS = 3;
    static final int[] PROMPT = {1, 5, 2, 7, 3};

    static LlamaModel target;
    static Drafter drafter;

    @BeforeAll
    static void models() {
        LlamaConfig config = LlamaConfig.llama(VOCAB, 32, 64, 2, 4, 2, 64).withTiedEmbeddings(false);
        target = LlamaModel.initialize(config, Device.cpu(), 21);
        for (var e : target.parameters().asMap().entrySet()) {
            if (!e.getKey().endsWith("norm.weight")) {
                e.getValue().muli(e.getKey().equals(LlamaModel.LM_HEAD) ? 12 : 6);
            }
        }
        drafter = Drafter.initialize(DrafterConfig.forTarget(config, "t", 4, 0, ai.djl.Device.cpu()), target, 8);
    }

    @AfterAll
    static void close() {
        drafter.close();
        target.close();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "argmax block T=0.7 top-p 0.9,     0.7, 0.9, 0, 1, 0, false",
        "K=3 candidates T=1.0,             1.0, 1.0, 0, 3, 0, false",
        "tree of 6 nodes T=1.5,            1.5, 1.0, 0, 1, 6, false",
    })
    void speculativeSamplingDrawsFromTheTargetsDistribution(String name, double t, double topP, int topK, int drafts,
            int tree, boolean sampled) {
        Decoding decoding = new Decoding(new Sampling(t, topP, topK), drafts, tree, sampled, 1234);
        Fit fit = fit(new SpeculativeDecoder(drafter).with(decoding));
        assertTrue(fit.tau > 1.05, name + ": drafts must be accepted for the test to mean anything; τ = " + fit.tau);
        assertTrue(fit.impossible == 0, name + ": " + fit.impossible + " continuations that plain sampling cannot produce");
        assertTrue(fit.test.pValue() >= ExactnessCheck.ALPHA, name + ": " + fit.test);
    }

    /** Accepts whenever the target gives the draft any probability: far too many drafts get through. */
    static final AcceptanceRule ACCEPT_IF_POSSIBLE = new AcceptanceRule() {
        @Override
        public double acceptProbability(double p, double q) {
            return p > 0 ? 1 : 0;
        }

        @Override
        public TokenDistribution residual(TokenDistribution p, TokenDistribution q) {
            return p.residual(q);
        }
    };

    /** The right acceptance, but a rejected draft is replaced by a fresh draw from p, not from the residual. */
    static final AcceptanceRule RESAMPLE_FROM_P = new AcceptanceRule() {
        @Override
        public double acceptProbability(double p, double q) {
            return AcceptanceRule.EXACT.acceptProbability(p, q);
        }

        @Override
        public TokenDistribution residual(TokenDistribution p, TokenDistribution q) {
            return p;
        }
    };

    @Test
    void aWrongAcceptanceRuleFailsTheSameTest() {
        Decoding candidates = new Decoding(Sampling.temperature(1.0), 3, 0, false, 1234);
        Fit noResidual = fit(new SpeculativeDecoder(drafter).with(candidates).withRule(RESAMPLE_FROM_P));
        assertTrue(noResidual.test.pValue() < ExactnessCheck.ALPHA, "resampling from p must be caught: " + noResidual.test);
    }

    @Test
    void theChecksPlainSamplerFitsTheExactDistributionAndTheCheckPasses() {
        Decoding decoding = new Decoding(Sampling.temperature(1.0), 1, 0, false, 77);
        Map<List<Integer>, Long> plain = new ExactnessCheck(TRIALS, TOKENS).plain(target, PROMPT, decoding);
        double[] p = exact(decoding.sampling());
        long[] observed = new long[p.length];
        plain.forEach((k, n) -> observed[(k.get(0) * VOCAB + k.get(1)) * VOCAB + k.get(2)] += n);
        ChiSquare fit = ChiSquare.goodnessOfFit(observed, p);
        assertTrue(fit.pValue() >= ExactnessCheck.ALPHA, "plain sampling over a repeated prompt cache: " + fit);

        ExactnessCheck.Result r = new ExactnessCheck(1000, TOKENS).run(new SpeculativeDecoder(drafter).with(decoding), PROMPT);
        assertTrue(!r.rejected(), r.toString());
        assertEquals(TOKENS, r.positions().size());
        assertTrue(r.tvDistance() > 0 && r.tvDistance() < 1, r.toString());
    }

    @Test
    void theExactDistributionIsADistribution() {
        double[] p = exact(Sampling.temperature(1.0));
        double sum = 0;
        for (double x : p) {
            sum += x;
        }
        assertEquals(1.0, sum, 1e-5);
    }

    record Fit(ChiSquare test, double tau, long impossible) {}

    static Fit fit(SpeculativeDecoder decoder) {
        double[] tau = new double[1];
        Map<List<Integer>, Long> counts = new ExactnessCheck(TRIALS, TOKENS).speculative(decoder, PROMPT, tau);
        double[] p = exact(decoder.decoding().sampling());
        long[] observed = new long[p.length];
        long impossible = 0;
        for (var e : counts.entrySet()) {
            int index = 0;
            for (int token : e.getKey()) {
                index = index * VOCAB + token;
            }
            observed[index] += e.getValue();
            impossible += p[index] == 0 ? e.getValue() : 0;
        }
        return new Fit(ChiSquare.goodnessOfFit(observed, p), tau[0], impossible);
    }

    /** P(c₁ c₂ c₃) under plain sampling, index c₁·V² + c₂·V + c₃: every prefix scored with a full forward. */
    static double[] exact(Sampling sampling) {
        double[] prob = {1.0};
        for (int t = 0; t < TOKENS; t++) {
            int rows = prob.length; // every prefix of t tokens
            int len = PROMPT.length + t;
            long[] ids = new long[rows * len];
            for (int r = 0; r < rows; r++) {
                System.arraycopy(java.util.Arrays.stream(PROMPT).asLongStream().toArray(), 0, ids, r * len, PROMPT.length);
                for (int i = t - 1, code = r; i >= 0; i--, code /= VOCAB) {
                    ids[r * len + PROMPT.length + i] = code % VOCAB;
                }
            }
            float[] p;
            try (NDManager m = target.manager().newSubManager()) {
                NDArray logits = target.forward(m.create(ids).reshape(rows, len), new int[0], LlamaModel.Logits.LAST)
                        .logits().reshape(rows, VOCAB);
                p = sampling.probabilities(logits).toFloatArray();
            }
            double[] next = new double[rows * VOCAB];
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < VOCAB; c++) {
                    next[r * VOCAB + c] = prob[r] * p[r * VOCAB + c];
                }
            }
            prob = next;
        }
        return prob;
    }
}
