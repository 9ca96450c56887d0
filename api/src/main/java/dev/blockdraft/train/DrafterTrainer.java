package dev.blockdraft.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import com.google.gson.Gson;
import com.google.gson.reflect.TypeToken;
import dev.blockdraft.draft.Drafter;
import dev.blockdraft.draft.DrafterCheckpoint;
import dev.blockdraft.io.BadInputException;
import dev.blockdraft.io.Provenance;
import dev.blockdraft.lm.LlamaModel;
import dev.blockdraft.train.objective.DraftBatch;
import dev.blockdraft.train.objective.Objective;
import dev.blockdraft.train.objective.ObjectiveValue;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Trains a drafter on target-regenerated data with a composable objective. Per step: sample
 * sequences and anchors, run the frozen target once to get the conditioning features, draft all
 * blocks in one pass, score the B−1 slots with the objective, clip, step. Validation measures τ
 * on held-out regenerated data; checkpoints are atomic and resumable.
 */
public final class DrafterTrainer {
    private static final String OBJECTIVE_STATE = "objective_state.json";
    private final DraftTrainConfig config;
    private final Objective objective;
    private final List<TrainingListener> listeners;
    private final boolean halfPrecisionTarget;
    private final String runName;

    public DrafterTrainer(DraftTrainConfig config, Objective objective, List<TrainingListener> listeners) {
        this(config, objective, listeners, false, objective.name());
    }

    private DrafterTrainer(DraftTrainConfig config, Objective objective, List<TrainingListener> listeners,
            boolean halfPrecisionTarget, String runName) {
        this.config = config;
        this.objective = objective;
        this.listeners = List.copyOf(listeners);
        this.halfPrecisionTarget = halfPrecisionTarget;
        this.runName = runName;
    }

    /** Names the run (e.g. the preset, {@code paper}) instead of the objective's term names. */
    public DrafterTrainer named(String name) {
        return new DrafterTrainer(config, objective, listeners, halfPrecisionTarget, name);
    }

    /**
     * Computes the frozen target's features with an fp16 copy of it (GPU): the drafter still
     * trains in fp32 against fp32 features.
     */
    public DrafterTrainer withHalfPrecisionTarget(boolean half) {
        return new DrafterTrainer(config, objective, listeners, half, runName);
    }

