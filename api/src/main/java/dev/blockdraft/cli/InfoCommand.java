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
            System.out.printf("tokenizer: %d tokens, %s, end-of-turn id %d, chat template from %s%n",
                    target.tokenizer().vocabSize(),
                    dev.blockdraft.tokenize.MaskToken.choose(target.tokenizer(), target.config().vocabSize(), null),
                    target.tokenizer().eosId(), target.template().origin());
            Path prov = model.resolve(Provenance.FILE);
            if (Files.exists(prov)) {
                System.out.println("provenance.json:");
                System.out.println(Files.readString(prov));
            }
        }
        return 0;
    }
}
