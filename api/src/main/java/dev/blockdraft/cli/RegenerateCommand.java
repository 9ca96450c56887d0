package dev.blockdraft.cli;

import dev.blockdraft.data.DataFolder;
import dev.blockdraft.io.OutputFolder;
import dev.blockdraft.lm.Target;
import dev.blockdraft.train.RegeneratedData;
import dev.blockdraft.train.RegenerationRecipe;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "regenerate", mixinStandardHelpOptions = true,
        description = "Have the target answer corpus prompts; store its responses as drafter training data.")
final class RegenerateCommand implements Callable<Integer> {
    @Option(names = "--target", paramLabel = "DIR", description = "target model folder (default: the embedded default)")
    Path targetDir;

    @Option(names = "--out", paramLabel = "DIR", description = "output folder (default: runs/regenerated/<target name>)")
    Path out;

    @Option(names = "--prompts", paramLabel = "N|all",
            description = "conversations to answer, at most (default: all on a GPU, 640 on a CPU)")
    String prompts;

    @Option(names = "--validation", description = "of which held out for validation (default: 256 on a GPU, 48 on a CPU)")
    Integer validation;

    @Option(names = "--follow-ups", paramLabel = "SHARE",
            description = "share of conversations with a second user turn asked after the first answer (default: 0.5)")
    Double followUps;

    @Option(names = "--max-new-tokens", description = "tokens per answer, at most (default: 512 on a GPU, 96 on a CPU)")
    Integer maxNewTokens;

    @Option(names = "--max-prompt-tokens", description = "longest first prompt kept (default: 256 on a GPU, 160 on a CPU)")
    Integer maxPromptTokens;

    @Option(names = "--batch", description = "prompts decoded together (default: 256 on a GPU, 32 on a CPU)")
    Integer batch;

    @Option(names = "--temperature", description = "0 = greedy (default: 0.7 on a GPU, greedy on a CPU)")
    Double temperature;

    @Option(names = "--top-p", defaultValue = "1.0")
    double topP;

    @Option(names = "--answers", paramLabel = "K",
            description = "answers sampled per conversation (K > 1 needs a temperature > 0; a held-out conversation"
                    + " keeps all K; default: 3 on a GPU, 1 when greedy)")
    Integer answers;

    @Option(names = "--seed", defaultValue = "1234")
    long seed;

    @Mixin
    ConfigFile.Option config;

    @Mixin
    Options.Output output;

    @Mixin
    Options.Data data;

    @Mixin
    Options.Hardware hardware;

    @Override
    public Integer call() {
        Options.positive("--max-new-tokens", maxNewTokens);
        Options.positive("--max-prompt-tokens", maxPromptTokens);
        Options.positive("--batch", batch);
        Options.positive("--validation", validation);
        if (followUps != null && !(followUps >= 0 && followUps <= 1)) {
            throw new IllegalArgumentException("--follow-ups " + followUps + ": must be a share within [0, 1]");
        }
        if (temperature != null && !(temperature >= 0 && Double.isFinite(temperature))) {
            throw new IllegalArgumentException("--temperature " + temperature + ": must be >= 0 (0 = greedy)");
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("--top-p " + topP + ": must be within (0, 1]");
        }
        Options.positive("--answers", answers);
        DataFolder folder = data.resolve();
        Path targetDir = this.targetDir != null ? this.targetDir : dev.blockdraft.Workflows.defaultTargetFolder();
        Path out = this.out != null ? this.out : dev.blockdraft.Workflows.defaultRegeneratedFolder(targetDir);
        ai.djl.Device device = hardware.resolve();
        RegenerationRecipe recipe = recipe(device);
        // never into (or above) the data folder, whatever --overwrite says
        try (OutputFolder claimed = output.claim(out, "regenerated", "--out", List.of(folder.root()));
                Target target = Target.load(targetDir, device)) {
            RegeneratedData written = dev.blockdraft.Workflows.regenerate(target, folder, out, recipe);
            System.out.printf("regenerated %d training + %d validation sequences (%,d + %,d tokens) → %s%n",
                    written.train().size(), written.validation().size(), written.manifest().trainTokens(),
                    written.manifest().validationTokens(), out);
            System.out.println("answers: " + written.manifest().provenance().settings().get("answers_train")
                    + " (repetition loops are easy to draft: held-out τ rises with them)"); // as Workflows recorded it
        }
        return 0;
    }

    RegenerationRecipe recipe(ai.djl.Device device) {
        RegenerationRecipe defaults = RegenerationRecipe.defaultsFor(device);
        double t = temperature != null ? temperature : defaults.temperature();
        if (answers != null && answers > 1 && t == 0) {
            throw new IllegalArgumentException("--answers " + answers + ": greedy decoding gives one answer; add"
                    + " --temperature T > 0 (e.g. 0.7) to sample " + answers + " different ones");
        }
        // --temperature 0 alone means one greedy answer (withSampling), whatever the device's default K
        RegenerationRecipe r = defaults.withSeed(seed).withSampling(t, topP);
        int n = prompts == null ? r.conversations() : Options.countOrAll("--prompts", prompts, RegenerationRecipe.ALL);
        int heldOut = validation != null ? validation : r.withConversations(n).validation();
        if (heldOut >= n) {
            throw new IllegalArgumentException("--validation " + heldOut + ": must be fewer than --prompts " + n);
        }
        r = r.withConversations(n, heldOut);
        if (followUps != null) {
            r = r.withFollowUpShare(followUps);
        }
        if (maxNewTokens != null) {
            r = r.withMaxNewTokens(maxNewTokens);
        }
        if (maxPromptTokens != null) {
            r = r.withMaxPromptTokens(maxPromptTokens);
        }
        if (batch != null) {
            r = r.withBatch(batch);
        }
        return answers != null ? r.withAnswers(answers) : r;
    }

}
