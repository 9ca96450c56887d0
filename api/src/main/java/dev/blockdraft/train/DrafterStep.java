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
import dev.blockdraft.train.objective.DraftBatch;
import dev.blockdraft.train.objective.Objective;
import dev.blockdraft.train.objective.ObjectiveValue;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import dev.blockdraft.nn.Scalars;

/**
 * One optimizer step of drafter training, shared by {@link DrafterTrainer} and the benchmark so
 * that the benchmark times exactly what training runs: per micro-batch, the frozen target's
 * features, the drafter over all blocks, the objective and backward; then the global gradient
 * norm, clipping and AdamW.
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
     * @param loss mean objective value over the micro-batches
     * @param terms each objective term's mean value
     * @param gradNorm global gradient norm of the (unscaled, accumulated-mean) gradients
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

    /** One optimizer step over {@code microBatches} (gradient accumulation) at learning rate {@code lr}. */
    public Result run(List<BlockBatch> microBatches, double lr, PhaseMarks marks) {
        StateDict master = drafter.parameters();
        boolean fp16 = precision == Precision.FP16;
        double lossScale = fp16 ? scaler.scale() : 1;
        int micros = microBatches.size();
        double lossSum = 0;
        Map<String, Double> terms = new LinkedHashMap<>();
        try (NDManager scope = master.manager().newSubManager()) {
            StateDict working = fp16 ? master.halfPrecisionCopy(scope) : master;
            Drafter model = fp16 ? drafter.over(working, featureModel) : drafter;
            if (fp16) {
                working.requireGradients(true);
                marks.mark("fp16 working copies");
            }
            for (BlockBatch batch : microBatches) {
                try (NDManager micro = scope.newSubManager()) {
                    BlockBatch.OnDevice d = batch.toDevice(micro, model.computeType());
                    marks.mark("to_device (ids, mask)");
                    try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                        NDArray features = model.targetFeatures(featureModel, d.ids()); // (S, L, F), once per sequence
                        marks.mark("target forward (features)");
                        NDArray logits = model.slotLogits(features, d); // (N, K, V)
                        marks.mark("drafter forward and head");
                        if (fp16) {
                            logits = logits.add(micro.zeros(new Shape(1), DataType.FLOAT32)); // widen, in the graph
                        }
                        DraftBatch supervision = new DraftBatch(d.labels(), d.slotMask()).withSequences(batch.sequences());
                        ObjectiveValue value = objective.loss(supervision, logits);
                        marks.mark("objective (loss)");
                        gc.backward(fp16 ? value.total().mul(Scalars.of(value.total(), lossScale)) : value.total());
                        marks.mark("backward");
                        lossSum += value.total().getFloat();
                        value.terms().forEach((k, v) -> terms.merge(k, v / micros, Double::sum));
                    }
                }
            }
            GradientStep.Outcome out = GradientStep.apply(master, working, optimizer, scaler, micros, lr,
                    config.clipNorm(), scope);
            marks.mark("grad norm, AdamW step");
            return new Result(lossSum / micros, terms, out.gradNorm(), out.skipped());
        } finally {
            marks.mark("close step scope");
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
