package dev.blockdraft.cli;

import dev.blockdraft.draft.Drafter;
import dev.blockdraft.draft.DrafterCheckpoint;
import dev.blockdraft.draft.DrafterConfig;
import dev.blockdraft.io.Provenance;
import dev.blockdraft.lm.Target;
import dev.blockdraft.tokenize.MaskToken;
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

    @Option(names = "--mask-token-id", description = "id the drafter fills its slots with (default: the tokenizer's"
            + " mask token, else the first id past the tokenizer's; must not be a real token)")
    Integer maskTokenId;

    @Option(names = "--init", paramLabel = "DIR", description = "start from this drafter (blockdraft's or DFlash's"
            + " layout, e.g. one trained elsewhere) instead of random weights; its shape and mask id are kept")
    Path init;

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

    @Mixin
    Options.Data data;

    @Mixin
    Options.Hardware hardware;

    @Override
    public Integer call() {
        Objective objective = Objectives.parse(objectiveName);
        try (Target target = Target.load(targetDir, hardware.resolve())) {
            Path dataDir = regenerated != null ? regenerated : dev.blockdraft.Workflows.defaultRegeneratedFolder(targetDir);
            RegeneratedData rd = java.nio.file.Files.exists(dataDir.resolve(RegeneratedData.MANIFEST))
                    ? RegeneratedData.load(dataDir)
                    : dev.blockdraft.Workflows.regenerate(target, data.resolve(), dataDir, 600, 48,
                            new dev.blockdraft.train.Regenerator.Settings(128, 32, 0, 1, 192), 1234);
            DrafterConfig dc = DrafterConfig.forTarget(target.config(), targetDir.getFileName().toString(), blockSize,
                    MaskToken.choose(target.tokenizer(), target.config().vocabSize(), maskTokenId).id());
            if (layers != null) {
                dc = dc.withLayers(layers);
            }
            Drafter initial = init != null ? DrafterCheckpoint.load(init, target.model()) : null;
            if (initial != null) {
                dc = initial.config();
                MaskToken.check(target.tokenizer(), target.config().vocabSize(), dc.maskTokenId(),
                        init.resolve("config.json") + ": mask_token_id " + dc.maskTokenId());
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
            Map<String, String> settings = new LinkedHashMap<>(tc.asMap());
            settings.put("objective", objective.toString());
            settings.put("precision", training.precision.toString());
            settings.put("drafter", dc.toJson().replaceAll("\\s+", ""));
            Provenance provenance = Provenance.capture("drafter", target.model().device().toString(), seed, settings,
                    Map.of(), Map.of("target", targetDir.toAbsolutePath().toString(), "regenerated",
                            dataDir.toAbsolutePath().toString()));
            try (Drafter drafter = initial != null ? initial : Drafter.initialize(dc, target.model(), seed)) {
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
