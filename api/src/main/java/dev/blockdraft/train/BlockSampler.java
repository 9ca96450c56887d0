package dev.blockdraft.train;

import dev.blockdraft.draft.BlockBatch;
import dev.blockdraft.draft.DrafterConfig;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Cuts training blocks out of regenerated sequences: per sequence, up to {@code blocksPerSequence}
 * distinct anchors in the response (every valid position when there are fewer, as DFlash's recipe
 * does with its 512 anchors per sequence); each block's labels are the next B−1 target tokens.
 * The target's features are computed once per sequence, whatever the number of blocks, and
 * {@link BlockBatch} lays the blocks out in rows so that memory stays bounded.
 */
public final class BlockSampler {
    /** {@code blocksPerSequence} meaning "every response position". */
    public static final int ALL = Integer.MAX_VALUE;
    /** Queries per attention row by default: rows of 512 keep the mask and scores small next to the context. */
    public static final int DEFAULT_ROW_QUERIES = 512;

    private final int blockSize;
    private final int blocksPerSequence;
    private final int maxLength;
    private final int maskId;
    private final int padId;
    private final int rowQueries;

    public BlockSampler(int blockSize, int blocksPerSequence, int maxLength, int maskId, int padId) {
        this(blockSize, blocksPerSequence, maxLength, maskId, padId, DEFAULT_ROW_QUERIES);
    }

    /** @param rowQueries target queries per attention row (rows hold ⌊rowQueries/B⌋ blocks, at least one) */
    public BlockSampler(int blockSize, int blocksPerSequence, int maxLength, int maskId, int padId, int rowQueries) {
        if (blockSize < 2) {
            throw new IllegalArgumentException("block size " + blockSize + " must be >= 2");
        }
        if (blocksPerSequence < 1) {
            throw new IllegalArgumentException("blocks per sequence " + blocksPerSequence + " must be >= 1 (or all)");
        }
        if (rowQueries < 1) {
            throw new IllegalArgumentException("row queries " + rowQueries + " must be >= 1");
        }
        this.blockSize = blockSize;
        this.blocksPerSequence = blocksPerSequence;
        this.maxLength = maxLength;
        this.maskId = maskId;
        this.padId = padId;
        this.rowQueries = rowQueries;
    }

    /**
     * The sampler a drafter trains and validates with: its block size and mask id, and sequences cut
     * where a block would leave the target's context ({@link DrafterConfig#trainableLength}).
     */
    public static BlockSampler forDrafter(DrafterConfig drafter, int blocksPerSequence, int seqLen, int padId) {
        return new BlockSampler(drafter.blockSize(), blocksPerSequence, drafter.trainableLength(seqLen),
                drafter.maskTokenId(), padId);
    }

    /** Sequences that can hold at least one anchor with a label inside {@code maxLength}. */
    public List<RegeneratedData.Sequence> usable(List<RegeneratedData.Sequence> seqs) {
        List<RegeneratedData.Sequence> out = new ArrayList<>();
        for (RegeneratedData.Sequence s : seqs) {
            if (s.responseStart() + 1 < Math.min(s.ids().length, maxLength)) {
                out.add(s);
            }
        }
        return out;
    }

    /** A batch of randomly chosen sequences with random distinct anchors (reproducible from the rng). */
    public BlockBatch sample(List<RegeneratedData.Sequence> seqs, int batch, SplittableRandom rng) {
        List<RegeneratedData.Sequence> chosen = new ArrayList<>();
        List<int[]> anchors = new ArrayList<>();
        for (int i = 0; i < batch; i++) {
            RegeneratedData.Sequence s = seqs.get(rng.nextInt(seqs.size()));
            chosen.add(s);
            anchors.add(randomAnchors(s, rng));
        }
        return build(chosen, anchors);
    }

    /** Anchors spread evenly over each response (every position with {@link #ALL}), for deterministic evaluation. */
    public BlockBatch evenly(List<RegeneratedData.Sequence> seqs) {
        List<int[]> anchors = new ArrayList<>();
        for (RegeneratedData.Sequence s : seqs) {
            int first = s.responseStart();
            int last = lastAnchor(s);
            int count = Math.min(blocksPerSequence, last - first + 1);
            int[] a = new int[count];
            for (int j = 0; j < count; j++) {
                a[j] = count == 1 ? first : first + (int) Math.round((double) j * (last - first) / (count - 1));
            }
            anchors.add(a);
        }
        return build(seqs, anchors);
    }

    /** Blocks at the given anchors of each sequence (e.g. the anchors online decoding visited). */
    public BlockBatch at(List<RegeneratedData.Sequence> seqs, List<int[]> anchors) {
        if (seqs.size() != anchors.size()) {
            throw new IllegalArgumentException(seqs.size() + " sequences but " + anchors.size() + " anchor lists");
        }
        for (int i = 0; i < seqs.size(); i++) {
            for (int a : anchors.get(i)) {
                if (a < 0 || a > lastAnchor(seqs.get(i))) {
                    throw new IllegalArgumentException("anchor " + a + " of sequence " + i + " is outside 0.."
                            + lastAnchor(seqs.get(i)));
                }
            }
        }
        return build(seqs, anchors);
    }

    /** The last position that can anchor a block with at least one label inside {@code maxLength}. */
    private int lastAnchor(RegeneratedData.Sequence s) {
        return Math.min(s.ids().length, maxLength) - 2;
    }

    private int[] randomAnchors(RegeneratedData.Sequence s, SplittableRandom rng) {
        int first = s.responseStart(); // the first anchor at inference is the first response token
        int last = lastAnchor(s); // needs a label at anchor + 1
        int span = last - first + 1;
        int count = Math.min(blocksPerSequence, span);
        int[] pool = new int[span];
        for (int i = 0; i < span; i++) {
            pool[i] = first + i;
        }
        if (count < span) { // partial Fisher-Yates over the span: distinct anchors
            for (int i = 0; i < count; i++) {
                int j = i + rng.nextInt(span - i);
                int t = pool[i];
                pool[i] = pool[j];
                pool[j] = t;
            }
        }
        int[] a = Arrays.copyOf(pool, count);
        Arrays.sort(a);
        return a;
    }

    private BlockBatch build(List<RegeneratedData.Sequence> seqs, List<int[]> anchors) {
        List<int[]> ids = new ArrayList<>();
        List<int[]> greedy = new ArrayList<>();
        boolean greedyLabels = false;
        for (RegeneratedData.Sequence seq : seqs) {
            ids.add(seq.ids());
            greedy.add(seq.greedyNext());
            greedyLabels |= seq.greedyNext() != null;
        }
        return BlockBatch.of(ids, anchors, greedyLabels ? greedy : null, blockSize, maxLength, maskId, padId, rowQueries);
    }
}
