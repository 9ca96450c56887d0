package dev.blockdraft.cli;

import ai.djl.engine.Engine;
import dev.blockdraft.data.Corpus;
import dev.blockdraft.data.CorpusRecord;
import dev.blockdraft.data.DataFolder;
import dev.blockdraft.data.Decontamination;
import dev.blockdraft.io.Provenance;
import dev.blockdraft.lm.Target;
import dev.blockdraft.train.RegeneratedData;
import dev.blockdraft.train.Regenerator;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "regenerate", mixinStandardHelpOptions = true,
        description = "Have the target answer corpus prompts; store its responses as drafter training data.")
final class RegenerateCommand implements Callable<Integer> {
    @Option(names = "--target", required = true, paramLabel = "DIR")
    Path targetDir;

    @Option(names = "--out", required = true, paramLabel = "DIR")
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
    Options.Data data;

    @Mixin
    Options.Hardware hardware;

    @Override
    public Integer call() {
        DataFolder folder = data.resolve();
        try (Target target = Target.load(targetDir, hardware.resolve())) {
            RegeneratedData written = regenerate(target, folder, out, prompts, validation,
                    new Regenerator.Settings(maxNewTokens, batch, temperature, topP, maxPromptTokens), seed);
            System.out.printf("regenerated %d training + %d validation sequences (%,d + %,d tokens) → %s%n",
                    written.train().size(), written.validation().size(), written.manifest().trainTokens(),
                    written.manifest().validationTokens(), out);
        }
        return 0;
    }

    /** Shared with the demo: prompts from the instruction corpora, decontaminated, shuffled by seed. */
    static RegeneratedData regenerate(Target target, DataFolder folder, Path out, int prompts, int validation,
            Regenerator.Settings settings, long seed) {
        if (validation >= prompts) {
            throw new IllegalArgumentException("--validation=" + validation + " must be < --prompts=" + prompts);
        }
        List<CorpusRecord> records = new ArrayList<>();
        Map<String, Path> files = new LinkedHashMap<>();
        for (String name : List.of("gsm8k_train.jsonl", "alpaca_eval_outputs.jsonl")) {
            records.addAll(Corpus.read(folder.corpus(name), 20_000));
            files.put(name, folder.corpus(name));
        }
        Decontamination.Result clean = Decontamination.againstAllBenchmarks(folder).filter(records);
        List<String> all = Regenerator.prompts(clean.kept());
        Collections.shuffle(all, new Random(seed));
        List<String> chosen = all.subList(0, Math.min(prompts, all.size()));
        Engine.getInstance().setRandomSeed((int) seed);
        List<RegeneratedData.Sequence> seqs = Regenerator.regenerate(target, chosen, settings);
        int val = Math.min(validation, seqs.size() / 2);
        List<RegeneratedData.Sequence> valSeqs = new ArrayList<>(seqs.subList(0, val));
        List<RegeneratedData.Sequence> trainSeqs = new ArrayList<>(seqs.subList(val, seqs.size()));
        Map<String, String> s = new LinkedHashMap<>();
        s.put("prompts", "" + prompts);
        s.put("validation", "" + validation);
        s.put("sampling", settings.describe());
        s.put("max_new_tokens", "" + settings.maxNewTokens());
        s.put("max_prompt_tokens", "" + settings.maxPromptTokens());
        Provenance p = Provenance.capture("regenerated-data", target.model().device().toString(), seed, s, files,
                Map.of("target", target.folder().toAbsolutePath().toString()));
        RegeneratedData.write(out, trainSeqs, valSeqs, target.folder().getFileName().toString(), settings.describe(),
                settings.maxNewTokens(), p);
        return RegeneratedData.load(out);
    }
}
