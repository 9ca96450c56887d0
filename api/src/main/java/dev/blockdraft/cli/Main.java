package dev.blockdraft.cli;

import dev.blockdraft.data.DataException;
import dev.blockdraft.io.BadInputException;
import dev.blockdraft.tokenize.TokenizerException;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code bin/blockdraft}: the command-line entry point. Only this package exits the JVM. */
@Command(name = "blockdraft", mixinStandardHelpOptions = true, version = "blockdraft 0.1.0",
        description = "Train block-diffusion drafters that speculate left to right, and measure them.",
        subcommands = {TrainTokenizerCommand.class, TrainTargetCommand.class, GenerateCommand.class,
            InfoCommand.class, RegenerateCommand.class, TrainDrafterCommand.class, EvalCommand.class, DemoCommand.class, BenchCommand.class, AblateCommand.class,
            ParityCommand.class, ExportCommand.class, VerifyExactnessCommand.class,
            CommandLine.HelpCommand.class},
        footer = {"", "Run by bin/blockdraft itself (each takes --help):",
            "  kernel install  Install the \"Java (blockdraft)\" Jupyter kernel.",
            "  shell           JShell with blockdraft on the classpath and imported.",
            "  test            The whole test suite (mvn verify), as CI runs it."})
public final class Main {

    public static void main(String[] args) {
        System.setProperty("ai.djl.offline", System.getProperty("ai.djl.offline", "true"));
        int code = run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true));
        System.exit(code);
    }

    /**
     * Runs a command line and returns its exit code: 0 done, 2 for bad input (one line on
     * {@code err} naming the file or flag, the value and what would be valid; never a stack trace).
     */
    static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cli = new CommandLine(new Main());
        cli.setOut(out);
        cli.setErr(err);
        cli.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            if (ex instanceof BadInputException || ex instanceof IllegalArgumentException
                    || ex instanceof DataException || ex instanceof TokenizerException
                    || ex instanceof java.io.UncheckedIOException) {
                cmd.getErr().println("blockdraft " + cmd.getCommandName() + ": " + oneLine(ex.getMessage()));
                return 2;
            }
            throw ex;
        });
        // a mistyped flag or value: one line with picocli's reason (it names the flag and the value), not the whole usage
        cli.setParameterExceptionHandler((ex, arguments) -> {
            CommandLine cmd = ex.getCommandLine();
            String name = cmd.getCommandSpec().qualifiedName(" ");
            ex.getCommandLine().getErr().println(name + ": " + oneLine(ex.getMessage()) + " (see " + name + " --help)");
            return 2;
        });
        try {
            String[] expanded;
            try {
                expanded = ConfigFile.expand(cli, args);
            } catch (BadInputException e) {
                err.println("blockdraft " + args[0] + ": " + oneLine(e.getMessage()));
                return 2;
            }
            return cli.execute(expanded);
        } catch (OutOfMemoryError e) {
            err.println("blockdraft: out of memory (" + e.getMessage() + "); use smaller shapes or batches, or give the"
                    + " JVM more with BLOCKDRAFT_JAVA_OPTS=-Xmx…");
            return 2;
        }
    }

    private static String oneLine(String message) {
        if (message == null) {
            return "(no message)";
        }
        int nl = message.indexOf('\n');
        return nl < 0 ? message : message.substring(0, nl).trim();
    }
}
