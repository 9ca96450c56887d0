package dev.blockdraft.train;

/**
 * Learning rate as a pure function of the step: linear warmup to {@code peak}, then cosine decay
 * to {@code peak·minRatio} at {@code totalSteps}.
 */
public record LrSchedule(double peak, int warmupSteps, int totalSteps, double minRatio) {
    public LrSchedule {
        if (!(peak > 0)) {
            throw new IllegalArgumentException("learning rate peak=" + peak + " must be > 0");
        }
        if (warmupSteps < 0 || totalSteps <= 0 || warmupSteps > totalSteps) {
            throw new IllegalArgumentException("warmup=" + warmupSteps + " must be within [0, total=" + totalSteps + "]");
        }
        if (minRatio < 0 || minRatio > 1) {
            throw new IllegalArgumentException("minRatio=" + minRatio + " must be within [0, 1]");
        }
    }

    public static LrSchedule warmupCosine(double peak, int warmupSteps, int totalSteps) {
        return new LrSchedule(peak, warmupSteps, totalSteps, 0.1);
    }

    /** The rate for 0-based {@code step}. */
    public double lrAt(int step) {
        if (step < warmupSteps) {
            return peak * (step + 1) / warmupSteps;
        }
        int decaySteps = Math.max(1, totalSteps - warmupSteps);
        double progress = Math.min(1.0, (double) (step - warmupSteps) / decaySteps);
        double cosine = 0.5 * (1 + Math.cos(Math.PI * progress));
        return peak * (minRatio + (1 - minRatio) * cosine);
    }
}
