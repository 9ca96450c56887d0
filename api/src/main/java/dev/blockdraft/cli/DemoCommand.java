package dev.blockdraft.cli;

import dev.blockdraft.Workflows;
import dev.blockdraft.data.DataFolder;
import dev.blockdraft.eval.AcceptanceReport;
import dev.blockdraft.eval.Comparison;
import dev.blockdraft.eval.Reports;
import dev.blockdraft.grid.Cell;
import dev.blockdraft.grid.Experiment;
import dev.blockdraft.grid.Grid;
import dev.blockdraft.grid.GridBuilder;
import dev.blockdraft.grid.GridReport;
import dev.blockdraft.grid.GridRunner;
import dev.blockdraft.grid.Shard;
import dev.blockdraft.lm.Target;
import dev.blockdraft.spec.Decoding;
import dev.blockdraft.train.BlockSampler;
import dev.blockdraft.train.DraftTrainConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "The main job: regenerate data with the default target, train a uniform and a paper drafter"
                + " with the same budget and seed, evaluate both on all six benchmarks (and the last objective's drafter"
                + " with --drafts K candidate blocks), print and write the comparison with 95%% intervals. A small grid:"
                + " each (objective, decoding) is a cell folder under --out named with its settings hash; a rerun reuses"
                + " finished cells of the same settings and resumes interrupted ones, other settings get new cells.")
final class DemoCommand implements Callable<Integer> {
    @Option(names = "--target", paramLabel = "DIR", description = "target model folder (default: the embedded datasets/targets/default)")
    Path targetDir;

    @Option(names = "--out", defaultValue = "runs/demo", paramLabel = "DIR", description = "output folder (default: ${DEFAULT-VALUE})")
    Path out;

    @Option(names = "--objectives", defaultValue = "uniform,paper", split = ",",
            description = "objectives to compare, the first is the baseline (default: ${DEFAULT-VALUE})")
    List<String> objectives;

    @Option(names = "--prompts", description = "conversations the target answers (default: the device's recipe: 640 on a CPU)")
    Integer prompts;

    @Option(names = "--regen-tokens", description = "tokens per regenerated answer, at most (default: the device's recipe: 96 on a CPU)")
    Integer regenTokens;

    @Option(names = "--steps", defaultValue = "300", description = "drafter training steps per objective (default: ${DEFAULT-VALUE})")
    int steps;

    @Option(names = "--block-size", description = "B (default: 8 on a CPU, 16 on a GPU)")
    Integer blockSize;

    @Option(names = "--layers", description = "drafter layers (default: the device's, one per four target layers on a CPU"
            + " and one per two on a GPU)")
    Integer layers;

    @Option(names = "--eval-prompts", defaultValue = "6", description = "prompts per benchmark (default: ${DEFAULT-VALUE})")
    int evalPrompts;

    @Option(names = "--eval-tokens", defaultValue = "96", description = "new tokens per turn (default: ${DEFAULT-VALUE})")
    int evalTokens;

    @Option(names = "--seed", defaultValue = "7")
    long seed;

    @Option(names = "--regen-batch", description = "prompts the target answers together (default: the device's recipe)")
    Integer regenBatch;

    @Option(names = "--no-baseline", description = "skip plain decoding in the evaluation (no speedup column)")
    boolean noBaseline;

    @Option(names = "--drafts", defaultValue = "4", paramLabel = "K",
            description = "one more row: the last objective's drafter decoding with K candidate blocks per step"
                    + " (multi-draft self-selection, greedy); 1 for none (default: ${DEFAULT-VALUE})")
    int drafts;

    @Option(names = "--batch", description = "drafter training: sequences per step (default: the device's preset)")
    Integer batch;

    @Option(names = "--blocks-per-sequence", paramLabel = "N|all",
            description = "drafter training: anchors per sequence, at most (default: 512, capped by the response length)")
    String blocks;

    @Mixin
    Options.Training training;

    @Mixin
    Options.Output output;

    @Mixin
    Options.Data data;

    @Mixin
    Options.Hardware hardware;

    @Override
    public Integer call() throws Exception {
        long t0 = System.nanoTime();
        Path targetFolder = targetDir != null ? targetDir : Workflows.defaultTargetFolder();
        if (!Files.exists(targetFolder.resolve("config.json"))) {
            throw new IllegalArgumentException("no target at " + targetFolder + " (the embedded default is "
                    + "datasets/targets/default; train one with bin/blockdraft train-target --size small)");
        }
        checkFlags();
        DataFolder folder = data.resolve();
        ai.djl.Device device = hardware.resolve();
        // the demo's folder is blockdraft's own: someone's folder (or a data folder) at --out is refused, not written into
        try (dev.blockdraft.io.OutputFolder claimed = output.claim(out, "demo", "--out", data.protectedFolders())) {
            try (Target target = Target.load(targetFolder, device)) {
                System.out.println("target: " + target);
            }
            Grid grid = grid(targetFolder);
            GridRunner.Listener show = new GridRunner.Listener() {
                @Override
                public void onSkipped(Cell cell) {
                    System.out.println("reusing " + grid.cellFolder(cell) + ": finished under the same settings");
                }

                @Override
                public void onFinished(Cell cell, AcceptanceReport report) {
                    System.out.println(report);
                }
            };
            GridRunner.Summary summary = new GridRunner(folder, System.out, List.of(ConsoleProgress.perRun("drafter ")), show)
                    .run(grid, Shard.ALL);
            GridReport intervals = GridReport.read(grid);
            Comparison comparison = intervals.comparison();
            List<AcceptanceReport> reports = comparison.allReports();
            for (AcceptanceReport report : reports) {
                report.writeJson(out.resolve("acceptance-" + Cell.fileLabel(report.objective()) + ".json"));
            }
            comparison.writeJson(out.resolve("comparison.json"));
            comparison.writeCsv(out.resolve("comparison.csv"));
            intervals.writeData(out, "intervals");
            Path html = intervals.appendTo(Reports.html("blockdraft demo: " + String.join(" vs ", grid.arms()), comparison,
                    reports, EXPLANATION)).writeTo(out.resolve("report.html"));
            System.out.println();
            System.out.println(comparison);
            System.out.println();
            System.out.print(intervals);
            System.out.printf("%nτ = tokens emitted per target verification step (plain decoding = 1.00); 95%% intervals:"
                    + " bootstrap over prompts; Δ: relative change against %s with a paired interval."
                    + "%n%d cell(s) computed, %d reused (finished under the same settings)"
                    + "%nreport: %s (and comparison.{json,csv}, intervals.{csv,json}, per_prompt.jsonl, per_benchmark.jsonl;"
                    + " %.1f min)%n", grid.baseline(), summary.computed().size(), summary.skipped().size(), html,
                    (System.nanoTime() - t0) / 60e9);
        }
        return 0;
    }

