package dev.blockdraft.train;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonParseException;
import dev.blockdraft.io.AtomicFiles;
import dev.blockdraft.io.BadInputException;
import dev.blockdraft.io.Provenance;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The target's own responses to corpus prompts, stored once as token files with a manifest: the
 * drafter learns to predict what the target will actually say.
 *
 * <p>Folder layout: {@code manifest.json} (target, sampling, counts, per-sequence offsets) and
 * {@code train.i32} / {@code validation.i32} (little-endian int32 token ids, sequences
 * back to back; each is prompt + response, the response starting at {@code responseStart}).
 */
public record RegeneratedData(List<Sequence> train, List<Sequence> validation, Manifest manifest) {

    /**
     * One regenerated example: prompt followed by the target's response, and optionally
     * {@code greedyNext}: at each position p the token greedy decoding gives there after ids[0..p−1] (−1 where
     * unknown), the labels of {@link dev.blockdraft.train.DraftTrainConfig.Labels#GREEDY} training. Not stored in
     * the folder: {@link GreedyLabels} computes it when a run asks for it.
     */
    public record Sequence(int[] ids, int responseStart, int[] greedyNext) {
        public Sequence {
            if (greedyNext != null && greedyNext.length != ids.length) {
                throw new IllegalArgumentException(greedyNext.length + " greedy tokens for " + ids.length + " positions");
            }
        }

        public Sequence(int[] ids, int responseStart) {
            this(ids, responseStart, null);
        }

        public int responseLength() {
            return ids.length - responseStart;
        }

        public Sequence withGreedyNext(int[] greedy) {
            return new Sequence(ids, responseStart, greedy);
        }
    }

    /** What the folder holds and how it was made. */
    public record Manifest(String target, String sampling, int maxNewTokens, int trainCount, int validationCount,
            long trainTokens, long validationTokens, int[][] trainIndex, int[][] validationIndex, Provenance provenance) {}

    public static final String MANIFEST = "manifest.json";
    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().create();

    public static void write(Path folder, List<Sequence> train, List<Sequence> validation, String target, String sampling,
            int maxNewTokens, Provenance provenance) {
        AtomicFiles.writeFolder(folder, dir -> {
            int[][] trainIndex = writeTokens(dir.resolve("train.i32"), train);
            int[][] valIndex = writeTokens(dir.resolve("validation.i32"), validation);
            Manifest m = new Manifest(target, sampling, maxNewTokens, train.size(), validation.size(), count(train),
                    count(validation), trainIndex, valIndex, provenance);
            Files.writeString(dir.resolve(MANIFEST), GSON.toJson(m));
        });
    }

    private static long count(List<Sequence> seqs) {
        long n = 0;
        for (Sequence s : seqs) {
            n += s.ids().length;
        }
        return n;
    }

    /** Writes sequences back to back; returns per sequence {offset, length, responseStart}. */
    private static int[][] writeTokens(Path file, List<Sequence> seqs) throws IOException {
        int[][] index = new int[seqs.size()][];
        int offset = 0;
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 16)) {
            for (int i = 0; i < seqs.size(); i++) {
                Sequence s = seqs.get(i);
                ByteBuffer buf = ByteBuffer.allocate(4 * s.ids().length).order(ByteOrder.LITTLE_ENDIAN);
                for (int id : s.ids()) {
                    buf.putInt(id);
                }
                out.write(buf.array());
                index[i] = new int[] {offset, s.ids().length, s.responseStart()};
                offset += s.ids().length;
            }
        }
        return index;
    }

    public static RegeneratedData load(Path folder) {
        Path manifestFile = folder.resolve(MANIFEST);
        if (!Files.exists(manifestFile)) {
            throw BadInputException.of(folder, "no " + MANIFEST + ": not a regenerated-data folder (run bin/blockdraft regenerate)");
        }
        Manifest m;
        try {
            m = GSON.fromJson(Files.readString(manifestFile), Manifest.class);
        } catch (IOException e) {
            throw BadInputException.of(manifestFile, "cannot read: " + e.getMessage(), e);
        } catch (JsonParseException e) {
            throw BadInputException.of(manifestFile, "malformed JSON: " + e.getMessage(), e);
        }
        if (m == null || m.trainIndex() == null || m.validationIndex() == null) {
            throw BadInputException.of(manifestFile, "incomplete manifest: missing sequence index");
        }
        return new RegeneratedData(readTokens(folder.resolve("train.i32"), m.trainIndex()),
                readTokens(folder.resolve("validation.i32"), m.validationIndex()), m);
    }

    private static List<Sequence> readTokens(Path file, int[][] index) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw BadInputException.of(file, "cannot read: " + e.getMessage(), e);
        }
        ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        List<Sequence> out = new ArrayList<>();
        for (int[] entry : index) {
            int offset = entry[0], length = entry[1], responseStart = entry[2];
            if ((long) (offset + length) * 4 > bytes.length) {
                throw BadInputException.of(file, "truncated: sequence at token " + offset + " of length " + length
                        + " runs past the end (" + bytes.length / 4 + " tokens)");
            }
            int[] ids = new int[length];
            for (int i = 0; i < length; i++) {
                ids[i] = buf.getInt(4 * (offset + i));
            }
            out.add(new Sequence(ids, responseStart));
        }
        return out;
    }

}
