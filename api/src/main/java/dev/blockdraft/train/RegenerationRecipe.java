package dev.blockdraft.train;

import ai.djl.Device;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How drafter training data is regenerated: which conversations ({@link PromptMix}), how many,
 * how long the target may answer, and how it decodes. One value, with one set of defaults
 * ({@link #defaultsFor}), for the CLI, the fluent API and the demo; a regenerated folder records
 * it and is reused only under the same recipe.
 *
 * @param conversations conversations to answer, at most ({@link #ALL} for every one the corpora give)
 * @param validation of which held out (whole conversations, so no turn leaks into training)
 * @param followUpShare fraction of conversations with a second user turn
 * @param maxNewTokens tokens per answer, at most (the target may stop earlier)
 * @param maxPromptTokens longest first prompt kept
 * @param batch prompts decoded together
 * @param temperature 0 = greedy
 * @param topP nucleus mass when sampling
 * @param seed shuffles the conversations and draws their follow-ups (and sampling)
 * @param answers answers drawn per conversation (more than one only when sampling): more training tokens from the
 *     same prompts once the corpora's prompts are all used; a held-out conversation keeps all of its answers
 */
public record RegenerationRecipe(int conversations, int validation, double followUpShare, int maxNewTokens,
        int maxPromptTokens, int batch, double temperature, double topP, long seed, int answers) {
    public static final int ALL = Integer.MAX_VALUE;

    public RegenerationRecipe {
        if (conversations < 2 || validation < 1 || validation >= conversations) {
            throw new IllegalArgumentException("validation=" + validation + " must be within 1.." + (conversations - 1)
                    + " (conversations=" + conversations + ")");
        }
        if (!(followUpShare >= 0 && followUpShare <= 1)) {
            throw new IllegalArgumentException("follow-up share " + followUpShare + " must be within [0, 1]");
        }
        if (maxNewTokens < 1 || maxPromptTokens < 1 || batch < 1) {
            throw new IllegalArgumentException("max-new-tokens, max-prompt-tokens and batch must be >= 1");
        }
        if (temperature < 0 || !(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("temperature=" + temperature + " must be >= 0 and top-p=" + topP
                    + " within (0, 1]");
        }
        if (answers < 1) {
            throw new IllegalArgumentException("answers=" + answers + " must be >= 1 (answers drawn per conversation)");
        }
        if (answers > 1 && temperature == 0) {
            throw new IllegalArgumentException("answers=" + answers + " with greedy decoding would repeat one answer "
                    + answers + " times; give a temperature > 0 (e.g. 0.7) to draw different ones");
        }
    }

    /**
     * The defaults for a device. On a GPU, DFlash's data scale: every conversation the corpora give
     * (about 9,000 first prompts, half with a follow-up), three answers sampled at temperature 0.7 per
     * conversation, up to 512 tokens, 256 prompts a batch — on llama-11m three sampled answers lifted
     * online τ by a fifth over one greedy answer (benchmarks/RESULTS.md, fifteenth session). On a CPU,
     * what a 2-core machine answers in a few minutes with the embedded 4M target: 640 conversations,
     * one greedy answer of up to 96 tokens.
     */
    public static RegenerationRecipe defaultsFor(Device device) {
        return device.isGpu() ? new RegenerationRecipe(ALL, 256, 0.5, 512, 256, 256, 0.7, 1, 1234, 3)
                : new RegenerationRecipe(640, 48, 0.5, 96, 160, 32, 0, 1, 1234, 1);
    }

    public Regenerator.Settings settings() {
        return new Regenerator.Settings(maxNewTokens, batch, temperature, topP, maxPromptTokens);
    }

    /**
     * {@code n} conversations, with the default held-out count: this recipe's, at most a quarter of
     * {@code n} (at least one).
     */
    public RegenerationRecipe withConversations(int n) {
        return withConversations(n, Math.min(validation, Math.max(1, n / 4)));
    }

    public RegenerationRecipe withConversations(int n, int heldOut) {
        return new RegenerationRecipe(n, heldOut, followUpShare, maxNewTokens, maxPromptTokens, batch, temperature, topP, seed,
                answers);
    }

    public RegenerationRecipe withMaxNewTokens(int n) {
        return new RegenerationRecipe(conversations, validation, followUpShare, n, maxPromptTokens, batch, temperature, topP,
                seed, answers);
    }

    public RegenerationRecipe withMaxPromptTokens(int n) {
        return new RegenerationRecipe(conversations, validation, followUpShare, maxNewTokens, n, batch, temperature, topP,
                seed, answers);
    }

    public RegenerationRecipe withFollowUpShare(double share) {
        return new RegenerationRecipe(conversations, validation, share, maxNewTokens, maxPromptTokens, batch, temperature,
                topP, seed, answers);
    }

    public RegenerationRecipe withBatch(int n) {
        return new RegenerationRecipe(conversations, validation, followUpShare, maxNewTokens, maxPromptTokens, n, temperature,
                topP, seed, answers);
    }

    /** Sampling at temperature {@code t} (0 = greedy, which draws one answer per conversation) and top-p {@code p}. */
    public RegenerationRecipe withSampling(double t, double p) {
        return new RegenerationRecipe(conversations, validation, followUpShare, maxNewTokens, maxPromptTokens, batch, t, p,
                seed, t == 0 ? 1 : answers);
    }

    /** {@code k} sampled answers per conversation (needs a temperature > 0 when k > 1). */
    public RegenerationRecipe withAnswers(int k) {
        return new RegenerationRecipe(conversations, validation, followUpShare, maxNewTokens, maxPromptTokens, batch,
                temperature, topP, seed, k);
    }

    public RegenerationRecipe withSeed(long s) {
        return new RegenerationRecipe(conversations, validation, followUpShare, maxNewTokens, maxPromptTokens, batch,
                temperature, topP, s, answers);
    }

    /**
     * The settings that decide the data, as recorded in its provenance (the batch size changes
     * only the speed of greedy decoding, so it is left out: a folder made with another batch is the
     * same data).
     */
    public Map<String, String> asSettings() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("conversations", conversations == ALL ? "all" : Integer.toString(conversations));
        m.put("validation", Integer.toString(validation));
        m.put("follow_up_share", Double.toString(followUpShare));
        m.put("max_new_tokens", Integer.toString(maxNewTokens));
        m.put("max_prompt_tokens", Integer.toString(maxPromptTokens));
        m.put("sampling", temperature == 0 ? "greedy" : String.format("temperature %s, top-p %s", temperature, topP));
        m.put("seed", Long.toString(seed));
        if (answers > 1) { // absent for one answer, so folders made before the setting existed still match
            m.put("answers", Integer.toString(answers));
        }
        return m;
    }
}
