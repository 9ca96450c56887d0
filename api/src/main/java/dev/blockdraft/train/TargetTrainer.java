package dev.blockdraft.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.blockdraft.io.AtomicFiles;
import dev.blockdraft.io.OutputFolder;
import dev.blockdraft.io.Provenance;
import dev.blockdraft.lm.HfCheckpoint;
import dev.blockdraft.lm.LlamaModel;
import dev.blockdraft.nn.Ops;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Next-token training of a target model: AdamW, warmup + cosine, global-norm clipping, gradient
 * accumulation, periodic validation loss and atomic, resumable checkpoints.
 */
public final class TargetTrainer {
    private final TrainConfig config;
    private final List<TrainingListener> listeners;
    private final Precision precision;

    public TargetTrainer(TrainConfig config, List<TrainingListener> listeners) {
        this(config, listeners, Precision.FP32);
    }

    private TargetTrainer(TrainConfig config, List<TrainingListener> listeners, Precision precision) {
        this.config = config;
        this.listeners = List.copyOf(listeners);
        this.precision = precision;
    }

    /**
     * Trains in {@code precision}: {@link Precision#FP16} runs each step's forward and backward on
     * fresh fp16 copies of the fp32 masters with a dynamic loss scale (GPU); validation stays fp32.
     */
    public TargetTrainer withPrecision(Precision precision) {
        return new TargetTrainer(config, listeners, precision);
    }

    /**
     * Trains {@code model} in place. If {@code outDir} holds an unfinished checkpoint of this run,
     * training resumes from it (weights, optimizer moments, history and data order).
     *
     * @param outDir checkpoint folder (HF layout plus trainer state), or null for none
     * @param tokenizerDir copied into each checkpoint so it is a complete HF model folder
     */
    public TrainingRun train(LlamaModel model, TokenStream train, TokenStream validation, Path outDir,
            Path tokenizerDir, Provenance provenance) {
        Map<String, String> settings = new LinkedHashMap<>(config.asMap());
        settings.put("parameters", "" + model.parameters().parameterCount());
        settings.put("precision", precision.toString());
        TrainingRun run = new TrainingRun("target", settings);
        Map<String, String> runSettings = TrainerState.runSettings(config, Map.of(
                "model", model.config().toJson().replaceAll("\\s+", ""),
                "precision", precision.toString(),
                "train_tokens", train.length() + " tokens, sha256 " + sha256(train.tokens())));
        LrSchedule schedule = config.schedule();
        try (OutputFolder.Lock lock = outDir == null ? null : OutputFolder.Lock.acquire(outDir, "--out");
                TargetStep stepper = new TargetStep(model, config, precision)) {
            if (outDir != null) {
                AtomicFiles.recover(outDir);
            }
            int start = resume(model, stepper.optimizer(), run, outDir, stepper.lossScaler(), runSettings);
            listeners.forEach(l -> l.onStart(run, start, config.steps()));
            long tokensSeen = run.steps().isEmpty() ? 0 : run.steps().get(run.steps().size() - 1).tokensSeen();
            for (int step = start; step < config.steps(); step++) {
                long t0 = System.nanoTime();
                double lr = schedule.lrAt(step);
                List<long[]> micro = new ArrayList<>();
                for (int i = 0; i < config.gradAccum(); i++) {
                    micro.add(train.randomWindows(config.batchSize(), config.seqLen(), config.seed(), step, i));
                }
                TargetStep.Result outcome = stepper.run(micro, lr);
                long tokens = (long) config.batchSize() * config.seqLen() * config.gradAccum();
                tokensSeen += tokens;
                double seconds = (System.nanoTime() - t0) / 1e9;
                TrainingRun.Step s = new TrainingRun.Step(step + 1, outcome.loss(), Map.of(), lr, outcome.gradNorm(),
                        tokens / seconds, tokensSeen, outcome.skipped());
                run.record(s);
                listeners.forEach(l -> l.onStep(run, s, config.steps()));
                boolean last = step + 1 == config.steps();
                if (last || (config.evalEvery() > 0 && (step + 1) % config.evalEvery() == 0)) {
                    double valLoss = validationLoss(model, validation, config);
                    TrainingRun.Eval e = new TrainingRun.Eval(step + 1, Map.of("val_loss", valLoss));
                    run.record(e);
                    listeners.forEach(l -> l.onEval(run, e));
                }
                if (outDir != null && (last || (config.checkpointEvery() > 0 && (step + 1) % config.checkpointEvery() == 0))) {
                    save(model, stepper.optimizer(), stepper.lossScaler(), run, step + 1, outDir, tokenizerDir, provenance,
                            runSettings);
                    int reached = step + 1;
                    listeners.forEach(l -> l.onCheckpoint(run, reached, outDir));
                }
            }
        }
        run.finish();
        listeners.forEach(l -> l.onFinish(run));
        return run;
    }

