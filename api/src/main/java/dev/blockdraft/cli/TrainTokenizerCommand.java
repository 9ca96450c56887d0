package dev.blockdraft.cli;

import dev.blockdraft.data.Corpus;
import dev.blockdraft.data.CorpusRecord;
import dev.blockdraft.data.DataFolder;
import dev.blockdraft.data.Decontamination;
import dev.blockdraft.tokenize.BpeModel;
import dev.blockdraft.tokenize.BpeTrainer;
import dev.blockdraft.io.OutputFolder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "train-tokenizer", mixinStandardHelpOptions = true,
        description = "Train a byte-level BPE tokenizer on the corpora and save tokenizer.json.")
final class TrainTokenizerCommand implements Callable<Integer> {
    @Option(names = "--out", required = true, paramLabel = "DIR", description = "output folder")
    Path out;

    @Option(names = "--vocab-size", defaultValue = "4096", description = "vocabulary size, specials included (default: ${DEFAULT-VALUE})")
    int vocabSize;

    @Option(names = "--max-chars", defaultValue = "8000000", description = "characters of corpus text to train on (default: ${DEFAULT-VALUE})")
    long maxChars;

    @Option(names = "--corpus-cap", defaultValue = "6000", description = "records per corpus file (default: ${DEFAULT-VALUE})")
    int corpusCap;

    @Option(names = "--seed", defaultValue = "1234")
    long seed;

    @Mixin
    Options.Output output;

    @Mixin
    Options.Data data;

    @Override
    public Integer call() throws Exception {
        int minimum = dev.blockdraft.tokenize.SpecialTokens.ALL.size() + 256;
        if (vocabSize < minimum) {
            throw new IllegalArgumentException("--vocab-size " + vocabSize + ": must be >= " + minimum
                    + " (the special tokens and the 256 byte symbols)");
        }
        if (maxChars <= 0) {
            throw new IllegalArgumentException("--max-chars " + maxChars + ": must be > 0");
        }
        Options.positive("--corpus-cap", corpusCap);
        DataFolder folder = data.resolve();
        // checked and locked before minutes of training: an existing file, someone's folder or a read-only one fail now
        try (OutputFolder claimed = output.claim(out, "tokenizer", "--out", List.of(folder.root()))) {
            return train(folder);
        }
    }

    private int train(DataFolder folder) throws java.io.IOException {
        long t0 = System.nanoTime();
        List<CorpusRecord> records = Corpus.readStandardMix(folder, corpusCap, seed);
        Decontamination.Result clean = Decontamination.againstAllBenchmarks(folder).filter(records);
        List<String> texts = new ArrayList<>();
        for (CorpusRecord r : clean.kept()) {
            texts.add(Corpus.trainingText(r));
        }
        BpeTrainer trainer = new BpeTrainer(BpeTrainer.Options.defaults().withVocabSize(vocabSize).withMaxTrainingChars(maxChars));
        BpeModel model = trainer.train(texts);
        model.save(out);
        System.out.printf("tokenizer: %d tokens (%d merges) from %d records of %s in %.1f s → %s%n",
                model.vocabSize(), model.merges().size(), clean.kept().size(), folder.root(),
                (System.nanoTime() - t0) / 1e9, out.resolve(BpeModel.TOKENIZER_FILE));
        return 0;
    }
}
