package dev.blockdraft.cli;

import dev.blockdraft.Workflows;
import dev.blockdraft.data.Benchmark;
import dev.blockdraft.draft.Drafter;
import dev.blockdraft.draft.DrafterCheckpoint;
import dev.blockdraft.eval.AcceptanceReport;
import dev.blockdraft.eval.BenchmarkRun;
import dev.blockdraft.eval.SpeculativeEvaluator;
import dev.blockdraft.lm.Target;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Speculative decoding of benchmark prompts: τ, per-slot acceptance, histogram, speedup.")
final class EvalCommand implements Callable<Integer> {
    @Option(names = "--target", required = true, paramLabel = "DIR")
    Path targetDir;

    @Option(names = "--drafter", required = true, paramLabel = "DIR")
    Path drafterDir;

    @Option(names = "--benchmarks", split = ",", defaultValue = "gsm8k,math500,humaneval,mbpp,mt_bench,alpaca",
            description = "comma-separated (default: all six)")
    List<String> benchmarks;

    @Option(names = "--max-prompts", defaultValue = "20")
    int maxPrompts;

    @Option(names = "--max-new-tokens", defaultValue = "128")
    int maxNewTokens;

    @Option(names = "--no-baseline", description = "skip plain decoding (no speedup column)")
    boolean noBaseline;

    @Option(names = "--skip-long", description = "skip prompts longer than the context instead of failing")
    boolean skipLong;

    @Option(names = "--objective", description = "label for the report (default: the drafter folder's name)")
    String label;

    @Option(names = "--json", paramLabel = "FILE")
    Path json;

    @Option(names = "--csv", paramLabel = "FILE")
    Path csv;

    @Option(names = "--seed", defaultValue = "0", description = "random stream of sampled decoding (default: ${DEFAULT-VALUE})")
    long seed;

    @Mixin
    DecodingOptions decodingOptions;

    @Mixin
    Options.Data data;

    @Mixin
    Options.Hardware hardware;

    @Override
    public Integer call() {
        List<Benchmark> list = new ArrayList<>();
        for (String b : benchmarks) {
            list.add(Benchmark.parse(b.trim()));
        }
        BenchmarkRun run = BenchmarkRun.of(maxPrompts, maxNewTokens, list.toArray(new Benchmark[0]))
                .withBaseline(!noBaseline).withOnTooLong(skipLong ? BenchmarkRun.TooLong.SKIP : BenchmarkRun.TooLong.FAIL);
        try (Target target = Target.load(targetDir, hardware.resolve());
                Drafter drafter = DrafterCheckpoint.load(drafterDir, target.model())) {
            String name = label != null ? label : drafterDir.getFileName().toString();
            AcceptanceReport report = new SpeculativeEvaluator().withObjective(name)
                    .withDecoding(decodingOptions.resolve(seed))
                    .withDrafterName(drafterDir.getFileName().toString())
                    .withOfflineTau(Workflows.offlineTau(drafter, target.tokenizer().padId()))
                    .evaluate(target, drafter, data.resolve(), run);
            System.out.println(report);
            if (json != null) {
                report.writeJson(json);
            }
            if (csv != null) {
                report.writeCsv(csv);
            }
        }
        return 0;
    }
}