    /** The SHA-256 of token ids (little-endian int32): the training data a run is bound to. */
    static String sha256(int[] tokens) {
        try {
            java.security.MessageDigest md = java.security.MessageDigest.getInstance("SHA-256");
            java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(1 << 16).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            for (int t : tokens) {
                if (!buf.hasRemaining()) {
                    md.update(buf.array(), 0, buf.position());
                    buf.clear();
                }
                buf.putInt(t);
            }
            md.update(buf.array(), 0, buf.position());
            return java.util.HexFormat.of().formatHex(md.digest()).substring(0, 16);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Mean validation cross-entropy over {@code evalBatches} fixed windows. */
    public static double validationLoss(LlamaModel model, TokenStream validation, TrainConfig config) {
        double sum = 0;
        int batches = Math.max(1, config.evalBatches());
        for (int i = 0; i < batches; i++) {
            long[] windows = validation.evalWindows(config.batchSize(), config.seqLen(), i);
            try (NDManager scope = model.manager().newSubManager()) {
                sum += windowLoss(model, scope, windows, config.batchSize(), config.seqLen()).getFloat();
            }
        }
        return sum / batches;
    }

    /** Cross-entropy of predicting tokens 1..T of each (T+1)-token window from the ones before. */
    public static NDArray windowLoss(LlamaModel model, NDManager scope, long[] windows, int batch, int seqLen) {
        NDArray ids = scope.create(windows).reshape(batch, seqLen + 1);
        NDArray input = ids.get(":, :-1"); // (B, T)
        NDArray labels = ids.get(":, 1:"); // (B, T)
        NDArray logits = model.forward(input, new int[0], LlamaModel.Logits.ALL).logits(); // (B, T, V)
        if (logits.getDataType() != DataType.FLOAT32) {
            logits = logits.add(scope.zeros(new Shape(1), DataType.FLOAT32)); // widen for the loss, in the graph
        }
        return Ops.crossEntropy(logits.reshape(-1, model.config().vocabSize()), labels.reshape(-1));
    }

    private int resume(LlamaModel model, AdamW optimizer, TrainingRun run, Path outDir, LossScaler scaler,
            Map<String, String> runSettings) {
        TrainerState state = TrainerState.resumable(outDir, config.steps(), runSettings);
        if (state == null) {
            return 0;
        }
        if (scaler != null) {
            scaler.restore(state.lossScaler());
        }
        return state.restore(outDir, model.parameters(), optimizer, run);
    }

    private void save(LlamaModel model, AdamW optimizer, LossScaler scaler, TrainingRun run, int step, Path outDir,
            Path tokenizerDir, Provenance provenance, Map<String, String> runSettings) {
        boolean finished = step == config.steps();
        TrainerState state = TrainerState.of(step, config, run, runSettings).withLossScaler(scaler);
        Map<String, String> extra = new LinkedHashMap<>();
        if (provenance != null) {
            extra.put(Provenance.FILE, provenance.toJson());
        }
        HfCheckpoint.save(model, outDir, tokenizerDir, extra, dir -> {
            state.writeInto(dir, optimizer);
            if (finished) {
                // A finished run keeps its history but not the optimizer: the folder is a plain model.
                java.nio.file.Files.deleteIfExists(dir.resolve(TrainerState.OPTIMIZER_FILE));
            }
        });
    }
}
