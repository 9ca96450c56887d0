package dev.blockdraft.draft;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import dev.blockdraft.io.BadInputException;
import dev.blockdraft.io.JsonFiles;
import dev.blockdraft.lm.LlamaConfig;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * A drafter's {@code config.json} in DFlash's layout (z-lab/dflash's {@code DFlashDraftModel}, a
 * Qwen3 config with {@code block_size}, {@code num_target_layers} and
 * {@code dflash_config: {mask_token_id, target_layer_ids}}), which DFlash's reference code and the
 * serving engines load. The tensor names are blockdraft's own (11 per layer, {@code fc},
 * {@code hidden_norm}, {@code norm}), so only the config differs. blockdraft's drafters use the
 * target's rotary table and norm epsilon, so an imported drafter must agree with its target there.
 */
public final class DflashConfig {

    public static final String ARCHITECTURE = "DFlashDraftModel";

    private DflashConfig() {}

    /** Whether {@code config} (a parsed config.json) is in DFlash's layout. */
    public static boolean isDflash(JsonObject config) {
        JsonElement arch = config.get("architectures");
        if (arch == null || !arch.isJsonArray()) {
            return false;
        }
        for (JsonElement a : arch.getAsJsonArray()) {
            if (ARCHITECTURE.equals(a.getAsString())) {
                return true;
            }
        }
        return false;
    }

    /** The DFlash config.json of a drafter. */
    public static JsonObject toJson(DrafterConfig c, String dtype) {
        LlamaConfig t = c.target();
        JsonObject o = new JsonObject();
        JsonArray arch = new JsonArray();
        arch.add(ARCHITECTURE);
        o.add("architectures", arch);
        o.addProperty("model_type", "qwen3");
        o.addProperty("block_size", c.blockSize());
        JsonObject dflash = new JsonObject();
        dflash.addProperty("mask_token_id", c.maskTokenId());
        JsonArray layers = new JsonArray();
        for (int l : c.featureLayers()) {
            layers.add(l);
        }
        dflash.add("target_layer_ids", layers);
        o.add("dflash_config", dflash);
        o.addProperty("num_target_layers", t.numHiddenLayers());
        o.addProperty("hidden_size", c.hiddenSize());
        o.addProperty("intermediate_size", c.intermediateSize());
        o.addProperty("head_dim", c.headDim());
        o.addProperty("num_attention_heads", c.numHeads());
        o.addProperty("num_key_value_heads", c.numKvHeads());
        o.addProperty("num_hidden_layers", c.numLayers());
        o.addProperty("hidden_act", "silu");
        o.addProperty("rms_norm_eps", t.rmsNormEps());
        o.addProperty("rope_theta", t.ropeTheta());
        o.add("rope_scaling", JsonNull.INSTANCE);
        o.addProperty("max_position_embeddings", t.maxPositionEmbeddings());
        o.addProperty("vocab_size", t.vocabSize());
        o.addProperty("tie_word_embeddings", false);
        o.addProperty("attention_bias", false);
        o.addProperty("attention_dropout", 0.0);
        o.addProperty("use_sliding_window", false);
        o.add("sliding_window", JsonNull.INSTANCE);
        JsonArray types = new JsonArray();
        for (int l = 0; l < c.numLayers(); l++) {
            types.add("full_attention");
        }
        o.add("layer_types", types);
        if (t.bosTokenId() >= 0) {
            o.addProperty("bos_token_id", t.bosTokenId());
        }
        if (t.eosTokenId() >= 0) {
            o.addProperty("eos_token_id", t.eosTokenId());
        }
        o.addProperty("torch_dtype", dtype);
        JsonObject own = new JsonObject();
        own.addProperty("target_name", c.targetName());
        own.addProperty("target_model_type", t.modelType());
        own.addProperty("denoising_steps", c.denoisingSteps());
        o.add("blockdraft", own);
        return o;
    }

    public static String toJsonString(DrafterConfig c, String dtype) {
        return new GsonBuilder().setPrettyPrinting().create().toJson(toJson(c, dtype));
    }

