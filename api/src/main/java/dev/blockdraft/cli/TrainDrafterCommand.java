package dev.blockdraft.cli;

import ai.djl.Device;
import dev.blockdraft.Workflows;
import dev.blockdraft.draft.Drafter;
import dev.blockdraft.draft.DrafterCheckpoint;
import dev.blockdraft.draft.DrafterConfig;
import dev.blockdraft.io.OutputFolder;
import dev.blockdraft.io.Provenance;
import dev.blockdraft.lm.Devices;
import dev.blockdraft.lm.Target;
import dev.blockdraft.tokenize.MaskToken;
import dev.blockdraft.train.BlockSampler;
import dev.blockdraft.train.DraftTrainConfig;
import dev.blockdraft.train.DrafterTrainer;
import dev.blockdraft.train.RegeneratedData;
import dev.blockdraft.train.RegenerationRecipe;
import dev.blockdraft.train.TrainConfig;
import dev.blockdraft.train.TrainingRun;
import dev.blockdraft.train.objective.Objective;
import dev.blockdraft.train.objective.Objectives;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "train-drafter", mixinStandardHelpOptions = true,
        description = "Train a block-diffusion drafter for a target with a named objective; resumes an unfinished --out."
                + " Defaults depend on --device (GPU: B=16, 6,000 steps of 16 × 1,024 tokens; CPU: B=8, 300 small steps);"
                + " held-out τ is measured every --eval-every steps and the best drafter is kept in <out>/best.")
final class TrainDrafterCommand implements Callable<Integer> {
    @Option(names = "--target", required = true, paramLabel = "DIR")
    Path targetDir;

    @Option(names = "--objective", defaultValue = "paper",
            description = "uniform | dflash | dpace | positional | first-error | chain | paper, optionally name:key=value,… (default: ${DEFAULT-VALUE})")
    String objectiveName;

    @Option(names = "--out", required = true, paramLabel = "DIR")
    Path out;

    @Option(names = "--data-dir", paramLabel = "DIR",
            description = "regenerated data (default: runs/regenerated/<target name>, made with the device's default recipe if missing)")
    Path regenerated;

    @Option(names = "--mask-token-id", description = "id the drafter fills its slots with (default: the tokenizer's"
            + " mask token, else the first id past the tokenizer's; must not be a real token)")
    Integer maskTokenId;

    @Option(names = "--init", paramLabel = "DIR", description = "start from this drafter (blockdraft's or DFlash's"
            + " layout, e.g. one trained elsewhere) instead of random weights; its shape and mask id are kept")
    Path init;

    @Option(names = "--block-size", description = "B, the anchor included (default: 16 on a GPU, 8 on a CPU)")
    Integer blockSize;

    @Option(names = "--layers", description = "drafter layers (default: one per two target layers on a GPU, one per four on a CPU, 1..5)")
    Integer layers;

    @Option(names = "--feature-layers", paramLabel = "L,L,…|dflash|spread",
            description = "target layers (0-based) the drafter reads; dflash = one per drafter layer over 1..L−3 (DFlash's rule); "
                    + "default spread = three over the target's depth")
    String featureLayers;

    @Option(names = "--steps", description = "optimizer steps (default: the device's preset)")
    Integer steps;

    @Option(names = "--blocks-per-sequence", paramLabel = "N|all",
            description = "anchors per sequence per step, at most (default: 512, capped by the response length)")
    String blocks;

    @Option(names = "--labels", paramLabel = "sampled|greedy",
            description = "what a block slot learns to predict: the answer's own next token (sampled, the default) or"
                    + " the target's greedy token while the answer follows greedy decoding in the block (greedy)")
    String labels;

    @Option(names = "--batch", description = "sequences per step (default: the device's preset)")
    Integer batch;

    @Option(names = "--seq-len", description = "longest sequence trained on, in tokens (default: the device's preset)")
    Integer seqLen;

    @Option(names = "--grad-accum", defaultValue = "1", paramLabel = "K",
            description = "micro-batches of --batch sequences per optimizer step, exactly the step over all of them"
                    + " as one batch (default: ${DEFAULT-VALUE})")
    int gradAccum;

    @Option(names = "--devices", paramLabel = "LIST",
            description = "data-parallel training over these devices, e.g. gpu:0,gpu:1 (cpu,cpu: replicas on the CPU);"
                    + " the first holds the masters and replaces --device; each step's --grad-accum micro-batches,"
                    + " a multiple of the device count, are shared out, so the global batch stays --batch × --grad-accum"
                    + " (default: --device alone)")
    String devices;

    @Option(names = "--lr", description = "peak learning rate (default: the device's preset)")
    Double lr;

    @Option(names = "--eval-every", description = "steps between held-out τ measurements (default: the device's preset)")
    Integer evalEvery;

    @Option(names = "--checkpoint-every", description = "steps between checkpoints, so a killed run resumes (default: the device's preset)")
    Integer checkpointEvery;

    @Option(names = "--validation-sequences", description = "held-out sequences scored per measurement (default: the device's preset)")
    Integer validationSequences;

    @Option(names = "--seed", defaultValue = "7")
    long seed;

    @Option(names = "--half-target", description = "compute the frozen target's features in fp16 (GPU only)")
    boolean halfTarget;

    @Mixin
    ConfigFile.Option config;

