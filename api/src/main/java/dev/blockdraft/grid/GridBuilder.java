package dev.blockdraft.grid;

import ai.djl.Device;
import dev.blockdraft.Workflows;
import dev.blockdraft.draft.DrafterConfig;
import dev.blockdraft.spec.Decoding;
import dev.blockdraft.train.DraftTrainConfig;
import dev.blockdraft.train.Precision;
import dev.blockdraft.train.RegenerationRecipe;
import dev.blockdraft.train.objective.Objectives;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.UnaryOperator;

/**
 * A grid built in code, with the same defaults as a grid file ({@link GridFile}): the device's
 * regeneration recipe, training preset and block size, seed 7, all six benchmarks with 6 prompts
 * and 96 new tokens each. Every call returns a new builder; {@link #build()} makes the cells.
 *
 * <pre>{@code
 * Grid grid = Grid.builder("objectives").objectives("uniform", "paper").seeds(1, 2).steps(60)
 *         .regeneration(r -> r.withConversations(96).withMaxNewTokens(48))
 *         .eval(Experiment.EvalPlan.of(4, 48, "gsm8k", "mt_bench"))
 *         .out(Path.of("runs/grids/objectives")).build();
 * GridReport report = grid.run();
 * }</pre>
 *
 * Edits of the recipe, the training preset and the evaluation plan are functions applied to the
 * device's defaults when the grid is built, so {@code device("gpu")} may come after them.
 */
public final class GridBuilder {
    private String name;
    private Path out;
    private List<Path> targets = List.of();
    private Map<String, String> objectives = new LinkedHashMap<>();
    private Map<String, Integer> armLayers = new LinkedHashMap<>(); // objective label → its drafter's depth
    private String baseline;
    private List<Long> seeds = List.of(7L);
    private List<Integer> steps;
    private List<Integer> blockSizes;
    private Integer layers;
    private String featureLayers;
    private Precision precision = Precision.FP32;
    private String device = "cpu";
    private UnaryOperator<RegenerationRecipe> regeneration = r -> r;
    private UnaryOperator<DraftTrainConfig> training = t -> t;
    private UnaryOperator<Experiment.EvalPlan> eval = e -> e;
    private List<Decoding> decodings = List.of(Decoding.greedy());
    private Map<String, List<Decoding>> variants = new LinkedHashMap<>();

    GridBuilder(String name) {
        this.name = Objects.requireNonNull(name, "name");
    }

    private GridBuilder copy() {
        GridBuilder b = new GridBuilder(name);
        b.out = out;
        b.targets = targets;
        b.objectives = new LinkedHashMap<>(objectives);
        b.armLayers = new LinkedHashMap<>(armLayers);
        b.baseline = baseline;
        b.seeds = seeds;
        b.steps = steps;
        b.blockSizes = blockSizes;
        b.layers = layers;
        b.featureLayers = featureLayers;
        b.precision = precision;
        b.device = device;
        b.regeneration = regeneration;
        b.training = training;
        b.eval = eval;
        b.decodings = decodings;
        b.variants = new LinkedHashMap<>(variants);
        return b;
    }

    /** Where the cells go (default {@code runs/grids/<name>}). */
    public GridBuilder out(Path folder) {
        GridBuilder b = copy();
        b.out = folder;
        return b;
    }

    /** Target folders; {@code "default"} is the embedded one (the default). */
    public GridBuilder targets(String... nameOrFolder) {
        GridBuilder b = copy();
        b.targets = Arrays.stream(nameOrFolder).map(t -> t.equals("default") ? Workflows.defaultTargetFolder() : Path.of(t))
                .toList();
        return b;
    }

    public GridBuilder targets(Path... folders) {
        GridBuilder b = copy();
        b.targets = List.of(folders);
        return b;
    }

    /** Objectives by spec, each labelled by its spec ({@code "uniform"}, {@code "paper:gamma=1"}). */
    public GridBuilder objectives(String... specs) {
        GridBuilder b = this;
        for (String s : specs) {
            b = b.objective(s, s);
        }
        return b;
    }

    /** One objective under a label of its own. */
    public GridBuilder objective(String label, String spec) {
        Objectives.parse(spec); // fails naming the bad preset or key
        GridBuilder b = copy();
        if (b.objectives.put(label, spec) != null) {
            throw new IllegalArgumentException("objective label " + label + " is given twice");
        }
        return b;
    }

    /**
     * One objective under a label of its own whose drafter has {@code layers} layers, whatever
     * {@link #layers} says for the others: a drafter-depth arm, compared paired with the baseline like
     * any objective ({@code objective("paper-L2", "paper", 2)}).
     */
    public GridBuilder objective(String label, String spec, int layers) {
        if (layers < 1) {
            throw new IllegalArgumentException("objective " + label + ": layers=" + layers + " must be >= 1");
        }
        GridBuilder b = objective(label, spec);
        b.armLayers.put(label, layers);
        return b;
    }

    /** The objective label the others are compared with (default: the first). */
    public GridBuilder baseline(String label) {
        GridBuilder b = copy();
        b.baseline = label;
        return b;
    }

    public GridBuilder seeds(long... values) {
        GridBuilder b = copy();
        b.seeds = Arrays.stream(values).boxed().toList();
        return b;
    }

    public GridBuilder steps(int... values) {
        GridBuilder b = copy();
        b.steps = Arrays.stream(values).boxed().toList();
        return b;
    }

    public GridBuilder blockSizes(int... values) {
        GridBuilder b = copy();
        b.blockSizes = Arrays.stream(values).boxed().toList();
        return b;
    }

    /** Drafter layers (null: the target's default). */
    public GridBuilder layers(Integer n) {
        GridBuilder b = copy();
        b.layers = n;
        return b;
    }

