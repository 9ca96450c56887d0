package dev.blockdraft.cli;

import ai.djl.engine.Engine;
import dev.blockdraft.lm.Generator;
import dev.blockdraft.lm.Sampler;
import dev.blockdraft.lm.Target;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Continue a prompt with a target model and print the continuation.")
final class GenerateCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "DIR")
    Path model;

    @Option(names = "--prompt", required = true, paramLabel = "TEXT")
    String prompt;

    @Option(names = "--max-new-tokens", defaultValue = "64")
    int maxNewTokens;

    @Option(names = "--temperature", defaultValue = "0", description = "0 = greedy (default)")
    double temperature;

    @Option(names = "--top-p", defaultValue = "1.0")
    double topP;

    @Option(names = "--seed", defaultValue = "0")
    long seed;

    @Option(names = "--raw", description = "continue the text as is, without the chat template")
    boolean raw;

    @Option(names = "--stats", description = "print tokens/s to stderr")
    boolean stats;

    @Mixin
    Options.Hardware hardware;

    @Override
    public Integer call() {
        if (maxNewTokens <= 0) {
            throw new IllegalArgumentException("--max-new-tokens " + maxNewTokens + ": must be > 0");
        }
        if (!(temperature >= 0 && Double.isFinite(temperature))) {
            throw new IllegalArgumentException("--temperature " + temperature + ": must be >= 0 (0 = greedy)");
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("--top-p " + topP + ": must be within (0, 1]");
        }
        try (Target target = Target.load(model, hardware.resolve())) {
            Sampler sampler = temperature == 0 ? Sampler.greedy() : Sampler.temperature(temperature, topP);
            Engine.getInstance().setRandomSeed((int) seed);
            int[] ids = raw ? target.tokenizer().encode(prompt) : target.template().promptIds(List.of(), prompt);
            Generator.Generation g = Generator.generate(target.model(), ids, maxNewTokens, sampler,
                    raw ? new int[0] : target.tokenizer().stopIds());
            System.out.println(target.tokenizer().decode(g.tokens(), true));
            if (stats) {
                System.err.printf("%d tokens in %.2f s (%.1f tokens/s)%n", g.tokens().length, g.seconds(), g.tokensPerSecond());
            }
        }
        return 0;
    }
}
