package dev.blockdraft.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.blockdraft.lm.LlamaModel;
import dev.blockdraft.report.ProgressBar;
import java.util.ArrayList;
import java.util.List;

/**
 * The target's greedy token at every position of regenerated sequences: one full-sequence forward per batch of
 * sequences, the argmax of each position's logits. With sampled answers a sequence's own next token is a draw
 * from the target, while greedy verification compares a draft with the target's argmax; these are the labels
 * {@link DraftTrainConfig.Labels#GREEDY} trains on ({@link dev.blockdraft.draft.BlockBatch}).
 */
public final class GreedyLabels {
    private GreedyLabels() {}

    /**
     * The sequences with {@code greedyNext} set: position p holds the target's argmax after ids[0..p−1]
     * (p ≥ 1, up to {@code maxLength}; −1 at 0 and past it). {@code batch} sequences go through the target at once,
     * right-padded (causal attention: the padding changes no earlier position), fewer where their fp32 logits
     * would pass 512 MiB (a 150k-token vocabulary: one sequence of 1,000 tokens at a time).
     */
    public static List<RegeneratedData.Sequence> annotate(LlamaModel target, List<RegeneratedData.Sequence> seqs, int batch,
            int maxLength, String label) {
        long perSequence = 4L * maxLength * target.config().vocabSize();
        batch = (int) Math.max(1, Math.min(batch, (512L << 20) / perSequence));
        List<RegeneratedData.Sequence> out = new ArrayList<>(seqs.size());
        try (ProgressBar bar = ProgressBar.start(label, seqs.size())) {
            for (int start = 0; start < seqs.size(); start += batch) {
                List<RegeneratedData.Sequence> part = seqs.subList(start, Math.min(seqs.size(), start + batch));
                int l = 1;
                for (RegeneratedData.Sequence s : part) {
                    l = Math.max(l, Math.min(s.ids().length, maxLength));
                }
                long[] ids = new long[part.size() * l];
                for (int r = 0; r < part.size(); r++) {
                    int[] seq = part.get(r).ids();
                    for (int i = 0; i < Math.min(seq.length, l); i++) {
                        ids[r * l + i] = seq[i];
                    }
                }
                long[] best;
                try (NDManager scope = target.manager().newSubManager()) {
                    NDArray logits = target.forward(scope.create(ids).reshape(part.size(), l), new int[0],
                            LlamaModel.Logits.ALL).logits(); // (S, L, V)
                    best = logits.argMax(2).toLongArray();
                }
                for (int r = 0; r < part.size(); r++) {
                    RegeneratedData.Sequence s = part.get(r);
                    int[] greedy = new int[s.ids().length];
                    java.util.Arrays.fill(greedy, -1);
                    int len = Math.min(s.ids().length, l);
                    for (int p = 1; p < len; p++) {
                        greedy[p] = (int) best[r * l + p - 1];
                    }
                    out.add(s.withGreedyNext(greedy));
                }
                bar.step(part.size(), "");
            }
        }
        return out;
    }
}
