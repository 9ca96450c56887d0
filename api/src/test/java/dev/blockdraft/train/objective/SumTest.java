package dev.blockdraft.train.objective;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.blockdraft.train.objective.PositionalWeighting.Schedule;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SumTest {

    @Test
    void totalIsTheSumOfPartsAndTermsKeepEachPartsName() {
        Fixture f = Fixture.small().withRandomProbs(1);
        Objective[] parts = {new Uniform(), new PositionalWeighting(Schedule.exponential(7)), new FirstErrorFocal(2, 0.5),
            new ChainLoss(0.25), new DPace(0.85)};
        try (NDManager m = NDManager.newBaseManager()) {
            DraftBatch b = f.batch(m);
            NDArray logits = f.logits(m, DataType.FLOAT32);
            double expected = 0;
            for (Objective p : parts) {
                expected += p.loss(b, logits).total().getFloat();
            }
            ObjectiveValue v = Objective.sum(parts).loss(b, logits);
            assertEquals(expected, v.total().getFloat(), 1e-5);
            assertEquals(List.of("ce", "positional_ce", "first_error", "chain", "expected_tau", "dpace_ce"),
                    new ArrayList<>(v.terms().keySet()));
            // Terms are unweighted: α does not show in them.
            assertEquals(f.firstErrorFocal(f.logits, 2), v.term("first_error"), 1e-5);
            assertEquals(f.chain(f.logits), v.term("chain"), 1e-5);
            assertEquals(f.meanTau(f.logits), v.term("expected_tau"), 1e-5);
            assertEquals(f.uniform(f.logits), v.term("ce"), 1e-5);
        }
    }

    @Test
    void partsShareOneSlotStats() {
        List<SlotStats> seen = new ArrayList<>();
        Objective spy = new Objective() {
            @Override
            public ObjectiveValue loss(DraftBatch batch, NDArray logits) {
                throw new AssertionError("sum should pass its SlotStats");
            }

            @Override
            public ObjectiveValue loss(SlotStats stats) {
                seen.add(stats);
                return new ObjectiveValue(stats.logQ().sum(), Map.of(name(), 0.0));
            }

            @Override
            public String name() {
                return "spy";
            }
        };
        Fixture f = Fixture.small();
        try (NDManager m = NDManager.newBaseManager()) {
            Objective.sum(spy, new Uniform(), spy).loss(f.batch(m), f.logits(m, DataType.FLOAT32));
        }
        assertEquals(2, seen.size());
        assertSame(seen.get(0), seen.get(1));
    }

    @Test
    void externalObjectivesWorkThroughTheDefaultMethod() {
        Objective external = new Objective() {
            @Override
            public ObjectiveValue loss(DraftBatch batch, NDArray logits) {
                return new ObjectiveValue(logits.sum().mul(0), Map.of("zero", 0.0));
            }

            @Override
            public String name() {
                return "zero";
            }
        };
        Fixture f = Fixture.small();
        try (NDManager m = NDManager.newBaseManager()) {
            ObjectiveValue v = Objective.sum(new Uniform(), external, new Uniform()).loss(f.batch(m), f.logits(m, DataType.FLOAT32));
            assertEquals(2 * f.uniform(f.logits), v.total().getFloat(), 1e-5);
            assertEquals(List.of("ce", "zero", "ce_2"), new ArrayList<>(v.terms().keySet()));
        }
    }

    @Test
    void nestedSumsFlattenAndNameJoin() {
        Objective s = Objective.sum(Objective.sum(new Uniform(), new ChainLoss(0.5)), new FirstErrorFocal(2, 0.5));
        assertEquals("Uniform() + ChainLoss(alpha=0.5) + FirstErrorFocal(gamma=2.0, alpha=0.5)", s.toString());
        assertEquals("ce+chain+first_error", s.name());
        assertEquals("Uniform()", Objective.sum(new Uniform()).toString());
        assertThrows(IllegalArgumentException.class, () -> Objective.sum());
    }
}
