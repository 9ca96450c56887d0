package dev.blockdraft.tokenize;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;

/**
 * Trains a GPT-2-style byte-level BPE vocabulary in Java (DJL's tokenizers binding cannot train).
 *
 * <p>Text is split with the GPT-2 regex, each piece's UTF-8 bytes are mapped to GPT-2's printable
 * byte alphabet, and distinct pieces are counted. Then the most frequent adjacent symbol pair is
 * merged repeatedly; only the words containing that pair are rewritten, and pair counts are
 * updated incrementally, so each merge costs time proportional to the words it touches. Ties
 * between equally frequent pairs go to the pair with the smaller (left id, right id), which makes
 * training deterministic.
 */
public final class BpeTrainer {

    public static final int DEFAULT_VOCAB_SIZE = 4096;
    /** Enough text for stable merges at 4096 symbols, small enough to train in seconds. */
    public static final long DEFAULT_MAX_TRAINING_CHARS = 8_000_000L;
    public static final int DEFAULT_MODEL_MAX_LENGTH = 4096;

    /**
     * @param vocabSize        total vocabulary: special tokens + 256 byte symbols + merged symbols
     * @param maxTrainingChars training stops reading text after this many characters
     * @param modelMaxLength   written to tokenizer_config.json for consumers that truncate
     */
    public record Options(int vocabSize, long maxTrainingChars, int modelMaxLength) {
        public Options {
            int minimum = SpecialTokens.ALL.size() + 256;
            if (vocabSize < minimum) {
                throw new IllegalArgumentException("vocabSize must be >= " + minimum
                        + " (the special tokens and the 256 byte symbols), was " + vocabSize);
            }
            if (maxTrainingChars <= 0) {
                throw new IllegalArgumentException("maxTrainingChars must be > 0, was " + maxTrainingChars);
            }
            if (modelMaxLength <= 0) {
                throw new IllegalArgumentException("modelMaxLength must be > 0, was " + modelMaxLength);
            }
        }

        public static Options defaults() {
            return new Options(DEFAULT_VOCAB_SIZE, DEFAULT_MAX_TRAINING_CHARS, DEFAULT_MODEL_MAX_LENGTH);
        }

        public Options withVocabSize(int size) {
            return new Options(size, maxTrainingChars, modelMaxLength);
        }

        public Options withMaxTrainingChars(long chars) {
            return new Options(vocabSize, chars, modelMaxLength);
        }
    }

    private final Options options;

    public BpeTrainer(Options options) {
        this.options = options;
    }

    public Options options() {
        return options;
    }

    /** Learns a vocabulary from the texts, reading at most {@code maxTrainingChars} characters. */
    public BpeModel train(Iterable<String> texts) {
        Map<String, long[]> wordCounts = countWords(texts);
        return merge(wordCounts);
    }

    private Map<String, long[]> countWords(Iterable<String> texts) {
        Map<String, long[]> counts = new HashMap<>();
        long budget = options.maxTrainingChars();
        for (String text : texts) {
            if (budget <= 0) {
                break;
            }
            if (text.length() > budget) {
                int cut = (int) budget;
                if (Character.isHighSurrogate(text.charAt(cut - 1))) {
                    cut--; // keep surrogate pairs whole
                }
                text = text.substring(0, cut);
            }
            budget -= text.length();
            Matcher matcher = ByteLevel.SPLIT.matcher(text);
            while (matcher.find()) {
                String word = ByteLevel.toByteChars(matcher.group());
                counts.computeIfAbsent(word, w -> new long[1])[0]++;
            }
        }
        return counts;
    }

    /** A candidate merge in the queue; stale when its count no longer matches the pair's count. */
    private record Candidate(long count, int left, int right) {}

    private static long pairKey(int left, int right) {
        return ((long) left << 32) | (right & 0xFFFFFFFFL);
    }

    private BpeModel merge(Map<String, long[]> wordCounts) {
        List<String> symbols = new ArrayList<>(SpecialTokens.ALL);
        Map<String, Integer> symbolIds = new HashMap<>();
        for (int b = 0; b < 256; b++) {
            symbols.add(String.valueOf(ByteLevel.BYTE_TO_CHAR[b]));
        }
        for (int id = 0; id < symbols.size(); id++) {
            symbolIds.put(symbols.get(id), id);
        }

        // Sorted so that word indices, and with them everything below, do not depend on hashing.
        TreeMap<String, long[]> sorted = new TreeMap<>(wordCounts);
        int wordCount = sorted.size();
        int[][] words = new int[wordCount][];
        long[] frequencies = new long[wordCount];
        int index = 0;
        for (Map.Entry<String, long[]> entry : sorted.entrySet()) {
            String word = entry.getKey();
            int[] ids = new int[word.length()];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = symbolIds.get(String.valueOf(word.charAt(i)));
            }
            words[index] = ids;
            frequencies[index] = entry.getValue()[0];
            index++;
        }

