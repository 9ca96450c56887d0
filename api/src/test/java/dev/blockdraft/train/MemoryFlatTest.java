package dev.blockdraft.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.BaseNDManager;
import ai.djl.ndarray.NDManager;
import dev.blockdraft.draft.Drafter;
import dev.blockdraft.draft.DrafterConfig;
import dev.blockdraft.lm.LlamaConfig;
import dev.blockdraft.lm.LlamaModel;
import dev.blockdraft.train.objective.Objectives;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Thousands of training steps leave no NDArray behind and do not grow the heap. */
class MemoryFlatTest {

    static int liveArrays() {
        try (NDManager probe = NDManager.newBaseManager(Device.cpu())) {
            return ((BaseNDManager) probe.getParentManager()).getManagedArrays().size();
        }
    }

    static long usedHeapAfterGc() {
        Runtime rt = Runtime.getRuntime();
        for (int i = 0; i < 3; i++) {
            System.gc();
        }
        return rt.totalMemory() - rt.freeMemory();
    }

    @Test
    void drafterTrainingStepsLeaveNoArraysBehind() {
        LlamaConfig target = LlamaConfig.llama(30, 16, 32, 2, 2, 1, 64);
        DraftTrainConfig config = new DraftTrainConfig(new TrainConfig(2000, 2, 32, 1, 1e-3, 10, 0.1, 0.01, 1.0, 500, 1, 0, 3), 2, 2);
        int[] arraysAt = new int[2];
        long[] heapAt = new long[2];
        TrainingListener probe = new TrainingListener() {
            @Override
            public void onStep(TrainingRun run, TrainingRun.Step step, int total) {
                if (step.step() == 250 || step.step() == 2000) {
                    int i = step.step() == 250 ? 0 : 1;
                    arraysAt[i] = liveArrays();
                    heapAt[i] = usedHeapAfterGc();
                }
            }
        };
        try (LlamaModel t = LlamaModel.initialize(target, Device.cpu(), 1);
                Drafter d = Drafter.initialize(DrafterConfig.forTarget(target, "t", 4, 29, ai.djl.Device.cpu()), t, 2)) {
            new DrafterTrainer(config, Objectives.paper(), List.of(probe))
                    .train(d, TrainingResumeTest.syntheticData(), 28, null, null);
        }
        assertTrue(arraysAt[0] > 0, "probe ran");
        assertEquals(arraysAt[0], arraysAt[1], "live NDArrays after 250 and after 2000 steps");
        assertTrue(heapAt[1] - heapAt[0] < 16L << 20,
                "heap grew by " + ((heapAt[1] - heapAt[0]) >> 10) + " KiB between step 250 and 2000");
    }
}
