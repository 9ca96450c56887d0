package dev.blockdraft.train;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Drafter-training settings beyond the optimizer's: how blocks are cut from the regenerated data.
 *
 * @param optimizer steps, batch (sequences per micro-batch), learning rate, schedule, seed…;
 *     its {@code seqLen} caps the sequence length
 * @param blocksPerSequence distinct random anchors (blocks) per sequence per step, at most; fewer
 *     when the response has fewer positions ({@link BlockSampler#ALL}: every position)
 * @param validationSequences held-out sequences scored at each validation pass
 * @param labels what each block slot is trained (and validated) to predict
 */
public record DraftTrainConfig(TrainConfig optimizer, int blocksPerSequence, int validationSequences, Labels labels) {

    /** What a block slot's label is. */
    public enum Labels {
        /** The sequence's own next token (the regenerated answer's, sampled or greedy as it was made). */
        SAMPLED,
        /**
         * The target's greedy token there ({@link GreedyLabels}), for the slots before the answer leaves greedy
         * decoding inside the block: what greedy verification compares each draft with, on the contexts of the
         * (sampled) answers. The same as {@link #SAMPLED} on greedy answers.
         */
        GREEDY;

        public String id() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }

        /** {@code sampled} or {@code greedy}; {@code what} (a flag or a grid key) names the setting in the error. */
        public static Labels parse(String value, String what) {
            for (Labels l : values()) {
                if (l.id().equals(value)) {
                    return l;
                }
            }
            throw new IllegalArgumentException(what + " " + value + ": expected sampled or greedy");
        }
    }

    public DraftTrainConfig {
        java.util.Objects.requireNonNull(labels, "labels");
        if (blocksPerSequence < 1) {
            throw new IllegalArgumentException("blocksPerSequence=" + blocksPerSequence + " must be >= 1");
        }
        if (validationSequences < 1) {
            throw new IllegalArgumentException("validationSequences=" + validationSequences + " must be >= 1");
        }
    }

    public DraftTrainConfig(TrainConfig optimizer, int blocksPerSequence, int validationSequences) {
        this(optimizer, blocksPerSequence, validationSequences, Labels.SAMPLED);
    }

    /** Anchors per sequence by default: DFlash's recipe samples 512 per sequence (every position of a shorter response). */
    public static final int DEFAULT_BLOCKS_PER_SEQUENCE = 512;

    /**
     * The defaults for a device: on a GPU, {@link #gpu()}; on a CPU, {@link #smallCpu()}. Every
     * front door (CLI, fluent API, demo) starts from these.
     */
    public static DraftTrainConfig defaultsFor(ai.djl.Device device) {
        return device.isGpu() ? gpu() : smallCpu();
    }

    /**
     * A few minutes on a 2-core CPU for the embedded target: dense anchors (every response
     * position of its short answers), a checkpoint every 100 steps.
     */
    public static DraftTrainConfig smallCpu() {
        return new DraftTrainConfig(new TrainConfig(300, 4, 320, 1, 2e-3, 30, 0.1, 0.01, 1.0, 100, 1, 100, 7),
                DEFAULT_BLOCKS_PER_SEQUENCE, 48);
    }

    /**
     * A GPU run sized for the scaled regenerated data: 16 sequences of up to 1,024 tokens a step
     * with up to 512 anchors each, 6,000 steps, held-out τ and a checkpoint every 500 steps.
     */
    public static DraftTrainConfig gpu() {
        return new DraftTrainConfig(new TrainConfig(6000, 16, 1024, 1, 1e-3, 200, 0.1, 0.01, 1.0, 500, 1, 500, 7),
                DEFAULT_BLOCKS_PER_SEQUENCE, 256);
    }

    /** Seconds, for tests. */
    public static DraftTrainConfig tinyCpu() {
        return new DraftTrainConfig(new TrainConfig(40, 4, 128, 1, 3e-3, 5, 0.1, 0.0, 1.0, 20, 1, 0, 7), 6, 8);
    }

    public DraftTrainConfig withOptimizer(TrainConfig t) {
        return new DraftTrainConfig(t, blocksPerSequence, validationSequences, labels);
    }

    public DraftTrainConfig withSteps(int steps) {
        return withOptimizer(optimizer.withSteps(steps));
    }

    public DraftTrainConfig withSeed(long seed) {
        return withOptimizer(optimizer.withSeed(seed));
    }

    public DraftTrainConfig withBlocksPerSequence(int m) {
        return new DraftTrainConfig(optimizer, m, validationSequences, labels);
    }

    public DraftTrainConfig withValidationSequences(int n) {
        return new DraftTrainConfig(optimizer, blocksPerSequence, n, labels);
    }

    public DraftTrainConfig withLabels(Labels l) {
        return new DraftTrainConfig(optimizer, blocksPerSequence, validationSequences, l);
    }

    public Map<String, String> asMap() {
        Map<String, String> m = new LinkedHashMap<>(optimizer.asMap());
        m.put("blocks_per_sequence", blocksPerSequence == BlockSampler.ALL ? "all" : "" + blocksPerSequence);
        m.put("validation_sequences", "" + validationSequences);
        if (labels != Labels.SAMPLED) { // absent for the default, so settings recorded before it still match
            m.put("labels", labels.id());
        }
        return m;
    }
}
