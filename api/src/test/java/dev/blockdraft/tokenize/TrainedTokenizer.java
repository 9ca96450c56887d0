package dev.blockdraft.tokenize;

import dev.blockdraft.data.Corpus;
import dev.blockdraft.data.CorpusRecord;
import dev.blockdraft.data.DataFolder;
import dev.blockdraft.data.TestDataFolder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * One vocab-4096 tokenizer trained on the real corpora, shared by the tests of a JVM because
 * training takes seconds. Held-out records (never in the training mix) are kept for measuring.
 */
final class TrainedTokenizer {

    /** First records of each corpus go to training; records from these indices on are held out. */
    static final int GSM8K_TRAIN = 6000;
    static final int PYTHON_TRAIN = 1000;
    static final int ALPACA_TRAIN = 4000;

    static final Path DIR;
    static final long TRAINING_MILLIS;
    static final long TRAINING_CHARS;
    static final List<String> TRAINING_TEXTS;

    static {
        DataFolder folder = TestDataFolder.find();
        Map<String, Integer> caps = new LinkedHashMap<>();
        caps.put("gsm8k_train", GSM8K_TRAIN);
        caps.put("python_algorithms", PYTHON_TRAIN);
        caps.put("alpaca_eval_outputs", ALPACA_TRAIN);
        TRAINING_TEXTS = Corpus.readMixed(folder, caps, 20240601L).stream().map(Corpus::trainingText).toList();
        BpeTrainer.Options options = BpeTrainer.Options.defaults();
        long start = System.nanoTime();
        BpeModel model = new BpeTrainer(options).train(TRAINING_TEXTS);
        TRAINING_MILLIS = (System.nanoTime() - start) / 1_000_000;
        TRAINING_CHARS = Math.min(options.maxTrainingChars(), TRAINING_TEXTS.stream().mapToLong(String::length).sum());
        try {
            DIR = Files.createTempDirectory("blockdraft-tokenizer");
            model.save(DIR);
            Runtime.getRuntime().addShutdownHook(new Thread(TrainedTokenizer::deleteDir));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        System.out.printf("BPE training: vocab %d from %,d chars in %d ms%n", model.vocabSize(), TRAINING_CHARS, TRAINING_MILLIS);
    }

    private TrainedTokenizer() {}

    private static void deleteDir() {
        try (Stream<Path> files = Files.list(DIR)) {
            for (Path file : files.toList()) {
                Files.deleteIfExists(file);
            }
            Files.deleteIfExists(DIR);
        } catch (IOException e) {
            // a leftover temp folder is harmless; the JVM is exiting
        }
    }

    /** Records of one corpus from index {@code from} on, {@code count} of them, none used in training. */
    static List<CorpusRecord> heldOut(String corpus, int from, int count) {
        return Corpus.read(TestDataFolder.find().corpus(corpus), from + count).subList(from, from + count);
    }
}
