package dev.blockdraft.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import dev.blockdraft.lm.LlamaModel;
import dev.blockdraft.nn.StateDict;
import java.util.List;
import dev.blockdraft.nn.Scalars;

/**
 * One optimizer step of next-token training, shared by {@link TargetTrainer} and the benchmark:
 * per micro-batch of windows the forward pass, cross-entropy and backward; then the global norm,
 * clipping and AdamW. {@link Precision#FP16} works on fresh fp16 copies of the fp32 masters with a
 * dynamic loss scale, as {@link DrafterStep} does.
 */
public final class TargetStep implements AutoCloseable {

    /** What one step did: mean loss, the true gradient norm, whether the update was skipped (overflow). */
    public record Result(double loss, double gradNorm, boolean skipped) {}

    private final LlamaModel model;
    private final TrainConfig config;
    private final Precision precision;
    private final AdamW optimizer;
    private final LossScaler scaler;

    public TargetStep(LlamaModel model, TrainConfig config, Precision precision) {
        this.model = model;
        this.config = config;
        this.precision = precision;
        this.optimizer = AdamW.standard(model.manager(), config.weightDecay(), model.backend());
        this.scaler = precision == Precision.FP16 ? LossScaler.dynamic() : null;
        model.parameters().requireGradients(precision == Precision.FP32);
    }

    public AdamW optimizer() {
        return optimizer;
    }

    /** The dynamic loss scaler in fp16, null in fp32. */
    public LossScaler lossScaler() {
        return scaler;
    }

    /**
     * One step over {@code microBatches}, each {@code batchSize} windows of {@code seqLen + 1} tokens
     * laid end to end (as {@link TokenStream#randomWindows} returns them).
     */
    public Result run(List<long[]> microBatches, double lr) {
        boolean fp16 = precision == Precision.FP16;
        double lossScale = fp16 ? scaler.scale() : 1;
        double lossSum = 0;
        try (NDManager scope = model.manager().newSubManager()) {
            StateDict working = fp16 ? model.parameters().halfPrecisionCopy(scope) : model.parameters();
            LlamaModel work = fp16 ? model.over(working) : model;
            working.requireGradients(true);
            for (long[] windows : microBatches) {
                try (NDManager micro = scope.newSubManager();
                        GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    NDArray loss = TargetTrainer.windowLoss(work, micro, windows, config.batchSize(), config.seqLen());
                    gc.backward(fp16 ? loss.mul(Scalars.of(loss, lossScale)) : loss);
                    lossSum += loss.getFloat();
                }
            }
            GradientStep.Outcome out = GradientStep.apply(model.parameters(), working, optimizer, scaler,
                    microBatches.size(), lr, config.clipNorm(), scope);
            return new Result(lossSum / microBatches.size(), out.gradNorm(), out.skipped());
        }
    }

    @Override
    public void close() {
        model.parameters().requireGradients(false);
        optimizer.close();
    }
}
