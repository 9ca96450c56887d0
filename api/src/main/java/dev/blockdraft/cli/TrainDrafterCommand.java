package dev.blockdraft.cli;

import dev.blockdraft.draft.Drafter;
import dev.blockdraft.draft.DrafterConfig;
import dev.blockdraft.io.OutputFolder;
import dev.blockdraft.io.Provenance;
import dev.blockdraft.lm.Target;
import dev.blockdraft.train.DraftTrainConfig;
import dev.blockdraft.train.DrafterTrainer;
import dev.blockdraft.train.RegeneratedData;
import dev.blockdraft.train.TrainingRun;
import dev.blockdraft.train.objective.Objective;
import dev.blockdraft.train.objective.Objectives;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "train-drafter", mixinStandardHelpOptions = true,
        description = "Train a block-diffusion drafter for a target with a named objective; resumes an unfinished --out.")
final class TrainDrafterCommand implements Callable<Integer> {
    @Option(names = "--target", required = true, paramLabel = "DIR")
    Path targetDir;

    @Option(names = "--objective", defaultValue = "paper",
            description = "uniform | dflash | dpace | positional | first-error | chain | paper, optionally name:key=value,… (default: ${DEFAULT-VALUE})")
    String objectiveName;

    @Option(names = "--out", required = true, paramLabel = "DIR")
    Path out;

    @Option(names = "--data-dir", paramLabel = "DIR",
            description = "regenerated data (default: runs/regenerated/<target name>, made if missing)")
    Path regenerated;

    @Option(names = "--block-size", defaultValue = "8")
    int blockSize;

    @Option(names = "--layers", description = "drafter layers (default: 1 per 4 target layers, 1..5)")
    Integer layers;

    @Option(names = "--steps", description = "optimizer steps (default: preset's)")
    Integer steps;

    @Option(names = "--blocks-per-sequence", description = "anchors per sequence per step")
    Integer blocks;

    @Option(names = "--seed", defaultValue = "7")
    long seed;

    @Option(names = "--half-target", description = "compute the frozen target's features in fp16 (GPU only)")
    boolean halfTarget;

    @Mixin
    Options.Training training;

    @Option(names = "--batch", description = "sequences per step (default: preset's)")
    Integer batch;

    @Option(names = "--checkpoint-every", description = "steps between resumable checkpoints in --out (default: a"
            + " tenth of the steps; 0 = only at the end); rerunning the same command resumes from the last one")
    Integer checkpointEvery;

    @Mixin
    Options.Output output;

    @Mixin
    Options.Data data;

    @Mixin
    Options.Hardware hardware;

    @Override
    public Integer call() {
        Options.positive("--steps", steps);
        Options.positive("--batch", batch);
        Options.positive("--blocks-per-sequence", blocks);
        Options.positive("--layers", layers);
        Options.positive("--block-size", blockSize);
        if (checkpointEvery != null && checkpointEvery < 0) {
            throw new IllegalArgumentException("--checkpoint-every " + checkpointEvery + ": must be >= 0 (0 = only at the end)");
        }
        Objective objective = Objectives.parse(objectiveName);
        List<Path> dataFolders = data.protectedFolders();
        Path dataDir = regenerated != null ? regenerated : dev.blockdraft.Workflows.defaultRegeneratedFolder(targetDir);
        boolean regenerate = !java.nio.file.Files.exists(dataDir.resolve(RegeneratedData.MANIFEST));
        try (OutputFolder claimed = output.claim(out, "drafter", "--out", dataFolders);
                OutputFolder dataClaim = regenerate ? OutputFolder.claim(dataDir, "regenerated", "--data-dir",
                        OutputFolder.Mode.KEEP, dataFolders) : null;
                Target target = Target.load(targetDir, hardware.resolve())) {
            int context = target.config().maxPositionEmbeddings();
            if (blockSize < 2 || blockSize > context / 2) {
                throw new IllegalArgumentException("--block-size " + blockSize + ": must be within 2.." + context / 2
                        + " (half the target's context of " + context + " tokens, so a prompt fits beside a block)");
            }
            RegeneratedData rd = !regenerate
                    ? RegeneratedData.load(dataDir)
                    : dev.blockdraft.Workflows.regenerate(target, data.resolve(), dataDir, 600, 48,
                            new dev.blockdraft.train.Regenerator.Settings(128, 32, 0, 1, 192), 1234);
            DrafterConfig dc = DrafterConfig.forTarget(target.config(), targetDir.getFileName().toString(), blockSize,
                    target.tokenizer().maskId());
            if (layers != null) {
                dc = dc.withLayers(layers);
            }
            DraftTrainConfig tc = DraftTrainConfig.smallCpu().withSeed(seed);
            if (steps != null) {
                tc = tc.withSteps(steps);
            }
            if (blocks != null) {
                tc = tc.withBlocksPerSequence(blocks);
            }
            if (batch != null) {
                tc = tc.withOptimizer(tc.optimizer().withBatch(batch, tc.optimizer().seqLen()));
            }
            // a kill loses at most a tenth of the run unless told otherwise
            tc = tc.withOptimizer(tc.optimizer().withCheckpointEvery(checkpointEvery != null ? checkpointEvery
                    : Math.max(1, tc.optimizer().steps() / 10)));
            Options.Output.announce(out, tc.optimizer().steps());
            Map<String, String> settings = new LinkedHashMap<>(tc.asMap());
            settings.put("objective", objective.toString());
            settings.put("precision", training.precision.toString());
            settings.put("drafter", dc.toJson().replaceAll("\\s+", ""));
            Provenance provenance = Provenance.capture("drafter", target.model().device().toString(), seed, settings,
                    Map.of(), Map.of("target", targetDir.toAbsolutePath().toString(), "regenerated",
                            dataDir.toAbsolutePath().toString()));
            try (Drafter drafter = Drafter.initialize(dc, target.model(), seed)) {
                TrainingRun run = new DrafterTrainer(tc, objective, List.of(new ConsoleProgress("train-drafter " + objectiveName)))
                        .withHalfPrecisionTarget(halfTarget).withPrecision(training.precision).named(objectiveName)
                        .train(drafter, rd, target.tokenizer().padId(), out, provenance);
                System.out.printf("%s: validation τ %.3f (expected %.3f), CE %.3f → %s%n", objective, run.lastEval("tau"),
                        run.lastEval("expected_tau"), run.lastEval("ce"), out);
            }
        }
        return 0;
    }
}
