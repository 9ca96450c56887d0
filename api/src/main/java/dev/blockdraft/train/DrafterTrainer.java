package dev.blockdraft.train;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import com.google.gson.Gson;
import com.google.gson.reflect.TypeToken;
import dev.blockdraft.draft.BlockBatch;
import dev.blockdraft.draft.Drafter;
import dev.blockdraft.draft.DrafterCheckpoint;
import dev.blockdraft.io.BadInputException;
import dev.blockdraft.io.Provenance;
import dev.blockdraft.lm.Devices;
import dev.blockdraft.train.objective.Objective;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Trains a drafter on target-regenerated data with a composable objective. Per step: sample
 * sequences and anchors, run the frozen target once to get the conditioning features, draft all
 * blocks in one pass, score the B−1 slots with the objective, clip, step. Validation measures τ
 * on held-out regenerated data; checkpoints are atomic and resumable, and carry in {@value #BEST}/
 * the drafter of the validation pass with the highest held-out τ (training to a plateau keeps the
 * best as well as the last).
 */
public final class DrafterTrainer {
    private static final String OBJECTIVE_STATE = "objective_state.json";
    /** The sub-folder holding the drafter with the best held-out τ so far: a complete drafter folder. */
    public static final String BEST = "best";
    /** In {@link #BEST}: the step and held-out τ it was taken at. */
    public static final String BEST_INFO = "best.json";
    private final DraftTrainConfig config;
    private final Objective objective;
    private final List<TrainingListener> listeners;
    private final boolean halfPrecisionTarget;
    private final Precision precision;
    private final String runName;
    private final List<Device> devices; // empty: the drafter's device alone

    public DrafterTrainer(DraftTrainConfig config, Objective objective, List<TrainingListener> listeners) {
        this(config, objective, listeners, false, Precision.FP32, objective.name(), List.of());
    }

    private DrafterTrainer(DraftTrainConfig config, Objective objective, List<TrainingListener> listeners,
            boolean halfPrecisionTarget, Precision precision, String runName, List<Device> devices) {
        this.config = config;
        this.objective = objective;
        this.listeners = List.copyOf(listeners);
        this.halfPrecisionTarget = halfPrecisionTarget;
        this.precision = precision;
        this.runName = runName;
        this.devices = List.copyOf(devices);
    }

    /** Names the run (e.g. the preset, {@code paper}) instead of the objective's term names. */
    public DrafterTrainer named(String name) {
        return new DrafterTrainer(config, objective, listeners, halfPrecisionTarget, precision, name, devices);
    }

    /**
     * Trains data-parallel over {@code devices} (the drafter's first; repeats allowed): each step's
     * {@code gradAccum} micro-batches, a multiple of the device count, are shared out contiguously,
     * and the step equals the one-device step over all of them up to rounding ({@link DrafterStep}).
     * The device list is a setting of the run's display and provenance, not of its checkpoints: a run
     * may resume on other devices.
     */
    public DrafterTrainer withDevices(List<Device> devices) {
        return new DrafterTrainer(config, objective, listeners, halfPrecisionTarget, precision, runName, devices);
    }

    /**
     * Computes the frozen target's features with an fp16 copy of it (GPU): the drafter still
     * trains in fp32 against fp32 features.
     */
    public DrafterTrainer withHalfPrecisionTarget(boolean half) {
        return new DrafterTrainer(config, objective, listeners, half, precision, runName, devices);
    }

    /** Trains in {@code precision}; {@link Precision#FP16} is mixed precision with a dynamic loss scale (GPU). */
    public DrafterTrainer withPrecision(Precision precision) {
        return new DrafterTrainer(config, objective, listeners, halfPrecisionTarget, precision, runName, devices);
    }

    public TrainingRun train(Drafter drafter, RegeneratedData data, int padId, Path outDir, Provenance provenance) {
        TrainConfig opt = config.optimizer();
        List<Device> onDevices = devices.isEmpty() ? List.of(drafter.device()) : devices;
        if (opt.gradAccum() % onDevices.size() != 0) {
            throw new IllegalArgumentException("gradAccum=" + opt.gradAccum() + " micro-batches per step cannot be shared"
                    + " evenly over " + onDevices.size() + " devices " + onDevices + "; it must be a multiple of "
                    + onDevices.size());
        }
        Map<String, String> settings = new LinkedHashMap<>(config.asMap());
        settings.put("objective", objective.toString());
        settings.put("drafter", drafter.config().toString());
        settings.put("parameters", "" + drafter.parameters().parameterCount());
        settings.put("precision", precision.toString());
        settings.put("devices", Devices.format(onDevices));
        TrainingRun run = new TrainingRun(runName, settings);
        Map<String, String> runSettings = runSettings(drafter, data);
        BlockSampler sampler = BlockSampler.forDrafter(drafter.config(), config.blocksPerSequence(), opt.seqLen(), padId);
        List<RegeneratedData.Sequence> train = sampler.usable(data.train());
        if (train.isEmpty()) {
            throw new IllegalArgumentException("regenerated data has no training sequence with a response inside "
                    + opt.seqLen() + " tokens");
        }
        List<RegeneratedData.Sequence> validation = data.validation().subList(0,
                Math.min(config.validationSequences(), data.validation().size()));
        LrSchedule schedule = opt.schedule();
        try (dev.blockdraft.io.OutputFolder.Lock lock = outDir == null ? null
                        : dev.blockdraft.io.OutputFolder.Lock.acquire(outDir, "--out");
                DrafterStep stepper = new DrafterStep(drafter, objective, opt, precision, halfPrecisionTarget, onDevices)) {
            if (outDir != null) {
                dev.blockdraft.io.AtomicFiles.recover(outDir);
            }
            int start = resume(drafter, stepper, run, outDir, runSettings);
            if (config.labels() == DraftTrainConfig.Labels.GREEDY) {
                // the target as it verifies (not its fp16 feature copy): labels are what verification compares with
                train = GreedyLabels.annotate(drafter.target(), train, opt.batchSize(), opt.seqLen(), "greedy labels: train");
                validation = GreedyLabels.annotate(drafter.target(), validation, opt.batchSize(), opt.seqLen(),
                        "greedy labels: validation");
            }
            Best best = new Best(outDir == null ? null : Best.read(outDir.resolve(BEST)));
            listeners.forEach(l -> l.onStart(run, start, opt.steps()));
            long tokensSeen = run.steps().isEmpty() ? 0 : run.steps().get(run.steps().size() - 1).tokensSeen();
            for (int step = start; step < opt.steps(); step++) {
                long t0 = System.nanoTime();
                double lr = schedule.lrAt(step);
                List<BlockBatch> micro = new ArrayList<>();
                long tokens = 0;
                for (int i = 0; i < opt.gradAccum(); i++) {
                    // one named stream per (seed, step, micro): resumed runs draw the same batches
                    SplittableRandom rng = new SplittableRandom(opt.seed() * 0x9E3779B97F4A7C15L + step * 64L + i);
                    BlockBatch batch = sampler.sample(train, opt.batchSize(), rng);
                    tokens += (long) batch.sequences() * batch.length();
                    micro.add(batch);
                }
                DrafterStep.Result r = stepper.run(micro, lr, DrafterStep.PhaseMarks.NONE);
                tokensSeen += tokens;
                double seconds = (System.nanoTime() - t0) / 1e9;
                TrainingRun.Step s = new TrainingRun.Step(step + 1, r.loss(), r.terms(), lr, r.gradNorm(),
                        tokens / seconds, tokensSeen, r.skipped());
                run.record(s);
                listeners.forEach(l -> l.onStep(run, s, opt.steps()));
                boolean last = step + 1 == opt.steps();
                if (!validation.isEmpty() && (last || (opt.evalEvery() > 0 && (step + 1) % opt.evalEvery() == 0))) {
                    Map<String, Double> metrics = DraftValidation.evaluate(drafter, validation, config.blocksPerSequence(),
                            opt.seqLen(), padId, opt.batchSize());
                    TrainingRun.Eval e = new TrainingRun.Eval(step + 1, metrics);
                    run.record(e);
                    best.offer(drafter, step + 1, metrics.get("tau"));
                    listeners.forEach(l -> l.onEval(run, e));
                }
                if (outDir != null && (last || (opt.checkpointEvery() > 0 && (step + 1) % opt.checkpointEvery() == 0))) {
                    save(drafter, stepper, run, step + 1, outDir, provenance, runSettings, best);
                    int reached = step + 1;
                    listeners.forEach(l -> l.onCheckpoint(run, reached, outDir));
                }
            }
        }
        run.finish();
        listeners.forEach(l -> l.onFinish(run));
        return run;
    }

    /**
     * The settings that define a run of this trainer on {@code drafter} and {@code data}, as its
     * checkpoints record them (a resume or a reuse under other settings is refused).
     */
    public Map<String, String> runSettings(Drafter drafter, RegeneratedData data) {
        Map<String, String> extra = new LinkedHashMap<>(Map.of("objective", objective.toString(),
                "drafter", drafter.config().toString(), "precision", precision.toString(),
                "half_precision_target", "" + halfPrecisionTarget,
                "blocks_per_sequence", "" + config.blocksPerSequence(),
                "train_sequences", "" + data.train().size(),
                "target_embedding_sha256", dev.blockdraft.lm.TargetFingerprint.of(drafter.target()).embeddingSha256()));
        String labels = config.asMap().get("labels"); // absent for the default (DraftTrainConfig): older checkpoints resume
        if (labels != null) {
            extra.put("labels", labels);
        }
        return TrainerState.runSettings(config.optimizer(), extra);
    }

    /** Whether {@code outDir} holds a finished run of exactly these settings and steps (so its drafter can be reused). */
    public boolean finishedIn(Path outDir, Drafter drafter, RegeneratedData data) {
        TrainerState state = TrainerState.read(outDir);
        return state != null && state.finished(outDir) && state.step() == config.optimizer().steps()
                && runSettings(drafter, data).equals(state.run());
    }

    private int resume(Drafter drafter, DrafterStep stepper, TrainingRun run, Path outDir, Map<String, String> runSettings) {
        TrainerState state = TrainerState.resumable(outDir, config.optimizer().steps(), runSettings);
        if (state == null) {
            return 0;
        }
        int step = state.restore(outDir, drafter.parameters(), stepper.optimizer(), run);
        stepper.replicateWeights(); // the other devices' replicas start from the restored masters
        if (stepper.lossScaler() != null) {
            stepper.lossScaler().restore(state.lossScaler());
        }
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

    private void save(Drafter drafter, DrafterStep stepper, TrainingRun run, int step, Path outDir, Provenance provenance,
            Map<String, String> runSettings, Best best) {
        AdamW optimizer = stepper.optimizer();
        TrainerState state = TrainerState.of(step, config.optimizer(), run, runSettings)
                .withLossScaler(stepper.lossScaler());
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
            best.writeInto(dir.resolve(BEST), outDir.resolve(BEST), drafter, extra);
        });
    }

    /**
     * The best validation pass so far: its step and τ, and a host copy of the weights when it was
     * taken in this process (a resumed run knows the step and τ from disk and keeps that copy).
     */
    private static final class Best {
        private double tau = Double.NEGATIVE_INFINITY;
        private int step = -1;
        private Map<String, float[]> weights; // null: the copy on disk (if any) is current

        Best(double[] onDisk) {
            if (onDisk != null) {
                step = (int) onDisk[0];
                tau = onDisk[1];
            }
        }

        /** {step, tau} recorded in a best folder, or null. */
        static double[] read(Path folder) {
            Path info = folder.resolve(BEST_INFO);
            if (!Files.exists(info)) {
                return null;
            }
            try {
                Map<String, Double> m = new Gson().fromJson(Files.readString(info),
                        new TypeToken<Map<String, Double>>() { }.getType());
                return new double[] {m.get("step"), m.get("tau")};
            } catch (IOException | RuntimeException e) {
                throw BadInputException.of(info, "cannot read the best checkpoint's record: " + e.getMessage(), e);
            }
        }

        void offer(Drafter drafter, int atStep, Double heldOutTau) {
            if (heldOutTau != null && heldOutTau > tau) {
                tau = heldOutTau;
                step = atStep;
                weights = new LinkedHashMap<>();
                drafter.parameters().asMap().forEach((name, w) -> weights.put(name, w.toFloatArray()));
            }
        }

        /** Writes the best drafter into {@code fresh}: from the host copy, else carried over from {@code previous}. */
        void writeInto(Path fresh, Path previous, Drafter drafter, Map<String, String> extra) throws IOException {
            if (weights != null) {
                try (dev.blockdraft.nn.StateDict copy = new dev.blockdraft.nn.StateDict(
                        ai.djl.ndarray.NDManager.newBaseManager(ai.djl.Device.cpu()))) {
                    weights.forEach((name, w) -> copy.put(name, copy.manager().create(w,
                            drafter.parameters().get(name).getShape())));
                    Drafter view = drafter.over(copy, drafter.target());
                    Files.createDirectories(fresh);
                    DrafterCheckpoint.writeFiles(view, fresh, extra);
                }
                Files.writeString(fresh.resolve(BEST_INFO), new Gson().toJson(Map.of("step", step, "tau", tau)));
            } else if (Files.isDirectory(previous)) {
                try (java.util.stream.Stream<Path> files = Files.walk(previous)) {
                    for (Path from : (Iterable<Path>) files::iterator) {
                        Path to = fresh.resolve(previous.relativize(from).toString());
                        if (Files.isDirectory(from)) {
                            Files.createDirectories(to);
                        } else {
                            Files.copy(from, to);
                        }
                    }
                }
            }
        }
    }
}
