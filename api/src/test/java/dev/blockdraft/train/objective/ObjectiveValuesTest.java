package dev.blockdraft.train.objective;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.GradientCollector;
import dev.blockdraft.train.objective.PositionalWeighting.Schedule;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Each objective's value on the hand-made fixture (float32) against the plain-Java reference. */
class ObjectiveValuesTest {
    private static final double TOL = 1e-5;

    /** A host copy of an evaluation (the arrays die with the manager). */
    record Result(double total, Map<String, Double> terms) {
        double term(String name) {
            assertTrue(terms.containsKey(name), name + " not in " + terms.keySet());
            return terms.get(name);
        }
    }

    static Result eval(Objective o, Fixture f) {
        try (NDManager m = NDManager.newBaseManager()) {
            ObjectiveValue v = o.loss(f.batch(m), f.logits(m, DataType.FLOAT32));
            assertEquals(DataType.FLOAT32, v.total().getDataType());
            return new Result(v.total().getFloat(), v.terms());
        }
    }

    private static double total(Result r) {
        return r.total();
    }

    @Test
    void uniform() {
        Fixture f = Fixture.small();
        Result v = eval(new Uniform(), f);
        double expected = f.uniform(f.logits);
        assertEquals(expected, total(v), TOL);
        assertEquals(expected, v.term("ce"), TOL);
    }

    @Test
    void positionalExponentialAndLinear() {
        Fixture f = Fixture.small();
        double g = 1.5;
        double[] wExp = {1, Math.exp(-1 / g), Math.exp(-2 / g)};
        double expected = f.positional(f.logits, wExp);
        Result v = eval(new PositionalWeighting(Schedule.exponential(g)), f);
        assertEquals(expected, total(v), TOL);
        assertEquals(expected, v.term("positional_ce"), TOL);
        assertNotEquals(f.uniform(f.logits), expected, 1e-3); // the weights matter on this fixture

        double[] wLin = {1, 2 / 3.0, 1 / 3.0};
        assertEquals(f.positional(f.logits, wLin), total(eval(new PositionalWeighting(Schedule.linear()), f)), TOL);
    }

    @Test
    void firstErrorFocalOnlyCountsFirstErrorsOfBlocksThatHaveOne() {
        Fixture f = Fixture.small();
        // By hand: block 0 errs first at slot 2, block 1 has no error, block 2 errs at slot 1.
        double q01 = f.q(f.logits, 0, 1), q20 = f.q(f.logits, 2, 0);
        double byHand = (Math.pow(1 - q01, 2) * -Math.log(q01) + Math.pow(1 - q20, 2) * -Math.log(q20)) / 2;
        assertEquals(byHand, f.firstErrorFocal(f.logits, 2), 1e-12);

        Result v = eval(new FirstErrorFocal(2, 0.3), f);
        assertEquals(0.3 * byHand, total(v), TOL);
        assertEquals(byHand, v.term("first_error"), TOL);

        Result v0 = eval(new FirstErrorFocal(0, 1), f);
        assertEquals(f.firstErrorFocal(f.logits, 0), total(v0), TOL);
    }

    @Test
    void firstErrorFocalIsAConnectedZeroWithoutErrors() {
        // Every valid slot right: labels = argmax.
        Fixture base = Fixture.small();
        long[][] y = {{2, 0, 3}, {0, 3, -100}, {2, -1, 7}};
        Fixture f = new Fixture(y, base.valid, base.logits, base.v);
        for (int i = 0; i < f.n; i++) {
            assertEquals(-1, f.firstError(f.logits, i));
        }
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray logits = f.logits(m, DataType.FLOAT32);
            logits.setRequiresGradient(true);
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                ObjectiveValue v = Objective.sum(new Uniform(), new FirstErrorFocal(2, 0.5)).loss(f.batch(m), logits);
                assertEquals(0.0, v.term("first_error"), 0);
                assertEquals(f.uniform(f.logits), v.total().getFloat(), TOL);
                gc.backward(v.total());
            }
            for (float g : logits.getGradient().toFloatArray()) {
                assertTrue(Float.isFinite(g));
            }
        }
    }

    @Test
    void chainLossAndExpectedTau() {
        Fixture f = Fixture.small();
        // By hand: E[τ] per block from products of q(y) over its valid slots.
        double[] a0 = {f.q(f.logits, 0, 0), f.q(f.logits, 0, 1), f.q(f.logits, 0, 2)};
        double[] a1 = {f.q(f.logits, 1, 0), f.q(f.logits, 1, 1)};
        double a2 = f.q(f.logits, 2, 0);
        double tau = ((a0[0] + a0[0] * a0[1] + a0[0] * a0[1] * a0[2]) + (a1[0] + a1[0] * a1[1]) + a2) / 3;
        assertEquals(tau, f.meanTau(f.logits), 1e-12);

        Result v = eval(new ChainLoss(0.7), f);
        assertEquals(-0.7 * tau / 3, total(v), TOL);
        assertEquals(-tau / 3, v.term("chain"), TOL);
        assertEquals(tau, v.term("expected_tau"), TOL);
    }

    @Test
    void chainLossWithTargetDistributionsUsesOverlap() {
        Fixture f = Fixture.small().withRandomProbs(11);
        Result v = eval(new ChainLoss(1), f);
        assertEquals(f.chain(f.logits), total(v), TOL);
        assertEquals(f.meanTau(f.logits), v.term("expected_tau"), TOL);
        Fixture greedy = Fixture.small();
        assertNotEquals(greedy.chain(greedy.logits), f.chain(f.logits), 1e-3);
    }

    @Test
    void dpace() {
        Fixture f = Fixture.small();
        for (double c : new double[] {0, 0.5, 0.85, 1}) {
            Result v = eval(new DPace(c, DPace.Normalization.WEIGHTS), f);
            assertEquals(f.dpace(f.logits, c), total(v), TOL, "c=" + c);
            assertEquals(f.dpace(f.logits, c), v.term("dpace_ce"), TOL, "c=" + c);
        }
        // c = 1: w_k = number of valid slots ≥ k, i.e. block 0 → (3, 2, 1), block 1 → (2, 1), block 2 → (1).
        double[][] w = {{3, 2, 1}, {2, 1, 0}, {1, 0, 0}};
        assertEquals(f.weighted(f.logits, w), total(eval(new DPace(1, DPace.Normalization.WEIGHTS), f)), TOL);
    }

    @Test
    void allSlotsInvalidGivesZeroAndFiniteGradients() {
        Fixture base = Fixture.small();
        Fixture f = new Fixture(base.labels, new int[] {0, 0, 0}, base.logits, base.v);
        Objective all = Objective.sum(new Uniform(), new PositionalWeighting(Schedule.exponential(7)),
                new FirstErrorFocal(2, 1), new ChainLoss(1), new DPace(0.5, DPace.Normalization.WEIGHTS),
                new PositionalWeighting(Schedule.reachProbability(0.9)));
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray logits = f.logits(m, DataType.FLOAT32);
            logits.setRequiresGradient(true);
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                ObjectiveValue v = all.loss(f.batch(m), logits);
                assertEquals(0f, v.total().getFloat());
                v.terms().forEach((k, x) -> assertEquals(0.0, x, 0, k));
                gc.backward(v.total());
            }
            for (float g : logits.getGradient().toFloatArray()) {
                assertEquals(0f, g);
            }
        }
    }
}
