package dev.blockdraft.cli;

import dev.blockdraft.Workflows;
import dev.blockdraft.data.Benchmark;
import dev.blockdraft.data.BenchmarkPrompt;
import dev.blockdraft.data.Benchmarks;
import dev.blockdraft.draft.Drafter;
import dev.blockdraft.draft.DrafterCheckpoint;
import dev.blockdraft.eval.AcceptanceReport;
import dev.blockdraft.eval.BenchmarkRun;
import dev.blockdraft.eval.SpeculativeEvaluator;
import dev.blockdraft.lm.Target;
import dev.blockdraft.tokenize.MaskToken;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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

    @Option(names = "--benchmarks", split = ",",
            description = "comma-separated built-in benchmarks (default: all six, or none when --prompts is given)")
    List<String> benchmarks;

    @Option(names = "--prompts", paramLabel = "FILE.jsonl[:NAME]", description = "your own prompt set (repeatable):"
            + " lines of {\"turns\": [...]}, MT-Bench's question_id, ShareGPT conversations/messages, or {\"prompt\": ...};"
            + " reports name it NAME (default: the file's name)")
    List<String> promptSets;

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

    @Option(names = "--force", description = "use a drafter trained for another target (its recorded target"
            + " fingerprint differs) anyway")
    boolean force;

    @Option(names = "--seed", defaultValue = "0", description = "random stream of sampled decoding (default: ${DEFAULT-VALUE})")
    long seed;

    @Mixin
    ConfigFile.Option config;

    @Mixin
    DecodingOptions decodingOptions;

    @Mixin
    Options.Data data;

    @Mixin
    Options.Hardware hardware;

    @Override
    public Integer call() {
        List<Benchmark> list = new ArrayList<>();
        List<String> builtIn = benchmarks != null ? benchmarks
                : promptSets == null ? Arrays.stream(Benchmark.values()).map(Benchmark::cliName).toList() : List.of();
        for (String b : builtIn) {
            list.add(Benchmark.parse(b.trim()));
        }
        for (String p : promptSets == null ? List.<String>of() : promptSets) {
            list.add(Benchmark.fromOption(p));
        }
        BenchmarkRun run = BenchmarkRun.of(maxPrompts, maxNewTokens, list.toArray(new Benchmark[0]))
                .withBaseline(!noBaseline).withOnTooLong(skipLong ? BenchmarkRun.TooLong.SKIP : BenchmarkRun.TooLong.FAIL);
        try (Target target = Target.load(targetDir, hardware.resolve());
                Drafter drafter = DrafterCheckpoint.load(drafterDir, target.model(), force)) {
            MaskToken.check(target.tokenizer(), target.config().vocabSize(), drafter.config().maskTokenId(),
                    drafterDir.resolve("config.json") + ": mask_token_id " + drafter.config().maskTokenId());
            String name = label != null ? label : drafterDir.getFileName().toString();
            SpeculativeEvaluator evaluator = new SpeculativeEvaluator().withObjective(name)
                    .withDecoding(decodingOptions.resolve(seed))
                    .withDrafterName(drafterDir.getFileName().toString())
                    .withOfflineTau(Workflows.offlineTau(drafter, target.tokenizer().padId()));
            AcceptanceReport report;
            if (list.stream().allMatch(b -> b.file().isPresent())) {
                // only the user's own files: no data folder needed
                Map<Benchmark, List<BenchmarkPrompt>> prompts = new LinkedHashMap<>();
                for (Benchmark b : list) {
                    prompts.put(b, Benchmarks.load(b, maxPrompts));
                }
                report = evaluator.evaluate(target, drafter, prompts, run);
            } else {
                report = evaluator.evaluate(target, drafter, data.resolve(), run);
            }
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