    /**
     * Reads a DFlash config.json for {@code target}, failing with the file, the field and both
     * values when the drafter does not fit the target.
     *
     * @param targetName label recorded for the target when the file has none (the target folder's name)
     */
    public static DrafterConfig read(Path file, LlamaConfig target, String targetName) {
        JsonObject o = JsonFiles.readObject(file);
        if (!isDflash(o)) {
            throw BadInputException.of(file, "architectures=" + o.get("architectures") + " does not name " + ARCHITECTURE);
        }
        try {
            JsonObject dflash = o.getAsJsonObject("dflash_config");
            if (dflash == null) {
                throw BadInputException.of(file, "missing \"dflash_config\" (expected {mask_token_id, target_layer_ids})");
            }
            if (!dflash.has("mask_token_id") || dflash.get("mask_token_id").isJsonNull()) {
                throw BadInputException.of(file, "dflash_config has no mask_token_id");
            }
            int hidden = intField(o, "hidden_size", file);
            expect(file, "hidden_size", hidden, target.hiddenSize(), "the target's hidden_size");
            expect(file, "vocab_size", intField(o, "vocab_size", file), target.vocabSize(), "the target's vocab_size");
            expect(file, "num_target_layers", intField(o, "num_target_layers", file), target.numHiddenLayers(),
                    "the target's num_hidden_layers");
            int heads = intField(o, "num_attention_heads", file);
            if (o.has("head_dim") && !o.get("head_dim").isJsonNull()) {
                expect(file, "head_dim", o.get("head_dim").getAsInt(), hidden / heads, "hidden_size / num_attention_heads");
            }
            if (o.has("rope_theta") && o.get("rope_theta").getAsDouble() != target.ropeTheta()) {
                throw BadInputException.of(file, "rope_theta=" + o.get("rope_theta").getAsDouble()
                        + " differs from the target's rope_theta=" + target.ropeTheta()
                        + " (blockdraft's drafters share the target's rotary table)");
            }
            if (o.has("rms_norm_eps") && o.get("rms_norm_eps").getAsDouble() != target.rmsNormEps()) {
                throw BadInputException.of(file, "rms_norm_eps=" + o.get("rms_norm_eps").getAsDouble()
                        + " differs from the target's rms_norm_eps=" + target.rmsNormEps());
            }
            if (o.has("attention_bias") && o.get("attention_bias").getAsBoolean()) {
                throw BadInputException.of(file, "attention_bias=true: blockdraft's drafters have no attention biases");
            }
            int[] layers;
            if (dflash.has("target_layer_ids")) {
                JsonArray ids = dflash.getAsJsonArray("target_layer_ids");
                layers = new int[ids.size()];
                for (int i = 0; i < layers.length; i++) {
                    layers[i] = ids.get(i).getAsInt();
                }
            } else {
                layers = defaultTargetLayers(target.numHiddenLayers(), intField(o, "num_hidden_layers", file));
            }
            for (int i = 1; i < layers.length; i++) {
                if (layers[i] <= layers[i - 1]) {
                    throw BadInputException.of(file, "dflash_config.target_layer_ids " + Arrays.toString(layers)
                            + " must be increasing (blockdraft concatenates features in layer order)");
                }
            }
            String name = targetName;
            int steps = 1;
            if (o.has("blockdraft") && o.get("blockdraft").isJsonObject()) {
                JsonObject own = o.getAsJsonObject("blockdraft");
                name = own.has("target_name") ? own.get("target_name").getAsString() : name;
                steps = own.has("denoising_steps") ? own.get("denoising_steps").getAsInt() : 1;
            }
            return new DrafterConfig(target, name, intField(o, "block_size", file), layers,
                    intField(o, "num_hidden_layers", file), heads, intField(o, "num_key_value_heads", file),
                    intField(o, "intermediate_size", file), dflash.get("mask_token_id").getAsInt(), steps);
        } catch (ClassCastException | IllegalStateException | UnsupportedOperationException | NumberFormatException e) {
            throw BadInputException.of(file, "malformed DFlash drafter field: " + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw BadInputException.of(file, e.getMessage(), e);
        }
    }

    /** DFlash's {@code build_target_layer_ids}, used when a config names no target_layer_ids. */
    static int[] defaultTargetLayers(int numTargetLayers, int numDraftLayers) {
        if (numDraftLayers == 1) {
            return new int[] {numTargetLayers / 2};
        }
        int start = 1, end = numTargetLayers - 3, span = end - start;
        int[] ids = new int[numDraftLayers];
        for (int i = 0; i < numDraftLayers; i++) {
            ids[i] = (int) Math.rint(start + (double) i * span / (numDraftLayers - 1)); // Python rounds half to even
        }
        return ids;
    }

    private static int intField(JsonObject o, String field, Path file) {
        JsonElement e = o.get(field);
        if (e == null || e.isJsonNull()) {
            throw BadInputException.of(file, "missing \"" + field + "\"");
        }
        return e.getAsInt();
    }

    private static void expect(Path file, String field, int found, int wanted, String what) {
        if (found != wanted) {
            throw BadInputException.of(file, field + "=" + found + " does not match " + what + "=" + wanted);
        }
    }
}
