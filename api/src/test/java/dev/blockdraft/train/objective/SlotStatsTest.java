package dev.blockdraft.train.objective;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

class SlotStatsTest {

    @Test
    void perSlotStatisticsMatchReferenceWithMasking() {
        Fixture f = Fixture.small();
        try (NDManager m = NDManager.newBaseManager()) {
            SlotStats s = SlotStats.of(f.batch(m), f.logits(m, DataType.FLOAT32));
            float[] logQ = s.logQ().toFloatArray();
            float[] ce = s.ce().toFloatArray();
            float[] acc = s.acceptance().toFloatArray();
            boolean[] correct = s.correct().toBooleanArray();
            float[] fe = s.firstError().toFloatArray();
            for (int i = 0; i < f.n; i++) {
                for (int j = 0; j < f.k; j++) {
                    int at = i * f.k + j;
                    String where = "block " + i + " slot " + (j + 1);
                    if (f.isValid(i, j)) {
                        assertEquals(Math.log(f.q(f.logits, i, j)), logQ[at], 1e-5, where);
                        assertEquals(f.ce(f.logits, i, j), ce[at], 1e-5, where);
                        assertEquals(f.q(f.logits, i, j), acc[at], 1e-5, where);
                        assertEquals(f.right(f.logits, i, j), correct[at], where);
                    } else {
                        assertEquals(0f, logQ[at], 0f, where); // ±0
                        assertEquals(0f, ce[at], 0f, where);
                        assertEquals(0f, acc[at], 0f, where);
                        assertEquals(false, correct[at], where);
                    }
                    assertEquals(f.firstError(f.logits, i) == j ? 1f : 0f, fe[at], where);
                }
            }
            // The fixture is what its Javadoc says it is.
            assertArrayEquals(new boolean[] {true, false, false, true, true, false, false, false, false}, correct);
            assertArrayEquals(new float[] {0, 1, 0, 0, 0, 0, 1, 0, 0}, fe);
            assertEquals(3.0, s.validBlocks().getFloat(), 0);
            assertEquals(6.0, s.validSlots().getFloat(), 0);
        }
    }

    @Test
    void statisticsAreComputedOnceAndLiveInTheLogitsManager() {
        Fixture f = Fixture.small();
        try (NDManager m = NDManager.newBaseManager(); NDManager step = m.newSubManager()) {
            NDArray logits = f.logits(step, DataType.FLOAT32);
            SlotStats s = SlotStats.of(f.batch(step), logits);
            assertSame(s.logProbs(), s.logProbs());
            assertSame(s.logQ(), s.logQ());
            assertSame(s.logAcceptance(), s.logAcceptance());
            assertSame(s.firstError(), s.firstError());
            assertSame(step, s.ce().getManager());
            assertSame(step, s.logAcceptance().getManager());
            // getManagedArrays() includes sub-managers' arrays; the difference is m's own.
            int before = m.getManagedArrays().size() - step.getManagedArrays().size();
            Objective.sum(new PositionalWeighting(PositionalWeighting.Schedule.reachProbability(0.9)),
                    new FirstErrorFocal(2, 0.5), new ChainLoss(0.5)).loss(s);
            new DPace(0.5).loss(s);
            assertEquals(before, m.getManagedArrays().size() - step.getManagedArrays().size(),
                    "loss code created arrays in the parent manager");
            assertTrue(step.getManagedArrays().size() > 10);
        }
    }

    @Test
    void overlapAcceptanceWithTargetDistributions() {
        Fixture f = Fixture.small().withRandomProbs(3);
        try (NDManager m = NDManager.newBaseManager()) {
            SlotStats s = SlotStats.of(f.batch(m), f.logits(m, DataType.FLOAT32));
            float[] acc = s.acceptance().toFloatArray();
            float[] logA = s.logAcceptance().toFloatArray();
            for (int i = 0; i < f.n; i++) {
                for (int j = 0; j < f.k; j++) {
                    int at = i * f.k + j;
                    double expected = f.isValid(i, j) ? f.acceptance(f.logits, i, j) : 0;
                    assertEquals(expected, acc[at], 1e-5, "block " + i + " slot " + (j + 1));
                    assertEquals(f.isValid(i, j) ? Math.log(expected) : 0, logA[at], 1e-5);
                    // Σ min(p, q) differs from q(y) here, so the test can tell them apart.
                    if (f.isValid(i, j)) {
                        assertTrue(Math.abs(expected - f.q(f.logits, i, j)) > 1e-3);
                    }
                }
            }
        }
    }

    @Test
    void overlapAcceptanceIsOneWhenDistributionsAgree() {
        Fixture f = Fixture.small();
        f.probs = new double[f.logits.length];
        for (int i = 0; i < f.n; i++) {
            for (int j = 0; j < f.k; j++) {
                System.arraycopy(f.softmax(f.logits, i, j), 0, f.probs, (i * f.k + j) * f.v, f.v);
            }
        }
        try (NDManager m = NDManager.newBaseManager()) {
            float[] acc = SlotStats.of(f.batch(m), f.logits(m, DataType.FLOAT32)).acceptance().toFloatArray();
            assertArrayEquals(new float[] {1, 1, 1, 1, 1, 0, 1, 0, 0}, acc, 1e-5f);
        }
    }

    @Test
    void shapeAndTypeErrorsNameTheProblem() {
        Fixture f = Fixture.small();
        try (NDManager m = NDManager.newBaseManager()) {
            DraftBatch b = f.batch(m);
            assertEquals(3, b.blocks());
            assertEquals(3, b.slots());
            NDArray wrongK = m.zeros(new Shape(3, 2, 4));
            assertTrue(assertThrows(IllegalArgumentException.class, () -> SlotStats.of(b, wrongK))
                    .getMessage().contains("(3, 3, V)"));
            NDArray ints = m.zeros(new Shape(3, 3, 4), DataType.INT32);
            assertThrows(IllegalArgumentException.class, () -> SlotStats.of(b, ints));
            assertThrows(IllegalArgumentException.class, () -> b.withTargetProbs(m.zeros(new Shape(3, 2, 4))));
            assertThrows(IllegalArgumentException.class,
                    () -> SlotStats.of(b.withTargetProbs(m.zeros(new Shape(3, 3, 5))), f.logits(m, DataType.FLOAT32)));
            assertTrue(assertThrows(IllegalArgumentException.class,
                    () -> new DraftBatch(b.labels(), m.ones(new Shape(3, 3), DataType.FLOAT64)))
                    .getMessage().contains("slotMask must be float32"));
            assertTrue(assertThrows(IllegalArgumentException.class,
                    () -> new DraftBatch(b.labels().toType(DataType.INT32, false), b.slotMask()))
                    .getMessage().contains("labels must be int64"));
            assertThrows(IllegalArgumentException.class, () -> DraftBatch.of(m, new long[][] {{1, 2}}, new int[] {3}));
        }
    }
}
