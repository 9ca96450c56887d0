package dev.blockdraft.cli;

import dev.blockdraft.data.DataFolder;
import dev.blockdraft.io.OutputFolder;
import dev.blockdraft.lm.Target;
import dev.blockdraft.train.RegeneratedData;
import dev.blockdraft.train.Regenerator;
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

    @Option(names = "--prompts", defaultValue = "600", description = "prompts to answer (default: ${DEFAULT-VALUE})")
    int prompts;

    @Option(names = "--validation", defaultValue = "48", description = "of which held out for validation (default: ${DEFAULT-VALUE})")
    int validation;

    @Option(names = "--max-new-tokens", defaultValue = "128")
    int maxNewTokens;

    @Option(names = "--max-prompt-tokens", defaultValue = "192")
    int maxPromptTokens;

    @Option(names = "--batch", defaultValue = "32", description = "prompts decoded together (default: ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--temperature", defaultValue = "0", description = "0 = greedy (default)")
    double temperature;

    @Option(names = "--top-p", defaultValue = "1.0")
    double topP;

    @Option(names = "--seed", defaultValue = "1234")
    long seed;

    @Mixin
    Options.Output output;

    @Mixin
    Options.Data data;

    @Mixin
    Options.Hardware hardware;

    @Override
    public Integer call() {
        Options.positive("--prompts", prompts);
        Options.positive("--max-new-tokens", maxNewTokens);
        Options.positive("--max-prompt-tokens", maxPromptTokens);
        Options.positive("--batch", batch);
        if (validation < 0 || validation >= prompts) {
            throw new IllegalArgumentException("--validation " + validation + ": must be within 0.." + (prompts - 1)
                    + " (fewer than --prompts " + prompts + ")");
        }
        if (!(temperature >= 0 && Double.isFinite(temperature))) {
            throw new IllegalArgumentException("--temperature " + temperature + ": must be >= 0 (0 = greedy)");
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("--top-p " + topP + ": must be within (0, 1]");
        }
        DataFolder folder = data.resolve();
        Path targetDir = this.targetDir != null ? this.targetDir : dev.blockdraft.Workflows.defaultTargetFolder();
        Path out = this.out != null ? this.out : dev.blockdraft.Workflows.defaultRegeneratedFolder(targetDir);
        // never into (or above) the data folder, whatever --overwrite says
        try (OutputFolder claimed = output.claim(out, "regenerated", "--out", List.of(folder.root()));
                Target target = Target.load(targetDir, hardware.resolve())) {
            RegeneratedData written = dev.blockdraft.Workflows.regenerate(target, folder, out, prompts, validation,
                    new Regenerator.Settings(maxNewTokens, batch, temperature, topP, maxPromptTokens), seed);
            System.out.printf("regenerated %d training + %d validation sequences (%,d + %,d tokens) → %s%n",
                    written.train().size(), written.validation().size(), written.manifest().trainTokens(),
                    written.manifest().validationTokens(), out);
        }
        return 0;
    }
}
