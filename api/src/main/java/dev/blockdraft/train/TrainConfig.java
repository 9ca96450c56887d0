package dev.blockdraft.train;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Optimisation settings shared by target and drafter training.
 *
 * @param steps optimizer steps
 * @param batchSize sequences per micro-batch
 * @param seqLen tokens per training sequence (context length seen in training)
 * @param gradAccum micro-batches per optimizer step
 * @param learningRate peak learning rate
 * @param warmupSteps linear warmup steps
 * @param minLrRatio cosine floor as a fraction of the peak
 * @param weightDecay AdamW decoupled decay on matrices
 * @param clipNorm global gradient-norm clip (≤ 0 disables)
 * @param evalEvery steps between validation passes (≤ 0: only at the end)
 * @param evalBatches validation micro-batches per pass
 * @param checkpointEvery steps between checkpoints (≤ 0: only at the end)
 * @param seed the run's one seed; init, data order and anchors draw from named streams of it
 */
public record TrainConfig(int steps, int batchSize, int seqLen, int gradAccum, double learningRate, int warmupSteps,
        double minLrRatio, double weightDecay, double clipNorm, int evalEvery, int evalBatches, int checkpointEvery,
        long seed) {

    public TrainConfig {
        if (steps <= 0) {
            throw new IllegalArgumentException("steps=" + steps + " must be > 0");
        }
        if (batchSize <= 0) {
            throw new IllegalArgumentException("batchSize=" + batchSize + " must be > 0");
        }
        if (seqLen < 2) {
            throw new IllegalArgumentException("seqLen=" + seqLen + " must be >= 2");
        }
        if (gradAccum <= 0) {
            throw new IllegalArgumentException("gradAccum=" + gradAccum + " must be > 0");
        }
        if (warmupSteps > steps) {
            warmupSteps = steps;
        }
        new LrSchedule(learningRate, warmupSteps, steps, minLrRatio); // validates the schedule
    }

    /** Seconds-scale run for tests: tiny batches, few steps. */
    public static TrainConfig tinyCpu() {
        return new TrainConfig(800, 16, 64, 1, 5e-3, 40, 0.1, 0.0, 1.0, 200, 4, 0, 1234);
    }

    /** The demo target on a 2-core CPU (a few minutes). */
    public static TrainConfig smallCpu() {
        return new TrainConfig(1000, 12, 128, 1, 2e-3, 50, 0.1, 0.01, 1.0, 200, 8, 200, 1234);
    }

    public LrSchedule schedule() {
        return new LrSchedule(learningRate, warmupSteps, steps, minLrRatio);
    }

    public TrainConfig withSteps(int s) {
        return new TrainConfig(s, batchSize, seqLen, gradAccum, learningRate, Math.min(warmupSteps, s), minLrRatio,
                weightDecay, clipNorm, evalEvery, evalBatches, checkpointEvery, seed);
    }

    public TrainConfig withSeed(long s) {
        return new TrainConfig(steps, batchSize, seqLen, gradAccum, learningRate, warmupSteps, minLrRatio, weightDecay,
                clipNorm, evalEvery, evalBatches, checkpointEvery, s);
    }

    public TrainConfig withBatch(int batch, int seq) {
        return new TrainConfig(steps, batch, seq, gradAccum, learningRate, warmupSteps, minLrRatio, weightDecay,
                clipNorm, evalEvery, evalBatches, checkpointEvery, seed);
    }

    public TrainConfig withLearningRate(double lr) {
        return new TrainConfig(steps, batchSize, seqLen, gradAccum, lr, warmupSteps, minLrRatio, weightDecay,
                clipNorm, evalEvery, evalBatches, checkpointEvery, seed);
    }

    public TrainConfig withEvalEvery(int every, int batches) {
        return new TrainConfig(steps, batchSize, seqLen, gradAccum, learningRate, warmupSteps, minLrRatio, weightDecay,
                clipNorm, every, batches, checkpointEvery, seed);
    }

    public TrainConfig withWeightDecay(double wd) {
        return new TrainConfig(steps, batchSize, seqLen, gradAccum, learningRate, warmupSteps, minLrRatio, wd,
                clipNorm, evalEvery, evalBatches, checkpointEvery, seed);
    }

    public TrainConfig withCheckpointEvery(int every) {
        return new TrainConfig(steps, batchSize, seqLen, gradAccum, learningRate, warmupSteps, minLrRatio, weightDecay,
                clipNorm, evalEvery, evalBatches, every, seed);
    }

    public TrainConfig withGradAccum(int accum) {
        return new TrainConfig(steps, batchSize, seqLen, accum, learningRate, warmupSteps, minLrRatio, weightDecay,
                clipNorm, evalEvery, evalBatches, checkpointEvery, seed);
    }

    /** Every setting as strings, for provenance and run display. */
    public Map<String, String> asMap() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("steps", "" + steps);
        m.put("batch_size", "" + batchSize);
        m.put("seq_len", "" + seqLen);
        m.put("grad_accum", "" + gradAccum);
        m.put("learning_rate", "" + learningRate);
        m.put("warmup_steps", "" + warmupSteps);
        m.put("min_lr_ratio", "" + minLrRatio);
        m.put("weight_decay", "" + weightDecay);
        m.put("clip_norm", "" + clipNorm);
        m.put("eval_every", "" + evalEvery);
        m.put("eval_batches", "" + evalBatches);
        m.put("checkpoint_every", "" + checkpointEvery);
        m.put("seed", "" + seed);
        return m;
    }
}
