package dev.blockdraft.eval;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import dev.blockdraft.draft.Drafter;
import dev.blockdraft.draft.DrafterConfig;
import dev.blockdraft.lm.LlamaConfig;
import dev.blockdraft.lm.LlamaModel;
import java.util.Map;

/** Tiny random targets and drafters for the eval tests, and targets rigged for high acceptance. */
final class TinyModels {
    private TinyModels() {}

    /** 2 layers, hidden 32, 4/2 heads, untied head. */
    static LlamaConfig config(int vocab, int context) {
        return LlamaConfig.llama(vocab, 32, 64, 2, 4, 2, context).withTiedEmbeddings(false);
    }

    static LlamaModel target(LlamaConfig config, long seed) {
        return LlamaModel.initialize(config, Device.cpu(), seed);
    }

    static Drafter drafter(LlamaModel target, int blockSize, int denoisingSteps, int maskId, long seed) {
        DrafterConfig c = DrafterConfig.forTarget(target.config(), "t", blockSize, maskId, ai.djl.Device.cpu()).withDenoisingSteps(denoisingSteps);
        return Drafter.initialize(c, target, seed);
    }

    /**
     * Rigs the LM head so that token {@code favourite} gets logit {@code strength · cos(h, e_mask)·√C}:
     * a drafter whose layers add nothing (see {@link #silenceLayers}) then always drafts
     * {@code favourite} (its slot inputs are the mask embedding), and the target chooses it when its
     * final state leans towards the mask embedding: often with a large strength, always when the
     * target's layers are silenced too.
     */
    static void favour(LlamaModel target, int favourite, int maskId, double strength) {
        NDArray head = target.lmHead();
        NDArray emb = target.embeddings();
        int c = target.config().hiddenSize();
        float[] w = head.toFloatArray();
        float[] e = emb.toFloatArray();
        double norm = 0;
        for (int i = 0; i < c; i++) {
            norm += e[maskId * c + i] * e[maskId * c + i];
        }
        norm = Math.sqrt(norm);
        for (int i = 0; i < c; i++) {
            w[favourite * c + i] = (float) (strength * e[maskId * c + i] / norm);
        }
        head.set(w);
    }

    /** Zeroes every attention output and MLP down projection: each layer then adds nothing to the residual. */
    static void silenceLayers(Map<String, NDArray> params) {
        params.forEach((name, p) -> {
            if (name.endsWith("o_proj.weight") || name.endsWith("down_proj.weight")) {
                p.set(new float[Math.toIntExact(p.size())]);
            }
        });
    }

    /** Sets every embedding row to the mask's: the silenced target then sees the same state everywhere. */
    static void sameEmbeddings(LlamaModel target, int maskId) {
        NDArray emb = target.embeddings();
        int c = target.config().hiddenSize();
        float[] e = emb.toFloatArray();
        for (int t = 0; t < e.length / c; t++) {
            System.arraycopy(e, maskId * c, e, t * c, c);
        }
        emb.set(e);
    }
}
