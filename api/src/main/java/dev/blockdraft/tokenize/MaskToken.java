package dev.blockdraft.tokenize;

import java.util.Optional;
import java.util.OptionalInt;

/**
 * The id a block-diffusion drafter puts in the slots it fills. Model tokenizers rarely have a mask
 * token, so, as DFlash's drafters do, an id the tokenizer never produces is used: inside the
 * model's {@code vocab_size} (its embedding has a row for it) but at or past the tokenizer's size
 * (Qwen3: 151669 of 151936).
 *
 * @param id     the mask token id
 * @param origin how it was chosen, for logs: "tokenizer", "--mask-token-id" or "first unused id"
 */
public record MaskToken(int id, String origin) {

    /**
     * Chooses the mask id, in this order: {@code explicitId} when given; the tokenizer's own mask
     * token; the first id at or past the tokenizer's size. Fails naming both sides when the id is
     * outside {@code [0, vocabSize)} or is a real token of the tokenizer (other than its mask token).
     *
     * @param vocabSize  the target model's {@code vocab_size} (embedding rows)
     * @param explicitId {@code --mask-token-id}, or null
     */
    public static MaskToken choose(Tokenizer tokenizer, int vocabSize, Integer explicitId) {
        OptionalInt own = tokenizer.mask();
        if (explicitId != null) {
            check(tokenizer, vocabSize, explicitId, "--mask-token-id " + explicitId);
            return new MaskToken(explicitId, "--mask-token-id");
        }
        if (own.isPresent()) {
            return new MaskToken(own.getAsInt(), "tokenizer");
        }
        int first = tokenizer.vocabSize();
        if (first >= vocabSize) {
            throw new TokenizerException("no unused id for the mask token: the tokenizer " + tokenizer.source()
                    + " has " + first + " tokens, filling the model's vocab_size " + vocabSize
                    + "; train the target with a larger --vocab-size or give --mask-token-id");
        }
        return new MaskToken(first, "first unused id");
    }

    /**
     * Fails when {@code id} cannot be a mask for this tokenizer and model: outside
     * {@code [0, vocabSize)}, or a real token other than the tokenizer's own mask token.
     *
     * @param what how the id was given, opening the message ("--mask-token-id 5", "D/config.json: mask_token_id 5")
     */
    public static void check(Tokenizer tokenizer, int vocabSize, int id, String what) {
        OptionalInt own = tokenizer.mask();
        if (id < 0 || id >= vocabSize) {
            throw new TokenizerException(what + " is outside the model's vocab_size " + vocabSize
                    + "; valid: an unused id in [" + tokenizer.vocabSize() + ", " + vocabSize + ")");
        }
        Optional<String> token = tokenizer.tokenAt(id);
        if (token.isPresent() && !(own.isPresent() && own.getAsInt() == id)) {
            throw new TokenizerException(what + " collides with the real token \"" + token.get()
                    + "\" (id " + id + ") of " + tokenizer.source() + "; choose an unused id in ["
                    + tokenizer.vocabSize() + ", " + vocabSize + ")"
                    + (own.isPresent() ? " or the tokenizer's mask token " + own.getAsInt() : ""));
        }
    }

    @Override
    public String toString() {
        return "mask token id " + id + " (" + origin + ")";
    }
}