    public TrainingRun train(Drafter drafter, RegeneratedData data, int padId, Path outDir, Provenance provenance) {
        TrainConfig opt = config.optimizer();
        Map<String, String> settings = new LinkedHashMap<>(config.asMap());
        settings.put("objective", objective.toString());
        settings.put("drafter", drafter.config().toString());
        settings.put("parameters", "" + drafter.parameters().parameterCount());
        TrainingRun run = new TrainingRun(runName, settings);
        BlockSampler sampler = new BlockSampler(drafter.config().blockSize(), config.blocksPerSequence(), opt.seqLen(),
                drafter.config().maskTokenId(), padId);
        List<RegeneratedData.Sequence> train = sampler.usable(data.train());
        if (train.isEmpty()) {
            throw new IllegalArgumentException("regenerated data has no training sequence with a response inside "
                    + opt.seqLen() + " tokens");
        }
        List<RegeneratedData.Sequence> validation = data.validation().subList(0,
                Math.min(config.validationSequences(), data.validation().size()));
        LrSchedule schedule = opt.schedule();
        LlamaModel featureModel = halfPrecisionTarget ? drafter.target().halfPrecisionCopy() : drafter.target();
        try (AdamW optimizer = AdamW.standard(drafter.parameters().manager(), opt.weightDecay())) {
            int start = resume(drafter, optimizer, run, outDir);
            listeners.forEach(l -> l.onStart(run, start, opt.steps()));
            drafter.parameters().requireGradients(true);
            long tokensSeen = run.steps().isEmpty() ? 0 : run.steps().get(run.steps().size() - 1).tokensSeen();
            for (int step = start; step < opt.steps(); step++) {
                long t0 = System.nanoTime();
                double lr = schedule.lrAt(step);
                double lossSum = 0;
                long tokens = 0;
                Map<String, Double> terms = new LinkedHashMap<>();
                for (int micro = 0; micro < opt.gradAccum(); micro++) {
                    // one named stream per (seed, step, micro): resumed runs draw the same batches
                    SplittableRandom rng = new SplittableRandom(opt.seed() * 0x9E3779B97F4A7C15L + step * 64L + micro);
                    BlockSampler.Batch batch = sampler.sample(train, opt.batchSize(), rng);
                    tokens += (long) batch.sequences() * batch.length();
                    try (NDManager scope = drafter.parameters().manager().newSubManager()) {
                        BlockSampler.Batch.OnDevice d = batch.toDevice(scope);
                        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                            NDArray logits = slotLogits(drafter, featureModel, d, batch); // (N, K, V)
                            ObjectiveValue value = objective.loss(new DraftBatch(d.labels(), d.slotMask()), logits);
                            gc.backward(value.total());
                            lossSum += value.total().getFloat();
                            value.terms().forEach((k, v) -> terms.merge(k, v / opt.gradAccum(), Double::sum));
                        }
                    }
                }
                double gradNorm = AdamW.gradientNorm(drafter.parameters()) / opt.gradAccum();
                double clip = opt.clipNorm() > 0 && gradNorm > opt.clipNorm() ? opt.clipNorm() / gradNorm : 1.0;
                boolean finite = Double.isFinite(gradNorm);
                if (finite) {
                    optimizer.step(drafter.parameters(), lr, clip / opt.gradAccum());
                }
                AdamW.zeroGradients(drafter.parameters());
                tokensSeen += tokens;
                double seconds = (System.nanoTime() - t0) / 1e9;
                TrainingRun.Step s = new TrainingRun.Step(step + 1, lossSum / opt.gradAccum(), terms, lr, gradNorm,
                        tokens / seconds, tokensSeen, !finite);
                run.record(s);
                listeners.forEach(l -> l.onStep(run, s, opt.steps()));
                boolean last = step + 1 == opt.steps();
                if (!validation.isEmpty() && (last || (opt.evalEvery() > 0 && (step + 1) % opt.evalEvery() == 0))) {
                    Map<String, Double> metrics = DraftValidation.evaluate(drafter, validation, config.blocksPerSequence(),
                            opt.seqLen(), padId, opt.batchSize());
                    TrainingRun.Eval e = new TrainingRun.Eval(step + 1, metrics);
                    run.record(e);
                    listeners.forEach(l -> l.onEval(run, e));
                }
                if (outDir != null && (last || (opt.checkpointEvery() > 0 && (step + 1) % opt.checkpointEvery() == 0))) {
                    save(drafter, optimizer, run, step + 1, outDir, provenance);
                    int reached = step + 1;
                    listeners.forEach(l -> l.onCheckpoint(run, reached, outDir));
                }
            }
            drafter.parameters().requireGradients(false);
        } finally {
            if (featureModel != drafter.target()) {
                featureModel.close();
            }
        }
        run.finish();
        listeners.forEach(l -> l.onFinish(run));
        return run;
    }

    /**
     * Runs the frozen target for features, then the drafter over all blocks, and returns the
     * logits of the B−1 slots of every block, (S·M, B−1, V).
     */
    static NDArray slotLogits(Drafter drafter, BlockSampler.Batch.OnDevice d, BlockSampler.Batch batch) {
        return slotLogits(drafter, drafter.target(), d, batch);
    }

    /** As above, with the features computed by {@code featureModel} (the target, or its fp16 copy). */
    public static NDArray slotLogits(Drafter drafter, LlamaModel featureModel, BlockSampler.Batch.OnDevice d,
            BlockSampler.Batch batch) {
        NDArray features = targetFeatures(featureModel, d.ids(), drafter.config().featureLayers()); // (S, L, F)
        NDArray context = drafter.contextStates(features); // (S, L, C)
        NDArray hidden = drafter.forward(d.blockIds(), d.blockPositions(), context, d.contextPositions(), d.mask()); // (S, Q, C)
        int b = batch.blockSize();
        long s = batch.sequences(), m = batch.blocks(), c = hidden.getShape().get(2);
        NDArray slots = hidden.reshape(s * m, b, c).get(":, 1:, :"); // (S·M, B−1, C): the anchor needs no logits
        return drafter.head(slots);
    }

    /**
     * The frozen target's features of {@code ids} (S, L): its feature layers' outputs concatenated,
     * fp32, detached, in the ids' manager. The target's activations are needed only until then:
     * computing them in a sub-scope frees every layer's attention tensors before the drafter runs.
     */
    public static NDArray targetFeatures(LlamaModel target, NDArray ids, int[] layers) {
        NDManager stepScope = ids.getManager();
        try (NDManager targetScope = stepScope.newSubManager()) {
            NDArray view = ids.get(":"); // a view, moved into the sub-scope so results land there
            view.attach(targetScope);
            LlamaModel.Output out = target.forward(view, layers, LlamaModel.Logits.NONE);
            NDArray features = Drafter.concatFeatures(out.hidden());
            features = features.getDataType() == ai.djl.ndarray.types.DataType.FLOAT32 ? features.stopGradient()
                    : features.toType(ai.djl.ndarray.types.DataType.FLOAT32, false);
            features.attach(stepScope);
            return features;
        }
    }

    private int resume(Drafter drafter, AdamW optimizer, TrainingRun run, Path outDir) {
        TrainerState state = TrainerState.resumable(outDir, config.optimizer().steps());
        if (state == null) {
            return 0;
        }
        int step = state.restore(outDir, drafter.parameters(), optimizer, run);
        Path objectiveFile = outDir.resolve(OBJECTIVE_STATE);
        if (Files.exists(objectiveFile)) {
            try {
                Map<String, double[]> saved = new Gson().fromJson(Files.readString(objectiveFile),
                        new TypeToken<Map<String, double[]>>() { }.getType());
                objective.restoreState(saved);
            } catch (IOException e) {
                throw BadInputException.of(objectiveFile, "cannot read: " + e.getMessage(), e);
            }
        }
        return step;
    }

    private void save(Drafter drafter, AdamW optimizer, TrainingRun run, int step, Path outDir, Provenance provenance) {
        TrainerState state = TrainerState.of(step, config.optimizer(), run);
        Map<String, String> extra = new LinkedHashMap<>();
        if (provenance != null) {
            extra.put(Provenance.FILE, provenance.toJson());
        }
        extra.put(OBJECTIVE_STATE, new Gson().toJson(objective.state()));
        boolean finished = step == config.optimizer().steps();
        DrafterCheckpoint.save(drafter, outDir, extra, dir -> {
            state.writeInto(dir, optimizer);
            if (finished) {
                Files.deleteIfExists(dir.resolve(TrainerState.OPTIMIZER_FILE));
            }
        });
    }
}
