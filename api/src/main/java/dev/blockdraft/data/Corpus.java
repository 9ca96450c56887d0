package dev.blockdraft.data;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Stream;

/** Reads corpus JSON Lines files: {@code {"id","prompt","response"}} or {@code {"id","text"}}. */
public final class Corpus {

    /** The three corpora shipped in the shared data folder: math, code and dialogue. */
    public static final List<String> STANDARD_FILES =
            List.of("gsm8k_train.jsonl", "python_algorithms.jsonl", "alpaca_eval_outputs.jsonl");

    private Corpus() {}

    /**
     * Streams the records of one file lazily; close the stream (try-with-resources) to release the
     * file. A bad line throws {@link DataException} when it is reached.
     */
    public static Stream<CorpusRecord> stream(Path file) {
        return JsonLines.stream(file, Corpus::parse);
    }

    /** The first {@code max} records of a file ({@code max < 0} for all). */
    public static List<CorpusRecord> read(Path file, int max) {
        try (Stream<CorpusRecord> records = stream(file)) {
            return (max < 0 ? records : records.limit(max)).toList();
        }
    }

    /**
     * Reads several corpus files, at most {@code capPerFile} records from each (their first
     * records, so the result does not depend on the seed), then shuffles the union with the seed.
     *
     * @param capsPerFile corpus file name to the most records to take from it; negative for all.
     *                    Files are read in name order, so the result does not depend on the map's iteration order.
     */
    public static List<CorpusRecord> readMixed(DataFolder folder, Map<String, Integer> capsPerFile, long seed) {
        if (capsPerFile.isEmpty()) {
            throw new IllegalArgumentException("capsPerFile is empty: name at least one corpus, e.g. " + STANDARD_FILES);
        }
        List<CorpusRecord> mixed = new ArrayList<>();
        for (Map.Entry<String, Integer> entry : new TreeMap<>(capsPerFile).entrySet()) {
            mixed.addAll(read(folder.corpus(entry.getKey()), entry.getValue()));
        }
        Collections.shuffle(mixed, new Random(seed));
        return mixed;
    }

    /** The standard three corpora, each capped at {@code capPerFile} records, shuffled with the seed. */
    public static List<CorpusRecord> readStandardMix(DataFolder folder, int capPerFile, long seed) {
        Map<String, Integer> caps = new LinkedHashMap<>();
        STANDARD_FILES.forEach(name -> caps.put(name, capPerFile));
        return readMixed(folder, caps, seed);
    }

    /** The text a tokenizer should learn from: prompt and response joined by a newline, or the document. */
    public static String trainingText(CorpusRecord record) {
        if (record instanceof CorpusRecord.Instruction i) {
            return i.prompt() + "\n" + i.response();
        }
        return ((CorpusRecord.Document) record).text();
    }

    private static CorpusRecord parse(JsonLines.Line line) {
        String id = line.requiredString("id");
        if (line.has("text")) {
            if (line.has("prompt") || line.has("response")) {
                throw line.error("has both \"text\" and \"prompt\"/\"response\"; a record is either a document or an instruction");
            }
            return new CorpusRecord.Document(id, line.requiredString("text"));
        }
        if (!line.has("prompt") && !line.has("response")) {
            throw line.error("missing field \"text\" or \"prompt\"+\"response\" (a corpus record needs one of them)");
        }
        return new CorpusRecord.Instruction(id, line.requiredString("prompt"), line.requiredString("response"));
    }
}
