package dev.blockdraft;

import ai.djl.engine.Engine;
import dev.blockdraft.data.Corpus;
import dev.blockdraft.data.DataFolder;
import dev.blockdraft.data.ProjectHome;
import dev.blockdraft.draft.Drafter;
import dev.blockdraft.eval.OfflineTau;
import dev.blockdraft.io.Provenance;
import dev.blockdraft.lm.Target;
import dev.blockdraft.train.AnswerStats;
import dev.blockdraft.train.DraftValidation;
import dev.blockdraft.train.PromptMix;
import dev.blockdraft.train.RegeneratedData;
import dev.blockdraft.train.RegenerationRecipe;
import dev.blockdraft.train.Regenerator;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

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
     * Regenerates drafter training data under {@code recipe}: the conversations of {@link PromptMix}
     * (math, dialogue and code prompts, decontaminated, some with a follow-up turn), answered by the
     * target; whole conversations are held out for validation. The mix and its token counts go into
     * the folder's provenance.
     */
    public static RegeneratedData regenerate(Target target, DataFolder folder, Path out, RegenerationRecipe recipe) {
        PromptMix.Built mix = PromptMix.build(folder, recipe.followUpShare(), recipe.seed());
        List<PromptMix.Conversation> chosen = mix.conversations().subList(0,
                Math.min(recipe.conversations(), mix.conversations().size()));
        if (chosen.size() < 2) {
            throw new IllegalArgumentException("the corpora in " + folder.root() + " give " + chosen.size()
                    + " usable prompt(s); regeneration needs at least 2");
        }
        Engine.getInstance().setRandomSeed((int) recipe.seed());
        int answers = recipe.answers();
        List<PromptMix.Conversation> asked = new ArrayList<>(); // each conversation `answers` times in a row, sampled apart
        for (PromptMix.Conversation c : chosen) {
            asked.addAll(java.util.Collections.nCopies(answers, c));
        }
        List<List<RegeneratedData.Sequence>> answered = Regenerator.regenerateConversations(target, asked, recipe.settings());
        int heldOut = Math.min(recipe.validation(), chosen.size() / 2);
        List<RegeneratedData.Sequence> valSeqs = new ArrayList<>();
        List<RegeneratedData.Sequence> trainSeqs = new ArrayList<>();
        Map<String, long[]> tokens = new LinkedHashMap<>(); // per domain: sequences, response tokens
        for (int i = 0; i < answered.size(); i++) {
            int conversation = i / answers; // a held-out conversation keeps every answer: no prompt in both splits
            (conversation < heldOut ? valSeqs : trainSeqs).addAll(answered.get(i));
            String domain = chosen.get(conversation).domain().name().toLowerCase(java.util.Locale.ROOT);
            for (RegeneratedData.Sequence seq : answered.get(i)) {
                long[] t = tokens.computeIfAbsent(domain, k -> new long[2]);
                t[0]++;
                t[1] += seq.responseLength();
            }
        }
        Map<String, String> s = new LinkedHashMap<>(recipe.asSettings());
        mix.counts().forEach((k, v) -> s.put("available_" + k, Integer.toString(v)));
        s.put("conversations_answered", Integer.toString(chosen.size()));
        tokens.forEach((domain, t) -> s.put("sequences_" + domain, t[0] + " (" + t[1] + " response tokens)"));
        // degenerate answers inflate held-out τ: say how many there were
        s.put("answers_train", AnswerStats.of(trainSeqs, recipe.maxNewTokens()).describe());
        s.put("answers_validation", AnswerStats.of(valSeqs, recipe.maxNewTokens()).describe());
        Map<String, Path> files = new LinkedHashMap<>();
        for (String name : Corpus.STANDARD_FILES) {
            files.put(name, folder.corpus(name));
        }
        Provenance p = Provenance.capture("regenerated-data", target.model().backend(), recipe.seed(), s, files,
                Map.of("target", target.folder().toAbsolutePath().toString()));
        RegeneratedData.write(out, trainSeqs, valSeqs, target.folder().getFileName().toString(),
                recipe.asSettings().get("sampling"), recipe.maxNewTokens(), p);
        return RegeneratedData.load(out);
    }

    /**
     * The regenerated data in {@code folder} if it was made under {@code recipe}, else made there
     * now; a folder made under another recipe is refused with each differing setting named, so
     * that no run silently trains on data it did not ask for.
     */
    public static RegeneratedData regeneratedData(Target target, DataFolder data, Path folder, RegenerationRecipe recipe) {
        if (!java.nio.file.Files.exists(folder.resolve(RegeneratedData.MANIFEST))) {
            return regenerate(target, data, folder, recipe);
        }
        RegeneratedData existing = RegeneratedData.load(folder);
        Map<String, String> recorded = existing.manifest().provenance() == null ? Map.of()
                : existing.manifest().provenance().settings();
        List<String> differences = new ArrayList<>();
        recipe.asSettings().forEach((key, want) -> {
            String have = recorded.get(key);
            if (!want.equals(have)) {
                differences.add(key + " " + (have == null ? "(not recorded)" : have) + " ≠ " + want);
            }
        });
        if (!differences.isEmpty()) {
            throw dev.blockdraft.io.BadInputException.of(folder, "regenerated under another recipe (" + String.join(", ",
                    differences) + "); choose another data folder or remove this one");
        }
        return existing;
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
