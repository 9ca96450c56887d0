package dev.blockdraft;

import ai.djl.engine.Engine;
import dev.blockdraft.data.Corpus;
import dev.blockdraft.data.CorpusRecord;
import dev.blockdraft.data.DataFolder;
import dev.blockdraft.data.ProjectHome;
import dev.blockdraft.data.Decontamination;
import dev.blockdraft.draft.Drafter;
import dev.blockdraft.eval.OfflineTau;
import dev.blockdraft.io.Provenance;
import dev.blockdraft.lm.Target;
import dev.blockdraft.train.DraftValidation;
import dev.blockdraft.train.RegeneratedData;
import dev.blockdraft.train.Regenerator;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** Multi-step procedures shared by the CLI, the fluent API and notebooks. */
public final class Workflows {
    private Workflows() {}

    /** Where regenerated data for a target goes by default: {@code runs/regenerated/<target folder name>}. */
    public static Path defaultRegeneratedFolder(Path targetFolder) {
        return ProjectHome.resolve().resolve("runs/regenerated")
                .resolve(targetFolder.toAbsolutePath().normalize().getFileName().toString());
    }

    /** Where the embedded default target lives: {@code datasets/targets/default} under the {@link ProjectHome}. */
    public static Path defaultTargetFolder() {
        return ProjectHome.resolve().resolve(ProjectHome.DEFAULT_TARGET);
    }

    /**
     * Regenerates drafter training data: distinct instruction prompts of the math and dialogue
     * corpora (benchmark prompts removed), shuffled by seed, answered by the target.
     */
    public static RegeneratedData regenerate(Target target, DataFolder folder, Path out, int prompts, int validation,
            Regenerator.Settings settings, long seed) {
        if (validation >= prompts) {
            throw new IllegalArgumentException("validation=" + validation + " must be < prompts=" + prompts);
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

    /** The offline τ of a drafter on the target's own benchmark answers (see {@link DraftValidation}). */
    public static OfflineTau offlineTau(Drafter drafter, int padId) {
        return sequences -> {
            List<RegeneratedData.Sequence> seqs = new ArrayList<>();
            for (OfflineTau.Sequence s : sequences) {
                if (s.responseLength() > 1) {
                    seqs.add(new RegeneratedData.Sequence(s.ids(), s.responseStart()));
                }
            }
            if (seqs.isEmpty()) {
                return Double.NaN;
            }
            int longest = 0;
            for (RegeneratedData.Sequence s : seqs) {
                longest = Math.max(longest, s.ids().length);
            }
            return DraftValidation.evaluate(drafter, seqs, 16, longest, padId, 4).get("tau");
        };
    }
}
