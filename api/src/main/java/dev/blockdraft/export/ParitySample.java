package dev.blockdraft.export;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.blockdraft.draft.Drafter;
import dev.blockdraft.io.AtomicFiles;
import dev.blockdraft.io.SafeTensors;
import dev.blockdraft.lm.LlamaModel;
import dev.blockdraft.lm.Target;
import dev.blockdraft.nn.Ops;
import java.io.BufferedOutputStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * One drafted block as blockdraft computes it, saved for checking an exported drafter against
 * DFlash's own model code ({@code tests/parity/dflash_parity.py}): the target's concatenated
 * features of a prompt's context, the embedded block {@code [anchor, MASK × (B−1)]}, their
 * positions, the LM head, and blockdraft's draft logits for the B−1 slots. All in fp32; the
 * drafter is the one loaded back from the export, so both sides use the same (rounded) weights.
 */
public final class ParitySample {

    public static final String FILE = "blockdraft_parity_sample.safetensors";

    private ParitySample() {}

    /** Writes the sample for {@code prompt} into {@code file}; the prompt's last token is the anchor. */
    public static void write(Target target, Drafter drafter, String prompt, Path file) {
        int[] ids = target.template().promptIds(List.of(), prompt);
        int b = drafter.config().blockSize();
        int l = ids.length - 1; // context: every prompt token before the anchor
        try (NDManager scope = NDManager.newBaseManager(target.model().device())) {
            long[] wide = new long[l];
            for (int i = 0; i < l; i++) {
                wide[i] = ids[i];
            }
            LlamaModel.Output out = target.model().forward(scope.create(wide).reshape(1, l), drafter.config().featureLayers(),
                    LlamaModel.Logits.NONE);
            NDArray features = Drafter.concatFeatures(out.hidden()); // (1, L, F)
            long[] block = new long[b];
            block[0] = ids[l];
            for (int i = 1; i < b; i++) {
                block[i] = drafter.config().maskTokenId();
            }
            NDArray blockIds = scope.create(block).reshape(1, b);
            NDArray blockPositions = scope.arange(l, l + b).toType(DataType.INT64, false).reshape(1, b);
            NDArray contextPositions = scope.arange(0, l).toType(DataType.INT64, false).reshape(1, l);
            NDArray mask = scope.zeros(new Shape(1, 1, b, l + b)); // DFlash drafts with no mask: all context, whole block
            NDArray hidden = drafter.forward(blockIds, blockPositions, drafter.contextStates(features), contextPositions, mask);
            NDArray logits = drafter.head(hidden.get(":, 1:, :")); // (1, B−1, V)
            NDArray noise = Ops.embed(blockIds, target.model().embeddings()); // (1, B, C)
            NDArray positions = scope.arange(0, l + b).toType(DataType.FLOAT32, false).reshape(1, l + b);
            List<SafeTensors.Tensor> tensors = SafeTensors.fromArrays(new java.util.LinkedHashMap<>(Map.of(
                    "target_hidden", features, "noise_embedding", noise, "position_ids", positions,
                    "lm_head", target.model().lmHead(), "draft_logits", logits)));
            AtomicFiles.write(file, o -> SafeTensors.write(new BufferedOutputStream(o, 1 << 20), tensors,
                    Map.of("prompt", prompt, "block_size", Integer.toString(b)), SafeTensors.Stored.F32));
        }
    }
}
