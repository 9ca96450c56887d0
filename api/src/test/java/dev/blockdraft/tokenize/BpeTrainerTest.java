package dev.blockdraft.tokenize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BpeTrainerTest {

    @TempDir
    Path temp;

    private static final List<String> TINY = List.of("low lower lowest", "low low newer newest", "wider wide");

    @Test
    void mergesTheMostFrequentPairFirst() {
        BpeModel model = new BpeTrainer(BpeTrainer.Options.defaults().withVocabSize(263 + 3)).train(TINY);
        // (l,o) and (o,w) both occur 5 times; (l,o) has the smaller ids. Then (Ġ,low) and (e,r) tie
        // at 3, and 'Ġ' (byte 32) has a smaller id than 'e' (byte 101).
        assertEquals(List.of(new BpeModel.Merge("l", "o"), new BpeModel.Merge("lo", "w"), new BpeModel.Merge("Ġ", "low")),
                model.merges());
        assertEquals("low", model.vocab().get(264));
        assertEquals(266, model.vocabSize());
    }

    @Test
    void vocabStartsWithSpecialsThenTheByteAlphabet() {
        BpeModel model = new BpeTrainer(BpeTrainer.Options.defaults().withVocabSize(300)).train(TrainedTokenizer.TRAINING_TEXTS.subList(0, 50));
        assertEquals(SpecialTokens.ALL, model.vocab().subList(0, 7));
        assertEquals("!", model.vocab().get(7 + '!'));
        assertEquals("Ġ", model.vocab().get(7 + ' ')); // GPT-2's stand-in for the space byte
        assertEquals("Ċ", model.vocab().get(7 + '\n'));
        assertEquals(300, model.vocabSize());
    }

    @Test
    void smallVocabLoadsAndHasExactSize() throws IOException {
        new BpeTrainer(BpeTrainer.Options.defaults().withVocabSize(512)).train(TrainedTokenizer.TRAINING_TEXTS.subList(0, 200)).save(temp);
        try (Tokenizer small = Tokenizer.load(temp)) {
            assertEquals(512, small.vocabSize());
            assertEquals("Numbers 12345 and words", small.decode(small.encode("Numbers 12345 and words")));
        }
    }

    @Test
    void trainingTwiceGivesIdenticalFiles() throws IOException {
        BpeTrainer.Options options = BpeTrainer.Options.defaults().withVocabSize(1500).withMaxTrainingChars(1_000_000);
        Path first = temp.resolve("first");
        Path second = temp.resolve("second");
        new BpeTrainer(options).train(TrainedTokenizer.TRAINING_TEXTS).save(first);
        new BpeTrainer(options).train(TrainedTokenizer.TRAINING_TEXTS).save(second);
        for (String name : List.of(BpeModel.TOKENIZER_FILE, BpeModel.CONFIG_FILE)) {
            assertArrayEquals(Files.readAllBytes(first.resolve(name)), Files.readAllBytes(second.resolve(name)), name);
        }
    }

    @Test
    void characterCapLimitsTheTrainingText() {
        // with only "low lo" read, the only pairs are (l,o) x2 and (o,w), (Ġ,l)
        BpeModel model = new BpeTrainer(BpeTrainer.Options.defaults().withVocabSize(264).withMaxTrainingChars(6)).train(TINY);
        assertEquals(List.of(new BpeModel.Merge("l", "o")), model.merges());
    }

    @Test
    void saveIsAtomicAndLeavesNoTemporaryFiles() throws IOException {
        BpeModel model = new BpeTrainer(BpeTrainer.Options.defaults().withVocabSize(266)).train(TINY);
        model.save(temp);
        model.save(temp); // overwriting an existing tokenizer must work too
        try (Stream<Path> files = Files.list(temp)) {
            assertEquals(List.of("tokenizer.json", "tokenizer_config.json"),
                    files.map(p -> p.getFileName().toString()).sorted().toList());
        }
    }

    @Test
    void savedFilesAreReadableByOthers() throws IOException {
        new BpeTrainer(BpeTrainer.Options.defaults().withVocabSize(266)).train(TINY).save(temp);
        assertEquals("rw-r--r--", java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(temp.resolve(BpeModel.TOKENIZER_FILE))));
    }

    @Test
    void rejectsVocabTooSmallForSpecialsAndBytes() {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class, () -> new BpeTrainer.Options(262, 1000, 512));
        assertEquals("vocabSize must be >= 263 (the special tokens and the 256 byte symbols), was 262", error.getMessage());
    }

    @Test
    void rejectsNonPositiveCharacterCap() {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class, () -> new BpeTrainer.Options(4096, 0, 512));
        assertEquals("maxTrainingChars must be > 0, was 0", error.getMessage());
    }

    @Test
    void rejectsTextTooSmallForTheVocab() {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                () -> new BpeTrainer(BpeTrainer.Options.defaults()).train(List.of("ab ab")));
        assertEquals("training text too small for vocabSize 4096: every pair was merged at 265 symbols;"
                + " give more text or a smaller vocabSize", error.getMessage());
    }
}
