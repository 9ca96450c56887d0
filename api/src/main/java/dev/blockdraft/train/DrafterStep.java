package dev.blockdraft.train;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.blockdraft.draft.BlockBatch;
import dev.blockdraft.draft.Drafter;
import dev.blockdraft.lm.LlamaModel;
import dev.blockdraft.nn.StateDict;
import dev.blockdraft.train.objective.BatchTotals;
import dev.blockdraft.train.objective.Objective;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One optimizer step of drafter training, shared by {@link DrafterTrainer} and the benchmark so
 * that the benchmark times exactly what training runs: per micro-batch, the frozen target's
 * features, the drafter over all blocks, the objective and backward; then the global gradient
 * norm, clipping and AdamW. Several micro-batches make one step over their concatenation, exactly
 * (see {@link #run}): what a data-parallel step must all-reduce is the objective's
 * {@link BatchTotals} and the gradients.
 *
 * <p>In {@link Precision#FP16} the step works on fresh fp16 copies of the fp32 master weights
 * (DJL's cast detaches, so copies are new leaves), computes the features with an fp16 copy of the
 * target, widens the logits to fp32 by adding a one-element fp32 zero (type promotion keeps the
 * graph, a cast would not), backpropagates the loss times a dynamic {@link LossScaler} scale, and
 * applies the unscaled fp32 gradients to the masters — or skips the step when they overflowed.
 *
 * <p>Over several devices ({@link #DrafterStep(Drafter, Objective, TrainConfig, Precision, boolean, List)})
 * the step is data-parallel: each device runs a contiguous share of the micro-batches on its own
 * replica and thread, the totals and gradients are summed in a fixed order, and one optimizer step
 * updates the masters, which are then copied to the replicas ({@link DataParallel} has the contract);
 * the result is that of one device over all the micro-batches, up to rounding.
 */
public final class DrafterStep implements AutoCloseable {

    /** Receives a mark after each phase of a step; the benchmark syncs the device and times them. */
    @FunctionalInterface
    public interface PhaseMarks {
        PhaseMarks NONE = phase -> { };

        void mark(String phase);
    }

    /**
     * What one step did.
     *
     * @param loss the objective over the step's micro-batches together (pooled), or their mean
     *     when the objective does not pool; with one micro-batch, its loss
     * @param terms each objective term's value, likewise
     * @param gradNorm global gradient norm of the (unscaled) gradients the step applies
     * @param skipped true when the gradients were not finite and no update was made
     */
    public record Result(double loss, Map<String, Double> terms, double gradNorm, boolean skipped) {}

    private final Drafter drafter;
    private final Objective objective;
    private final TrainConfig config;
    private final Precision precision;
    private final LlamaModel featureModel;
    private final AdamW optimizer;
    private final LossScaler scaler;
    private final MicroBatchPass pass;
    private final DataParallel parallel; // null on one device

    /**
     * @param halfTarget compute the features with an fp16 copy of the target even in fp32 (always so in fp16)
     */
    public DrafterStep(Drafter drafter, Objective objective, TrainConfig config, Precision precision, boolean halfTarget) {
        this(drafter, objective, config, precision, halfTarget, List.of(drafter.device()));
    }

    /**
     * A data-parallel step over {@code devices} when there are several (repeats allowed, e.g. {@code cpu,cpu});
     * the first must be the drafter's, which holds the masters, the optimizer and the loss scaler.
     */
    public DrafterStep(Drafter drafter, Objective objective, TrainConfig config, Precision precision, boolean halfTarget,
            List<Device> devices) {
        this(drafter, objective, config, precision, halfTarget, precision == Precision.FP16 ? LossScaler.dynamic() : null,
                devices);
    }

    DrafterStep(Drafter drafter, Objective objective, TrainConfig config, Precision precision, boolean halfTarget,
            LossScaler scaler) {
        this(drafter, objective, config, precision, halfTarget, scaler, List.of(drafter.device()));
    }

    private DrafterStep(Drafter drafter, Objective objective, TrainConfig config, Precision precision, boolean halfTarget,
            LossScaler scaler, List<Device> devices) {
        this.drafter = drafter;
        this.objective = objective;
        this.config = config;
        this.precision = precision;
        boolean half = halfTarget || precision == Precision.FP16;
        this.featureModel = half ? drafter.target().halfPrecisionCopy() : drafter.target();
        this.optimizer = AdamW.standard(drafter.parameters().manager(), config.weightDecay(), drafter.backend());
        this.scaler = scaler;
        this.pass = new MicroBatchPass(objective, precision, featureModel);
        drafter.parameters().requireGradients(precision == Precision.FP32); // fp16 takes gradients on copies
        this.parallel = devices.size() > 1 ? new DataParallel(drafter, devices, objective, precision, halfTarget) : null;
    }

    /** The devices the step runs on, the drafter's first. */
    public List<Device> devices() {
        return parallel == null ? List.of(drafter.device()) : parallel.devices();
    }

    /**
     * Copies the masters' weights to the other devices' replicas; a resumed run calls it after
     * restoring them (the step itself keeps the replicas in sync). Nothing to do on one device.
     */
    public void replicateWeights() {
        if (parallel != null) {
            parallel.broadcast(drafter.parameters());
        }
    }

    public AdamW optimizer() {
        return optimizer;
    }

    /** The dynamic loss scaler in fp16, null in fp32. */
    public LossScaler lossScaler() {
        return scaler;
    }

    public Precision precision() {
        return precision;
    }

    /**
     * One optimizer step over {@code microBatches} (gradient accumulation) at learning rate {@code lr}.
     *
     * <p>With one micro-batch the objective's {@link Objective#loss loss} is backpropagated as it is.
     * With several and an objective that {@linkplain Objective#pools pools}, the step equals one
     * over their concatenation: it sums every micro-batch's {@link Objective#counts counts} (and,
     * when the objective {@linkplain Objective#needsStatistics needs statistics}, those of a
     * no-gradient forward pass per micro-batch, whose target features the gradient pass reuses),
     * {@linkplain Objective#advance advances} the objective's state once, then backpropagates each
     * micro-batch's {@link Objective#share share} of the step's loss. Other objectives get the mean
     * of the micro-batches' losses. Over several devices the number of micro-batches must be a
     * multiple of theirs; the totals are summed over the devices before advancing, the gradients
     * before clipping ({@link DataParallel}).
     */
    public Result run(List<BlockBatch> microBatches, double lr, PhaseMarks marks) {
        StateDict master = drafter.parameters();
        boolean fp16 = precision == Precision.FP16;
        try (NDManager scope = master.manager().newSubManager()) {
            StateDict working = fp16 ? master.halfPrecisionCopy(scope) : master;
            Drafter model = fp16 ? drafter.over(working, featureModel) : drafter;
            if (fp16) {
                working.requireGradients(true);
                marks.mark("fp16 working copies");
            }
            if (parallel != null) {
                DataParallel.Summed sum = parallel.accumulate(model, pass, microBatches, fp16 ? scaler.scale() : 1, scope,
                        marks);
                GradientStep.Outcome out = GradientStep.applyGradients(master, sum.gradients(), optimizer, scaler, 1, lr,
                        config.clipNorm());
                if (!fp16) {
                    AdamW.zeroGradients(master); // backward accumulates into .grad: clear it for the next step
                }
                parallel.broadcast(master);
                marks.mark("grad norm, AdamW step, weights to every device");
                return new Result(sum.loss(), sum.terms(), out.gradNorm(), out.skipped());
            }
            Accumulated acc = accumulate(model, microBatches, scope, marks);
            GradientStep.Outcome out = GradientStep.apply(master, working, optimizer, scaler, acc.divisor(), lr,
                    config.clipNorm(), scope);
            marks.mark("grad norm, AdamW step");
            return new Result(acc.loss(), acc.terms(), out.gradNorm(), out.skipped());
        } finally {
            marks.mark("close step scope");
        }
    }

    /**
     * What backward over a step's micro-batches left: the step's loss and terms, and what the
     * accumulated gradients must be divided by (1 for pooled shares, the micro-batch count for means).
     */
    record Accumulated(double loss, Map<String, Double> terms, int divisor) {}

    /** Forward and backward over every micro-batch; the gradients accumulate in {@code model}'s parameters. */
    private Accumulated accumulate(Drafter model, List<BlockBatch> microBatches, NDManager scope, PhaseMarks marks) {
        double lossScale = precision == Precision.FP16 ? scaler.scale() : 1;
        int micros = microBatches.size();
        boolean pooled = micros > 1 && objective.pools();
        // the statistics pass's target features, kept for the gradient pass: the frozen target runs once per micro-batch
        List<NDArray> features = new ArrayList<>();
        BatchTotals totals = pooled ? pass.totals(model, microBatches, scope, features, marks) : null;
        if (pooled) {
            objective.advance(totals); // once per step, by all micro-batches, before any weight is read
        }
        MicroBatchPass.Partial p = pass.backward(model, microBatches, totals, features, lossScale, micros, scope, marks);
        int divisor = pooled ? 1 : micros;
        return new Accumulated(p.lossSum() / divisor, p.terms(), divisor);
    }

    /** What {@link #gradients} saw: the step's loss and terms, and each parameter's gradient as the step would apply it. */
    record Gradients(double loss, Map<String, Double> terms, Map<String, float[]> byParameter) {}

    /**
     * fp32 only, for tests: backward over {@code microBatches} as {@link #run} does it (objective
     * state advances), without the optimizer step; the gradients divided as {@link GradientStep}
     * divides them, then cleared.
     */
    Gradients gradients(List<BlockBatch> microBatches) {
        if (precision != Precision.FP32) {
            throw new IllegalStateException("gradients() is for fp32 steps, this one is " + precision);
        }
        StateDict master = drafter.parameters();
        try (NDManager scope = master.manager().newSubManager()) {
            Accumulated acc;
            Map<String, NDArray> grads;
            if (parallel != null) {
                DataParallel.Summed sum = parallel.accumulate(drafter, pass, microBatches, 1, scope, PhaseMarks.NONE);
                acc = new Accumulated(sum.loss(), sum.terms(), 1);
                grads = sum.gradients();
            } else {
                acc = accumulate(drafter, microBatches, scope, PhaseMarks.NONE);
                grads = AdamW.gradients(master, scope);
            }
            Map<String, float[]> out = new LinkedHashMap<>();
            grads.forEach((name, g) -> {
                float[] v = g.toFloatArray();
                for (int i = 0; i < v.length; i++) {
                    v[i] /= acc.divisor();
                }
                out.put(name, v);
            });
            AdamW.zeroGradients(master);
            return new Gradients(acc.loss(), acc.terms(), out);
        }
    }

    @Override
    public void close() {
        if (parallel != null) {
            parallel.close();
        }
        drafter.parameters().requireGradients(false);
        optimizer.close();
        if (featureModel != drafter.target()) {
            featureModel.close();
        }
    }
}
