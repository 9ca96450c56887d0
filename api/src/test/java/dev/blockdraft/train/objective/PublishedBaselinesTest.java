package dev.blockdraft.train.objective;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.blockdraft.train.objective.PositionalWeighting.Schedule.DFlashDecay;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The baseline presets against the formulas their authors published, at B = 8 and B = 16, each
 * computed here in plain Java from the fixture's logits.
 */
class PublishedBaselinesTest {

    /** Valid slots per block: full blocks, and blocks cut short by the end of a response. */
    private static int[] valid(int k) {
        return new int[] {k, k, k - 1, k / 2, 1, k};
    }

    @ParameterizedTest
    @ValueSource(ints = {8, 16})
    void dflashTakesGammaFromTheBlockSize(int blockSize) {
        double gamma = blockSize == 8 ? 4 : 7; // DFlash / SpecForge: 4 at B=8, 7 at B=16
        assertEquals(gamma, DFlashDecay.gammaFor(blockSize), 0);
        int k = blockSize - 1;
        Fixture f = Fixture.random(blockSize, 6, k, 5, valid(k), 0.7);
        double[] w = new double[k];
        for (int slot = 1; slot <= k; slot++) { // exp(-(k-1)/γ), slot 1 weighs 1
            w[slot - 1] = Math.exp(-(slot - 1) / gamma);
        }
        // weighted mean over valid slots: Σ w·CE / Σ w, as DFlash's loss_decay_gamma path
        assertEquals(f.positional(f.logits, w), ObjectiveValuesTest.eval(Objectives.dflash(), f).total(), 1e-5);
        assertEquals(f.positional(f.logits, w), ObjectiveValuesTest.eval(Objectives.parse("dflash"), f).total(), 1e-5);
        assertEquals(5.0, DFlashDecay.gammaFor(10), 0);
    }

    @ParameterizedTest
    @ValueSource(ints = {8, 16})
    void dpaceIsThePublishedFullVariantOverTheBatchSize(int blockSize) {
        int k = blockSize - 1;
        Fixture f = Fixture.random(100 + blockSize, 6, k, 5, valid(k), 0.6);
        int sequences = 2; // the six blocks were cut from two sequences
        double a = 0.5;
        // D-PACE: s = (1-a)q + a, P = cumprod(s), w_k = Σ_{m≥k} P_m over valid slots, L = Σ w·CE / batch size
        double[][] w = f.dpaceWeights(f.logits, a);
        double sum = 0;
        int slots = 0;
        for (int i = 0; i < f.n; i++) {
            for (int j = 0; j < f.valid[i]; j++) {
                sum += w[i][j] * f.ce(f.logits, i, j);
                slots++;
            }
        }
        try (NDManager m = NDManager.newBaseManager()) {
            DraftBatch batch = f.batch(m).withSequences(sequences);
            var logits = f.logits(m, DataType.FLOAT32);
            assertEquals(sum / sequences, Objectives.dpace().loss(batch, logits).total().getFloat(), 1e-4);
            assertEquals(sum / sequences, Objectives.parse("dpace").loss(batch, logits).total().getFloat(), 1e-4);
            assertEquals(sum / slots, Objectives.parse("dpace:norm=slots").loss(batch, logits).total().getFloat(), 1e-5);
            assertEquals(f.dpace(f.logits, a), Objectives.parse("dpace:norm=weights").loss(batch, logits).total().getFloat(),
                    1e-5);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {8, 16})
    void positionalWeighsSlotsByTheHardGreedyReach(int blockSize) {
        int k = blockSize - 1;
        double mu = 0.9;
        Objective positional = Objectives.positional();
        double[] est = new double[k];
        java.util.Arrays.fill(est, 1.0);
        for (int batchNo = 0; batchNo < 3; batchNo++) {
            Fixture f = Fixture.random(1000L * blockSize + batchNo, 6, k, 4, valid(k), 0.8);
            // r_{n,k} = Π_{j<k} [argmax q_j = y_j]; the EMA of its mean over blocks where slot k is valid
            for (int slot = 0; slot < k; slot++) {
                double reached = 0;
                int count = 0;
                for (int i = 0; i < f.n; i++) {
                    if (!f.isValid(i, slot)) {
                        continue;
                    }
                    boolean all = true;
                    for (int j = 0; j < slot; j++) {
                        all &= f.right(f.logits, i, j);
                    }
                    reached += all ? 1 : 0;
                    count++;
                }
                est[slot] = mu * est[slot] + (1 - mu) * reached / count;
            }
            double got = ObjectiveValuesTest.eval(positional, f).total();
            assertEquals(f.positional(f.logits, est), got, 1e-5, "batch " + batchNo);
            assertArrayEquals(est, positional.state().get("hard_reach_estimate"), 1e-9);
        }
        // a right-but-unsure drafter: the soft product starves late slots, the hard reach does not
        Fixture sure = Fixture.random(7, 6, k, 64, new int[] {k, k, k, k, k, k}, 1.0); // every argmax right, q small
        Objective hard = Objectives.parse("positional:momentum=0");
        Objective soft = Objectives.parse("positional:momentum=0,reach=soft");
        ObjectiveValuesTest.eval(hard, sure);
        ObjectiveValuesTest.eval(soft, sure);
        double[] hardWeights = hard.state().get("hard_reach_estimate");
        double lastSoft = 1;
        for (double a : soft.state().get("reach_estimate")) {
            lastSoft *= a;
        }
        assertEquals(1.0, hardWeights[k - 1], 0);
        org.junit.jupiter.api.Assertions.assertTrue(lastSoft < 1e-3, "soft reach of the last slot " + lastSoft);
    }
}
