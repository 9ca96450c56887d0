package dev.blockdraft.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.blockdraft.lm.Generator;
import dev.blockdraft.lm.KvCache;
import dev.blockdraft.lm.LlamaConfig;
import dev.blockdraft.lm.LlamaModel;
import dev.blockdraft.lm.Sampler;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * After every step of single-block verification, at every accepted length 0..B−1 (a scripted
 * proposer forces them all), the target's preallocated KV cache holds exactly what a fresh
 * prefill of the accepted text gives: the rejected tail was rolled back by resetting the length,
 * and the buffers were allocated once for the whole sequence.
 */
@org.junit.jupiter.api.extension.ExtendWith(dev.blockdraft.eval.OneTorchThread.class)
class ChainCacheTest {

    @Test
    void cacheAfterPartialAcceptanceEqualsAFreshPrefill() {
        LlamaConfig config = LlamaConfig.llama(40, 32, 48, 2, 4, 2, 128).withTiedEmbeddings(false);
        int blockSize = 5;
        int[] prompt = {3, 9, 1, 4, 4, 7, 21};
        try (LlamaModel target = LlamaModel.initialize(config, Device.cpu(), 8)) {
            for (var e : target.parameters().asMap().entrySet()) {
                if (!e.getKey().endsWith("norm.weight")) {
                    e.getValue().muli(6); // peaked attention: a misplaced key changes the values
                }
            }
            int budget = 40;
            int[] longer = Generator.generate(target, prompt, budget + blockSize, Sampler.greedy(), -1).tokens();
            int[] reference = new int[prompt.length + longer.length];
            System.arraycopy(prompt, 0, reference, 0, prompt.length);
            System.arraycopy(longer, 0, reference, prompt.length, longer.length);
            ScriptedProposerExactnessTest.Scripted script = new ScriptedProposerExactnessTest.Scripted(blockSize, reference, 3, 40);
            SpeculativeDecoder decoder = new SpeculativeDecoder(target, script);
            int[] checked = new int[1];
            try (SpeculativeDecoder.Sequence seq = decoder.open(prompt, budget)) {
                KvCache cache = seq.targetCache();
                int capacity = cache.capacity();
                SpeculativeDecoder.Output out = seq.decode(0, new int[0], emitted -> {
                    int[] text = new int[prompt.length + emitted.length - 1]; // all but the bonus token
                    System.arraycopy(prompt, 0, text, 0, prompt.length);
                    System.arraycopy(emitted, 0, text, prompt.length, emitted.length - 1);
                    assertEquals(text.length, cache.length(), "cache length after the step");
                    assertEquals(capacity, cache.capacity(), "the cache is allocated once per sequence");
                    assertTargetCacheEqualsPrefill(target, text, cache);
                    checked[0]++;
                });
                assertEquals(Arrays.toString(Arrays.copyOf(longer, budget)), Arrays.toString(out.tokens()));
                for (int n = 0; n < blockSize; n++) {
                    assertTrue(out.stats().acceptedHistogram()[n] > 0, "accepted length " + n + " was exercised");
                }
            }
            assertTrue(checked[0] >= 10, "steps checked: " + checked[0]);
        }
    }

    static void assertTargetCacheEqualsPrefill(LlamaModel target, int[] text, KvCache cache) {
        try (NDManager m = target.manager().newSubManager();
                KvCache fresh = KvCache.forModel(target, m, 1, text.length)) {
            long[] ids = Arrays.stream(text).asLongStream().toArray();
            target.forward(m.create(ids).reshape(1, text.length), fresh, new int[0], LlamaModel.Logits.NONE);
            for (int l = 0; l < target.config().numHiddenLayers(); l++) {
                NDArray[] want = fresh.view(l, m);
                NDArray[] got = cache.view(l, m);
                assertTrue(want[0].allClose(got[0], 1e-4, 1e-4, false), "keys of layer " + l + " after " + text.length + " tokens");
                assertTrue(want[1].allClose(got[1], 1e-4, 1e-4, false), "values of layer " + l + " after " + text.length + " tokens");
            }
        }
    }
}
