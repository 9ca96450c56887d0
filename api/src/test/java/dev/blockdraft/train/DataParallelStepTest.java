package dev.blockdraft.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import dev.blockdraft.draft.BlockBatch;
import dev.blockdraft.draft.Drafter;
import dev.blockdraft.draft.DrafterConfig;
import dev.blockdraft.lm.LlamaModel;
import dev.blockdraft.train.objective.Objective;
import dev.blockdraft.train.objective.Objectives;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Data-parallel drafter steps on replicas that share {@code Device.cpu()} (fp32, tiny random target
 * and drafter): two replicas over four micro-batches give what one device gives over the same four
 * (exact accumulation, {@link DrafterStep#run}) — loss, terms, every gradient element, the grad norm,
 * every weight after two AdamW steps, and the objective's state — for objectives with statistics
 * (paper, positional) and without (uniform). The micro-batches carry 1 to 4 blocks per sequence, so
 * the replicas' normalisers differ: averaging the replicas' gradients (or their losses), or advancing
 * the objective per replica, fails these comparisons by orders of magnitude beyond the tolerance.
 */
class DataParallelStepTest {
    static final List<String> OBJECTIVES = List.of("uniform", "paper", "positional");
    static final List<Device> TWO_CPUS = List.of(Device.cpu(), Device.cpu());
    static final double LR = 1e-2;
    // Not bit-exact with two replicas: one device adds the micro-batches' gradients g0+g1+g2+g3 in turn
    // into .grad, two replicas (g0+g1)+(g2+g3) (with one micro-batch per replica the order is the same
    // and the result is bit for bit). Measured worst over the three objectives: 1.2e-7 (losses, terms,
    // grad norms, states), 3.8e-8 (gradient elements, relative to the largest); 1e-6 leaves ~8×, and
    // averaging or a per-replica advance is off by more than 1e-3.
    static final double TOLERANCE = 1e-6;
    // Weights after AdamW, in units of lr: its update lr·m/(√v+ε) turns rounding in a gradient element
    // far below ε into a fraction of lr (PooledStepTest compares no weights for this reason). Measured
    // 2.4e-5 lr (uniform); 1e-3 lr leaves 40×.
    static final double WEIGHT_TOLERANCE = 1e-3;

    @TempDir
    Path dir;

    private final Fixture fixture = new Fixture();

    /** PooledStepTest's tiny target, drafter and micro-batches: sequences with 1 to 4 blocks, one cut short. */
    static final class Fixture {
        static final int BLOCK = 4;
        final RegeneratedData data = TrainingResumeTest.syntheticData();
        final BlockSampler sampler = new BlockSampler(BLOCK, 4, 64, 29, 28);
        final DrafterConfig dc = DrafterConfig.forTarget(TrainingResumeTest.TARGET, "t", BLOCK, 29, Device.cpu());
        final TrainConfig opt = new TrainConfig(4, 2, 64, 4, LR, 0, 1.0, 0.0, 1.0, 0, 1, 0, 5);

        /** Sequences from..from+Σsplit−1, blocks as in PooledStepTest (shifted per step), cut into micro-batches of {@code split}. */
        List<BlockBatch> microBatches(int from, int[] split, int shift) {
            List<BlockBatch> out = new ArrayList<>();
            for (int s : split) {
                List<RegeneratedData.Sequence> seqs = data.train().subList(from, from + s);
                out.add(sampler.at(seqs, PooledStepTest.anchors(seqs, from, shift)));
                from += s;
            }
            return out;
        }

        List<BlockBatch> microBatches(int[] split, int shift) {
            return microBatches(0, split, shift);
        }
    }

    /** One device or several over the same micro-batches: step-1 gradients (no update), then two AdamW steps. */
    record Run(DrafterStep.Gradients first, Map<String, double[]> stateAfterFirst, List<DrafterStep.Result> steps,
            List<Map<String, double[]>> states, Map<String, float[]> weights) {}

    @Test
    void twoReplicasOnTheCpuStepAsOneDeviceOverTheSameMicroBatches() {
        try (LlamaModel t = LlamaModel.initialize(TrainingResumeTest.TARGET, Device.cpu(), 1)) {
            for (String spec : OBJECTIVES) {
                Run one = run(t, Objectives.parse(spec), List.of(Device.cpu()), new int[] {2, 2, 2, 2});
                Run two = run(t, Objectives.parse(spec), TWO_CPUS, new int[] {2, 2, 2, 2});
                double[] d = discrepancy(one, two);
                System.out.printf("data parallel, %s: largest relative difference %.2e, weights %.2e lr%n", spec, d[0], d[1]);
                assertTrue(d[0] <= TOLERANCE, spec + ": relative difference " + d[0]);
                assertTrue(d[1] <= WEIGHT_TOLERANCE, spec + ": weights differ by " + d[1] + " lr");
                // the comparison has teeth: the mean of the replicas' own losses (averaging) is not the step's loss
                double averaged = (loss(t, Objectives.parse(spec), 0) + loss(t, Objectives.parse(spec), 4)) / 2;
                assertTrue(PooledStepTest.relative(one.first().loss(), averaged) > 1e-3, spec + ": averaging " + averaged
                        + " vs pooled " + one.first().loss() + ", the halves' normalisers do not differ");
            }
        }
    }

    /** Four replicas, one micro-batch each, and a split with unequal blocks per replica. */
    @Test
    void fourReplicasOfOneMicroBatchEach() {
        try (LlamaModel t = LlamaModel.initialize(TrainingResumeTest.TARGET, Device.cpu(), 1)) {
            Objective paper = Objectives.paper();
            Run one = run(t, paper, List.of(Device.cpu()), new int[] {2, 2, 2, 2});
            Run four = run(t, Objectives.paper(), List.of(Device.cpu(), Device.cpu(), Device.cpu(), Device.cpu()),
                    new int[] {2, 2, 2, 2});
            double[] d = discrepancy(one, four);
            System.out.printf("data parallel, 4 replicas: largest relative difference %.2e, weights %.2e lr%n", d[0], d[1]);
            assertTrue(d[0] <= TOLERANCE, "relative difference " + d[0]);
            assertTrue(d[1] <= WEIGHT_TOLERANCE, "weights differ by " + d[1] + " lr");
        }
    }

    /** The threads' timing does not reach the result: reductions run after them, in replica order. */
    @Test
    void repeatedRunsAreBitForBit() {
        try (LlamaModel t = LlamaModel.initialize(TrainingResumeTest.TARGET, Device.cpu(), 1)) {
            Run a = run(t, Objectives.paper(), TWO_CPUS, new int[] {2, 2, 2, 2});
            Run b = run(t, Objectives.paper(), TWO_CPUS, new int[] {2, 2, 2, 2});
            assertArrayEquals(new double[] {0, 0}, discrepancy(a, b));
            a.weights().forEach((name, w) -> assertArrayEquals(w, b.weights().get(name), 0f, name));
        }
    }

    /** fp16 (each replica's own fp16 working copies, one loss scale, one skip decision): to fp16 accuracy. */
    @Test
    void fp16DataParallelStepMatchesOneDevice() {
        try (LlamaModel t = LlamaModel.initialize(TrainingResumeTest.TARGET, Device.cpu(), 1)) {
            DrafterStep.Result one = fp16Step(t, List.of(Device.cpu()));
            DrafterStep.Result two = fp16Step(t, TWO_CPUS);
            // fp16 gradients: one device accumulates four micro-batches in fp16, two replicas two each, summed in fp32
            assertEquals(one.loss(), two.loss(), 1e-4 * one.loss());
            assertEquals(one.gradNorm(), two.gradNorm(), 1e-3 * one.gradNorm());
            assertEquals(one.skipped(), two.skipped());
        }
    }

    private DrafterStep.Result fp16Step(LlamaModel t, List<Device> devices) {
        try (Drafter d = Drafter.initialize(fixture.dc, t, 2);
                DrafterStep step = new DrafterStep(d, Objectives.paper(), fixture.opt, Precision.FP16, true, devices)) {
            return step.run(fixture.microBatches(new int[] {2, 2, 2, 2}, 0), LR, DrafterStep.PhaseMarks.NONE);
        }
    }

    @Test
    void microBatchesMustShareOutEvenlyAndTheObjectiveMustPool() {
        try (LlamaModel t = LlamaModel.initialize(TrainingResumeTest.TARGET, Device.cpu(), 1);
                Drafter d = Drafter.initialize(fixture.dc, t, 2);
                DrafterStep step = new DrafterStep(d, Objectives.uniform(), fixture.opt, Precision.FP32, false, TWO_CPUS)) {
            var e = assertThrows(IllegalArgumentException.class,
                    () -> step.run(fixture.microBatches(new int[] {4, 2, 2}, 0), LR, DrafterStep.PhaseMarks.NONE));
            assertTrue(e.getMessage().contains("3 micro-batches cannot be split evenly over 2 devices"), e.getMessage());
            var trainer = new DrafterTrainer(DraftTrainConfig.tinyCpu().withOptimizer(fixture.opt.withGradAccum(3)),
                    Objectives.uniform(), List.of()).withDevices(TWO_CPUS);
            e = assertThrows(IllegalArgumentException.class,
                    () -> trainer.train(d, TrainingResumeTest.syntheticData(), 28, null, null));
            assertTrue(e.getMessage().contains("gradAccum=3") && e.getMessage().contains("multiple of 2"), e.getMessage());
        }
    }

    /** A data-parallel run is killed and resumed: the replicas are rebuilt from the restored masters. */
    @Test
    void dataParallelTrainingResumesBitForBitAndMatchesOneDevice() {
        RegeneratedData data = TrainingResumeTest.syntheticData();
        DraftTrainConfig config = new DraftTrainConfig(new TrainConfig(6, 2, 64, 2, 1e-2, 2, 0.1, 0.0, 1.0, 0, 1, 3, 5), 4, 2);
        try (LlamaModel t = LlamaModel.initialize(TrainingResumeTest.TARGET, Device.cpu(), 1)) {
            Map<String, float[]> oneDevice, uninterrupted;
            TrainingRun single, parallel;
            try (Drafter d = Drafter.initialize(fixture.dc, t, 2)) {
                single = new DrafterTrainer(config, Objectives.paper(), List.of()).train(d, data, 28, null, null);
                oneDevice = weights(d);
            }
            try (Drafter d = Drafter.initialize(fixture.dc, t, 2)) {
                parallel = new DrafterTrainer(config, Objectives.paper(), List.of()).withDevices(TWO_CPUS)
                        .train(d, data, 28, dir.resolve("a"), null);
                uninterrupted = weights(d);
            }
            assertEquals("cpu,cpu", parallel.settings().get("devices"));
            for (int i = 0; i < single.steps().size(); i++) {
                assertEquals(single.steps().get(i).loss(), parallel.steps().get(i).loss(),
                        1e-5 * single.steps().get(i).loss(), "loss at step " + (i + 1));
            }
            double worst = 0;
            for (Map.Entry<String, float[]> e : oneDevice.entrySet()) {
                float[] w = e.getValue(), g = uninterrupted.get(e.getKey());
                for (int i = 0; i < w.length; i++) {
                    worst = Math.max(worst, Math.abs(w[i] - g[i]) / config.optimizer().learningRate());
                }
            }
            System.out.printf("data parallel, 6 trained steps: largest weight difference %.2e lr%n", worst);
            assertTrue(worst < 1e-3, "weights after 6 steps differ by " + worst + " lr");
            try (Drafter d = Drafter.initialize(fixture.dc, t, 2)) {
                assertThrows(IllegalStateException.class, () -> new DrafterTrainer(config, Objectives.paper(),
                        List.of(new TrainingResumeTest.Crash(4))).withDevices(TWO_CPUS).train(d, data, 28, dir.resolve("b"), null));
            }
            try (Drafter d = Drafter.initialize(fixture.dc, t, 77)) { // different init: the checkpoint's masters win
                new DrafterTrainer(config, Objectives.paper(), List.of()).withDevices(TWO_CPUS)
                        .train(d, data, 28, dir.resolve("b"), null);
                Map<String, float[]> resumed = weights(d);
                uninterrupted.forEach((name, w) -> assertArrayEquals(w, resumed.get(name), 0f, name));
            }
        }
    }

    /** One device's step-1 loss over 4 sequences from {@code from} (2 micro-batches): one replica's own loss. */
    private double loss(LlamaModel t, Objective objective, int from) {
        try (Drafter d = Drafter.initialize(fixture.dc, t, 2);
                DrafterStep step = new DrafterStep(d, objective, fixture.opt, Precision.FP32, false)) {
            return step.gradients(fixture.microBatches(from, new int[] {2, 2}, 0)).loss();
        }
    }

    private static Map<String, float[]> weights(Drafter d) {
        Map<String, float[]> out = new LinkedHashMap<>();
        d.parameters().asMap().forEach((name, w) -> out.put(name, w.toFloatArray()));
        return out;
    }

    private Run run(LlamaModel t, Objective objective, List<Device> devices, int[] split) {
        try (Drafter d = Drafter.initialize(fixture.dc, t, 2);
                DrafterStep step = new DrafterStep(d, objective, fixture.opt, Precision.FP32, false, devices)) {
            List<BlockBatch> micro = fixture.microBatches(split, 0);
            DrafterStep.Gradients first = step.gradients(micro);
            Map<String, double[]> stateAfterFirst = objective.state();
            List<DrafterStep.Result> steps = new ArrayList<>();
            List<Map<String, double[]>> states = new ArrayList<>();
            for (int s = 1; s <= 2; s++) {
                steps.add(step.run(fixture.microBatches(split, s), LR, DrafterStep.PhaseMarks.NONE));
                states.add(objective.state());
            }
            return new Run(first, stateAfterFirst, steps, states, weights(d));
        }
    }

    /**
     * Largest relative differences: {losses, terms, grad norms, every gradient element, the states;
     * every weight after the steps, in units of lr}.
     */
    static double[] discrepancy(Run want, Run got) {
        double d = PooledStepTest.relative(want.first().loss(), got.first().loss());
        assertEquals(want.first().terms().keySet(), got.first().terms().keySet());
        for (Map.Entry<String, Double> e : want.first().terms().entrySet()) {
            d = Math.max(d, PooledStepTest.relative(e.getValue(), got.first().terms().get(e.getKey())));
        }
        for (int s = 0; s < want.steps().size(); s++) {
            DrafterStep.Result w = want.steps().get(s), g = got.steps().get(s);
            d = Math.max(d, PooledStepTest.relative(w.loss(), g.loss()));
            d = Math.max(d, PooledStepTest.relative(w.gradNorm(), g.gradNorm()));
            assertEquals(w.skipped(), g.skipped());
            assertEquals(w.terms().keySet(), g.terms().keySet());
            for (Map.Entry<String, Double> e : w.terms().entrySet()) {
                d = Math.max(d, PooledStepTest.relative(e.getValue(), g.terms().get(e.getKey())));
            }
            d = Math.max(d, PooledStepTest.stateDifference(want.states().get(s), got.states().get(s)));
        }
        d = Math.max(d, PooledStepTest.gradientDifference(want.first(), got.first()));
        d = Math.max(d, PooledStepTest.stateDifference(want.stateAfterFirst(), got.stateAfterFirst()));
        assertEquals(want.weights().keySet(), got.weights().keySet());
        double dw = 0;
        for (Map.Entry<String, float[]> e : want.weights().entrySet()) {
            float[] w = e.getValue(), g = got.weights().get(e.getKey());
            for (int i = 0; i < w.length; i++) {
                dw = Math.max(dw, Math.abs(w[i] - g[i]) / LR);
            }
        }
        return new double[] {d, dw};
    }
}
