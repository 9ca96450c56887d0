package dev.blockdraft.lm;

import ai.djl.Device;
import dev.blockdraft.io.BadInputException;
import dev.blockdraft.tokenize.ChatTemplate;
import dev.blockdraft.tokenize.Tokenizer;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A target language model with its tokenizer and chat template, loaded from one Hugging Face
 * model folder ({@code config.json}, {@code model.safetensors}, {@code tokenizer.json}).
 */
public record Target(Path folder, LlamaModel model, Tokenizer tokenizer, ChatTemplate template) implements AutoCloseable {

    public static Target load(Path folder, Device device) {
        if (!Files.isDirectory(folder)) {
            throw BadInputException.of(folder, "model folder not found");
        }
        Path tokenizerFile = folder.resolve("tokenizer.json");
        if (!Files.exists(tokenizerFile)) {
            throw BadInputException.of(folder, "no tokenizer.json beside the model");
        }
        LlamaModel model = HfCheckpoint.load(folder, device);
        Tokenizer tokenizer;
        try {
            tokenizer = Tokenizer.load(folder);
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
        if (tokenizer.vocabSize() > model.config().vocabSize()) {
            int tv = tokenizer.vocabSize();
            model.close();
            tokenizer.close();
            throw BadInputException.of(tokenizerFile, "vocabulary of " + tv + " tokens does not fit the model's vocab_size="
                    + model.config().vocabSize() + " in " + folder.resolve(HfCheckpoint.CONFIG));
        }
        ChatTemplate template;
        try {
            template = tokenizer.chatTemplate();
        } catch (RuntimeException e) {
            model.close();
            tokenizer.close();
            throw e;
        }
        return new Target(folder, model, tokenizer, template);
    }

    public LlamaConfig config() {
        return model.config();
    }

    /** Greedy or sampled reply to a single user turn, decoded to text. */
    public String reply(String user, int maxNewTokens, Sampler sampler) {
        int[] prompt = template.promptIds(java.util.List.of(), user);
        Generator.Generation g = Generator.generate(model, prompt, maxNewTokens, sampler, tokenizer.stopIds());
        return tokenizer.decode(g.tokens(), true);
    }

    @Override
    public void close() {
        model.close();
        tokenizer.close();
    }

    @Override
    public String toString() {
        LlamaConfig c = model.config();
        return String.format("Target(%s, %s, %d layers, hidden %d, %d/%d heads, vocab %d, %.2fM params)",
                folder.getFileName(), c.modelType(), c.numHiddenLayers(), c.hiddenSize(), c.numAttentionHeads(),
                c.numKeyValueHeads(), c.vocabSize(), model.parameters().parameterCount() / 1e6);
    }
}
