package dev.blockdraft.train;

/**
 * Dynamic loss scaling for fp16 training, as PyTorch's {@code GradScaler}: the loss is multiplied
 * by {@link #scale()} before backward so small gradients do not flush to zero in fp16; a step
 * whose gradients overflow (inf/NaN) is skipped and the scale halved; after
 * {@code growthInterval} clean steps in a row the scale doubles.
 */
public final class LossScaler {
    /** PyTorch's defaults: 2¹⁶, ×2 every 2000 clean steps, ×½ on overflow. */
    public static final double INITIAL_SCALE = 65536;
    public static final int GROWTH_INTERVAL = 2000;
    private static final double MAX_SCALE = 1 << 24;

    private final int growthInterval;
    private double scale;
    private int cleanSteps;
    private int skippedSteps;

    public LossScaler(double initialScale, int growthInterval) {
        if (!(initialScale >= 1) || growthInterval < 1) {
            throw new IllegalArgumentException("loss scale " + initialScale + " must be >= 1 and growth interval "
                    + growthInterval + " >= 1");
        }
        this.scale = initialScale;
        this.growthInterval = growthInterval;
    }

    public static LossScaler dynamic() {
        return new LossScaler(INITIAL_SCALE, GROWTH_INTERVAL);
    }

    public double scale() {
        return scale;
    }

    /** Steps skipped for overflowing gradients so far. */
    public int skippedSteps() {
        return skippedSteps;
    }

    /**
     * Records whether this step's (scaled) gradients were all finite and adapts the scale.
     * Returns whether the optimizer may take the step.
     */
    public boolean update(boolean gradientsFinite) {
        if (!gradientsFinite) {
            scale = Math.max(1, scale / 2);
            cleanSteps = 0;
            skippedSteps++;
            return false;
        }
        if (++cleanSteps == growthInterval) {
            scale = Math.min(MAX_SCALE, scale * 2);
            cleanSteps = 0;
        }
        return true;
    }

    /** What a checkpoint keeps so that a resumed run scales exactly as an uninterrupted one. */
    public record State(double scale, int cleanSteps, int skippedSteps) {}

    public State state() {
        return new State(scale, cleanSteps, skippedSteps);
    }

    /** Puts back a saved state (resuming a run); null (a checkpoint of fp32 training) changes nothing. */
    public void restore(State saved) {
        if (saved != null && saved.scale() >= 1) {
            scale = saved.scale();
            cleanSteps = saved.cleanSteps();
            skippedSteps = saved.skippedSteps();
        }
    }

    @Override
    public String toString() {
        return "LossScaler[scale=" + scale + ", skipped=" + skippedSteps + "]";
    }
}