    private void checkFlags() {
        Options.positive("--layers", layers);
        Options.positive("--steps", steps);
        Options.positive("--eval-prompts", evalPrompts);
        Options.positive("--eval-tokens", evalTokens);
        Options.positive("--drafts", drafts);
        Options.positive("--prompts", prompts);
        Options.positive("--regen-tokens", regenTokens);
        Options.positive("--regen-batch", regenBatch);
        Options.positive("--batch", batch);
        if (objectives.isEmpty() || objectives.contains("")) {
            throw new IllegalArgumentException("--objectives " + String.join(",", objectives) + ": give one or more names, e.g. uniform,paper");
        }
        if (new HashSet<>(objectives).size() != objectives.size()) {
            throw new IllegalArgumentException("--objectives " + String.join(",", objectives) + ": an objective is listed twice");
        }
        for (String o : objectives) {
            try {
                dev.blockdraft.train.objective.Objectives.parse(o);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--objectives " + o + ": " + e.getMessage(), e);
            }
        }
    }

    /**
     * The demo as a grid: one cell per objective (seed {@code --seed}, {@code --steps}), all six
     * benchmarks with the plain-decoding baseline and the offline τ, and the last objective's
     * drafter once more with {@code --drafts} candidate blocks. Cell folders end in the first 8 hex
     * of their settings hash, so other flags make new cells instead of reusing or replacing old ones.
     */
    Grid grid(Path targetFolder) {
        String device = hardware.device;
        GridBuilder b = Grid.builder("demo").out(out).targets(targetFolder).seeds(seed).steps(steps).device(device).layers(layers)
                .precision(training.precision)
                .regeneration(r -> {
                    if (prompts != null) {
                        r = r.withConversations(prompts);
                    }
                    if (regenTokens != null) {
                        r = r.withMaxNewTokens(regenTokens);
                    }
                    return regenBatch != null ? r.withBatch(regenBatch) : r;
                })
                .training(this::training)
                .eval(new Experiment.EvalPlan(Experiment.ALL_BENCHMARKS, evalPrompts, evalTokens, !noBaseline, true, "last"));
        if (blockSize != null) {
            b = b.blockSizes(blockSize);
        }
        for (String o : objectives) {
            b = b.objectives(o);
        }
        if (drafts > 1) {
            b = b.variant(objectives.get(objectives.size() - 1), Decoding.greedy().withDrafts(drafts));
        }
        Grid g = b.build();
        List<Cell> named = g.cells().stream().map(c -> new Cell(c.name() + "-" + c.experiment().settingsHash().substring(0, 8),
                c.objective(), c.seed(), c.experiment())).toList();
        return new Grid(g.name(), null, g.out(), g.baseline(), g.objectives(), named);
    }

    private DraftTrainConfig training(DraftTrainConfig tc) {
        if (batch != null) {
            tc = tc.withOptimizer(tc.optimizer().withBatch(batch, tc.optimizer().seqLen()));
        }
        if (blocks != null) {
            tc = tc.withBlocksPerSequence(Options.countOrAll("--blocks-per-sequence", blocks, BlockSampler.ALL));
        }
        return tc;
    }

    static final String EXPLANATION = "Each drafter proposes a block of B−1 tokens after the last verified token; the "
            + "target checks the block in one forward pass and keeps the longest prefix that matches its own greedy "
            + "choice, plus one token of its own. τ is the number of tokens emitted per verification step (plain "
            + "decoding emits 1). Both drafters share the target, the regenerated data, the architecture, the "
            + "training budget and the seed; only the training objective differs. 'uniform' weighs every slot "
            + "equally; 'paper' adds reach-probability positional weights, a first-error focal term and the chain "
            + "loss (expected accepted length). The arm 'paper K=4' (the last objective, --drafts K) decodes that same drafter with K candidate blocks per step "
            + "(multi-draft self-selection: the argmax block and K−1 drawn from the drafter's slot distributions, verified "
            + "in one target pass, the longest accepted kept): test-time alignment on top of training. Outputs are "
            + "token-identical to the target's greedy decoding.";
}
