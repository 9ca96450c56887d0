package dev.blockdraft.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.blockdraft.draft.BlockBatch;
import dev.blockdraft.draft.Drafter;
import dev.blockdraft.draft.DrafterConfig;
import dev.blockdraft.lm.Generator;
import dev.blockdraft.lm.LlamaConfig;
import dev.blockdraft.lm.LlamaModel;
import dev.blockdraft.lm.Sampler;
import dev.blockdraft.train.objective.Objectives;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link GreedyLabels} and {@link DraftTrainConfig.Labels#GREEDY} training. */
@org.junit.jupiter.api.extension.ExtendWith(dev.blockdraft.eval.OneTorchThread.class)
class GreedyLabelsTest {
    static final LlamaConfig TARGET = LlamaConfig.llama(30, 32, 48, 2, 4, 2, 128);

    @TempDir
    Path dir;

    /** Sequences of several lengths, three at a time (right-padded): each position's label is the argmax alone. */
    @Test
    void eachPositionHoldsTheTargetsArgmaxAfterThePrefixBeforeIt() {
        SplittableRandom rng = new SplittableRandom(2);
        List<RegeneratedData.Sequence> seqs = new ArrayList<>();
        for (int n = 0; n < 7; n++) {
            int[] ids = new int[6 + 5 * n];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = rng.nextInt(TARGET.vocabSize());
            }
            seqs.add(new RegeneratedData.Sequence(ids, 2));
        }
        try (LlamaModel target = sharpened(LlamaModel.initialize(TARGET, Device.cpu(), 3))) {
            List<RegeneratedData.Sequence> got = GreedyLabels.annotate(target, seqs, 3, 30, "greedy labels");
            for (int n = 0; n < seqs.size(); n++) {
                int[] ids = seqs.get(n).ids();
                int len = Math.min(ids.length, 30);
                long[] alone;
                try (NDManager m = target.manager().newSubManager()) {
                    long[] l = new long[len];
                    for (int i = 0; i < len; i++) {
                        l[i] = ids[i];
                    }
                    NDArray logits = target.forward(m.create(l).reshape(1, len), new int[0], LlamaModel.Logits.ALL).logits();
                    alone = logits.argMax(2).toLongArray();
                }
                int[] greedy = got.get(n).greedyNext();
                assertEquals(ids.length, greedy.length);
                assertEquals(-1, greedy[0], "nothing predicts position 0");
                for (int p = 1; p < ids.length; p++) {
                    assertEquals(p < len ? (int) alone[p - 1] : -1, greedy[p], "sequence " + n + " position " + p);
                }
                assertArrayEquals(ids, got.get(n).ids());
            }
        }
    }

    /**
     * On the target's own greedy answers the greedy labels are the answers' tokens, every slot labelled: greedy
     * training is then sampled training. A run records the setting, and a checkpoint of it is not resumed as
     * another.
     */
    @Test
    void onGreedyAnswersTheLabelsAreTheAnswersOwnAndRunsRecordThem() {
        try (LlamaModel target = sharpened(LlamaModel.initialize(TARGET, Device.cpu(), 3))) {
            List<RegeneratedData.Sequence> seqs = new ArrayList<>();
            for (int n = 0; n < 6; n++) {
                int[] prompt = {1 + n, (7 * n) % 29, 3, 2 * n % 29};
                int[] answer = Generator.generate(target, prompt, 24, Sampler.greedy()).tokens();
                int[] ids = new int[prompt.length + answer.length];
                System.arraycopy(prompt, 0, ids, 0, prompt.length);
                System.arraycopy(answer, 0, ids, prompt.length, answer.length);
                seqs.add(new RegeneratedData.Sequence(ids, prompt.length));
            }
            BlockSampler sampler = new BlockSampler(5, BlockSampler.ALL, 64, 29, 28);
            BlockBatch own = sampler.evenly(seqs);
            BlockBatch greedy = sampler.evenly(GreedyLabels.annotate(target, seqs, 4, 64, "greedy labels"));
            assertArrayEquals(own.labels(), greedy.labels());
            assertArrayEquals(own.slotMask(), greedy.slotMask());

            RegeneratedData data = new RegeneratedData(seqs, seqs.subList(0, 2), null);
            DraftTrainConfig config = new DraftTrainConfig(new TrainConfig(4, 3, 64, 1, 1e-2, 2, 0.1, 0.0, 1.0, 2, 1, 2, 5), 4, 2)
                    .withLabels(DraftTrainConfig.Labels.GREEDY);
            DrafterConfig dc = DrafterConfig.forTarget(TARGET, "t", 5, 29, Device.cpu());
            float[] greedyRun, ownRun;
            try (Drafter d = Drafter.initialize(dc, target, 2)) {
                new DrafterTrainer(config, Objectives.uniform(), List.of()).train(d, data, 28, dir.resolve("g"), null);
                greedyRun = d.parameters().get("layers.0.mlp.up_proj.weight").toFloatArray();
                assertEquals("greedy", TrainerState.read(dir.resolve("g")).run().get("labels"));
            }
            try (Drafter d = Drafter.initialize(dc, target, 2)) {
                new DrafterTrainer(config.withLabels(DraftTrainConfig.Labels.SAMPLED), Objectives.uniform(), List.of())
                        .train(d, data, 28, null, null);
                ownRun = d.parameters().get("layers.0.mlp.up_proj.weight").toFloatArray();
            }
            assertArrayEquals(ownRun, greedyRun, 0f, "the same labels train the same drafter");
            try (Drafter d = Drafter.initialize(dc, target, 2)) {
                DraftTrainConfig longer = config.withLabels(DraftTrainConfig.Labels.SAMPLED).withSteps(6);
                var e = assertThrows(RuntimeException.class, () -> new DrafterTrainer(longer, Objectives.uniform(), List.of())
                        .train(d, data, 28, dir.resolve("g"), null));
                assertTrue(e.getMessage().contains("labels"), e.getMessage());
            }
        }
    }

    static LlamaModel sharpened(LlamaModel model) {
        for (var e : model.parameters().asMap().entrySet()) {
            if (!e.getKey().endsWith("norm.weight")) {
                e.getValue().muli(4);
            }
        }
        return model;
    }
}
