package dev.blockdraft.lm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import dev.blockdraft.io.BadInputException;
import dev.blockdraft.tokenize.BpeModel;
import dev.blockdraft.tokenize.BpeTrainer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TargetTest {
    @TempDir
    Path dir;

    private Path tokenizer() throws IOException {
        BpeModel bpe = new BpeTrainer(BpeTrainer.Options.defaults().withVocabSize(300))
                .train(List.of("the cat sat on the mat while the dog sat on the log in the fog",
                        "def add(x, y):\n    return x + y\n\ndef sub(x, y):\n    return x - y\n",
                        "Natalia sold 48 clips in April and half as many in May: 48 + 24 = 72 clips."));
        Path tok = dir.resolve("tok");
        bpe.save(tok);
        return tok;
    }

    @Test
    void modelAndTokenizerLoadTogetherAndReply() throws IOException {
        Path tok = tokenizer();
        Path folder = dir.resolve("model");
        try (LlamaModel m = LlamaModel.initialize(LlamaConfig.llama(300, 32, 48, 2, 4, 2, 128), Device.cpu(), 1)) {
            HfCheckpoint.save(m, folder, tok, Map.of());
        }
        try (Target t = Target.load(folder, Device.cpu())) {
            assertEquals(300, t.tokenizer().vocabSize());
            assertTrue(t.toString().contains("vocab 300"), t.toString());
            t.reply("the cat", 5, Sampler.greedy()); // runs through template, generation and decoding
        }
    }

    @Test
    void aTokenizerLargerThanTheModelsVocabularyIsAClearError() throws IOException {
        Path tok = tokenizer();
        Path folder = dir.resolve("small-vocab");
        try (LlamaModel m = LlamaModel.initialize(LlamaConfig.llama(280, 32, 48, 2, 4, 2, 128), Device.cpu(), 1)) {
            HfCheckpoint.save(m, folder, tok, Map.of());
        }
        BadInputException e = assertThrows(BadInputException.class, () -> Target.load(folder, Device.cpu()).close());
        assertTrue(e.getMessage().contains("tokenizer.json") && e.getMessage().contains("300")
                && e.getMessage().contains("vocab_size=280"), e.getMessage());
    }

    @Test
    void aModelWithoutTokenizerIsAClearError() {
        Path folder = dir.resolve("no-tokenizer");
        try (LlamaModel m = LlamaModel.initialize(LlamaConfig.llama(300, 32, 48, 2, 4, 2, 128), Device.cpu(), 1)) {
            HfCheckpoint.save(m, folder, null, Map.of());
        }
        BadInputException e = assertThrows(BadInputException.class, () -> Target.load(folder, Device.cpu()).close());
        assertTrue(e.getMessage().contains("no tokenizer.json"), e.getMessage());
        assertTrue(Files.exists(folder.resolve("config.json")));
    }
}
