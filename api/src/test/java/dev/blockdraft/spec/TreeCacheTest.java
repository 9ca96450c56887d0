package dev.blockdraft.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.blockdraft.draft.Drafter;
import dev.blockdraft.draft.DrafterConfig;
import dev.blockdraft.lm.KvCache;
import dev.blockdraft.lm.LlamaConfig;
import dev.blockdraft.lm.LlamaModel;
import dev.blockdraft.lm.Sampling;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * After every step of tree or multi-candidate verification, the target's KV cache and the drafter's
 * context cache hold exactly what a fresh prefill of the accepted text gives — also when the
 * accepted path was not the first candidate or the first branch (which the test requires to happen),
 * so the compaction moved entries.
 */
@org.junit.jupiter.api.extension.ExtendWith(dev.blockdraft.eval.OneTorchThread.class)
class TreeCacheTest {

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"tree", "candidates"})
    void cachesAfterPartialAcceptanceEqualAFreshPrefill(String mode) {
        LlamaConfig config = LlamaConfig.llama(12, 32, 64, 2, 4, 2, 128).withTiedEmbeddings(false);
        int[] prompt = {3, 9, 1, 4, 4, 7};
        Decoding decoding = mode.equals("tree") ? Decoding.of(Sampling.temperature(1.0)).withTreeNodes(8)
                : Decoding.of(Sampling.temperature(1.0)).withDrafts(4).withSampledDrafts(true);
        try (LlamaModel target = LlamaModel.initialize(config, Device.cpu(), 5);
                Drafter drafter = Drafter.initialize(DrafterConfig.forTarget(config, "t", 5, 0, ai.djl.Device.cpu()), target, 6)) {
            for (var e : target.parameters().asMap().entrySet()) {
                if (!e.getKey().endsWith("norm.weight")) {
                    e.getValue().muli(4);
                }
            }
            DrafterProposer proposer = new DrafterProposer(drafter);
            SpeculativeDecoder decoder = new SpeculativeDecoder(target, proposer).with(decoding);
            int[] moved = new int[1];
            int[] checked = new int[1];
            for (long seed = 0; seed < 4; seed++) {
                try (SpeculativeDecoder.Sequence seq = decoder.open(prompt, 40)) {
                    seq.decode(seed, new int[0], emitted -> {
                        int[] kept = seq.lastKept();
                        for (int i = 0; i < kept.length; i++) {
                            moved[0] += kept[i] != i ? 1 : 0;
                        }
                        int[] text = new int[prompt.length + emitted.length - 1]; // all but the bonus token
                        System.arraycopy(prompt, 0, text, 0, prompt.length);
                        System.arraycopy(emitted, 0, text, prompt.length, emitted.length - 1);
                        assertEquals(text.length, seq.targetCache().length(), "target cache length");
                        assertEquals(text.length, proposer.lastContextCache().length(), "drafter cache length");
                        compareWithFreshPrefill(target, drafter, text, seq.targetCache(), proposer.lastContextCache());
                        checked[0]++;
                    });
                }
            }
            assertTrue(moved[0] > 0, "some step must accept a path other than the first branch");
            assertTrue(checked[0] > 20, "steps checked: " + checked[0]);
        }
    }

    static void compareWithFreshPrefill(LlamaModel target, Drafter drafter, int[] text, KvCache targetCache, KvCache draftCache) {
        try (NDManager m = target.manager().newSubManager();
                KvCache fresh = KvCache.forModel(target, m, 1, text.length);
                KvCache freshDraft = drafter.newContextCache(m, text.length)) {
            long[] ids = java.util.Arrays.stream(text).asLongStream().toArray();
            LlamaModel.Output out = target.forward(m.create(ids).reshape(1, text.length), fresh,
                    drafter.config().featureLayers(), LlamaModel.Logits.NONE);
            drafter.appendContext(freshDraft, Drafter.concatFeatures(out.hidden()));
            for (int l = 0; l < target.config().numHiddenLayers(); l++) {
                NDArray[] want = fresh.view(l, m);
                NDArray[] got = targetCache.view(l, m);
                assertTrue(want[0].allClose(got[0], 1e-4, 1e-4, false), "target keys of layer " + l);
                assertTrue(want[1].allClose(got[1], 1e-4, 1e-4, false), "target values of layer " + l);
            }
            for (int l = 0; l < drafter.config().numLayers(); l++) {
                NDArray[] want = freshDraft.view(l, m);
                NDArray[] got = draftCache.view(l, m);
                assertTrue(want[0].allClose(got[0], 1e-4, 1e-4, false), "drafter context keys of layer " + l);
                assertTrue(want[1].allClose(got[1], 1e-4, 1e-4, false), "drafter context values of layer " + l);
            }
        }
    }
}