    @Mixin
    Options.Training training;

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
        Options.positive("--grad-accum", gradAccum);
        Options.positive("--layers", layers);
        Options.positive("--block-size", blockSize);
        if (checkpointEvery != null && checkpointEvery < 0) {
            throw new IllegalArgumentException("--checkpoint-every " + checkpointEvery + ": must be >= 0 (0 = only at the end)");
        }
        Objective objective = Objectives.parse(objectiveName);
        List<Device> replicas = devices != null ? Devices.parseList("--devices", devices)
                : List.of(hardware.resolve());
        if (gradAccum % replicas.size() != 0) {
            throw new IllegalArgumentException("--devices " + devices + ": " + replicas.size() + " devices share each step's"
                    + " --grad-accum " + gradAccum + " micro-batches evenly; --grad-accum must be a multiple of "
                    + replicas.size() + " (the global batch is --batch × --grad-accum)");
        }
        Device device = replicas.get(0);
        DraftTrainConfig tc = trainConfig(device); // flags checked before anything slow
        List<Path> dataFolders = data.protectedFolders();
        Path dataDir = regenerated != null ? regenerated : Workflows.defaultRegeneratedFolder(targetDir);
        boolean regenerate = !Files.exists(dataDir.resolve(RegeneratedData.MANIFEST));
        try (OutputFolder claimed = output.claim(out, "drafter", "--out", dataFolders);
                OutputFolder dataClaim = regenerate ? OutputFolder.claim(dataDir, "regenerated", "--data-dir",
                        OutputFolder.Mode.KEEP, dataFolders) : null;
                Target target = Target.load(targetDir, device)) {
            int context = target.config().maxPositionEmbeddings();
            int b = blockSize != null ? blockSize : DrafterConfig.defaultBlockSize(device);
            if (b < 2 || b > context / 2) {
                throw new IllegalArgumentException("--block-size " + b + ": must be within 2.." + context / 2
                        + " (half the target's context of " + context + " tokens, so a prompt fits beside a block)");
            }
            // an explicit --data-dir is the user's data as it is; the default folder must match the device's recipe
            RegeneratedData rd = regenerated != null && !regenerate ? RegeneratedData.load(dataDir)
                    : Workflows.regeneratedData(target, data.resolve(), dataDir, RegenerationRecipe.defaultsFor(device));
            DrafterConfig dc = DrafterConfig.forTarget(target.config(), targetDir.getFileName().toString(), b,
                    MaskToken.choose(target.tokenizer(), target.config().vocabSize(), maskTokenId).id(), device);
            if (layers != null) {
                dc = dc.withLayers(layers);
            }
            if (featureLayers != null) {
                dc = dc.withFeatureLayers(featureLayers);
            }
            Drafter initial = init != null ? DrafterCheckpoint.load(init, target.model()) : null;
            if (initial != null) {
                dc = initial.config();
                MaskToken.check(target.tokenizer(), target.config().vocabSize(), dc.maskTokenId(),
                        init.resolve("config.json") + ": mask_token_id " + dc.maskTokenId());
            }
            Options.Output.announce(out, tc.optimizer().steps());
            Map<String, String> settings = new LinkedHashMap<>(tc.asMap());
            settings.put("objective", objective.toString());
            settings.put("precision", training.precision.toString());
            settings.put("devices", Devices.format(replicas));
            settings.put("drafter", dc.toJson().replaceAll("\\s+", ""));
            Provenance provenance = Provenance.capture("drafter", target.model().backend(), seed, settings,
                    Map.of(), Map.of("target", targetDir.toAbsolutePath().toString(), "regenerated",
                            dataDir.toAbsolutePath().toString()));
            try (Drafter drafter = initial != null ? initial : Drafter.initialize(dc, target.model(), seed)) {
                TrainingRun run = new DrafterTrainer(tc, objective, List.of(new ConsoleProgress("train-drafter " + objectiveName)))
                        .withHalfPrecisionTarget(halfTarget).withPrecision(training.precision).withDevices(replicas)
                        .named(objectiveName)
                        .train(drafter, rd, target.tokenizer().padId(), out, provenance);
                System.out.printf("%s: held-out τ %.3f (expected %.3f; %.3f outside loops, %.0f%% of blocks in them), CE %.3f;"
                        + " best held-out τ %.3f → %s%n", objective, run.lastEval("tau"), run.lastEval("expected_tau"),
                        run.lastEval("tau_outside_loops"), 100 * run.lastEval("loop_share"), run.lastEval("ce"),
                        run.bestEval("tau"), out);
            }
        }
        return 0;
    }

    private DraftTrainConfig trainConfig(Device device) {
        DraftTrainConfig tc = DraftTrainConfig.defaultsFor(device).withSeed(seed);
        TrainConfig o = tc.optimizer();
        if (steps != null) {
            o = o.withSteps(steps);
        }
        if (batch != null || seqLen != null) {
            o = o.withBatch(batch != null ? batch : o.batchSize(), seqLen != null ? seqLen : o.seqLen());
        }
        if (lr != null) {
            o = o.withLearningRate(lr);
        }
        o = o.withGradAccum(gradAccum);
        if (evalEvery != null) {
            o = o.withEvalEvery(evalEvery, o.evalBatches());
        }
        // a kill loses at most a tenth of the run (or the preset's interval, if shorter) unless told otherwise
        o = o.withCheckpointEvery(checkpointEvery != null ? checkpointEvery
                : Math.min(o.checkpointEvery() > 0 ? o.checkpointEvery() : Integer.MAX_VALUE, Math.max(1, o.steps() / 10)));
        tc = tc.withOptimizer(o);
        if (blocks != null) {
            tc = tc.withBlocksPerSequence(Options.countOrAll("--blocks-per-sequence", blocks, BlockSampler.ALL));
        }
        if (validationSequences != null) {
            tc = tc.withValidationSequences(validationSequences);
        }
        if (labels != null) {
            tc = tc.withLabels(dev.blockdraft.train.DraftTrainConfig.Labels.parse(labels, "--labels"));
        }
        return tc;
    }
}
