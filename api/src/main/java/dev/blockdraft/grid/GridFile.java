package dev.blockdraft.grid;

import ai.djl.Device;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import dev.blockdraft.Workflows;
import dev.blockdraft.data.Benchmark;
import dev.blockdraft.draft.DrafterConfig;
import dev.blockdraft.io.BadInputException;
import dev.blockdraft.lm.Sampling;
import dev.blockdraft.spec.Decoding;
import dev.blockdraft.train.BlockSampler;
import dev.blockdraft.train.DraftTrainConfig;
import dev.blockdraft.train.Precision;
import dev.blockdraft.train.RegenerationRecipe;
import dev.blockdraft.train.TrainConfig;
import dev.blockdraft.train.objective.Objectives;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * Reads a grid file (JSON). Every key is optional except {@code objectives}; defaults are the
 * device's ({@link RegenerationRecipe#defaultsFor}, {@link DraftTrainConfig#defaultsFor},
 * {@link DrafterConfig#defaultBlockSize}), so a grid and {@code train-drafter} on the same device
 * start from the same settings.
 *
 * <pre>{@code
 * {
 *   "name": "demo",
 *   "out": "runs/grids/demo",                      // default runs/grids/<file name>
 *   "targets": ["default"],                        // folders; "default" = datasets/targets/default
 *   "objectives": ["uniform", "paper", {"name": "chain1", "objective": "paper:alpha-chain=1.0"},
 *                  {"name": "paper-L2", "objective": "paper", "layers": 2}],  // an arm's own drafter depth
 *   "baseline": "uniform",                         // default: the first objective
 *   "seeds": [1, 2], "steps": [60], "block_sizes": [8],
 *   "drafts": [1, 4],                              // K > 1: the K = 1 cell's drafter, multi-draft self-selection
 *   "temperatures": [0, 1],                        // T > 0: the same drafter, exact speculative sampling at T
 *   "layers": 1, "feature_layers": "spread", "precision": "fp32", "device": "cpu",
 *   "regeneration": {"conversations": 96, "validation": 12, "max_new_tokens": 48, "follow_up_share": 0.5,
 *                    "max_prompt_tokens": 160, "batch": 32, "temperature": 0, "top_p": 1, "seed": 1234,
 *                    "answers": 1},                // answers sampled per conversation (> 1: a temperature)
 *   "training": {"batch": 4, "seq_len": 256, "lr": 0.002, "warmup_steps": 10, "weight_decay": 0.01,
 *                "grad_accum": 1, "blocks_per_sequence": 64, "validation_sequences": 12,
 *                "eval_every": 30, "checkpoint_every": 20,
 *                "labels": "sampled"},         // or "greedy": the target's argmax on the greedy path
 *   "eval": {"benchmarks": ["gsm8k", "mt_bench"], "prompts": 4, "max_new_tokens": 48,
 *            "baseline": false, "offline_tau": false, "checkpoint": "last"}
 * }
 * }</pre>
 *
 * Unknown keys, wrong types and bad values are errors naming the file, the key and the value.
 */
public final class GridFile {
    private static final Set<String> TOP = Set.of("name", "out", "targets", "objectives", "baseline", "seeds", "steps",
            "block_sizes", "drafts", "temperatures", "layers", "feature_layers", "precision", "device", "regeneration", "training", "eval");
    private static final Set<String> REGENERATION = Set.of("conversations", "validation", "follow_up_share", "max_new_tokens",
            "max_prompt_tokens", "batch", "temperature", "top_p", "seed", "answers");
    private static final Set<String> TRAINING = Set.of("batch", "seq_len", "lr", "warmup_steps", "weight_decay", "grad_accum",
            "blocks_per_sequence", "validation_sequences", "eval_every", "checkpoint_every", "labels");
    private static final Set<String> EVAL = Set.of("benchmarks", "prompts", "max_new_tokens", "baseline", "offline_tau",
            "checkpoint");
    private static final Set<String> OBJECTIVE = Set.of("name", "objective", "layers");

    private final Path file;

    private GridFile(Path file) {
        this.file = file;
    }

    /**
     * Reads {@code file}; {@code device} (a {@code --device} flag, or null) overrides the file's,
     * {@code out} (a {@code --out} flag, or null) its output folder.
     */
    public static Grid read(Path file, String device, Path out) {
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw BadInputException.of(file, "grid file not found");
        } catch (IOException e) {
            throw BadInputException.of(file, "cannot read: " + e.getMessage(), e);
        }
        JsonElement root;
        try {
            root = JsonParser.parseString(text);
        } catch (JsonParseException e) {
            throw BadInputException.of(file, "not valid JSON: " + e.getMessage(), e);
        }
        if (!root.isJsonObject()) {
            throw BadInputException.of(file, "expected a JSON object with \"objectives\", found " + kind(root));
        }
        return new GridFile(file).parse(root.getAsJsonObject(), device, out);
    }

    private Grid parse(JsonObject o, String deviceFlag, Path outFlag) {
        checkKeys(o, TOP, "");
        String device = deviceFlag != null ? deviceFlag : string(o, "device", "cpu");
        if (!device.matches("cpu|gpu|gpu:\\d+")) {
            throw error("device", "\"" + device + "\": expected cpu, gpu or gpu:N");
        }
        Device kind = device.startsWith("gpu") ? Device.gpu() : Device.cpu();
        String fileName = file.getFileName().toString().replaceFirst("\\.json$", "");
        String name = string(o, "name", fileName);
        Path out = outFlag != null ? outFlag : Path.of(string(o, "out", "runs/grids/" + Cell.safe(fileName)));

        List<String> targetSpecs = list(o, "targets", List.of("default"), e -> asString(e, "targets[]"));
        List<Path> targets = new ArrayList<>();
        for (String t : targetSpecs) {
            Path folder = t.equals("default") ? Workflows.defaultTargetFolder() : Path.of(t);
            if (!Files.isRegularFile(folder.resolve("config.json"))) {
                throw error("targets", "\"" + t + "\": no target at " + folder.toAbsolutePath()
                        + " (a folder with config.json; \"default\" is datasets/targets/default)");
            }
            targets.add(folder);
        }

        Map<String, Arm> objectives = objectives(o);
        String baseline = string(o, "baseline", objectives.keySet().iterator().next());
        if (!objectives.containsKey(baseline)) {
            throw error("baseline", "\"" + baseline + "\" is none of the objectives " + objectives.keySet());
        }
        List<Long> seeds = list(o, "seeds", List.of(7L), e -> (long) asInt(e, "seeds[]", Integer.MIN_VALUE));
        DraftTrainConfig base = training(o, DraftTrainConfig.defaultsFor(kind));
        List<Integer> steps = list(o, "steps", List.of(base.optimizer().steps()), e -> asInt(e, "steps[]", 1));
        List<Integer> blockSizes = list(o, "block_sizes", List.of(DrafterConfig.defaultBlockSize(kind)),
                e -> asInt(e, "block_sizes[]", 2));
        Integer layers = o.has("layers") ? asInt(o.get("layers"), "layers", 1) : null;
        String featureLayers = o.has("feature_layers") ? string(o, "feature_layers", null) : null;
        Precision precision;
        try {
            precision = Precision.parse(string(o, "precision", "fp32"));
        } catch (IllegalArgumentException e) {
            throw error("precision", e.getMessage());
        }
        RegenerationRecipe recipe = regeneration(o, RegenerationRecipe.defaultsFor(kind));
        Experiment.EvalPlan eval = eval(o);
        List<Integer> drafts = list(o, "drafts", List.of(1), e -> asInt(e, "drafts[]", 1));
        List<Double> temperatures = list(o, "temperatures", List.of(0.0), e -> {
            double t = asDouble(e, "temperatures[]");
            if (!(t >= 0 && t <= 100)) {
                throw error("temperatures[]", t + " must be within [0, 100] (0 = greedy)");
            }
            return t;
        });

        List<Decoding> decodings = new ArrayList<>(); // K > 1 or T > 0: the greedy K = 1 cell's drafter, decoded otherwise
        for (double t : temperatures) {
            for (int k : drafts) {
                Decoding d = t == 0 ? Decoding.greedy() : Decoding.of(Sampling.temperature(t));
                decodings.add(k > 1 ? d.withDrafts(k) : d);
            }
        }
        // the cells are the builder's cross product, so a grid file and Grid.builder make the same grid
        GridBuilder g = Grid.builder(name).out(out).targets(targets.toArray(Path[]::new)).baseline(baseline)
                .seeds(seeds.stream().mapToLong(Long::longValue).toArray()).steps(steps.stream().mapToInt(Integer::intValue).toArray())
                .blockSizes(blockSizes.stream().mapToInt(Integer::intValue).toArray()).layers(layers).featureLayers(featureLayers)
                .precision(precision).device(device).regeneration(r -> recipe).training(t -> base).eval(eval)
                .decodings(decodings.toArray(Decoding[]::new));
        for (Map.Entry<String, Arm> objective : objectives.entrySet()) {
            Arm arm = objective.getValue();
            g = arm.layers() == null ? g.objective(objective.getKey(), arm.spec())
                    : g.objective(objective.getKey(), arm.spec(), arm.layers());
        }
        try {
            return new Grid(name, file, out, baseline, new ArrayList<>(objectives.keySet()), g.build().cells());
        } catch (IllegalArgumentException e) {
            throw BadInputException.of(file, e.getMessage(), e);
        }
    }

    /** An objective entry: its spec and, where the entry gives one, its drafter's depth. */
    private record Arm(String spec, Integer layers) {}

    /** Label → arm, in file order. */
    private Map<String, Arm> objectives(JsonObject o) {
        if (!o.has("objectives")) {
            throw error("objectives", "missing; give a list such as [\"uniform\", \"paper\"] (presets: "
                    + String.join(", ", Objectives.names()) + ")");
        }
        JsonElement list = o.get("objectives");
        if (!list.isJsonArray() || list.getAsJsonArray().isEmpty()) {
            throw error("objectives", "expected a non-empty list, found " + kind(list));
        }
        Map<String, Arm> out = new LinkedHashMap<>();
        int i = 0;
        for (JsonElement e : list.getAsJsonArray()) {
            String where = "objectives[" + i++ + "]";
            String label, spec;
            Integer layers = null;
            if (e.isJsonObject()) {
                checkKeys(e.getAsJsonObject(), OBJECTIVE, where + ".");
                JsonObject one = e.getAsJsonObject();
                if (!one.has("objective")) {
                    throw error(where, "an object needs \"objective\" (a spec such as \"paper:alpha-chain=1.0\") and may have \"name\"");
                }
                spec = asString(one.get("objective"), where + ".objective");
                label = one.has("name") ? asString(one.get("name"), where + ".name") : spec;
                if (one.has("layers")) {
                    layers = asInt(one.get("layers"), where + ".layers", 1);
                }
            } else {
                spec = asString(e, where);
                label = spec;
            }
            try {
                Objectives.parse(spec);
            } catch (IllegalArgumentException ex) {
                throw error(where, "\"" + spec + "\": " + ex.getMessage());
            }
            if (out.put(label, new Arm(spec, layers)) != null) {
                throw error(where, "objective name \"" + label + "\" appears twice; give each a distinct \"name\"");
            }
        }
        return out;
    }

    private RegenerationRecipe regeneration(JsonObject root, RegenerationRecipe r) {
        JsonObject o = section(root, "regeneration", REGENERATION);
        if (o == null) {
            return r;
        }
        String p = "regeneration.";
        try {
            if (o.has("conversations") || o.has("validation")) {
                int n = o.has("conversations") ? asInt(o.get("conversations"), p + "conversations", 2) : r.conversations();
                r = o.has("validation") ? r.withConversations(n, asInt(o.get("validation"), p + "validation", 1))
                        : r.withConversations(n);
            }
            if (o.has("follow_up_share")) {
                r = r.withFollowUpShare(asDouble(o.get("follow_up_share"), p + "follow_up_share"));
            }
            if (o.has("max_new_tokens")) {
                r = r.withMaxNewTokens(asInt(o.get("max_new_tokens"), p + "max_new_tokens", 1));
            }
            if (o.has("max_prompt_tokens")) {
                r = r.withMaxPromptTokens(asInt(o.get("max_prompt_tokens"), p + "max_prompt_tokens", 1));
            }
            if (o.has("batch")) {
                r = r.withBatch(asInt(o.get("batch"), p + "batch", 1));
            }
            if (o.has("temperature") || o.has("top_p")) {
                r = r.withSampling(o.has("temperature") ? asDouble(o.get("temperature"), p + "temperature") : r.temperature(),
                        o.has("top_p") ? asDouble(o.get("top_p"), p + "top_p") : r.topP());
            }
            if (o.has("seed")) {
                r = r.withSeed(asInt(o.get("seed"), p + "seed", Integer.MIN_VALUE));
            }
            if (o.has("answers")) { // after the sampling it needs
                r = r.withAnswers(asInt(o.get("answers"), p + "answers", 1));
            }
        } catch (IllegalArgumentException e) {
            throw error("regeneration", e.getMessage());
        }
        return r;
    }

    private DraftTrainConfig training(JsonObject root, DraftTrainConfig tc) {
        JsonObject o = section(root, "training", TRAINING);
        if (o == null) {
            return tc;
        }
        String p = "training.";
        try {
            TrainConfig t = tc.optimizer();
            if (o.has("batch") || o.has("seq_len")) {
                t = t.withBatch(o.has("batch") ? asInt(o.get("batch"), p + "batch", 1) : t.batchSize(),
                        o.has("seq_len") ? asInt(o.get("seq_len"), p + "seq_len", 2) : t.seqLen());
            }
            if (o.has("lr")) {
                t = t.withLearningRate(asDouble(o.get("lr"), p + "lr"));
            }
            if (o.has("warmup_steps")) {
                int w = asInt(o.get("warmup_steps"), p + "warmup_steps", 0);
                t = new TrainConfig(t.steps(), t.batchSize(), t.seqLen(), t.gradAccum(), t.learningRate(), w, t.minLrRatio(),
                        t.weightDecay(), t.clipNorm(), t.evalEvery(), t.evalBatches(), t.checkpointEvery(), t.seed());
            }
            if (o.has("weight_decay")) {
                t = t.withWeightDecay(asDouble(o.get("weight_decay"), p + "weight_decay"));
            }
            if (o.has("grad_accum")) {
                t = t.withGradAccum(asInt(o.get("grad_accum"), p + "grad_accum", 1));
            }
            if (o.has("eval_every")) {
                t = t.withEvalEvery(asInt(o.get("eval_every"), p + "eval_every", 0), t.evalBatches());
            }
            if (o.has("checkpoint_every")) {
                t = t.withCheckpointEvery(asInt(o.get("checkpoint_every"), p + "checkpoint_every", 0));
            }
            tc = tc.withOptimizer(t);
            if (o.has("blocks_per_sequence")) {
                JsonElement e = o.get("blocks_per_sequence");
                tc = tc.withBlocksPerSequence(e.isJsonPrimitive() && e.getAsJsonPrimitive().isString()
                        && e.getAsString().equals("all") ? BlockSampler.ALL : asInt(e, p + "blocks_per_sequence", 1));
            }
            if (o.has("validation_sequences")) {
                tc = tc.withValidationSequences(asInt(o.get("validation_sequences"), p + "validation_sequences", 1));
            }
            if (o.has("labels")) {
                String labels = asString(o.get("labels"), p + "labels");
                try {
                    tc = tc.withLabels(dev.blockdraft.train.DraftTrainConfig.Labels.parse(labels, p + "labels"));
                } catch (IllegalArgumentException e) { // named here: the catch below would name only "training"
                    throw error(p + "labels", "\"" + labels + "\" is not sampled or greedy");
                }
            }
        } catch (IllegalArgumentException e) {
            throw error("training", e.getMessage());
        }
        return tc;
    }

    private Experiment.EvalPlan eval(JsonObject root) {
        JsonObject o = section(root, "eval", EVAL);
        JsonObject e = o == null ? new JsonObject() : o;
        List<String> benchmarks;
        if (e.has("benchmarks") && e.get("benchmarks").isJsonPrimitive() && e.get("benchmarks").getAsString().equals("all")) {
            benchmarks = allBenchmarks();
        } else {
            benchmarks = list(e, "benchmarks", allBenchmarks(), x -> asString(x, "eval.benchmarks[]"));
        }
        for (String b : benchmarks) {
            try {
                Benchmark.parse(b);
            } catch (IllegalArgumentException ex) {
                throw error("eval.benchmarks", ex.getMessage());
            }
        }
        int prompts = e.has("prompts") ? asInt(e.get("prompts"), "eval.prompts", 1) : 6;
        int tokens = e.has("max_new_tokens") ? asInt(e.get("max_new_tokens"), "eval.max_new_tokens", 1) : 96;
        boolean baseline = e.has("baseline") && asBoolean(e.get("baseline"), "eval.baseline");
        boolean offline = e.has("offline_tau") && asBoolean(e.get("offline_tau"), "eval.offline_tau");
        String checkpoint = e.has("checkpoint") ? asString(e.get("checkpoint"), "eval.checkpoint") : "last";
        if (!checkpoint.equals("last") && !checkpoint.equals("best")) {
            throw error("eval.checkpoint", "\"" + checkpoint + "\": expected \"last\" or \"best\"");
        }
        return new Experiment.EvalPlan(benchmarks, prompts, tokens, baseline, offline, checkpoint);
    }

    private static List<String> allBenchmarks() {
        return Experiment.ALL_BENCHMARKS;
    }

    // ---- typed access, each error naming the file and key -------------------------------------

    private JsonObject section(JsonObject root, String key, Set<String> keys) {
        if (!root.has(key)) {
            return null;
        }
        JsonElement e = root.get(key);
        if (!e.isJsonObject()) {
            throw error(key, "expected an object, found " + kind(e));
        }
        checkKeys(e.getAsJsonObject(), keys, key + ".");
        return e.getAsJsonObject();
    }

    private void checkKeys(JsonObject o, Set<String> valid, String prefix) {
        for (String k : o.keySet()) {
            if (!valid.contains(k)) {
                throw BadInputException.of(file, "unknown key \"" + prefix + k + "\"; valid keys"
                        + (prefix.isEmpty() ? "" : " in " + prefix.substring(0, prefix.length() - 1)) + ": "
                        + String.join(", ", new java.util.TreeSet<>(valid)));
            }
        }
    }

    private String string(JsonObject o, String key, String fallback) {
        return o.has(key) ? asString(o.get(key), key) : fallback;
    }

    private <T> List<T> list(JsonObject o, String key, List<T> fallback, Function<JsonElement, T> each) {
        if (!o.has(key)) {
            return fallback;
        }
        JsonElement e = o.get(key);
        if (!e.isJsonArray()) {
            e = wrap(e); // a single value is a one-element axis
        }
        JsonArray a = e.getAsJsonArray();
        if (a.isEmpty()) {
            throw error(key, "is empty; give at least one value");
        }
        List<T> out = new ArrayList<>();
        for (JsonElement x : a) {
            T value = each.apply(x);
            if (out.contains(value)) {
                throw error(key, "lists " + x + " twice");
            }
            out.add(value);
        }
        return out;
    }

    private static JsonArray wrap(JsonElement e) {
        JsonArray a = new JsonArray();
        a.add(e);
        return a;
    }

    private String asString(JsonElement e, String key) {
        if (e.isJsonPrimitive() && e.getAsJsonPrimitive().isString()) {
            return e.getAsString();
        }
        throw error(key, "expected a string, found " + kind(e));
    }

    private int asInt(JsonElement e, String key, int min) {
        if (e.isJsonPrimitive() && e.getAsJsonPrimitive().isNumber()) {
            double d = e.getAsDouble();
            if (d == Math.rint(d) && Math.abs(d) < Integer.MAX_VALUE) {
                if (d < min) {
                    throw error(key, e + " must be >= " + min);
                }
                return (int) d;
            }
        }
        throw error(key, "expected an integer, found " + kind(e));
    }

    private double asDouble(JsonElement e, String key) {
        if (e.isJsonPrimitive() && e.getAsJsonPrimitive().isNumber()) {
            return e.getAsDouble();
        }
        throw error(key, "expected a number, found " + kind(e));
    }

    private boolean asBoolean(JsonElement e, String key) {
        if (e.isJsonPrimitive() && e.getAsJsonPrimitive().isBoolean()) {
            return e.getAsBoolean();
        }
        throw error(key, "expected true or false, found " + kind(e));
    }

    private static String kind(JsonElement e) {
        if (e == null || e.isJsonNull()) {
            return "null";
        }
        if (e.isJsonPrimitive()) {
            JsonPrimitive p = e.getAsJsonPrimitive();
            return p.isString() ? "\"" + p.getAsString() + "\"" : p.toString();
        }
        return e.isJsonArray() ? "a list" : "an object";
    }

    private BadInputException error(String key, String problem) {
        return BadInputException.of(file, "\"" + key + "\": " + problem);
    }
}
