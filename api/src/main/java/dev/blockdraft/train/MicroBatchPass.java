package dev.blockdraft.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import dev.blockdraft.draft.BlockBatch;
import dev.blockdraft.draft.Drafter;
import dev.blockdraft.lm.LlamaModel;
import dev.blockdraft.nn.Scalars;
import dev.blockdraft.train.objective.BatchTotals;
import dev.blockdraft.train.objective.DraftBatch;
import dev.blockdraft.train.objective.Objective;
import dev.blockdraft.train.objective.ObjectiveValue;
import dev.blockdraft.train.objective.SlotStats;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The forward and backward work of one device in a step: the totals of its micro-batches (counts,
 * and statistics from a no-gradient pass) and backward of their shares, the gradients accumulating
 * in the drafter's parameters. {@link DrafterStep} runs one on the calling thread; a data-parallel
 * step runs one per device, each on its own thread.
 *
 * <p>Autograd is switched on per thread (libtorch's grad mode is thread-local) rather than with a
 * DJL {@code GradientCollector}, which allows one collector per process: two devices' backward
 * passes could not overlap. Outside {@link #backward} the calling thread records no graph.
 */
final class MicroBatchPass {
    private final Objective objective;
    private final Precision precision;
    private final LlamaModel featureModel;

    /** @param featureModel the frozen target (or its fp16 copy) that computes the features, on the drafter's device */
    MicroBatchPass(Objective objective, Precision precision, LlamaModel featureModel) {
        this.objective = objective;
        this.precision = precision;
        this.featureModel = featureModel;
    }

    LlamaModel featureModel() {
        return featureModel;
    }

    /** What backward over some micro-batches left: the sum of their loss values, and their terms (summed). */
    record Partial(double lossSum, Map<String, Double> terms) {}

    /**
     * The objective's totals over {@code microBatches}: counts from the masks, statistics (if any) from a
     * no-gradient forward pass, whose target features go into {@code keptFeatures} (owned by {@code scope}).
     */
    BatchTotals totals(Drafter model, List<BlockBatch> microBatches, NDManager scope, List<NDArray> keptFeatures,
            DrafterStep.PhaseMarks marks) {
        boolean wasRecording = recording(false);
        try {
            BatchTotals sum = BatchTotals.NONE;
            for (BlockBatch batch : microBatches) {
                try (NDManager micro = scope.newSubManager()) {
                    BlockBatch.OnDevice d = batch.toDevice(micro, model.computeType());
                    DraftBatch supervision = new DraftBatch(d.labels(), d.slotMask()).withSequences(batch.sequences());
                    BatchTotals t = objective.counts(supervision);
                    if (objective.needsStatistics()) {
                        NDArray f = features(model, d, DrafterStep.PhaseMarks.NONE);
                        t = t.with(objective.statistics(SlotStats.of(supervision,
                                logits(model, f, d, micro, DrafterStep.PhaseMarks.NONE))));
                        f.attach(scope);
                        keptFeatures.add(f);
                    }
                    sum = sum.plus(t);
                }
            }
            marks.mark(objective.needsStatistics() ? "statistics pass (forward)" : "counts");
            return sum;
        } finally {
            recording(wasRecording);
        }
    }

    /**
     * Forward and backward over every micro-batch; the gradients accumulate in {@code model}'s parameters.
     *
     * @param totals the step's totals (all micro-batches of all devices, the objective advanced by them):
     *     each micro-batch backpropagates its share; null: its own loss divided by {@code meanOver}
     * @param features the statistics pass's features, one per micro-batch, or empty (computed here)
     * @param lossScale what the loss is multiplied by before backward (fp16's loss scale, else 1)
     * @param meanOver the number of micro-batches in the whole step whose losses are averaged (terms only)
     */
    Partial backward(Drafter model, List<BlockBatch> microBatches, BatchTotals totals, List<NDArray> features,
            double lossScale, int meanOver, NDManager scope, DrafterStep.PhaseMarks marks) {
        boolean fp16 = precision == Precision.FP16;
        boolean pooled = totals != null;
        double lossSum = 0;
        Map<String, Double> terms = new LinkedHashMap<>();
        for (int i = 0; i < microBatches.size(); i++) {
            BlockBatch batch = microBatches.get(i);
            try (NDManager micro = scope.newSubManager()) {
                BlockBatch.OnDevice d = batch.toDevice(micro, model.computeType());
                marks.mark("to_device (ids, mask)");
                boolean wasRecording = recording(true);
                try {
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
                    NDArray loss = fp16 ? value.total().mul(Scalars.of(value.total(), lossScale)) : value.total();
                    JniUtils.backward((PtNDArray) loss, (PtNDArray) micro.ones(loss.getShape(), loss.getDataType()),
                            false, false);
                    marks.mark("backward");
                    lossSum += value.total().getFloat();
                    // shares add up to the step's values; losses of their own batches average
                    value.terms().forEach((k, v) -> terms.merge(k, pooled ? v : v / meanOver, Double::sum));
                } finally {
                    recording(wasRecording);
                }
            }
        }
        return new Partial(lossSum, terms);
    }

    /** Sets the calling thread's autograd recording, returns what it was. */
    static boolean recording(boolean on) {
        boolean was = JniUtils.isGradMode();
        JniUtils.setGradMode(on);
        return was;
    }

    /** (S, L, F) the frozen target's features, once per sequence. */
    private NDArray features(Drafter model, BlockBatch.OnDevice d, DrafterStep.PhaseMarks marks) {
        NDArray features = model.targetFeatures(featureModel, d.ids());
        marks.mark("target forward (features)");
        return features;
    }

    /** (N, K, V) float32 slot logits of the drafter over {@code features}. */
    private NDArray logits(Drafter model, NDArray features, BlockBatch.OnDevice d, NDManager micro,
            DrafterStep.PhaseMarks marks) {
        NDArray logits = model.slotLogits(features, d); // (N, K, V)
        marks.mark("drafter forward and head");
        if (precision == Precision.FP16) {
            logits = logits.add(micro.zeros(new Shape(1), DataType.FLOAT32)); // widen, in the graph
        }
        return logits;
    }
}