        Map<Long, long[]> pairCounts = new HashMap<>();
        Map<Long, IntList> pairWords = new HashMap<>();
        for (int w = 0; w < wordCount; w++) {
            int[] ids = words[w];
            for (int i = 0; i + 1 < ids.length; i++) {
                long key = pairKey(ids[i], ids[i + 1]);
                pairCounts.computeIfAbsent(key, k -> new long[1])[0] += frequencies[w];
                pairWords.computeIfAbsent(key, k -> new IntList()).add(w);
            }
        }
        PriorityQueue<Candidate> queue = new PriorityQueue<>(
                (x, y) -> x.count() != y.count() ? Long.compare(y.count(), x.count())
                        : x.left() != y.left() ? Integer.compare(x.left(), y.left())
                        : Integer.compare(x.right(), y.right()));
        pairCounts.forEach((key, count) -> queue.add(new Candidate(count[0], (int) (key >>> 32), (int) (long) key)));

        List<BpeModel.Merge> merges = new ArrayList<>();
        int[] visitedAtStep = new int[wordCount];
        int step = 0;
        while (symbols.size() < options.vocabSize()) {
            Candidate best = queue.poll();
            if (best == null) {
                throw new IllegalArgumentException("training text too small for vocabSize " + options.vocabSize()
                        + ": every pair was merged at " + symbols.size() + " symbols; give more text or a smaller vocabSize");
            }
            long key = pairKey(best.left(), best.right());
            long[] current = pairCounts.get(key);
            if (current == null || current[0] != best.count()) {
                continue;
            }
            String mergedText = symbols.get(best.left()) + symbols.get(best.right());
            Integer existing = symbolIds.get(mergedText);
            int merged;
            if (existing != null) {
                merged = existing; // two merge paths spelled the same string: HF shares the id
            } else {
                merged = symbols.size();
                symbols.add(mergedText);
                symbolIds.put(mergedText, merged);
            }
            merges.add(new BpeModel.Merge(symbols.get(best.left()), symbols.get(best.right())));
            step++;

            Set<Long> changed = new HashSet<>();
            IntList affected = pairWords.remove(key);
            for (int n = 0; n < affected.size(); n++) {
                int w = affected.get(n);
                if (visitedAtStep[w] == step) {
                    continue;
                }
                visitedAtStep[w] = step;
                int[] ids = words[w];
                int[] rewritten = applyMerge(ids, best.left(), best.right(), merged);
                if (rewritten == ids) {
                    continue; // stale entry: an earlier merge already consumed the pair here
                }
                long frequency = frequencies[w];
                for (int i = 0; i + 1 < ids.length; i++) {
                    long old = pairKey(ids[i], ids[i + 1]);
                    pairCounts.get(old)[0] -= frequency;
                    changed.add(old);
                }
                for (int i = 0; i + 1 < rewritten.length; i++) {
                    long fresh = pairKey(rewritten[i], rewritten[i + 1]);
                    pairCounts.computeIfAbsent(fresh, k -> new long[1])[0] += frequency;
                    changed.add(fresh);
                    // Pairs without the new symbol already list this word.
                    if (rewritten[i] == merged || rewritten[i + 1] == merged) {
                        pairWords.computeIfAbsent(fresh, k -> new IntList()).add(w);
                    }
                }
                words[w] = rewritten;
            }
            pairCounts.remove(key);
            for (long changedKey : changed) {
                long[] count = pairCounts.get(changedKey);
                if (count == null) {
                    continue;
                }
                if (count[0] <= 0) {
                    pairCounts.remove(changedKey);
                    pairWords.remove(changedKey);
                } else {
                    queue.add(new Candidate(count[0], (int) (changedKey >>> 32), (int) changedKey));
                }
            }
        }
        return new BpeModel(symbols, merges, options.modelMaxLength());
    }

    /** The word with every non-overlapping (left, right) replaced, scanning left to right; the same array if none. */
    private static int[] applyMerge(int[] ids, int left, int right, int merged) {
        int[] out = null;
        int length = 0;
        for (int i = 0; i < ids.length; i++) {
            if (i + 1 < ids.length && ids[i] == left && ids[i + 1] == right) {
                if (out == null) {
                    out = new int[ids.length - 1];
                    System.arraycopy(ids, 0, out, 0, i);
                    length = i;
                }
                out[length++] = merged;
                i++;
            } else if (out != null) {
                out[length++] = ids[i];
            }
        }
        return out == null ? ids : Arrays.copyOf(out, length);
    }

    /** A growable int array; boxing every word index would dominate training time. */
    private static final class IntList {
        private int[] values = new int[4];
        private int size;

        void add(int value) {
            if (size == values.length) {
                values = Arrays.copyOf(values, size * 2);
            }
            values[size++] = value;
        }

        int get(int i) {
            return values[i];
        }

        int size() {
            return size;
        }
    }
}
