package dev.blockdraft.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.blockdraft.draft.BlockBatch;
import dev.blockdraft.draft.Drafter;
import java.util.List;
import java.util.Map;

/**
 * Offline acceptance of a drafter on sequences the target produced (held-out regenerated data,
 * or benchmark answers): blocks at anchors spread over each response are drafted with the true
 * context, exactly as the decoder would draft them there.
 *
 * <ul>
 *   <li>{@code tau}: 1 + the mean greedy-accepted prefix per block (argmax = target token), the
 *       τ greedy verification would give at those anchors;</li>
 *   <li>{@code expected_tau}: 1 + E[Σ_k Π_{j≤k} q_j(y_j)], the chain objective's estimate;</li>
 *   <li>{@code ce}: mean cross-entropy over labelled slots;</li>
 *   <li>{@code tau_outside_loops}: {@code tau} over the blocks whose first drafted token does not close
 *       an {@value AnswerStats#NGRAM}-gram already seen in the same response, and {@code loop_share}, the
 *       share of blocks that do: repetition loops are easy to draft and a target's answers may be half
 *       loops, which online decoding of short turns rarely reaches (absent when every block is in a loop).</li>
 * </ul>
 */
public final class DraftValidation {
    private DraftValidation() {}

    public static Map<String, Double> evaluate(Drafter drafter, List<RegeneratedData.Sequence> sequences,
            int blocksPerSequence, int maxLength, int padId, int batchSize) {
        BlockSampler sampler = BlockSampler.forDrafter(drafter.config(), blocksPerSequence, maxLength, padId);
        List<RegeneratedData.Sequence> usable = sampler.usable(sequences);
        if (usable.isEmpty()) {
            throw new IllegalArgumentException("no sequence has a response inside " + maxLength + " tokens to evaluate on");
        }
        double acceptedSum = 0, expectedSum = 0, ceSum = 0, acceptedOutside = 0;
        long blocks = 0, slots = 0, blocksOutside = 0;
        int k = drafter.config().slots();
        for (int start = 0; start < usable.size(); start += batchSize) {
            List<RegeneratedData.Sequence> part = usable.subList(start, Math.min(usable.size(), start + batchSize));
            BlockBatch batch = sampler.evenly(part);
            boolean[][] loops = new boolean[part.size()][];
            for (int s = 0; s < part.size(); s++) {
                loops[s] = AnswerStats.repeatedMask(part.get(s).ids(), part.get(s).responseStart(), AnswerStats.NGRAM);
            }
            try (NDManager scope = drafter.parameters().manager().newSubManager()) {
                NDArray logits = drafter.slotLogits(drafter.target(), batch.toDevice(scope, drafter.computeType())); // (N, K, V)
                NDArray labels = scope.create(batch.labels()).reshape(-1, k);
                NDArray mask = scope.create(batch.slotMask()).reshape(-1, k);
                NDArray logProbs = logits.logSoftmax(-1);
                NDArray logQ = logProbs.gather(labels.expandDims(-1), -1).squeeze(-1).mul(mask); // (N, K)
                NDArray correct = logits.argMax(-1).eq(labels).toType(DataType.FLOAT32, false).mul(mask);
                // accepted prefix length = Σ_k Π_{j≤k} correct_j; expected = Σ_k Π_{j≤k} q_j
                NDArray acceptedPrefix = correct.cumProd(1).sum(new int[] {1}); // (N,)
                NDArray expected = logQ.cumSum(1).exp().mul(mask).sum(new int[] {1}); // (N,)
                float[] acc = acceptedPrefix.toFloatArray();
                float[] exp = expected.toFloatArray();
                float[] blockMask = mask.get(":, 0").toFloatArray();
                for (int i = 0; i < acc.length; i++) {
                    if (blockMask[i] > 0) {
                        acceptedSum += acc[i];
                        expectedSum += exp[i];
                        blocks++;
                        int firstDrafted = (int) batch.anchors()[i] + 1; // labelled, so inside the sequence
                        if (!loops[i / batch.blocks()][firstDrafted]) {
                            acceptedOutside += acc[i];
                            blocksOutside++;
                        }
                    }
                }
                ceSum += logQ.neg().sum().getFloat();
                slots += batch.labelledSlots();
            }
        }
        Map<String, Double> metrics = new java.util.LinkedHashMap<>();
        metrics.put("tau", 1 + acceptedSum / blocks);
        metrics.put("expected_tau", 1 + expectedSum / blocks);
        metrics.put("ce", ceSum / slots);
        if (blocksOutside > 0) {
            metrics.put("tau_outside_loops", 1 + acceptedOutside / blocksOutside);
        }
        metrics.put("loop_share", 1 - (double) blocksOutside / blocks);
        return Map.copyOf(metrics);
    }
}
