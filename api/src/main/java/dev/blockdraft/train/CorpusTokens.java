package dev.blockdraft.train;

import dev.blockdraft.data.Corpus;
import dev.blockdraft.data.CorpusRecord;
import dev.blockdraft.data.DataFolder;
import dev.blockdraft.data.Decontamination;
import dev.blockdraft.tokenize.ChatTemplate;
import dev.blockdraft.tokenize.Tokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The training corpora (math, Python code, dialogue) tokenised for target training: benchmark
 * prompts removed, instruction records through the chat template, documents framed by
 * begin/end of text, and a held-out validation split chosen by record id.
 */
public record CorpusTokens(TokenStream train, TokenStream validation, int trainRecords, int validationRecords,
        int droppedAsBenchmark, Map<String, Path> files) {

    public static CorpusTokens build(DataFolder data, Tokenizer tokenizer, int capPerFile, double validationFraction,
            long seed) {
        List<CorpusRecord> records = Corpus.readStandardMix(data, capPerFile, seed);
        Decontamination.Result clean = Decontamination.againstAllBenchmarks(data).filter(records);
        ChatTemplate template = tokenizer.chatTemplate();
        List<int[]> train = new ArrayList<>();
        List<int[]> val = new ArrayList<>();
        for (CorpusRecord r : clean.kept()) {
            int[] ids = encode(r, tokenizer, template);
            boolean held = Math.floorMod(r.id().hashCode() * 0x9E3779B1, 10_000) < validationFraction * 10_000;
            (held ? val : train).add(ids);
        }
        if (train.isEmpty() || val.isEmpty()) {
            throw new IllegalArgumentException("corpus split left " + train.size() + " training and " + val.size()
                    + " validation records; use a larger --corpus-cap");
        }
        Map<String, Path> files = new LinkedHashMap<>();
        for (String f : Corpus.STANDARD_FILES) {
            files.put(f, data.corpus(f));
        }
        return new CorpusTokens(TokenStream.concat(train), TokenStream.concat(val), train.size(), val.size(),
                clean.dropped(), files);
    }

    static int[] encode(CorpusRecord r, Tokenizer tokenizer, ChatTemplate template) {
        if (r instanceof CorpusRecord.Instruction i) {
            return template.encodeExample(i.prompt(), i.response()).ids();
        }
        CorpusRecord.Document d = (CorpusRecord.Document) r;
        int[] body = tokenizer.encode(d.text());
        // Framed by begin of text where the tokenizer has one (Qwen3's has none) and its end-of-text token.
        java.util.OptionalInt bos = tokenizer.bos();
        int start = bos.isPresent() ? 1 : 0;
        int[] ids = new int[body.length + start + 1];
        if (bos.isPresent()) {
            ids[0] = bos.getAsInt();
        }
        System.arraycopy(body, 0, ids, start, body.length);
        ids[ids.length - 1] = tokenizer.documentEndId();
        return ids;
    }
}
