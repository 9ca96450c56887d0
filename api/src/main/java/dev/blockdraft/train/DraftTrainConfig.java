package dev.blockdraft.train;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Drafter-training settings beyond the optimizer's: how blocks are cut from the regenerated data.
 *
 * @param optimizer steps, batch (sequences per micro-batch), learning rate, schedule, seed…;
 *     its {@code seqLen} caps the sequence length
 * @param blocksPerSequence random anchors (blocks) per sequence per step
 * @param validationSequences held-out sequences scored at each validation pass
 */
public record DraftTrainConfig(TrainConfig optimizer, int blocksPerSequence, int validationSequences) {
    public DraftTrainConfig {
        if (blocksPerSequence < 1) {
            throw new IllegalArgumentException("blocksPerSequence=" + blocksPerSequence + " must be >= 1");
        }
        if (validationSequences < 1) {
            throw new IllegalArgumentException("validationSequences=" + validationSequences + " must be >= 1");
        }
    }

    /** A few minutes on a 2-core CPU for the demo's small target. */
    public static DraftTrainConfig smallCpu() {
        return new DraftTrainConfig(new TrainConfig(400, 8, 320, 1, 2e-3, 30, 0.1, 0.01, 1.0, 100, 1, 0, 7), 12, 48);
    }

    /** Seconds, for tests. */
    public static DraftTrainConfig tinyCpu() {
        return new DraftTrainConfig(new TrainConfig(40, 4, 128, 1, 3e-3, 5, 0.1, 0.0, 1.0, 20, 1, 0, 7), 6, 8);
    }

    public DraftTrainConfig withOptimizer(TrainConfig t) {
        return new DraftTrainConfig(t, blocksPerSequence, validationSequences);
    }

    public DraftTrainConfig withSteps(int steps) {
        return withOptimizer(optimizer.withSteps(steps));
    }

    public DraftTrainConfig withSeed(long seed) {
        return withOptimizer(optimizer.withSeed(seed));
    }

    public DraftTrainConfig withBlocksPerSequence(int m) {
        return new DraftTrainConfig(optimizer, m, validationSequences);
    }

    public Map<String, String> asMap() {
        Map<String, String> m = new LinkedHashMap<>(optimizer.asMap());
        m.put("blocks_per_sequence", "" + blocksPerSequence);
        m.put("validation_sequences", "" + validationSequences);
        return m;
    }
}
