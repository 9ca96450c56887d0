package dev.blockdraft.cli;

import dev.blockdraft.io.Provenance;
import dev.blockdraft.lm.Target;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "info", mixinStandardHelpOptions = true, description = "Describe a model folder.")
final class InfoCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "DIR")
    Path model;

    @Override
    public Integer call() throws Exception {
        try (Target target = Target.load(model, ai.djl.Device.cpu())) {
            System.out.println(target);
            System.out.println("config.json:");
            System.out.println(target.config().toJson());
            System.out.printf("tokenizer: %d tokens, mask id %d, end-of-turn id %d%n", target.tokenizer().vocabSize(),
                    target.tokenizer().maskId(), target.tokenizer().eosId());
            Path prov = model.resolve(Provenance.FILE);
            if (Files.exists(prov)) {
                System.out.println("provenance.json:");
                System.out.println(Files.readString(prov));
            }
        }
        return 0;
    }
}
