package dev.blockdraft.cli;

import dev.blockdraft.Workflows;
import dev.blockdraft.data.Benchmark;
import dev.blockdraft.data.DataFolder;
import dev.blockdraft.draft.Drafter;
import dev.blockdraft.draft.DrafterConfig;
import dev.blockdraft.eval.AcceptanceReport;
import dev.blockdraft.eval.BenchmarkRun;
import dev.blockdraft.eval.Comparison;
import dev.blockdraft.eval.Reports;
import dev.blockdraft.eval.SpeculativeEvaluator;
import dev.blockdraft.lm.Target;
import dev.blockdraft.train.DraftTrainConfig;
import dev.blockdraft.train.DrafterTrainer;
import dev.blockdraft.train.RegeneratedData;
import dev.blockdraft.train.RegenerationRecipe;
import dev.blockdraft.train.TrainingRun;
import dev.blockdraft.train.objective.Objectives;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "The main job: regenerate data with the default target, train a uniform and a paper drafter"
                + " with the same budget and seed, evaluate both on all six benchmarks, print and write the comparison.")
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
        DataFolder folder = data.resolve();
        if (!Files.exists(targetFolder.resolve("config.json"))) {
            throw new IllegalArgumentException("no target at " + targetFolder + " (the embedded default is "
                    + "datasets/targets/default; train one with bin/blockdraft train-target --size small)");
        }
        ai.djl.Device device = hardware.resolve();
        // the demo's folder is blockdraft's own: someone's folder (or a data folder) at --out is refused, not written into
        try (dev.blockdraft.io.OutputFolder claimed = output.claim(out, "demo", "--out", data.protectedFolders());
                Target target = Target.load(targetFolder, device)) {
            System.out.println("target: " + target);
            Path regenDir = out.resolve("regenerated");
            RegenerationRecipe recipe = RegenerationRecipe.defaultsFor(device);
            if (prompts != null) {
                recipe = recipe.withConversations(prompts);
            }
            if (regenTokens != null) {
                recipe = recipe.withMaxNewTokens(regenTokens);
            }
            if (regenBatch != null) {
                recipe = recipe.withBatch(regenBatch);
            }
            RegeneratedData rd = Workflows.regeneratedData(target, folder, regenDir, recipe);
            System.out.printf("regenerated data: %d training + %d validation sequences (%,d tokens)%n",
                    rd.train().size(), rd.validation().size(), rd.manifest().trainTokens());
            DrafterConfig dc = DrafterConfig.forTarget(target.config(), targetFolder.getFileName().toString(),
                    blockSize != null ? blockSize : DrafterConfig.defaultBlockSize(device),
                    dev.blockdraft.tokenize.MaskToken.choose(target.tokenizer(), target.config().vocabSize(), null).id());
            DraftTrainConfig tc = DraftTrainConfig.defaultsFor(device).withSteps(steps).withSeed(seed);
            if (batch != null) {
                tc = tc.withOptimizer(tc.optimizer().withBatch(batch, tc.optimizer().seqLen()));
            }
            if (blocks != null) {
                tc = tc.withBlocksPerSequence(Options.countOrAll("--blocks-per-sequence", blocks,
                        dev.blockdraft.train.BlockSampler.ALL));
            }
            BenchmarkRun run = BenchmarkRun.of(evalPrompts, evalTokens, Benchmark.values()).withBaseline(!noBaseline);
            List<AcceptanceReport> reports = new ArrayList<>();
            for (String name : objectives) {
                Path drafterDir = out.resolve("drafter-" + name.replaceAll("[^A-Za-z0-9._-]", "_"));
                try (Drafter drafter = trainOrLoad(target, dc, tc, training.precision, name, rd, drafterDir)) {
                    AcceptanceReport report = new SpeculativeEvaluator().withObjective(name)
                            .withDrafterName(drafterDir.getFileName().toString())
                            .withOfflineTau(Workflows.offlineTau(drafter, target.tokenizer().padId()))
                            .evaluate(target, drafter, folder, run);
                    report.writeJson(out.resolve("acceptance-" + name + ".json"));
                    System.out.println(report);
                    reports.add(report);
                }
            }
            Comparison comparison = Comparison.of(reports, objectives.get(0));
            comparison.writeJson(out.resolve("comparison.json"));
            comparison.writeCsv(out.resolve("comparison.csv"));
            Path html = Reports.writeHtml(out.resolve("report.html"), "blockdraft demo: " + String.join(" vs ", objectives),
                    comparison, reports, EXPLANATION);
            System.out.println();
            System.out.println(comparison);
            System.out.printf("%nτ = tokens emitted per target verification step (plain decoding = 1.00)."
                    + "%nreport: %s (%.1f min)%n", html, (System.nanoTime() - t0) / 60e9);
        }
        return 0;
    }

    private static Drafter trainOrLoad(Target target, DrafterConfig dc, DraftTrainConfig tc,
            dev.blockdraft.train.Precision precision, String objective, RegeneratedData rd, Path dir) {
        Drafter drafter = Drafter.initialize(dc, target.model(), tc.optimizer().seed());
        DrafterTrainer trainer = new DrafterTrainer(tc, Objectives.parse(objective),
                List.of(new ConsoleProgress("drafter " + objective))).withPrecision(precision).named(objective);
        if (trainer.finishedIn(dir, drafter, rd)) {
            System.out.println("reusing " + dir + ": trained with these settings");
            drafter.close();
            return dev.blockdraft.draft.DrafterCheckpoint.load(dir, target.model());
        }
        if (dev.blockdraft.train.TrainerState.read(dir) != null) {
            // the demo's own folder, trained with other settings (e.g. another --steps): train anew
            System.out.println("retraining " + dir + ": it was trained with other settings");
            try {
                dev.blockdraft.io.AtomicFiles.deleteRecursively(dir);
            } catch (java.io.IOException e) {
                throw dev.blockdraft.io.BadInputException.of(dir, "cannot clear the old drafter: " + e.getMessage(), e);
            }
        }
        TrainingRun run = trainer.train(drafter, rd, target.tokenizer().padId(), dir, null);
        System.out.printf("drafter %s: held-out τ %.3f (expected %.3f)%n", objective, run.lastEval("tau"), run.lastEval("expected_tau"));
        return drafter;
    }

    static final String EXPLANATION = "Each drafter proposes a block of B−1 tokens after the last verified token; the "
            + "target checks the block in one forward pass and keeps the longest prefix that matches its own greedy "
            + "choice, plus one token of its own. τ is the number of tokens emitted per verification step (plain "
            + "decoding emits 1). Both drafters share the target, the regenerated data, the architecture, the "
            + "training budget and the seed; only the training objective differs. 'uniform' weighs every slot "
            + "equally; 'paper' adds reach-probability positional weights, a first-error focal term and the chain "
            + "loss (expected accepted length). Outputs are token-identical to the target's greedy decoding.";
}
