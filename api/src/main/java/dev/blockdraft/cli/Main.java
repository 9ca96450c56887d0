package dev.blockdraft.cli;

import dev.blockdraft.data.DataException;
import dev.blockdraft.io.BadInputException;
import dev.blockdraft.tokenize.TokenizerException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code bin/blockdraft}: the command-line entry point. Only this package exits the JVM. */
@Command(name = "blockdraft", mixinStandardHelpOptions = true, version = "blockdraft 0.1.0",
        description = "Train block-diffusion drafters that speculate left to right, and measure them.",
        subcommands = {TrainTokenizerCommand.class, TrainTargetCommand.class, GenerateCommand.class,
            InfoCommand.class, RegenerateCommand.class, TrainDrafterCommand.class, EvalCommand.class, DemoCommand.class, BenchCommand.class, AblateCommand.class,
            ParityCommand.class,
            CommandLine.HelpCommand.class})
public final class Main {

    public static void main(String[] args) {
        System.setProperty("ai.djl.offline", System.getProperty("ai.djl.offline", "true"));
        CommandLine cli = new CommandLine(new Main());
        cli.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            if (ex instanceof BadInputException || ex instanceof IllegalArgumentException
                    || ex instanceof DataException || ex instanceof TokenizerException
                    || ex instanceof java.io.UncheckedIOException) {
                cmd.getErr().println("blockdraft " + cmd.getCommandName() + ": " + ex.getMessage());
                return 2;
            }
            throw ex;
        });
        int code = cli.execute(args);
        System.exit(code);
    }
}
