package dev.blockdraft.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.blockdraft.draft.BlockBatch;
import dev.blockdraft.draft.Drafter;
import dev.blockdraft.lm.LlamaModel;
import dev.blockdraft.nn.StateDict;
import dev.blockdraft.train.objective.BatchTotals;
import dev.blockdraft.train.objective.DraftBatch;
import dev.blockdraft.train.objective.Objective;
import dev.blockdraft.train.objective.ObjectiveValue;
import dev.blockdraft.train.objective.SlotStats;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import dev.blockdraft.nn.Scalars;

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

    /**
     * @param halfTarget compute the features with an fp16 copy of the target even in fp32 (always so in fp16)
     */
    public DrafterStep(Drafter drafter, Objective objective, TrainConfig config, Precision precision, boolean halfTarget) {
        this(drafter, objective, config, precision, halfTarget, precision == Precision.FP16 ? LossScaler.dynamic() : null);
    }

    DrafterStep(Drafter drafter, Objective objective, TrainConfig config, Precision precision, boolean halfTarget,
            LossScaler scaler) {
        this.drafter = drafter;
        this.objective = objective;
        this.config = config;
        this.precision = precision;
        boolean half = halfTarget || precision == Precision.FP16;
        this.featureModel = half ? drafter.target().halfPrecisionCopy() : drafter.target();
        this.optimizer = AdamW.standard(drafter.parameters().manager(), config.weightDecay(), drafter.backend());
        this.scaler = scaler;
        drafter.parameters().requireGradients(precision == Precision.FP32); // fp16 takes gradients on copies
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
     * micro-batch's {@link Objective#share share} of the step's loss. A data-parallel step would all-reduce the summed totals before advancing
     * and the gradients before clipping. Other objectives get the mean of the micro-batches' losses.
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
        boolean fp16 = precision == Precision.FP16;
        double lossScale = fp16 ? scaler.scale() : 1;
        int micros = microBatches.size();
        boolean pooled = micros > 1 && objective.pools();
        // the statistics pass's target features, kept for the gradient pass: the frozen target runs once per micro-batch
        List<NDArray> features = new java.util.ArrayList<>();
        BatchTotals totals = pooled ? totals(model, microBatches, scope, features, marks) : null;
        if (pooled) {
            objective.advance(totals); // once per step, by all micro-batches, before any weight is read
        }
        double lossSum = 0;
        Map<String, Double> terms = new LinkedHashMap<>();
        for (int i = 0; i < micros; i++) {
            BlockBatch batch = microBatches.get(i);
            try (NDManager micro = scope.newSubManager()) {
                BlockBatch.OnDevice d = batch.toDevice(micro, model.computeType());
                marks.mark("to_device (ids, mask)");
                try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    NDArray f;
                    if (features.isEmpty()) {
                        f = features(model, d, marks);
                    } else {
                        f = features.get(i).get(":"); // a view in this micro-batch's scope, so the drafter's activations land there
                        f.attach(micro);
                    }
                    NDArray logits = logits(model, f, d, micro, marks);
                    DraftBatch supervision = new DraftBatch(d.labels(), d.slotMask()).withSequences(batch.sequences());
                    ObjectiveValue value = pooled ? objective.share(SlotStats.of(supervision, logits), totals)
                            : objective.loss(supervision, logits);
                    marks.mark("objective (loss)");
                    gc.backward(fp16 ? value.total().mul(Scalars.of(value.total(), lossScale)) : value.total());
                    marks.mark("backward");
                    lossSum += value.total().getFloat();
                    // shares add up to the step's values; losses of their own batches average
                    value.terms().forEach((k, v) -> terms.merge(k, pooled ? v : v / micros, Double::sum));
                }
            }
        }
        int divisor = pooled ? 1 : micros;
        return new Accumulated(lossSum / divisor, terms, divisor);
    }

    /**
     * The objective's totals over all micro-batches: counts from the masks, statistics (if any) from a
     * no-gradient forward pass, whose target features go into {@code keptFeatures} (owned by {@code scope}).
     */
    private BatchTotals totals(Drafter model, List<BlockBatch> microBatches, NDManager scope, List<NDArray> keptFeatures,
            PhaseMarks marks) {
        BatchTotals sum = BatchTotals.NONE;
        for (BlockBatch batch : microBatches) {
            try (NDManager micro = scope.newSubManager()) {
                BlockBatch.OnDevice d = batch.toDevice(micro, model.computeType());
                DraftBatch supervision = new DraftBatch(d.labels(), d.slotMask()).withSequences(batch.sequences());
                BatchTotals t = objective.counts(supervision);
                if (objective.needsStatistics()) { // outside a GradientCollector DJL's PyTorch records no graph
                    NDArray f = features(model, d, PhaseMarks.NONE);
                    t = t.with(objective.statistics(SlotStats.of(supervision, logits(model, f, d, micro, PhaseMarks.NONE))));
                    f.attach(scope);
                    keptFeatures.add(f);
                }
                sum = sum.plus(t);
            }
        }
        marks.mark(objective.needsStatistics() ? "statistics pass (forward)" : "counts");
        return sum;
    }

    /** (S, L, F) the frozen target's features, once per sequence. */
    private NDArray features(Drafter model, BlockBatch.OnDevice d, PhaseMarks marks) {
        NDArray features = model.targetFeatures(featureModel, d.ids());
        marks.mark("target forward (features)");
        return features;
    }

    /** (N, K, V) float32 slot logits of the drafter over {@code features}. */
    private NDArray logits(Drafter model, NDArray features, BlockBatch.OnDevice d, NDManager micro, PhaseMarks marks) {
        NDArray logits = model.slotLogits(features, d); // (N, K, V)
        marks.mark("drafter forward and head");
        if (precision == Precision.FP16) {
            logits = logits.add(micro.zeros(new Shape(1), DataType.FLOAT32)); // widen, in the graph
        }
        return logits;
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
            Accumulated acc = accumulate(drafter, microBatches, scope, PhaseMarks.NONE);
            Map<String, float[]> out = new LinkedHashMap<>();
            AdamW.gradients(master, scope).forEach((name, g) -> {
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
        drafter.parameters().requireGradients(false);
        optimizer.close();
        if (featureModel != drafter.target()) {
            featureModel.close();
        }
    }
}
