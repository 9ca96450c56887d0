package dev.blockdraft.cli;

import dev.blockdraft.draft.Drafter;
import dev.blockdraft.draft.DrafterCheckpoint;
import dev.blockdraft.lm.Target;
import dev.blockdraft.spec.ExactnessCheck;
import dev.blockdraft.spec.SpeculativeDecoder;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "verify-exactness", mixinStandardHelpOptions = true,
        description = {"Checks that speculative sampling draws from the same distribution as plain sampling: N continuations "
                + "of one prompt each way, their total-variation distance and a chi-square test of equality.",
            "Exits 1 when equality is rejected at p < " + ExactnessCheck.ALPHA + "."})
final class VerifyExactnessCommand implements Callable<Integer> {
    @Option(names = "--target", required = true, paramLabel = "DIR")
    Path targetDir;

    @Option(names = "--drafter", required = true, paramLabel = "DIR")
    Path drafterDir;

    @Option(names = "--trials", defaultValue = "10000", paramLabel = "N",
            description = "continuations drawn each way (default: ${DEFAULT-VALUE})")
    int trials;

    @Option(names = "--tokens", defaultValue = "3", paramLabel = "N",
            description = "tokens per continuation (default: ${DEFAULT-VALUE})")
    int tokens;

    @Option(names = "--prompt", defaultValue = "What is 12 times 7?", paramLabel = "TEXT",
            description = "the user turn, rendered with the chat template (default: ${DEFAULT-VALUE})")
    String prompt;

    @Option(names = "--seed", defaultValue = "0")
    long seed;

    @Mixin
    DecodingOptions decodingOptions;

    @Mixin
    Options.Hardware hardware;

    @Override
    public Integer call() {
        ExactnessCheck check = new ExactnessCheck(trials, tokens);
        var decoding = decodingOptions.resolve(seed);
        try (Target target = Target.load(targetDir, hardware.resolve());
                Drafter drafter = DrafterCheckpoint.load(drafterDir, target.model())) {
            int[] ids = target.template().promptIds(List.of(), prompt);
            ExactnessCheck.Result result = check.run(new SpeculativeDecoder(drafter).with(decoding), ids);
            System.out.println(result);
            return result.rejected() ? 1 : 0;
        }
    }
}
