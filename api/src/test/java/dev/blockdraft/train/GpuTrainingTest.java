package dev.blockdraft.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.blockdraft.lm.LlamaModel;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The mixed-precision path on a real GPU (fp16 tensor cores, cuBLAS), where the CPU tests cannot
 * reach. Tagged {@code gpu}: excluded from the default build, skipped where no GPU is visible; run
 * with {@code mvn verify -Dblockdraft.excludedGroups=none -Dgroups=gpu}.
 */
@Tag("gpu")
class GpuTrainingTest {

    @BeforeEach
    void needsGpu() {
        Assumptions.assumeTrue(Engine.getInstance().getGpuCount() > 0, "no GPU visible to DJL");
    }

    @Test
    void fp16DrafterTrainingOnTheGpuFollowsFp32() {
        TrainingRun[] runs = MixedPrecisionTest.fp32AndFp16DrafterRuns(Device.gpu());
        TrainingRun fp32 = runs[0], fp16 = runs[1];
        double last32 = MixedPrecisionTest.meanLoss(fp32, 55, 60), last16 = MixedPrecisionTest.meanLoss(fp16, 55, 60);
        assertTrue(last16 < fp16.steps().get(0).loss() - 0.25, "fp16 training learns on the GPU");
        assertEquals(last32, last16, 0.02 * last32, "fp16 ends where fp32 does (last-5-step mean loss)");
        assertEquals(fp32.lastEval("ce"), fp16.lastEval("ce"), 0.02 * fp32.lastEval("ce"), "validation CE");
    }

    @Test
    void halfPrecisionTargetFeaturesOnTheGpuMatchFp32OnTheCpu() {
        int[] layers = {0, 1};
        long[] ids = new long[2 * 40];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = (i * 7 + 3) % 30;
        }
        float[] cpu;
        try (LlamaModel m = LlamaModel.initialize(TrainingResumeTest.TARGET, Device.cpu(), 4);
                NDManager s = m.manager().newSubManager()) {
            cpu = dev.blockdraft.draft.Drafter.targetFeatures(m, s.create(ids).reshape(2, 40), layers,
                    ai.djl.ndarray.types.DataType.FLOAT32).toFloatArray();
        }
        try (LlamaModel m = LlamaModel.initialize(TrainingResumeTest.TARGET, Device.gpu(), 4);
                LlamaModel half = m.halfPrecisionCopy();
                NDManager s = m.manager().newSubManager()) {
            NDArray f = dev.blockdraft.draft.Drafter.targetFeatures(half, s.create(ids).reshape(2, 40), layers,
                    ai.djl.ndarray.types.DataType.FLOAT32);
            float[] gpu = f.toFloatArray();
            double diff = 0, norm = 0;
            for (int i = 0; i < cpu.length; i++) {
                diff += (cpu[i] - gpu[i]) * (cpu[i] - gpu[i]);
                norm += cpu[i] * cpu[i];
            }
            assertTrue(Math.sqrt(diff / norm) < 2e-3, "relative difference " + Math.sqrt(diff / norm));
        }
    }
}
