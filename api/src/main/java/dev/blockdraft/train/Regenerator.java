package dev.blockdraft.train;

import dev.blockdraft.lm.Generator;
import dev.blockdraft.lm.Sampler;
import dev.blockdraft.lm.Target;
import dev.blockdraft.report.ProgressBar;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Makes target-regenerated training data: the target answers corpus prompts (greedy, or sampled
 * at a temperature), in length-sorted batches so little padding is computed.
 */
public final class Regenerator {
    private Regenerator() {}

    /** Settings for one regeneration. */
    public record Settings(int maxNewTokens, int batchSize, double temperature, double topP, int maxPromptTokens) {
        public Settings {
            if (maxNewTokens <= 0 || batchSize <= 0 || maxPromptTokens <= 0) {
                throw new IllegalArgumentException("maxNewTokens, batchSize and maxPromptTokens must be > 0");
            }
        }

        public String describe() {
            return temperature == 0 ? "greedy" : String.format("temperature %.2f, top-p %.2f", temperature, topP);
        }
    }

    /**
     * The target's answers to whole conversations: first every first turn (batched), then every
     * follow-up asked after the target's own first answer (its decoded text as the history, as an
     * evaluation's later turns are asked). Returns per conversation its sequences, in order: the
     * first turn's, and the follow-up's (whose response is the second answer; the first answer is
     * context) — an empty list when the first prompt did not fit.
     */
    public static List<List<RegeneratedData.Sequence>> regenerateConversations(Target target,
            List<PromptMix.Conversation> conversations, Settings s) {
        List<String> firsts = new ArrayList<>();
        for (PromptMix.Conversation c : conversations) {
            firsts.add(c.prompt());
        }
        List<RegeneratedData.Sequence> first = answer(target, encode(target, firsts, List.of(), s.maxPromptTokens()), s,
                "regenerate: turn 1");
        List<List<RegeneratedData.Sequence>> out = new ArrayList<>();
        List<int[]> followIds = new ArrayList<>();
        List<Integer> followOwner = new ArrayList<>();
        int context = target.config().maxPositionEmbeddings();
        int vocab = target.tokenizer().vocabSize();
        for (int i = 0; i < conversations.size(); i++) {
            List<RegeneratedData.Sequence> mine = new ArrayList<>();
            RegeneratedData.Sequence one = first.get(i);
            if (one != null) {
                mine.add(one);
                PromptMix.Conversation c = conversations.get(i);
                if (c.followUp() != null) {
                    int[] response = java.util.Arrays.copyOfRange(one.ids(), one.responseStart(), one.ids().length);
                    int[] known = java.util.Arrays.stream(response).filter(id -> id >= 0 && id < vocab).toArray();
                    String answer = target.tokenizer().decode(known, true);
                    int[] ids = target.template().promptIds(List.of(new dev.blockdraft.tokenize.ChatTemplate.Turn(c.prompt(),
                            answer)), c.followUp());
                    if (ids.length + MIN_ROOM <= context) { // room for an answer worth training on
                        followIds.add(ids);
                        followOwner.add(i);
                    }
                }
            }
            out.add(mine);
        }
        if (!followIds.isEmpty()) {
            List<RegeneratedData.Sequence> second = answer(target, followIds, s, "regenerate: turn 2");
            for (int j = 0; j < second.size(); j++) {
                if (second.get(j) != null) {
                    out.get(followOwner.get(j)).add(second.get(j));
                }
            }
        }
        for (List<RegeneratedData.Sequence> mine : out) {
            mine.removeIf(seq -> seq.responseLength() <= 1);
        }
        return out;
    }

    /** Fewest new tokens a follow-up turn must have room for to be asked at all. */
    static final int MIN_ROOM = 32;

    private static List<int[]> encode(Target target, List<String> prompts, List<dev.blockdraft.tokenize.ChatTemplate.Turn> history,
            int maxPromptTokens) {
        List<int[]> out = new ArrayList<>();
        for (String p : prompts) {
            int[] ids = target.template().promptIds(history, p);
            out.add(ids.length <= maxPromptTokens ? ids : null);
        }
        return out;
    }

    /** Greedy (or sampled) answers to prompt ids in length-sorted batches; null in, null out. */
    private static List<RegeneratedData.Sequence> answer(Target target, List<int[]> encoded, Settings s, String label) {
        Sampler sampler = s.temperature() == 0 ? Sampler.greedy() : Sampler.temperature(s.temperature(), s.topP());
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < encoded.size(); i++) {
            if (encoded.get(i) != null) {
                order.add(i);
            }
        }
        order.sort(Comparator.comparingInt(i -> encoded.get(i).length));
        List<RegeneratedData.Sequence> out = new ArrayList<>(java.util.Collections.nCopies(encoded.size(), null));
        try (ProgressBar bar = ProgressBar.start(label, order.size())) {
            for (int start = 0; start < order.size(); start += s.batchSize()) {
                List<Integer> batch = order.subList(start, Math.min(order.size(), start + s.batchSize()));
                List<int[]> batchPrompts = new ArrayList<>();
                for (int i : batch) {
                    batchPrompts.add(encoded.get(i));
                }
                List<int[]> responses = Generator.generateBatch(target.model(), batchPrompts, s.maxNewTokens(), sampler,
                        target.tokenizer().stopIds());
                for (int j = 0; j < batch.size(); j++) {
                    int[] prompt = batchPrompts.get(j);
                    int[] response = responses.get(j);
                    int[] ids = new int[prompt.length + response.length];
                    System.arraycopy(prompt, 0, ids, 0, prompt.length);
                    System.arraycopy(response, 0, ids, prompt.length, response.length);
                    out.set(batch.get(j), new RegeneratedData.Sequence(ids, prompt.length));
                }
                bar.step(batch.size(), "");
            }
        }
        return out;
    }

    /** Single-turn answers to {@code prompts} (those over {@code maxPromptTokens} are skipped). */
    public static List<RegeneratedData.Sequence> regenerate(Target target, List<String> prompts, Settings s) {
        List<RegeneratedData.Sequence> result = new ArrayList<>();
        for (RegeneratedData.Sequence seq : answer(target, encode(target, prompts, List.of(), s.maxPromptTokens()), s,
                "regenerate")) {
            if (seq != null && seq.responseLength() > 1) {
                result.add(seq);
            }
        }
        return result;
    }
}
