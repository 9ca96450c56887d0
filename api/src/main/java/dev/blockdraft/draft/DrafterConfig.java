package dev.blockdraft.draft;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.blockdraft.io.BadInputException;
import dev.blockdraft.lm.LlamaConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * Shape of a DFlash-style block-diffusion drafter and the target it belongs to.
 *
 * @param target the target's shape (the drafter borrows its embeddings and LM head)
 * @param targetName a label for the target (its folder name), recorded in config.json
 * @param blockSize B: tokens per block, the anchor included (B−1 drafted slots)
 * @param featureLayers target layers (0-based) whose outputs condition the drafter
 * @param numLayers drafter transformer layers (1–5 typical)
 * @param numHeads attention heads
 * @param numKvHeads key/value heads
 * @param intermediateSize MLP width
 * @param maskTokenId id of the mask token filling the B−1 slots
 * @param denoisingSteps parallel denoising passes per block (1 = one step)
 */
public record DrafterConfig(LlamaConfig target, String targetName, int blockSize, int[] featureLayers, int numLayers,
        int numHeads, int numKvHeads, int intermediateSize, int maskTokenId, int denoisingSteps) {

    public DrafterConfig {
        if (blockSize < 2) {
            throw new IllegalArgumentException("block_size=" + blockSize + " must be >= 2 (an anchor and at least one slot)");
        }
        if (featureLayers.length == 0) {
            throw new IllegalArgumentException("feature_layers must name at least one target layer");
        }
        for (int l : featureLayers) {
            if (l < 0 || l >= target.numHiddenLayers()) {
                throw new IllegalArgumentException("feature_layers " + Arrays.toString(featureLayers) + ": layer " + l
                        + " is outside the target's 0.." + (target.numHiddenLayers() - 1));
            }
        }
        if (numLayers < 1) {
            throw new IllegalArgumentException("num_hidden_layers=" + numLayers + " must be >= 1");
        }
        if (numHeads < 1 || numKvHeads < 1 || numHeads % numKvHeads != 0) {
            throw new IllegalArgumentException("num_key_value_heads=" + numKvHeads + " must divide num_attention_heads=" + numHeads);
        }
        if (target.hiddenSize() % numHeads != 0 || (target.hiddenSize() / numHeads) % 2 != 0) {
            throw new IllegalArgumentException("num_attention_heads=" + numHeads + " must divide hidden_size="
                    + target.hiddenSize() + " into an even head_dim");
        }
        if (maskTokenId < 0 || maskTokenId >= target.vocabSize()) {
            throw new IllegalArgumentException("mask_token_id=" + maskTokenId + " is outside the vocabulary of " + target.vocabSize());
        }
        if (denoisingSteps < 1 || denoisingSteps > blockSize - 1) {
            throw new IllegalArgumentException("denoising_steps=" + denoisingSteps + " must be within 1.." + (blockSize - 1));
        }
        featureLayers = featureLayers.clone();
    }

    /**
     * The defaults for a target on {@code device}: width = the target's hidden size, heads as the
     * target's, {@linkplain #defaultLayers the device's depth}, three feature layers spread over the
     * target's depth.
     */
    public static DrafterConfig forTarget(LlamaConfig target, String targetName, int blockSize, int maskTokenId,
            ai.djl.Device device) {
        int layers = defaultLayers(target.numHiddenLayers(), device);
        int features = Math.min(3, target.numHiddenLayers());
        return new DrafterConfig(target, targetName, blockSize, uniformLayers(target.numHiddenLayers(), features), layers,
                target.numAttentionHeads(), target.numKeyValueHeads(), target.intermediateSize(), maskTokenId, 1);
    }

    /**
     * The default drafter depth for a target of {@code targetLayers} layers, within 1..5: on a GPU
     * one layer per two target layers — a 6-layer target's drafter with 3 layers reached held-out
     * τ 5.36 against 3.36 with 1 at the same data and steps, online τ +50% (benchmarks/RESULTS.md,
     * seventh session); on a CPU one per four, as the demo's and the notebooks' time allows (two
     * layers for the embedded 4-layer target took the demo from 10 to 16 minutes on 2 cores for
     * +5–14% τ).
     */
    public static int defaultLayers(int targetLayers, ai.djl.Device device) {
        return Math.max(1, Math.min(5, targetLayers / (device.isGpu() ? 2 : 4)));
    }

    /** B on a GPU by default: DFlash's block size. */
    public static final int DEFAULT_BLOCK_SIZE = 16;
    /** B on a CPU by default: the demo's embedded 4M target answers in short loops, and 8 keeps its steps cheap. */
    public static final int DEFAULT_CPU_BLOCK_SIZE = 8;

    public static int defaultBlockSize(ai.djl.Device device) {
        return device.isGpu() ? DEFAULT_BLOCK_SIZE : DEFAULT_CPU_BLOCK_SIZE;
    }

    /**
     * DFlash's rule for the target layers a drafter of {@code draftLayers} layers reads: one per
     * drafter layer, spread evenly over layers 1..L−3 (rounded half to even, as Python's round), or
     * the middle layer for a one-layer drafter ({@code build_target_layer_ids}).
     */
    public static int[] dflashLayers(int targetLayers, int draftLayers) {
        if (draftLayers < 1) {
            throw new IllegalArgumentException("drafter layers " + draftLayers + " must be >= 1");
        }
        if (draftLayers == 1) {
            return new int[] {targetLayers / 2};
        }
        int start = 1, end = targetLayers - 3, span = end - start;
        if (end < start) {
            throw new IllegalArgumentException("DFlash's layer rule needs a target of at least 4 layers, got " + targetLayers);
        }
        int[] out = new int[draftLayers];
        for (int i = 0; i < draftLayers; i++) {
            out[i] = (int) Math.rint(start + (double) i * span / (draftLayers - 1));
        }
        return out;
    }

    /**
     * Parses {@code --feature-layers}: a comma-separated list of 0-based target layers,
     * {@code dflash} ({@link #dflashLayers}) or {@code spread} (the default, {@link #uniformLayers} of three).
     */
    public DrafterConfig withFeatureLayers(String spec) {
        String s = spec.trim().toLowerCase(java.util.Locale.ROOT);
        if (s.equals("dflash")) {
            return withFeatureLayers(dflashLayers(target.numHiddenLayers(), numLayers));
        }
        if (s.equals("spread")) {
            return withFeatureLayers(uniformLayers(target.numHiddenLayers(), Math.min(3, target.numHiddenLayers())));
        }
        String[] parts = s.split(",");
        int[] layers = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                layers[i] = Integer.parseInt(parts[i].trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--feature-layers " + spec + ": '" + parts[i].trim()
                        + "' is not a layer number; give 0-based layers like 1,5,9, or dflash, or spread", e);
            }
        }
        return withFeatureLayers(layers);
    }

    /** n layer indices spread evenly from layer 1 to the last (DFlash skips the embedding-near layer 0). */
    public static int[] uniformLayers(int targetLayers, int n) {
        if (n >= targetLayers) {
            int[] all = new int[targetLayers];
            for (int i = 0; i < targetLayers; i++) {
                all[i] = i;
            }
            return all;
        }
        int first = Math.min(1, targetLayers - 1);
        int last = targetLayers - 1;
        Set<Integer> picked = new LinkedHashSet<>();
        for (int i = 0; i < n; i++) {
            picked.add((int) Math.round(first + (double) i * (last - first) / Math.max(1, n - 1)));
        }
        return picked.stream().mapToInt(Integer::intValue).toArray();
    }

    public int hiddenSize() {
        return target.hiddenSize();
    }

    public int headDim() {
        return target.hiddenSize() / numHeads;
    }

    public int slots() {
        return blockSize - 1;
    }

    /**
     * The longest sequence a block can be cut from, at most {@code wanted}: a block anchored at
     * position a reaches a + B − 1, which must stay inside the target's context (its rotary table),
     * as decoding keeps room for a block after the prompt.
     */
    public int trainableLength(int wanted) {
        return Math.min(wanted, target.maxPositionEmbeddings() - blockSize + 1);
    }

    public DrafterConfig withBlockSize(int b) {
        return new DrafterConfig(target, targetName, b, featureLayers, numLayers, numHeads, numKvHeads, intermediateSize,
                maskTokenId, Math.min(denoisingSteps, b - 1));
    }

    public DrafterConfig withLayers(int n) {
        return new DrafterConfig(target, targetName, blockSize, featureLayers, n, numHeads, numKvHeads, intermediateSize,
                maskTokenId, denoisingSteps);
    }

    public DrafterConfig withFeatureLayers(int... layers) {
        return new DrafterConfig(target, targetName, blockSize, layers, numLayers, numHeads, numKvHeads, intermediateSize,
                maskTokenId, denoisingSteps);
    }

    public DrafterConfig withDenoisingSteps(int steps) {
        return new DrafterConfig(target, targetName, blockSize, featureLayers, numLayers, numHeads, numKvHeads,
                intermediateSize, maskTokenId, steps);
    }

    /**
     * Fails with a clear message when this drafter was trained for another target.
     *
     * @param folder the drafter's folder, named in the message
     */
    public void checkCompatible(LlamaConfig loaded, Path folder) {
        Path file = folder.resolve("config.json");
        if (loaded.hiddenSize() != target.hiddenSize()) {
            throw BadInputException.of(file, "drafter was trained for a target with hidden_size=" + target.hiddenSize()
                    + " but the loaded target has hidden_size=" + loaded.hiddenSize());
        }
        if (loaded.vocabSize() != target.vocabSize()) {
            throw BadInputException.of(file, "drafter was trained for a target with vocab_size=" + target.vocabSize()
                    + " but the loaded target has vocab_size=" + loaded.vocabSize());
        }
        for (int l : featureLayers) {
            if (l >= loaded.numHiddenLayers()) {
                throw BadInputException.of(file, "feature_layers " + Arrays.toString(featureLayers)
                        + " need layer " + l + " but the loaded target has " + loaded.numHiddenLayers() + " layers");
            }
        }
        if (loaded.numHiddenLayers() != target.numHiddenLayers()) {
            throw BadInputException.of(file, "drafter was trained for a target with num_hidden_layers="
                    + target.numHiddenLayers() + " but the loaded target has " + loaded.numHiddenLayers());
        }
    }

    public String toJson() {
        JsonObject o = new JsonObject();
        JsonArray arch = new JsonArray();
        arch.add("BlockDiffusionDrafter");
        o.add("architectures", arch);
        o.addProperty("model_type", "blockdraft-dflash");
        o.addProperty("target_name", targetName);
        o.add("target_config", JsonParser.parseString(target.toJson()));
        o.addProperty("block_size", blockSize);
        JsonArray fl = new JsonArray();
        for (int l : featureLayers) {
            fl.add(l);
        }
        o.add("feature_layers", fl);
        o.addProperty("mask_token_id", maskTokenId);
        o.addProperty("hidden_size", hiddenSize());
        o.addProperty("num_hidden_layers", numLayers);
        o.addProperty("num_attention_heads", numHeads);
        o.addProperty("num_key_value_heads", numKvHeads);
        o.addProperty("head_dim", headDim());
        o.addProperty("intermediate_size", intermediateSize);
        o.addProperty("denoising_steps", denoisingSteps);
        return new GsonBuilder().setPrettyPrinting().create().toJson(o);
    }

    public static DrafterConfig read(Path file) {
        JsonObject o = dev.blockdraft.io.JsonFiles.readObject(file);
        try {
            if (!"blockdraft-dflash".equals(o.get("model_type").getAsString())) {
                throw BadInputException.of(file, "model_type=" + o.get("model_type") + " is not a blockdraft drafter");
            }
            LlamaConfig target = LlamaConfig.fromJson(o.getAsJsonObject("target_config"), file);
            JsonArray fl = o.getAsJsonArray("feature_layers");
            int[] layers = new int[fl.size()];
            for (int i = 0; i < layers.length; i++) {
                layers[i] = fl.get(i).getAsInt();
            }
            return new DrafterConfig(target, o.get("target_name").getAsString(), o.get("block_size").getAsInt(), layers,
                    o.get("num_hidden_layers").getAsInt(), o.get("num_attention_heads").getAsInt(),
                    o.get("num_key_value_heads").getAsInt(), o.get("intermediate_size").getAsInt(),
                    o.get("mask_token_id").getAsInt(), o.has("denoising_steps") ? o.get("denoising_steps").getAsInt() : 1);
        } catch (NullPointerException | UnsupportedOperationException | ClassCastException | IllegalStateException e) {
            throw BadInputException.of(file, "missing or malformed drafter field: " + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw BadInputException.of(file, e.getMessage(), e);
        }
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof DrafterConfig d && d.toJson().equals(toJson());
    }

    @Override
    public int hashCode() {
        return toJson().hashCode();
    }

    @Override
    public String toString() {
        return String.format("DrafterConfig(block %d, %d layers, features %s, %d/%d heads, mask id %d, %d step%s)",
                blockSize, numLayers, Arrays.toString(featureLayers), numHeads, numKvHeads, maskTokenId, denoisingSteps,
                denoisingSteps == 1 ? "" : "s");
    }
}
