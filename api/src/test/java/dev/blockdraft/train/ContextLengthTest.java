package dev.blockdraft.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import dev.blockdraft.draft.Drafter;
import dev.blockdraft.draft.DrafterConfig;
import dev.blockdraft.lm.LlamaModel;
import dev.blockdraft.train.objective.Objectives;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Regenerated answers can run to the end of the target's context; a block anchored near the end
 * would reach positions the target has no rotary factors for (on a GPU an out-of-bounds gather
 * killed every drafter of the first scaled zoo run). Sequences are cut so every block fits.
 */
class ContextLengthTest {

    @Test
    void sequencesAsLongAsTheContextTrainAndValidate() {
        int context = TrainingResumeTest.TARGET.maxPositionEmbeddings(); // 128
        List<RegeneratedData.Sequence> seqs = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            int[] ids = new int[context];
            for (int j = 0; j < ids.length; j++) {
                ids[j] = (j * 7 + i) % 27;
            }
            seqs.add(new RegeneratedData.Sequence(ids, 10));
        }
        RegeneratedData data = new RegeneratedData(seqs, seqs.subList(0, 2), null);
        // seqLen = the whole context, every position an anchor, B = 16
        DraftTrainConfig config = new DraftTrainConfig(new TrainConfig(2, 2, context, 1, 1e-3, 0, 0.1, 0.0, 1.0, 0, 1, 0, 3),
                BlockSampler.ALL, 2);
        try (LlamaModel t = LlamaModel.initialize(TrainingResumeTest.TARGET, Device.cpu(), 1);
                Drafter d = Drafter.initialize(DrafterConfig.forTarget(TrainingResumeTest.TARGET, "t", 16, 29, ai.djl.Device.cpu()), t, 2)) {
            assertEquals(context - 15, d.config().trainableLength(context));
            TrainingRun run = new DrafterTrainer(config, Objectives.paper(), List.of()).train(d, data, 28, null, null);
            assertTrue(Double.isFinite(run.lastEval("tau")), "held-out τ " + run.lastEval("tau"));
        }
    }
}
