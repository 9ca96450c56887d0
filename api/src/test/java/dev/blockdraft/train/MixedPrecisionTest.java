package dev.blockdraft.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.blockdraft.draft.Drafter;
import dev.blockdraft.draft.DrafterConfig;
import dev.blockdraft.lm.LlamaModel;
import dev.blockdraft.nn.Ops;
import dev.blockdraft.nn.StateDict;
import dev.blockdraft.train.objective.DraftBatch;
import dev.blockdraft.train.objective.Objectives;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * fp16 mixed-precision drafter training, checked on the CPU (libtorch computes fp16 there too,
 * slowly): the fp16 RMSNorm agrees with fp32 and keeps gradients, fp16 training follows fp32
 * training, and an overflowing step is skipped without touching the weights.
 */
class MixedPrecisionTest {

    @Test
    void halfRmsNormMatchesFp32WhereSquaresOverflowFp16AndKeepsTheGraph() {
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            SplittableRandom r = new SplittableRandom(1);
            float[] x = new float[4 * 64];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) (r.nextGaussian() * (i < 64 ? 900 : 1)); // row 0: |x|² far beyond fp16's 65504
            }
            float[] w = new float[64];
            for (int i = 0; i < w.length; i++) {
                w[i] = (float) (0.5 + r.nextDouble());
            }
            NDArray x32 = m.create(x, new Shape(4, 64));
            NDArray w32 = m.create(w);
            float[] want = Ops.rmsNorm(x32, w32, 1e-6).toFloatArray();
            NDArray x16 = x32.toType(DataType.FLOAT16, true);
            x16.setRequiresGradient(true);
            NDArray w16 = w32.toType(DataType.FLOAT16, true);
            w16.setRequiresGradient(true); // a trained weight: the in-graph path
            float[] frozen = Ops.rmsNorm(x16, w32.toType(DataType.FLOAT16, true), 1e-6).toType(DataType.FLOAT32, false)
                    .toFloatArray();
            for (int i = 0; i < want.length; i++) {
                assertEquals(want[i], frozen[i], 2e-3 * Math.max(1, Math.abs(want[i])), "frozen path, element " + i);
            }
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray y = Ops.rmsNorm(x16, w16, 1e-6);
                assertEquals(DataType.FLOAT16, y.getDataType());
                float[] got = y.toType(DataType.FLOAT32, false).toFloatArray();
                for (int i = 0; i < want.length; i++) {
                    assertEquals(want[i], got[i], 2e-3 * Math.max(1, Math.abs(want[i])), "element " + i);
                }
                gc.backward(y.sum());
            }
            float[] g = x16.getGradient().toType(DataType.FLOAT32, false).toFloatArray();
            double norm = 0;
            for (float v : g) {
                assertTrue(Float.isFinite(v));
                norm += v * v;
            }
            assertTrue(norm > 0, "gradients reach the fp16 input through the norm");
        }
    }

    /**
     * One backward pass in fp16 at a fixed loss scale against fp32, parameter by parameter: the
     * unscaled gradients agree to within 1% (seen: ≤ 0.2%). Adam would hide a wrong scale; this does not.
     */
    @Test
    void halfGradientsMatchFp32ParameterByParameter() {
        RegeneratedData data = TrainingResumeTest.syntheticData();
        DrafterConfig dc = DrafterConfig.forTarget(TrainingResumeTest.TARGET, "t", 4, 29, ai.djl.Device.cpu());
        BlockSampler sampler = new BlockSampler(4, 4, 64, 29, 28);
        double scale = 1024;
        try (LlamaModel t = LlamaModel.initialize(TrainingResumeTest.TARGET, Device.cpu(), 1);
                LlamaModel halfTarget = t.halfPrecisionCopy();
                Drafter d = Drafter.initialize(dc, t, 2)) {
            dev.blockdraft.draft.BlockBatch batch = sampler.sample(sampler.usable(data.train()), 3, new SplittableRandom(1));
            java.util.Map<String, float[]> g32 = new java.util.LinkedHashMap<>();
            try (NDManager scope = d.parameters().manager().newSubManager()) {
                d.parameters().requireGradients(true);
                dev.blockdraft.draft.BlockBatch.OnDevice dev = batch.toDevice(scope);
                try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    NDArray logits = d.slotLogits(t, dev);
                    gc.backward(Objectives.uniform().loss(new DraftBatch(dev.labels(), dev.slotMask()), logits).total());
                }
                d.parameters().asMap().forEach((k, v) -> g32.put(k, v.getGradient().toFloatArray()));
                d.parameters().requireGradients(false);
            }
            try (NDManager scope = d.parameters().manager().newSubManager()) {
                StateDict half = d.parameters().halfPrecisionCopy(scope);
                half.requireGradients(true);
                Drafter working = d.over(half, halfTarget);
                dev.blockdraft.draft.BlockBatch.OnDevice dev = batch.toDevice(scope, DataType.FLOAT16);
                try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    NDArray logits = working.slotLogits(halfTarget, dev)
                            .add(scope.zeros(new Shape(1), DataType.FLOAT32));
                    gc.backward(Objectives.uniform().loss(new DraftBatch(dev.labels(), dev.slotMask()), logits).total()
                            .mul(scale));
                }
                for (var e : half.asMap().entrySet()) {
                    float[] a = g32.get(e.getKey());
                    float[] b = e.getValue().getGradient().toType(DataType.FLOAT32, false).toFloatArray();
                    double diff = 0, norm = 0;
                    for (int i = 0; i < a.length; i++) {
                        double bi = b[i] / scale;
                        diff += (a[i] - bi) * (a[i] - bi);
                        norm += a[i] * a[i];
                    }
                    assertTrue(Math.sqrt(diff / norm) < 0.01, e.getKey() + ": relative difference " + Math.sqrt(diff / norm));
                }
            }
        }
    }

    @Test
    void fp16TrainingFollowsFp32AndKeepsFp32MasterWeights() {
        TrainingRun[] runs = fp32AndFp16DrafterRuns(Device.cpu());
        TrainingRun fp32 = runs[0], fp16 = runs[1];
        double first32 = fp32.steps().get(0).loss(), last32 = meanLoss(fp32, 55, 60);
        double first16 = fp16.steps().get(0).loss(), last16 = meanLoss(fp16, 55, 60);
        assertEquals(first32, first16, 0.01 * first32, "same initial loss in fp16");
        // seen: fp32 3.470 → 2.962, fp16 3.470 → 2.964 (validation CE 2.914 vs 2.916); once, in a fresh CI JVM,
        // fp16 → 3.051: 60 Adam steps at lr 1e-2 amplify fp16 rounding, so the trajectory check allows 5% and the
        // exact check is halfGradientsMatchFp32ParameterByParameter
        assertTrue(last16 < first16 - 0.25, "fp16 training learns: " + first16 + " → " + last16);
        assertEquals(last32, last16, 0.05 * last32, "fp16 ends where fp32 does (last-5-step mean loss)");
        assertEquals(fp32.lastEval("ce"), fp16.lastEval("ce"), 0.05 * fp32.lastEval("ce"), "validation CE");
        assertTrue(fp16.steps().stream().noneMatch(TrainingRun.Step::skipped), "no overflow at 2^16 here");
    }

    /**
     * The same 60-step drafter run in fp32 and in fp16 on {@code device} (same target, init, data and
     * seed); also checks that fp16 keeps fp32 master weights and updates them.
     */
    static TrainingRun[] fp32AndFp16DrafterRuns(Device device) {
        RegeneratedData data = TrainingResumeTest.syntheticData();
        DraftTrainConfig config = new DraftTrainConfig(new TrainConfig(60, 3, 64, 1, 1e-2, 3, 0.1, 0.0, 1.0, 0, 1, 0, 5), 4, 3);
        DrafterConfig dc = DrafterConfig.forTarget(TrainingResumeTest.TARGET, "t", 4, 29, ai.djl.Device.cpu());
        try (LlamaModel t = LlamaModel.initialize(TrainingResumeTest.TARGET, device, 1)) {
            TrainingRun fp32;
            TrainingRun fp16;
            for (Precision p : Precision.values()) { // warm-up: a fresh JVM's first run can drift by a few ulps
                try (Drafter d = Drafter.initialize(dc, t, 2)) {
                    new DrafterTrainer(config.withSteps(2), Objectives.uniform(), List.of()).withPrecision(p)
                            .train(d, data, 28, null, null);
                }
            }
            try (Drafter d = Drafter.initialize(dc, t, 2)) {
                fp32 = new DrafterTrainer(config, Objectives.uniform(), List.of()).train(d, data, 28, null, null);
            }
            try (Drafter d = Drafter.initialize(dc, t, 2)) {
                float[] before = d.parameters().get("layers.0.mlp.up_proj.weight").toFloatArray();
                fp16 = new DrafterTrainer(config, Objectives.uniform(), List.of()).withPrecision(Precision.FP16)
                        .train(d, data, 28, null, null);
                NDArray w = d.parameters().get("layers.0.mlp.up_proj.weight");
                assertEquals(DataType.FLOAT32, w.getDataType(), "master weights stay fp32");
                assertFalse(java.util.Arrays.equals(before, w.toFloatArray()), "fp16 steps update the masters");
            }
            return new TrainingRun[] {fp32, fp16};
        }
    }

    @Test
    void fp16TargetTrainingFollowsFp32() {
        int[] tokens = new int[4000];
        java.util.Random r = new java.util.Random(3);
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = (i % 7 == 0) ? 1 : (i % 7) * 3 + r.nextInt(3); // learnable structure
        }
        TokenStream stream = new TokenStream(tokens);
        TrainConfig config = new TrainConfig(60, 4, 32, 1, 1e-2, 3, 0.1, 0.01, 1.0, 0, 2, 0, 11);
        TrainingRun fp32;
        TrainingRun fp16;
        try (LlamaModel m = LlamaModel.initialize(TrainingResumeTest.TARGET, Device.cpu(), 1)) {
            fp32 = new TargetTrainer(config, List.of()).train(m, stream, stream, null, null, null);
        }
        try (LlamaModel m = LlamaModel.initialize(TrainingResumeTest.TARGET, Device.cpu(), 1)) {
            fp16 = new TargetTrainer(config, List.of()).withPrecision(Precision.FP16).train(m, stream, stream, null, null, null);
            assertEquals(DataType.FLOAT32, m.parameters().get(LlamaModel.EMBED).getDataType());
        }
        double v32 = fp32.lastEval("val_loss"), v16 = fp16.lastEval("val_loss");
        assertTrue(v16 < fp16.steps().get(0).loss() - 1.0, "fp16 target training learns the pattern");
        assertEquals(v32, v16, 0.03 * v32, "validation loss within noise of fp32");
    }

    @Test
    void anOverflowingStepIsSkippedTheWeightsUntouchedAndTheScaleHalved() {
        RegeneratedData data = TrainingResumeTest.syntheticData();
        TrainConfig opt = new TrainConfig(4, 3, 64, 1, 1e-2, 0, 1.0, 0.0, 1.0, 0, 1, 0, 5);
        DrafterConfig dc = DrafterConfig.forTarget(TrainingResumeTest.TARGET, "t", 4, 29, ai.djl.Device.cpu());
        BlockSampler sampler = new BlockSampler(4, 4, 64, 29, 28);
        try (LlamaModel t = LlamaModel.initialize(TrainingResumeTest.TARGET, Device.cpu(), 1);
                Drafter d = Drafter.initialize(dc, t, 2);
                DrafterStep step = new DrafterStep(d, Objectives.uniform(), opt, Precision.FP16, true,
                        new LossScaler(1e30, 2000))) {
            dev.blockdraft.draft.BlockBatch batch = sampler.sample(sampler.usable(data.train()), 3, new SplittableRandom(1));
            float[] before = d.parameters().get("fc.weight").toFloatArray();
            DrafterStep.Result r = step.run(List.of(batch), 1e-2, DrafterStep.PhaseMarks.NONE);
            assertTrue(r.skipped(), "1e30 × loss overflows fp16 gradients");
            assertFalse(Double.isFinite(r.gradNorm()));
            assertArrayEquals(before, d.parameters().get("fc.weight").toFloatArray(), 0f, "no update on overflow");
            assertEquals(5e29, step.lossScaler().scale(), 1e17);
            assertEquals(0, step.optimizer().stepCount());
        }
    }

    static double meanLoss(TrainingRun run, int from, int to) {
        return run.steps().subList(from, to).stream().mapToDouble(TrainingRun.Step::loss).average().orElseThrow();
    }
}
