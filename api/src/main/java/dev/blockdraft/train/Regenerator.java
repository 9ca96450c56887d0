package dev.blockdraft.train;

import dev.blockdraft.data.CorpusRecord;
import dev.blockdraft.lm.Generator;
import dev.blockdraft.lm.Sampler;
import dev.blockdraft.lm.Target;
import dev.blockdraft.report.ProgressBar;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

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

    /** Distinct instruction prompts of the records (documents have no prompt), in order. */
    public static List<String> prompts(List<CorpusRecord> records) {
        Set<String> seen = new LinkedHashSet<>();
        for (CorpusRecord r : records) {
            if (r instanceof CorpusRecord.Instruction i) {
                seen.add(i.prompt());
            }
        }
        return new ArrayList<>(seen);
    }

    public static List<RegeneratedData.Sequence> regenerate(Target target, List<String> prompts, Settings s) {
        Sampler sampler = s.temperature() == 0 ? Sampler.greedy() : Sampler.temperature(s.temperature(), s.topP());
        List<int[]> encoded = new ArrayList<>();
        for (String p : prompts) {
            int[] ids = target.template().promptIds(List.of(), p);
            if (ids.length <= s.maxPromptTokens()) {
                encoded.add(ids);
            }
        }
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < encoded.size(); i++) {
            order.add(i);
        }
        order.sort(Comparator.comparingInt(i -> encoded.get(i).length));
        RegeneratedData.Sequence[] out = new RegeneratedData.Sequence[encoded.size()];
        try (ProgressBar bar = ProgressBar.start("regenerate", encoded.size())) {
            for (int start = 0; start < order.size(); start += s.batchSize()) {
                List<Integer> batch = order.subList(start, Math.min(order.size(), start + s.batchSize()));
                List<int[]> batchPrompts = new ArrayList<>();
                for (int i : batch) {
                    batchPrompts.add(encoded.get(i));
                }
                List<int[]> responses = Generator.generateBatch(target.model(), batchPrompts, s.maxNewTokens(), sampler,
                        target.tokenizer().eosId());
                for (int j = 0; j < batch.size(); j++) {
                    int[] prompt = batchPrompts.get(j);
                    int[] response = responses.get(j);
                    int[] ids = new int[prompt.length + response.length];
                    System.arraycopy(prompt, 0, ids, 0, prompt.length);
                    System.arraycopy(response, 0, ids, prompt.length, response.length);
                    out[batch.get(j)] = new RegeneratedData.Sequence(ids, prompt.length);
                }
                bar.step(batch.size(), "");
            }
        }
        List<RegeneratedData.Sequence> result = new ArrayList<>();
        for (RegeneratedData.Sequence seq : out) {
            if (seq.responseLength() > 1) {
                result.add(seq);
            }
        }
        return result;
    }
}