    /** Target layers the drafter reads ({@code L,L,…|dflash|spread}; null: the default). */
    public GridBuilder featureLayers(String spec) {
        GridBuilder b = copy();
        b.featureLayers = spec;
        return b;
    }

    public GridBuilder precision(Precision p) {
        GridBuilder b = copy();
        b.precision = Objects.requireNonNull(p, "precision");
        return b;
    }

    /** {@code cpu}, {@code gpu} or {@code gpu:N}; decides the defaults. */
    public GridBuilder device(String d) {
        if (!d.matches("cpu|gpu|gpu:\\d+")) {
            throw new IllegalArgumentException("device " + d + ": expected cpu, gpu or gpu:N");
        }
        GridBuilder b = copy();
        b.device = d;
        return b;
    }

    /** An edit of the device's regeneration recipe (e.g. {@code r -> r.withConversations(96)}). */
    public GridBuilder regeneration(UnaryOperator<RegenerationRecipe> edit) {
        GridBuilder b = copy();
        UnaryOperator<RegenerationRecipe> before = regeneration;
        b.regeneration = r -> edit.apply(before.apply(r));
        return b;
    }

    /** An edit of the device's drafter-training preset (its steps and seed are the grid's axes). */
    public GridBuilder training(UnaryOperator<DraftTrainConfig> edit) {
        GridBuilder b = copy();
        UnaryOperator<DraftTrainConfig> before = training;
        b.training = t -> edit.apply(before.apply(t));
        return b;
    }

    /** What every cell decodes. */
    public GridBuilder eval(Experiment.EvalPlan plan) {
        Objects.requireNonNull(plan, "plan");
        GridBuilder b = copy();
        b.eval = e -> plan;
        return b;
    }

    /** An edit of the evaluation plan (e.g. {@code e -> e.withBaseline(true)}). */
    public GridBuilder eval(UnaryOperator<Experiment.EvalPlan> edit) {
        GridBuilder b = copy();
        UnaryOperator<Experiment.EvalPlan> before = eval;
        b.eval = e -> edit.apply(before.apply(e));
        return b;
    }

    /** A decoding axis: every objective's drafter decoded each way (default: greedy, one block). */
    public GridBuilder decodings(Decoding... list) {
        GridBuilder b = copy();
        b.decodings = List.of(list);
        return b;
    }

    /**
     * One more arm: the drafter of {@code objective} (the same cells' drafters, not retrained)
     * decoded another way, e.g. {@code variant("paper", Decoding.greedy().withDrafts(4))}.
     */
    public GridBuilder variant(String objective, Decoding decoding) {
        GridBuilder b = copy();
        List<Decoding> list = new ArrayList<>(b.variants.getOrDefault(objective, List.of()));
        list.add(Objects.requireNonNull(decoding, "decoding"));
        b.variants.put(objective, list);
        return b;
    }

    /** The cells: targets × objectives × block sizes × steps × seeds × decodings, then the variants. */
    public Grid build() {
        if (objectives.isEmpty()) {
            throw new IllegalArgumentException("a grid needs at least one objective (presets: "
                    + String.join(", ", Objectives.names()) + ")");
        }
        for (String label : variants.keySet()) {
            if (!objectives.containsKey(label)) {
                throw new IllegalArgumentException("variant of " + label + ", which is none of the objectives "
                        + objectives.keySet());
            }
        }
        Device kind = device.startsWith("gpu") ? Device.gpu() : Device.cpu();
        RegenerationRecipe recipe = regeneration.apply(RegenerationRecipe.defaultsFor(kind));
        DraftTrainConfig base = training.apply(DraftTrainConfig.defaultsFor(kind));
        Experiment.EvalPlan plan = eval.apply(new Experiment.EvalPlan(Experiment.ALL_BENCHMARKS, 6, 96, false, false, "last"));
        List<Integer> stepAxis = steps != null ? steps : List.of(base.optimizer().steps());
        List<Integer> blockAxis = blockSizes != null ? blockSizes : List.of(DrafterConfig.defaultBlockSize(kind));
        List<Path> targetFolders = targets.isEmpty() ? List.of(Workflows.defaultTargetFolder()) : targets;
        List<Cell> cells = new ArrayList<>();
        for (Path folder : targetFolders) {
            Experiment.TargetRef target = Experiment.TargetRef.of(folder);
            for (Map.Entry<String, String> objective : objectives.entrySet()) {
                List<Decoding> ways = new ArrayList<>(decodings);
                variants.getOrDefault(objective.getKey(), List.of()).stream().filter(d -> !ways.contains(d)).forEach(ways::add);
                for (int b : blockAxis) {
                    for (int n : stepAxis) {
                        for (long seed : seeds) {
                            for (Decoding d : ways) {
                                Experiment.EvalPlan cellPlan = plan.withDecoding(d);
                                if (!d.equals(Decoding.greedy())) {
                                    // the offline τ belongs to the drafter, measured by its one-block cell
                                    cellPlan = cellPlan.withOfflineTau(false);
                                }
                                Integer depth = armLayers.getOrDefault(objective.getKey(), layers);
                                Experiment e = new Experiment(target, recipe, b, depth, featureLayers, objective.getValue(),
                                        base.withSteps(n).withSeed(seed), precision, device, cellPlan);
                                cells.add(new Cell(Cell.nameOf(objective.getKey(), seed, e), objective.getKey(), seed, e));
                            }
                        }
                    }
                }
            }
        }
        String base0 = baseline != null ? baseline : objectives.keySet().iterator().next();
        return new Grid(name, null, out != null ? out : Path.of("runs/grids/" + Cell.safe(name)), base0,
                new ArrayList<>(objectives.keySet()), cells);
    }
}
