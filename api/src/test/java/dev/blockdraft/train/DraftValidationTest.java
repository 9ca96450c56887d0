package dev.blockdraft.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import dev.blockdraft.draft.BlockBatch;
import dev.blockdraft.draft.Drafter;
import dev.blockdraft.draft.DrafterConfig;
import dev.blockdraft.lm.LlamaConfig;
import dev.blockdraft.lm.LlamaModel;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Held-out τ split by repetition loops, against a plain-Java reference over the same blocks: a block
 * is in a loop when its first drafted token closes an 8-gram already seen in the same response.
 */
@org.junit.jupiter.api.extension.ExtendWith(dev.blockdraft.eval.OneTorchThread.class)
class DraftValidationTest {

    @Test
    void tauOutsideLoopsCountsOnlyBlocksWhoseFirstDraftedTokenIsFresh() {
        LlamaConfig config = LlamaConfig.llama(12, 32, 64, 2, 4, 2, 128).withTiedEmbeddings(false);
        Random random = new Random(4);
        List<RegeneratedData.Sequence> sequences = new ArrayList<>();
        for (int s = 0; s < 4; s++) {
            int[] ids = new int[5 + 44];
            for (int i = 0; i < ids.length; i++) {
                // even sequences loop with period 5 after the prompt, odd ones are random over 12 tokens
                ids[i] = s % 2 == 0 && i >= 5 ? (i - 5) % 5 : random.nextInt(12);
            }
            sequences.add(new RegeneratedData.Sequence(ids, 5));
        }
        int perSequence = 16, batchSize = 2;
        try (LlamaModel target = LlamaModel.initialize(config, Device.cpu(), 5);
                Drafter drafter = Drafter.initialize(DrafterConfig.forTarget(config, "t", 5, 0, ai.djl.Device.cpu()), target, 6)) {
            Map<String, Double> m = DraftValidation.evaluate(drafter, sequences, perSequence, 128, 0, batchSize);

            BlockSampler sampler = BlockSampler.forDrafter(drafter.config(), perSequence, 128, 0);
            int k = drafter.config().slots();
            double accepted = 0, acceptedFresh = 0;
            long blocks = 0, fresh = 0;
            for (int start = 0; start < sequences.size(); start += batchSize) {
                List<RegeneratedData.Sequence> part = sequences.subList(start, start + batchSize);
                BlockBatch batch = sampler.evenly(part);
                try (NDManager scope = drafter.parameters().manager().newSubManager()) {
                    long[] argmax = drafter.slotLogits(target, batch.toDevice(scope, drafter.computeType())).argMax(-1)
                            .toLongArray(); // (N·K)
                    for (int i = 0; i < argmax.length / k; i++) {
                        if (batch.slotMask()[i * k] == 0) {
                            continue; // a padding block
                        }
                        int prefix = 0;
                        while (prefix < k && batch.slotMask()[i * k + prefix] > 0 && argmax[i * k + prefix] == batch.labels()[i * k + prefix]) {
                            prefix++;
                        }
                        RegeneratedData.Sequence seq = part.get(i / batch.blocks());
                        boolean loop = closesASeenNgram(seq.ids(), seq.responseStart(), (int) batch.anchors()[i] + 1, AnswerStats.NGRAM);
                        accepted += prefix;
                        blocks++;
                        if (!loop) {
                            acceptedFresh += prefix;
                            fresh++;
                        }
                    }
                }
            }
            assertEquals(1 + accepted / blocks, m.get("tau"), 1e-9);
            assertEquals(1 + acceptedFresh / fresh, m.get("tau_outside_loops"), 1e-9);
            assertEquals(1 - (double) fresh / blocks, m.get("loop_share"), 1e-12);
            assertTrue(m.get("loop_share") > 0.2 && m.get("loop_share") < 0.6, "both kinds of blocks: " + m);
            assertTrue(accepted > 0, "some slots accepted, so the split is tested on more than zeros");
        }
    }

    /** Plain reference: the n-gram of the response ending at {@code pos} equals one ending earlier in it. */
    private static boolean closesASeenNgram(int[] ids, int from, int pos, int n) {
        if (pos - n + 1 < from) {
            return false;
        }
        for (int end = from + n - 1; end < pos; end++) {
            boolean same = true;
            for (int j = 0; j < n; j++) {
                same &= ids[end - j] == ids[pos - j];
            }
            if (same) {
                return true;
            }
        }
        return false;
    }
}
