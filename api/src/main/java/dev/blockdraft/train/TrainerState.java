package dev.blockdraft.train;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonParseException;
import dev.blockdraft.io.BadInputException;
import dev.blockdraft.io.SafeTensors;
import dev.blockdraft.nn.StateDict;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The resumable part of a checkpoint, saved beside the model weights: the step reached, the
 * settings that define the run ({@code run}: compared on resume, so a rerun with another seed,
 * learning rate or batch is an error rather than a silent mix of two runs), the run history, and
 * the optimizer's moments ({@code optimizer.safetensors}, names prefixed {@code exp_avg.} and
 * {@code exp_avg_sq.} as in PyTorch's AdamW state), and in fp16 training the dynamic loss
 * scaler's state.
 *
 * <p>Any trainer uses it the same way: build its run settings with {@link #runSettings}, pass
 * them to {@link #resumable} before training and to {@link #of} at each checkpoint.
 */
public record TrainerState(int step, Map<String, String> config, Map<String, String> run,
        List<TrainingRun.Step> steps, List<TrainingRun.Eval> evals, LossScaler.State lossScaler) {
    public static final String STATE_FILE = "trainer_state.json";
    public static final String OPTIMIZER_FILE = "optimizer.safetensors";
    private static final Gson GSON = new GsonBuilder().serializeSpecialFloatingPointValues().setPrettyPrinting().create();

    /**
     * Optimizer settings that do not define a run: how long it runs and so its schedule's warmup
     * (extending a run is supported), and how often it validates or checkpoints.
     */
    private static final List<String> NOT_RUN_DEFINING = List.of("steps", "warmup_steps", "eval_every",
            "eval_batches", "checkpoint_every");

    public static TrainerState of(int step, TrainConfig config, TrainingRun run, Map<String, String> runSettings) {
        return new TrainerState(step, config.asMap(), new LinkedHashMap<>(runSettings), run.steps(), run.evals(), null);
    }

    /** Without run settings: a checkpoint that cannot be checked on resume beyond its optimizer settings. */
    public static TrainerState of(int step, TrainConfig config, TrainingRun run) {
        return of(step, config, run, runSettings(config, Map.of()));
    }

    /**
     * The settings that define a run: the optimizer's (all but steps and the validation and
     * checkpoint cadence) and the trainer's own ({@code extra}: model shape, objective, precision,
     * data…), as strings compared exactly on resume.
     */
    public static Map<String, String> runSettings(TrainConfig config, Map<String, String> extra) {
        Map<String, String> m = new LinkedHashMap<>(config.asMap());
        NOT_RUN_DEFINING.forEach(m::remove);
        m.putAll(new java.util.TreeMap<>(extra));
        return m;
    }

    /** With the fp16 loss scaler's state (null: fp32 training, nothing to restore). */
    public TrainerState withLossScaler(LossScaler scaler) {
        return new TrainerState(step, config, run, steps, evals, scaler == null ? null : scaler.state());
    }

    /** Writes state and optimizer moments into a checkpoint folder being assembled. */
    public void writeInto(Path dir, AdamW optimizer) throws IOException {
        Files.writeString(dir.resolve(STATE_FILE), GSON.toJson(this));
        Map<String, ai.djl.ndarray.NDArray> arrays = new LinkedHashMap<>();
        optimizer.firstMoments().forEach((k, v) -> arrays.put("exp_avg." + k, v));
        optimizer.secondMoments().forEach((k, v) -> arrays.put("exp_avg_sq." + k, v));
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(dir.resolve(OPTIMIZER_FILE)), 1 << 20)) {
            SafeTensors.write(out, SafeTensors.fromArrays(arrays), Map.of("step", "" + optimizer.stepCount()), SafeTensors.Stored.F32);
        }
    }

    /** Reads the state of a checkpoint folder, or null when it holds none (a finished export). */
    public static TrainerState read(Path dir) {
        Path file = dir.resolve(STATE_FILE);
        if (!Files.exists(file)) {
            return null;
        }
        try {
            TrainerState s = GSON.fromJson(Files.readString(file), TrainerState.class);
            if (s == null || s.steps() == null) {
                throw BadInputException.of(file, "empty or incomplete trainer state");
            }
            return s;
        } catch (IOException e) {
            throw BadInputException.of(file, "cannot read: " + e.getMessage(), e);
        } catch (JsonParseException e) {
            throw BadInputException.of(file, "malformed JSON: " + e.getMessage(), e);
        }
    }

    /**
     * The run saved in {@code dir} to continue, or null when there is none (no folder, or a folder
     * without trainer state). Continuing is an unfinished run resumed, or a finished one extended
     * to more steps; the saved run settings must equal {@code runSettings}. A run already at
     * {@code totalSteps} or beyond is an error: it is never trained again silently.
     *
     * @throws BadInputException listing each differing setting with both values
     */
    public static TrainerState resumable(Path dir, int totalSteps, Map<String, String> runSettings) {
        if (dir == null || !Files.isDirectory(dir)) {
            return null;
        }
        TrainerState state = read(dir);
        if (state == null) {
            return null;
        }
        Map<String, String> saved = new LinkedHashMap<>(state.run() != null ? state.run()
                : state.config() != null ? state.config() : Map.of());
        if (state.run() == null) {
            NOT_RUN_DEFINING.forEach(saved::remove);
        }
        List<String> differences = new ArrayList<>();
        for (Map.Entry<String, String> e : runSettings.entrySet()) {
            String before = saved.get(e.getKey());
            if (before == null && state.run() == null) {
                continue; // a checkpoint from before run settings were recorded: only its optimizer settings are known
            }
            if (!e.getValue().equals(before)) {
                differences.add(e.getKey() + " " + (before == null ? "(not recorded)" : before) + " → " + e.getValue());
            }
        }
        for (String key : saved.keySet()) {
            if (!runSettings.containsKey(key) && state.run() != null) {
                differences.add(key + " " + saved.get(key) + " → (not set)");
            }
        }
        if (!differences.isEmpty()) {
            throw BadInputException.of(dir, "holds a run (at step " + state.step() + ") with other settings; resuming"
                    + " would mix two runs: " + String.join(", ", differences) + " (checkpoint → now); rerun with the"
                    + " checkpoint's settings, choose another --out, or pass --restart to start over");
        }
        if (state.step() >= totalSteps) {
            throw BadInputException.of(dir, "already holds a " + (state.step() == totalSteps ? "finished" : "longer")
                    + " run of " + state.step() + " steps (asked for " + totalSteps + "); pass --steps above "
                    + state.step() + " to extend it, --restart to train again, or choose another --out");
        }
        return state;
    }

    /** Whether this checkpoint ended its run (the optimizer moments were not kept): continuing extends it. */
    public boolean finished(Path dir) {
        return !Files.exists(dir.resolve(OPTIMIZER_FILE));
    }

    /** Puts the checkpoint's weights, optimizer moments and history back; returns the step reached. */
    public int restore(Path dir, StateDict params, AdamW optimizer, TrainingRun run) {
        SafeTensors weights = SafeTensors.openFolder(dir);
        for (Map.Entry<String, ai.djl.ndarray.NDArray> e : params.asMap().entrySet()) {
            if (!weights.contains(e.getKey())) {
                throw BadInputException.of(dir, "checkpoint lacks tensor '" + e.getKey() + "' of this model");
            }
            e.getValue().set(weights.readFloats(e.getKey()));
        }
        restoreOptimizer(dir, optimizer, params);
        run.restore(stepsOrEmpty(), evals == null ? List.of() : evals);
        return step;
    }

    /**
     * Restores the optimizer moments saved by {@link #writeInto}. A finished run kept none: its
     * extension starts the optimizer afresh (zero moments, bias correction from step 0), as the
     * first steps of any run do.
     */
    public void restoreOptimizer(Path dir, AdamW optimizer, StateDict params) {
        if (finished(dir)) {
            optimizer.restore(0, Map.of(), Map.of(), params);
            return;
        }
        SafeTensors st = SafeTensors.open(dir.resolve(OPTIMIZER_FILE));
        Map<String, float[]> first = new LinkedHashMap<>();
        Map<String, float[]> second = new LinkedHashMap<>();
        for (String name : params.names()) {
            if (st.contains("exp_avg." + name)) {
                first.put(name, st.readFloats("exp_avg." + name));
                second.put(name, st.readFloats("exp_avg_sq." + name));
            }
        }
        optimizer.restore(step, first, second, params);
    }

    public List<TrainingRun.Step> stepsOrEmpty() {
        return steps == null ? new ArrayList<>() : steps;
    }
}
