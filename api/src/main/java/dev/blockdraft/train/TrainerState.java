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
 * The resumable part of a checkpoint, saved beside the model weights: the step reached, the run
 * history, and the optimizer's moments ({@code optimizer.safetensors}, names prefixed
 * {@code exp_avg.} and {@code exp_avg_sq.} as in PyTorch's AdamW state), and in fp16 training the
 * dynamic loss scaler's state.
 */
public record TrainerState(int step, Map<String, String> config, List<TrainingRun.Step> steps,
        List<TrainingRun.Eval> evals, LossScaler.State lossScaler) {
    public static final String STATE_FILE = "trainer_state.json";
    public static final String OPTIMIZER_FILE = "optimizer.safetensors";
    private static final Gson GSON = new GsonBuilder().serializeSpecialFloatingPointValues().setPrettyPrinting().create();

    public static TrainerState of(int step, TrainConfig config, TrainingRun run) {
        return new TrainerState(step, config.asMap(), run.steps(), run.evals(), null);
    }

    /** With the fp16 loss scaler's state (null: fp32 training, nothing to restore). */
    public TrainerState withLossScaler(LossScaler scaler) {
        return new TrainerState(step, config, steps, evals, scaler == null ? null : scaler.state());
    }

    /** Writes state and optimizer moments into a checkpoint folder being assembled. */
    public void writeInto(Path dir, AdamW optimizer) throws IOException {
        Files.writeString(dir.resolve(STATE_FILE), GSON.toJson(this));
        Map<String, ai.djl.ndarray.NDArray> arrays = new LinkedHashMap<>();
        optimizer.firstMoments().forEach((k, v) -> arrays.put("exp_avg." + k, v));
        optimizer.secondMoments().forEach((k, v) -> arrays.put("exp_avg_sq." + k, v));
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(dir.resolve(OPTIMIZER_FILE)), 1 << 20)) {
            SafeTensors.write(out, SafeTensors.fromArrays(arrays), Map.of("step", "" + optimizer.stepCount()), false);
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
     * The unfinished run saved in {@code dir}, or null when there is none to resume (no folder,
     * or a folder without trainer state). A finished run is an error: it is never trained again
     * silently.
     */
    public static TrainerState resumable(Path dir, int totalSteps) {
        if (dir == null || !Files.isDirectory(dir)) {
            return null;
        }
        TrainerState state = read(dir);
        if (state != null && state.step() >= totalSteps) {
            throw BadInputException.of(dir, "already holds a finished run of " + state.step()
                    + " steps; choose another --out or more steps");
        }
        return state;
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

    /** Restores the optimizer moments saved by {@link #writeInto}. */
    public void restoreOptimizer(Path dir, AdamW optimizer, StateDict params) {
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
