package dev.blockdraft.draft;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.blockdraft.lm.KvCache;
import dev.blockdraft.lm.LlamaConfig;
import dev.blockdraft.lm.LlamaModel;
import dev.blockdraft.nn.Backend;
import dev.blockdraft.train.BlockSampler;
import dev.blockdraft.train.RegeneratedData;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The drafter's training forward ({@link Drafter#slotLogits}) computes, for every block, what its
 * decoding path ({@link Drafter#blockLogits} over a context cache) drafts at the same anchor — and
 * a block never depends on the tokens at or after its anchor's successors.
 */
class TrainDecodeParityTest {
    static final int VOCAB = 48, MASK = 47, PAD = 46;

    static LlamaConfig target() {
        return LlamaConfig.llama(VOCAB, 32, 64, 3, 4, 2, 128).withTiedEmbeddings(false);
    }

    static int[] randomIds(long seed, int length) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] ids = new int[length];
        for (int i = 0; i < length; i++) {
            ids[i] = r.nextInt(PAD);
        }
        return ids;
    }

    /** Logits (B−1, V) the decoder drafts after tokens[0..anchor), anchored on tokens[anchor]. */
    static float[] decodeLogits(Drafter d, int[] tokens, int anchor) {
        LlamaModel t = d.target();
        try (NDManager scope = t.manager().newSubManager();
                KvCache targetCache = KvCache.forModel(t, scope, 1, tokens.length + d.config().blockSize());
                KvCache context = d.newContextCache(scope, tokens.length + d.config().blockSize())) {
            long[] prefix = new long[anchor];
            for (int i = 0; i < anchor; i++) {
                prefix[i] = tokens[i];
            }
            LlamaModel.Output out = t.forward(scope.create(prefix).reshape(1, anchor), targetCache,
                    d.config().featureLayers(), LlamaModel.Logits.LAST);
            d.appendContext(context, Drafter.concatFeatures(out.hidden()));
            return d.blockLogits(context, tokens[anchor], scope).toFloatArray();
        }
    }

    @Test
    void trainingLogitsEqualDecodingDraftsAtTheSameAnchors() {
        try (LlamaModel t = LlamaModel.initialize(target(), Device.cpu(), 3);
                Drafter d = Drafter.initialize(DrafterConfig.forTarget(t.config(), "t", 5, MASK, ai.djl.Device.cpu()).withLayers(2), t, 4)) {
            List<RegeneratedData.Sequence> seqs = List.of(new RegeneratedData.Sequence(randomIds(1, 30), 6),
                    new RegeneratedData.Sequence(randomIds(2, 19), 4));
            List<int[]> anchors = List.of(new int[] {6, 7, 15, 27, 28}, new int[] {4, 11, 17});
            int k = d.config().slots();
            float[] dense, rows;
            try (NDManager scope = t.manager().newSubManager()) {
                BlockBatch one = new BlockSampler(5, BlockSampler.ALL, 64, MASK, PAD).at(seqs, anchors);
                dense = d.slotLogits(t, one.toDevice(scope)).toFloatArray();
                BlockBatch chunked = new BlockSampler(5, BlockSampler.ALL, 64, MASK, PAD, 10).at(seqs, anchors);
                assertEquals(2, chunked.rowBlocks());
                rows = d.slotLogits(t, chunked.toDevice(scope)).toFloatArray();
                // both layouts pad to whole rows; compare the real blocks in order
                for (int s = 0; s < seqs.size(); s++) {
                    for (int j = 0; j < anchors.get(s).length; j++) {
                        int a = anchors.get(s)[j];
                        float[] expected = decodeLogits(d, seqs.get(s).ids(), a);
                        float[] fromDense = slice(dense, s * one.blocks() + j, k);
                        float[] fromRows = slice(rows, s * chunked.blocks() + j, k);
                        assertArrayEquals(expected, fromDense, 2e-5f, "sequence " + s + " anchor " + a);
                        assertArrayEquals(fromDense, fromRows, 2e-5f, "row layout, sequence " + s + " anchor " + a);
                    }
                }
            }
        }
    }

    /**
     * With the fused backend, decoding runs the fused drafter layer training runs (over cached context
     * states): the same logits as training at the same anchors, and as the eager decoder.
     */
    @Test
    void theFusedBackendDecodesWhatItTrainsAndWhatEagerDecodes() {
        try (LlamaModel t = LlamaModel.initialize(target(), Backend.fused(Device.cpu()), 3);
                Drafter d = Drafter.initialize(DrafterConfig.forTarget(t.config(), "t", 5, MASK, ai.djl.Device.cpu()).withLayers(2), t, 4)) {
            assertTrue(d.backend().fuses(Backend.Op.DRAFTER_LAYER));
            Drafter eager = d.over(d.parameters(), t.withBackend(Backend.eager(Device.cpu())));
            int[] ids = randomIds(1, 30);
            int[] anchors = {6, 15, 27};
            int k = d.config().slots();
            try (NDManager scope = t.manager().newSubManager()) {
                BlockBatch batch = new BlockSampler(5, BlockSampler.ALL, 64, MASK, PAD)
                        .at(List.of(new RegeneratedData.Sequence(ids, 6)), List.of(anchors));
                float[] trained = d.slotLogits(t, batch.toDevice(scope)).toFloatArray();
                for (int j = 0; j < anchors.length; j++) {
                    float[] fused = decodeLogits(d, ids, anchors[j]);
                    assertArrayEquals(slice(trained, j, k), fused, 2e-5f, "fused decode vs training at " + anchors[j]);
                    assertArrayEquals(decodeLogits(eager, ids, anchors[j]), fused, 1e-4f, "fused vs eager decode at " + anchors[j]);
                }
            }
        }
    }

    @Test
    void tokensAfterAnAnchorNeverChangeItsBlock() {
        try (LlamaModel t = LlamaModel.initialize(target(), Device.cpu(), 5);
                Drafter d = Drafter.initialize(DrafterConfig.forTarget(t.config(), "t", 4, MASK, ai.djl.Device.cpu()), t, 6)) {
            int[] ids = randomIds(7, 26);
            int anchor = 12;
            int[] changed = ids.clone();
            for (int i = anchor + 1; i < changed.length; i++) {
                changed[i] = (changed[i] + 5) % PAD;
            }
            BlockSampler sampler = new BlockSampler(4, BlockSampler.ALL, 64, MASK, PAD);
            try (NDManager scope = t.manager().newSubManager()) {
                float[] before = d.slotLogits(t, sampler.at(List.of(new RegeneratedData.Sequence(ids, 3)),
                        List.of(new int[] {anchor})).toDevice(scope)).toFloatArray();
                float[] after = d.slotLogits(t, sampler.at(List.of(new RegeneratedData.Sequence(changed, 3)),
                        List.of(new int[] {anchor})).toDevice(scope)).toFloatArray();
                assertArrayEquals(before, after, 1e-6f);
                // and the anchor token itself does matter (the test can fail)
                int[] other = ids.clone();
                other[anchor] = (other[anchor] + 1) % PAD;
                float[] moved = d.slotLogits(t, sampler.at(List.of(new RegeneratedData.Sequence(other, 3)),
                        List.of(new int[] {anchor})).toDevice(scope)).toFloatArray();
                double diff = 0;
                for (int i = 0; i < moved.length; i++) {
                    diff = Math.max(diff, Math.abs(moved[i] - before[i]));
                }
                assertTrue(diff > 1e-4, "changing the anchor token moved the logits by " + diff);
            }
        }
    }

    private static float[] slice(float[] flat, int block, int k) {
        float[] out = new float[k * VOCAB];
        System.arraycopy(flat, block * k * VOCAB, out, 0, k * VOCAB);
        return out;
    }
}
