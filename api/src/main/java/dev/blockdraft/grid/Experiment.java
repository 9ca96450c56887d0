package dev.blockdraft.grid;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import dev.blockdraft.data.Benchmark;
import dev.blockdraft.draft.DrafterConfig;
import dev.blockdraft.eval.BenchmarkRun;
import dev.blockdraft.io.Provenance;
import dev.blockdraft.spec.Decoding;
import dev.blockdraft.train.DraftTrainConfig;
import dev.blockdraft.train.Precision;
import dev.blockdraft.train.RegenerationRecipe;
import dev.blockdraft.train.objective.Objectives;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * One cell of an ablation: everything that decides its numbers — the target, how its drafter
 * data is regenerated, the drafter's shape, the objective, the training budget, precision, device
 * and what is evaluated. Immutable.
 *
 * <p>{@link #settings()} flattens it into a sorted map of strings and {@link #settingsHash()} is
 * the SHA-256 of that map's canonical JSON (keys sorted, no whitespace). The hash is recorded in
 * every file a cell writes, and a cell folder is reused only when its recorded hash matches
 * ({@link #differences} names what changed otherwise). Two choices make the hash mean "the same
 * numbers": the objective enters as its resolved form ({@code Objectives.parse(spec).toString()},
 * so {@code paper} and {@code paper:alpha-chain=0.5} are one setting), and the device as its kind
 * ({@code cpu} or {@code gpu}, not the index: a cell computed on {@code gpu:1} is reused by a run
 * on {@code gpu:0}).
 *
 * @param target       the target model and its content hash
 * @param recipe       how the drafter's training data is regenerated
 * @param blockSize    the drafter's B
 * @param layers       drafter layers, null for the target's default
 * @param featureLayers target layers read by the drafter ({@code L,L,…|dflash|spread}), null for the default
 * @param objective    the objective spec, parsed by {@link Objectives#parse}
 * @param training     the training budget and optimizer (its seed is the cell's seed)
 * @param precision    fp32 or mixed fp16
 * @param device       {@code cpu}, {@code gpu} or {@code gpu:N}
 * @param eval         what is decoded to measure τ
 */
public record Experiment(TargetRef target, RegenerationRecipe recipe, int blockSize, Integer layers, String featureLayers,
        String objective, DraftTrainConfig training, Precision precision, String device, EvalPlan eval) {

    public Experiment {
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(recipe, "recipe");
        Objects.requireNonNull(training, "training");
        Objects.requireNonNull(precision, "precision");
        Objects.requireNonNull(device, "device");
        Objects.requireNonNull(eval, "eval");
        if (blockSize < 2) {
            throw new IllegalArgumentException("block size " + blockSize + " must be >= 2");
        }
        if (layers != null && layers < 1) {
            throw new IllegalArgumentException("layers=" + layers + " must be >= 1");
        }
        Objectives.parse(objective); // fails naming the bad name or key
    }

    /**
     * A target folder with the SHA-256 of its files ({@code config.json}, weights, tokenizer): a
     * retrained target in the same folder is another target.
     */
    public record TargetRef(String name, Path folder, String sha256, int layers) {
        public static TargetRef of(Path folder) {
            Path abs = folder.toAbsolutePath().normalize();
            if (!Files.isRegularFile(abs.resolve("config.json"))) {
                throw dev.blockdraft.io.BadInputException.of(abs, "no target here (config.json missing)");
            }
            int layers = dev.blockdraft.lm.LlamaConfig.read(abs.resolve("config.json")).numHiddenLayers();
            MessageDigest md = digest();
            try (var files = Files.list(abs)) {
                for (Path f : (Iterable<Path>) files.sorted()::iterator) {
                    String n = f.getFileName().toString();
                    if (Files.isRegularFile(f) && (n.equals("config.json") || n.endsWith(".safetensors")
                            || n.startsWith("tokenizer"))) {
                        md.update((n + "=" + Provenance.sha256(f) + "\n").getBytes(StandardCharsets.UTF_8));
                    }
                }
            } catch (java.io.IOException e) {
                throw dev.blockdraft.io.BadInputException.of(abs, "cannot list: " + e.getMessage(), e);
            }
            return new TargetRef(abs.getFileName().toString(), abs, HexFormat.of().formatHex(md.digest()), layers);
        }
    }

    /**
     * What a cell decodes: benchmarks by their command-line names, the first prompts of each, new
     * tokens per turn; optionally the plain-decoding baseline (for the speedup column) and the
     * offline τ, both off by default as an ablation compares τ; {@code checkpoint} is which drafter
     * is measured: {@code last} (at the training budget, the default) or {@code best} (highest
     * held-out τ); {@code decoding} how speculative decoding drafts and verifies (greedy with one
     * block by default; e.g. {@code Decoding.greedy().withDrafts(4)} for multi-draft
     * self-selection).
     */
    public record EvalPlan(List<String> benchmarks, int prompts, int maxNewTokens, boolean baseline, boolean offlineTau,
            String checkpoint, Decoding decoding) {
        public EvalPlan {
            benchmarks = List.copyOf(benchmarks);
            Objects.requireNonNull(decoding, "decoding");
            if (benchmarks.isEmpty()) {
                throw new IllegalArgumentException("eval.benchmarks is empty");
            }
            for (String b : benchmarks) {
                Benchmark.parse(b);
            }
            if (prompts < 1 || maxNewTokens < 1) {
                throw new IllegalArgumentException("eval.prompts=" + prompts + " and eval.max_new_tokens=" + maxNewTokens
                        + " must be >= 1");
            }
            if (!checkpoint.equals("last") && !checkpoint.equals("best")) {
                throw new IllegalArgumentException("eval.checkpoint=" + checkpoint + ": expected last or best");
            }
        }

        /** Greedy decoding with one block. */
        public EvalPlan(List<String> benchmarks, int prompts, int maxNewTokens, boolean baseline, boolean offlineTau,
                String checkpoint) {
            this(benchmarks, prompts, maxNewTokens, baseline, offlineTau, checkpoint, Decoding.greedy());
        }

        /**
         * The first {@code prompts} prompts of each benchmark, {@code maxNewTokens} per turn, τ only
         * (no baseline, no offline τ), the last checkpoint, greedy.
         */
        public static EvalPlan of(int prompts, int maxNewTokens, String... benchmarks) {
            return new EvalPlan(benchmarks.length == 0 ? ALL_BENCHMARKS : List.of(benchmarks), prompts, maxNewTokens,
                    false, false, "last");
        }

        public EvalPlan withBaseline(boolean on) {
            return new EvalPlan(benchmarks, prompts, maxNewTokens, on, offlineTau, checkpoint, decoding);
        }

        public EvalPlan withOfflineTau(boolean on) {
            return new EvalPlan(benchmarks, prompts, maxNewTokens, baseline, on, checkpoint, decoding);
        }

        public EvalPlan withCheckpoint(String which) {
            return new EvalPlan(benchmarks, prompts, maxNewTokens, baseline, offlineTau, which, decoding);
        }

        public EvalPlan withDecoding(Decoding d) {
            return new EvalPlan(benchmarks, prompts, maxNewTokens, baseline, offlineTau, checkpoint, d);
        }

        /** Whether decoding is other than greedy with one block (then it enters the settings and the arm's label). */
        public boolean testTimeAlignment() {
            return !decoding.equals(Decoding.greedy());
        }

        /** A short label of the decoding, e.g. {@code K=4}, {@code tree 16}, {@code T=1.0}; empty for greedy with one block. */
        public String decodingLabel() {
            if (!testTimeAlignment()) {
                return "";
            }
            List<String> parts = new ArrayList<>();
            if (decoding.drafts() > 1) {
                parts.add("K=" + decoding.drafts() + (decoding.sampledDrafts() ? " sampled" : ""));
            } else if (decoding.sampledDrafts()) {
                parts.add("sampled draft");
            }
            if (decoding.treeNodes() > 0) {
                parts.add("tree " + decoding.treeNodes());
            }
            if (!decoding.sampling().isGreedy()) {
                parts.add("T=" + decoding.sampling().temperature());
            }
            return parts.isEmpty() ? "seed " + decoding.seed() : String.join(" ", parts);
        }

        public BenchmarkRun toRun() {
            List<Benchmark> list = new ArrayList<>();
            benchmarks.forEach(b -> list.add(Benchmark.parse(b)));
            return BenchmarkRun.of(prompts, maxNewTokens, list.toArray(new Benchmark[0])).withBaseline(baseline);
        }
    }

    /** The six built-in benchmarks by command-line name. */
    public static final List<String> ALL_BENCHMARKS = List.of("gsm8k", "math500", "humaneval", "mbpp", "mt_bench", "alpaca");

    /** The drafter's depth: {@link #layers()}, or the target's default on this device ({@link DrafterConfig#defaultLayers}). */
    public int drafterLayers() {
        return layers != null ? layers
                : DrafterConfig.defaultLayers(target.layers(), deviceKind().equals("gpu") ? ai.djl.Device.gpu() : ai.djl.Device.cpu());
    }

    /** {@code cpu} or {@code gpu}: the part of the device that enters the settings hash. */
    public String deviceKind() {
        return device.startsWith("gpu") ? "gpu" : "cpu";
    }

    /** Every setting that decides this cell's numbers, flattened and sorted by key. */
    public SortedMap<String, String> settings() {
        SortedMap<String, String> m = new TreeMap<>();
        m.put("target.name", target.name());
        m.put("target.sha256", target.sha256());
        recipe.asSettings().forEach((k, v) -> m.put("regeneration." + k, v));
        m.put("drafter.block_size", Integer.toString(blockSize));
        // resolved, so a cell trained under another default depth is never taken for this one
        m.put("drafter.layers", Integer.toString(drafterLayers()));
        m.put("drafter.feature_layers", featureLayers == null ? "default" : featureLayers);
        m.put("objective", Objectives.parse(objective).toString());
        training.asMap().forEach((k, v) -> m.put("training." + k, v));
        m.put("precision", precision.toString());
        m.put("device", deviceKind());
        eval.toRun().asSettings().forEach((k, v) -> m.put("eval." + k, v));
        m.put("eval.offline_tau", Boolean.toString(eval.offlineTau()));
        m.put("eval.checkpoint", eval.checkpoint());
        if (eval.testTimeAlignment()) {
            // only when not greedy with one block: cells of grids made before decoding was a setting keep their hash
            eval.decoding().asSettings().forEach((k, v) -> m.put("eval.decoding." + k, v));
        }
        return m;
    }

    /** {@link #settings()} as JSON with sorted keys and no whitespace. */
    public String canonicalJson() {
        return canonicalJson(settings());
    }

    /** SHA-256 (hex) of {@link #canonicalJson()}. */
    public String settingsHash() {
        return hash(canonicalJson());
    }

    /**
     * The settings that decide the drafter (every one but {@code eval.*}): cells that differ only in
     * how they are evaluated share one drafter ({@link GridRunner} trains it once).
     */
    public String drafterHash() {
        SortedMap<String, String> m = new TreeMap<>(settings());
        m.keySet().removeIf(k -> k.startsWith("eval."));
        return hash(canonicalJson(m));
    }

    /** The regeneration settings with the target's hash: equal for cells that share regenerated data. */
    public String dataHash() {
        SortedMap<String, String> m = new TreeMap<>();
        recipe.asSettings().forEach((k, v) -> m.put("regeneration." + k, v));
        m.put("target.sha256", target.sha256());
        return hash(canonicalJson(m));
    }

    /**
     * Each setting that differs between {@code recorded} and this experiment, as
     * {@code "key recorded ≠ wanted"}; empty when they agree.
     */
    public List<String> differences(Map<String, String> recorded) {
        SortedMap<String, String> want = settings();
        List<String> out = new ArrayList<>();
        TreeSet<String> keys = new TreeSet<>(want.keySet());
        keys.addAll(recorded.keySet());
        for (String k : keys) {
            String have = recorded.get(k), w = want.get(k);
            if (!Objects.equals(have, w)) {
                out.add(k + " " + (have == null ? "(not recorded)" : have) + " ≠ " + (w == null ? "(not set)" : w));
            }
        }
        return out;
    }

    private static final Gson COMPACT = new GsonBuilder().disableHtmlEscaping().create();

    static String canonicalJson(SortedMap<String, String> settings) {
        return COMPACT.toJson(settings);
    }

    static String hash(String text) {
        return HexFormat.of().formatHex(digest().digest(text.getBytes(StandardCharsets.UTF_8)));
    }

    private static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
