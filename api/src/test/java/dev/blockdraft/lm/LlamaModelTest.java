package dev.blockdraft.lm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class LlamaModelTest {

    /** Tiny shapes with GQA (4 query heads over 2 kv heads) and untied head. */
    static LlamaConfig tiny(String type) {
        LlamaConfig base = type.equals("qwen3")
                ? LlamaConfig.qwen3(50, 32, 48, 2, 4, 2, 64)
                : type.equals("qwen2")
                        ? new LlamaConfig("qwen2", 50, 32, 48, 2, 4, 2, 8, 64, 10000, 1e-6, false, true, 0, 1)
                        : LlamaConfig.llama(50, 32, 48, 2, 4, 2, 64);
        return base.withTiedEmbeddings(false);
    }

    static LlamaModel randomModel(LlamaConfig config, long seed) {
        LlamaModel m = LlamaModel.initialize(config, Device.cpu(), seed);
        // Norm weights and biases away from their 1/0 init so the test sees them used.
        java.util.SplittableRandom rng = new java.util.SplittableRandom(seed + 1);
        for (Map.Entry<String, NDArray> e : m.parameters().asMap().entrySet()) {
            if (e.getKey().endsWith("norm.weight") || e.getKey().endsWith(".bias")) {
                float[] v = e.getValue().toFloatArray();
                for (int i = 0; i < v.length; i++) {
                    v[i] = (e.getKey().endsWith("norm.weight") ? 1f : 0f) + (float) (rng.nextGaussian() * 0.3);
                }
                e.getValue().set(v);
            }
        }
        return m;
    }

    static Map<String, float[]> weights(LlamaModel m) {
        Map<String, float[]> w = new LinkedHashMap<>();
        m.parameters().asMap().forEach((k, v) -> w.put(k, v.toFloatArray()));
        return w;
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen2", "qwen3"})
    void forwardMatchesPlainJavaReference(String type) {
        LlamaConfig config = tiny(type);
        int[] ids = {3, 17, 42, 8, 8, 0, 49, 21, 5};
        try (LlamaModel model = randomModel(config, 7); NDManager m = NDManager.newBaseManager(Device.cpu())) {
            // Scale weights up so attention patterns are far from uniform and errors would show.
            double[][] expected = new ReferenceLlama(config, weights(model)).logits(ids);
            NDArray logits = model.forward(m.create(toLong(ids)).reshape(1, ids.length), new int[0],
                    LlamaModel.Logits.ALL).logits();
            float[] got = logits.toFloatArray();
            double maxDiff = 0;
            for (int t = 0; t < ids.length; t++) {
                for (int v = 0; v < config.vocabSize(); v++) {
                    maxDiff = Math.max(maxDiff, Math.abs(got[t * config.vocabSize() + v] - expected[t][v]));
                }
            }
            assertTrue(maxDiff < 1e-4, "max |logit diff| vs reference = " + maxDiff);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 3, 4})
    void kvCacheDecodingEqualsFullForward(int blockSize) {
        LlamaConfig config = tiny("llama");
        int[] ids = {3, 17, 42, 8, 9, 1, 49, 21, 5, 30, 31, 2, 7};
        int prefill = 4;
        try (LlamaModel model = randomModel(config, 11); NDManager m = NDManager.newBaseManager(Device.cpu())) {
            float[] full = model.forward(m.create(toLong(ids)).reshape(1, ids.length), new int[] {0, 1},
                    LlamaModel.Logits.ALL).logits().toFloatArray();
            try (KvCache cache = KvCache.forModel(model, m, 1, 32)) {
                int v = config.vocabSize();
                int pos = 0;
                while (pos < ids.length) {
                    int n = pos == 0 ? prefill : Math.min(blockSize, ids.length - pos);
                    long[] chunk = new long[n];
                    for (int i = 0; i < n; i++) {
                        chunk[i] = ids[pos + i];
                    }
                    float[] part = model.forward(m.create(chunk).reshape(1, n), cache, new int[0],
                            LlamaModel.Logits.ALL).logits().toFloatArray();
                    for (int i = 0; i < n * v; i++) {
                        assertEquals(full[pos * v + i], part[i], 1e-5, "position " + (pos + i / v));
                    }
                    pos += n;
                }
                assertEquals(ids.length, cache.length());
            }
        }
    }

    @Test
    void truncatedCacheRecomputesLikeFresh() {
        LlamaConfig config = tiny("qwen3");
        try (LlamaModel model = randomModel(config, 5); NDManager m = NDManager.newBaseManager(Device.cpu());
                KvCache cache = KvCache.forModel(model, m, 1, 32)) {
            model.forward(m.create(new long[] {1, 2, 3, 4}).reshape(1, 4), cache, new int[0], LlamaModel.Logits.NONE);
            model.forward(m.create(new long[] {9, 9, 9}).reshape(1, 3), cache, new int[0], LlamaModel.Logits.NONE);
            cache.truncate(4); // reject the three speculative tokens
            float[] afterRollback = model.forward(m.create(new long[] {5}).reshape(1, 1), cache, new int[0],
                    LlamaModel.Logits.LAST).logits().toFloatArray();
            float[] fresh = model.forward(m.create(new long[] {1, 2, 3, 4, 5}).reshape(1, 5), new int[0],
                    LlamaModel.Logits.LAST).logits().toFloatArray();
            assertArrayEquals(fresh, afterRollback, 1e-5f);
        }
    }

    @Test
    void capturedHiddenStatesAreLayerOutputs() {
        LlamaConfig config = tiny("llama");
        try (LlamaModel model = randomModel(config, 3); NDManager m = NDManager.newBaseManager(Device.cpu())) {
            LlamaModel.Output out = model.forward(m.create(new long[] {4, 5, 6}).reshape(1, 3), new int[] {1},
                    LlamaModel.Logits.ALL);
            assertEquals(1, out.hidden().size());
            // The last layer's output through final norm + head must reproduce the logits.
            float[] viaHidden = model.logitsOf(out.hidden().get(0)).toFloatArray();
            assertArrayEquals(out.logits().toFloatArray(), viaHidden, 1e-5f);
            assertEquals(new ai.djl.ndarray.types.Shape(1, 3, config.hiddenSize()), out.hidden().get(0).getShape());
        }
    }

    @Test
    void parameterCountMatchesInitialisedModel() {
        for (String type : new String[] {"llama", "qwen2", "qwen3"}) {
            LlamaConfig config = tiny(type);
            try (LlamaModel model = LlamaModel.initialize(config, Device.cpu(), 1)) {
                long expected = model.parameters().parameterCount();
                long biases = config.qkvBias() ? (long) config.headDim() * (config.numAttentionHeads()
                        + 2L * config.numKeyValueHeads()) * config.numHiddenLayers() : 0;
                assertEquals(expected, config.parameterCount() + biases, type);
            }
        }
    }

    @Test
    void halfPrecisionCopyGivesTheSameFeaturesWithinFp16Rounding() {
        LlamaConfig config = tiny("qwen3");
        try (LlamaModel model = randomModel(config, 8); LlamaModel half = model.halfPrecisionCopy();
                NDManager m = NDManager.newBaseManager(Device.cpu())) {
            NDArray ids = m.create(new long[] {3, 17, 42, 8, 9, 1, 49}).reshape(1, 7);
            float[] full = model.forward(ids, new int[] {0, 1}, LlamaModel.Logits.NONE).hidden().get(1).toFloatArray();
            NDArray h = half.forward(ids, new int[] {0, 1}, LlamaModel.Logits.NONE).hidden().get(1);
            assertEquals(ai.djl.ndarray.types.DataType.FLOAT16, h.getDataType());
            float[] got = h.toType(ai.djl.ndarray.types.DataType.FLOAT32, false).toFloatArray();
            double num = 0, den = 0;
            for (int i = 0; i < full.length; i++) {
                num += (got[i] - full[i]) * (got[i] - full[i]);
                den += full[i] * full[i];
            }
            double rel = Math.sqrt(num / den);
            assertTrue(rel < 5e-3, "relative error of fp16 features " + rel);
            assertTrue(rel > 0, "the copy really computes in half precision");
        }
    }

    @Test
    void batchedLeftPaddedGenerationEqualsOneAtATime() {
        LlamaConfig config = tiny("qwen3");
        try (LlamaModel model = sharpened(randomModel(config, 21))) {
            java.util.List<int[]> prompts = java.util.List.of(new int[] {5}, new int[] {7, 8, 9, 10, 11, 12},
                    new int[] {3, 1, 4}, new int[] {2, 7, 1, 8, 2, 8, 1, 8, 2});
            java.util.List<int[]> batched = Generator.generateBatch(model, prompts, 12, Sampler.greedy(), -1);
            for (int i = 0; i < prompts.size(); i++) {
                int[] alone = Generator.generate(model, prompts.get(i), 12, Sampler.greedy(), -1).tokens();
                assertArrayEquals(alone, batched.get(i), "prompt " + i);
            }
        }
    }

    /**
     * Rows that stop at different steps leave the batch (its cache rows copied into a smaller one whenever half
     * have finished, here several times): every row still answers as it would alone, to its own stop token.
     */
    @Test
    void rowsLeavingTheBatchAsTheyStopLeaveTheOthersUnchanged() {
        LlamaConfig config = tiny("llama");
        try (LlamaModel model = sharpened(randomModel(config, 23))) {
            java.util.List<int[]> prompts = new java.util.ArrayList<>();
            for (int i = 0; i < 9; i++) {
                int[] p = new int[1 + i % 4];
                for (int j = 0; j < p.length; j++) {
                    p[j] = (3 * i + 5 * j + 1) % config.vocabSize();
                }
                prompts.add(p);
            }
            int budget = 16;
            // each row's own stop: the token its free greedy answer emits at step 1 + 2i (some rows never stop)
            java.util.List<int[]> free = new java.util.ArrayList<>();
            java.util.Set<Integer> stops = new java.util.LinkedHashSet<>();
            for (int i = 0; i < prompts.size(); i++) {
                free.add(Generator.generate(model, prompts.get(i), budget, Sampler.greedy()).tokens());
                if (i < 6) {
                    stops.add(free.get(i)[1 + 2 * i]);
                }
            }
            int[] stopIds = stops.stream().mapToInt(Integer::intValue).toArray();
            java.util.List<int[]> batched = Generator.generateBatch(model, prompts, budget, Sampler.greedy(), stopIds);
            int finishedEarly = 0;
            for (int i = 0; i < prompts.size(); i++) {
                int[] alone = Generator.generate(model, prompts.get(i), budget, Sampler.greedy(), stopIds).tokens();
                assertArrayEquals(alone, batched.get(i), "prompt " + i);
                finishedEarly += alone.length < budget ? 1 : 0;
            }
            assertTrue(finishedEarly >= 5, "rows that stopped before the budget: " + finishedEarly);
        }
    }

    /** Every weight but the norms times 8, so that every context token matters: padding leaking into attention shows. */
    static LlamaModel sharpened(LlamaModel model) {
        for (var e : model.parameters().asMap().entrySet()) {
            if (!e.getKey().endsWith("norm.weight")) {
                e.getValue().muli(8);
            }
        }
        return model;
    }

    static long[] toLong(int[] ids) {
        long[] out = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = ids[i];
        }
        return out;
    }

    static NDIndex all() {
        return new NDIndex();
    }
}
