package dev.blockdraft.eval;

import dev.blockdraft.draft.Drafter;
import dev.blockdraft.lm.LlamaConfig;
import dev.blockdraft.lm.LlamaModel;
import dev.blockdraft.lm.Target;
import dev.blockdraft.tokenize.BpeModel;
import dev.blockdraft.tokenize.BpeTrainer;
import dev.blockdraft.tokenize.ChatTemplate;
import dev.blockdraft.tokenize.SpecialTokens;
import dev.blockdraft.tokenize.Tokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** A tiny byte-level tokenizer (a few dozen merges, trained in milliseconds) and tiny chat targets over it. */
final class TinyChat {
    static final Path DIR;

    static {
        List<String> texts = List.of("What is the answer to the question? The answer is two.",
                "Write a short poem about the sea and the answer.", "def add(a, b):\n    return a + b\n",
                "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May.");
        BpeModel model = new BpeTrainer(new BpeTrainer.Options(SpecialTokens.ALL.size() + 256 + 40, 100_000, 4096)).train(texts);
        try {
            DIR = Files.createTempDirectory("blockdraft-eval-tokenizer");
            model.save(DIR);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private TinyChat() {}

    static Tokenizer tokenizer() {
        return Tokenizer.load(DIR);
    }

    /** A random tiny target with this tokenizer's vocabulary and the given context. */
    static Target target(int context, long seed) {
        Tokenizer tokenizer = tokenizer();
        LlamaConfig config = TinyModels.config(tokenizer.vocabSize(), context)
                .withSpecialTokens(tokenizer.bosId(), tokenizer.eosId());
        LlamaModel model = TinyModels.target(config, seed);
        return new Target(DIR, model, tokenizer, new ChatTemplate(tokenizer));
    }

    /**
     * A target whose greedy output is always {@code token}, whatever the context, with
     * {@link #constantDrafter} drafting that token too: every draft is accepted.
     */
    static Target constantTarget(int context, int token) {
        Target target = target(context, 5);
        int mask = target.tokenizer().maskId();
        TinyModels.silenceLayers(target.model().parameters().asMap());
        TinyModels.sameEmbeddings(target.model(), mask);
        TinyModels.favour(target.model(), token, mask, 1.0);
        return target;
    }

    /** A drafter of {@link #constantTarget} that always drafts the target's constant token. */
    static Drafter constantDrafter(Target target, int blockSize) {
        Drafter d = TinyModels.drafter(target.model(), blockSize, 1, target.tokenizer().maskId(), 6);
        TinyModels.silenceLayers(d.parameters().asMap());
        return d;
    }

    static Drafter randomDrafter(Target target, int blockSize, long seed) {
        return TinyModels.drafter(target.model(), blockSize, 1, target.tokenizer().maskId(), seed);
    }
}
