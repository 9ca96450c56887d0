package dev.blockdraft.lm;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.blockdraft.io.BadInputException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * The shape of a Llama-family decoder, one component per Hugging Face {@code config.json} key.
 * Covers Llama 2/3 ({@code llama}), Qwen2 ({@code qwen2}: biases on q/k/v) and Qwen3
 * ({@code qwen3}: per-head RMSNorm on q and k).
 *
 * @param modelType HF {@code model_type}: llama, qwen2 or qwen3
 * @param vocabSize {@code vocab_size}
 * @param hiddenSize {@code hidden_size} (C)
 * @param intermediateSize {@code intermediate_size} of the SwiGLU MLP
 * @param numHiddenLayers {@code num_hidden_layers}
 * @param numAttentionHeads {@code num_attention_heads} (H)
 * @param numKeyValueHeads {@code num_key_value_heads} (G, divides H)
 * @param headDim {@code head_dim} (D; Llama derives C/H, Qwen3 may set it freely)
 * @param maxPositionEmbeddings {@code max_position_embeddings}: the context length
 * @param ropeTheta {@code rope_theta}
 * @param rmsNormEps {@code rms_norm_eps}
 * @param tieWordEmbeddings {@code tie_word_embeddings}: the LM head reuses the embedding table
 * @param attentionBias {@code attention_bias}: biases on q/k/v projections (Qwen2's layout)
 * @param bosTokenId {@code bos_token_id}
 * @param eosTokenId {@code eos_token_id}
 */
public record LlamaConfig(
        String modelType,
        int vocabSize,
        int hiddenSize,
        int intermediateSize,
        int numHiddenLayers,
        int numAttentionHeads,
        int numKeyValueHeads,
        int headDim,
        int maxPositionEmbeddings,
        double ropeTheta,
        double rmsNormEps,
        boolean tieWordEmbeddings,
        boolean attentionBias,
        int bosTokenId,
        int eosTokenId) {

    public static final Set<String> MODEL_TYPES = Set.of("llama", "qwen2", "qwen3");

    public LlamaConfig {
        if (!MODEL_TYPES.contains(modelType)) {
            throw new IllegalArgumentException("model_type=" + modelType + " is not supported; valid: llama, qwen2, qwen3");
        }
        positive("vocab_size", vocabSize);
        positive("hidden_size", hiddenSize);
        positive("intermediate_size", intermediateSize);
        positive("num_hidden_layers", numHiddenLayers);
        positive("num_attention_heads", numAttentionHeads);
        positive("num_key_value_heads", numKeyValueHeads);
        positive("head_dim", headDim);
        positive("max_position_embeddings", maxPositionEmbeddings);
        if (numAttentionHeads % numKeyValueHeads != 0) {
            throw new IllegalArgumentException("num_key_value_heads=" + numKeyValueHeads
                    + " must divide num_attention_heads=" + numAttentionHeads);
        }
        if (headDim % 2 != 0) {
            throw new IllegalArgumentException("head_dim=" + headDim + " must be even for rotary embeddings");
        }
        if (!(ropeTheta > 0)) {
            throw new IllegalArgumentException("rope_theta=" + ropeTheta + " must be > 0");
        }
        if (!(rmsNormEps > 0)) {
            throw new IllegalArgumentException("rms_norm_eps=" + rmsNormEps + " must be > 0");
        }
    }

    private static void positive(String key, int value) {
        if (value <= 0) {
            throw new IllegalArgumentException(key + "=" + value + " must be > 0");
        }
    }

    /** Qwen3 normalises each head's queries and keys before the rotary embedding. */
    public boolean qkNorm() {
        return modelType.equals("qwen3");
    }

    /** Biases on q/k/v: Qwen2 always, others when {@code attention_bias} is set. */
    public boolean qkvBias() {
        return attentionBias || modelType.equals("qwen2");
    }

    /** A Llama-shaped config with head_dim = hidden/heads and tied embeddings. */
    public static LlamaConfig llama(int vocab, int hidden, int intermediate, int layers, int heads, int kvHeads, int context) {
        return new LlamaConfig("llama", vocab, hidden, intermediate, layers, heads, kvHeads, hidden / heads,
                context, 10_000.0, 1e-6, true, false, 0, 1);
    }

    /** A Qwen3-shaped config (q/k norm), head_dim = hidden/heads, tied embeddings. */
    public static LlamaConfig qwen3(int vocab, int hidden, int intermediate, int layers, int heads, int kvHeads, int context) {
        return new LlamaConfig("qwen3", vocab, hidden, intermediate, layers, heads, kvHeads, hidden / heads,
                context, 1_000_000.0, 1e-6, true, false, 0, 1);
    }

    /** Named sizes: {@code tiny} for tests (~0.3M params + embeddings), {@code small} for the CPU demo. */
    public static LlamaConfig preset(String size, int vocabSize) {
        return switch (size) {
            case "tiny" -> llama(vocabSize, 64, 192, 2, 4, 2, 512);
            case "small" -> llama(vocabSize, 256, 768, 4, 8, 4, 1024);
            case "tiny-qwen3" -> qwen3(vocabSize, 64, 192, 2, 4, 2, 512);
            case "small-qwen3" -> qwen3(vocabSize, 256, 768, 4, 8, 4, 1024);
            default -> throw new IllegalArgumentException("--size " + size
                    + " is not a preset; valid: tiny, small, tiny-qwen3, small-qwen3");
        };
    }

    public LlamaConfig withVocabSize(int v) {
        return new LlamaConfig(modelType, v, hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads,
                numKeyValueHeads, headDim, maxPositionEmbeddings, ropeTheta, rmsNormEps, tieWordEmbeddings,
                attentionBias, bosTokenId, eosTokenId);
    }

    public LlamaConfig withSpecialTokens(int bos, int eos) {
        return new LlamaConfig(modelType, vocabSize, hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads,
                numKeyValueHeads, headDim, maxPositionEmbeddings, ropeTheta, rmsNormEps, tieWordEmbeddings,
                attentionBias, bos, eos);
    }

    public LlamaConfig withTiedEmbeddings(boolean tied) {
        return new LlamaConfig(modelType, vocabSize, hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads,
                numKeyValueHeads, headDim, maxPositionEmbeddings, ropeTheta, rmsNormEps, tied,
                attentionBias, bosTokenId, eosTokenId);
    }

    /** Parameter count, embeddings included (the LM head counted once when tied). */
    public long parameterCount() {
        long c = hiddenSize;
        long attn = c * numAttentionHeads * headDim * 2L + c * numKeyValueHeads * headDim * 2L;
        long mlp = 3L * c * intermediateSize;
        long perLayer = attn + mlp + 2 * c + (qkNorm() ? 2L * headDim : 0);
        long emb = (long) vocabSize * c;
        return numHiddenLayers * perLayer + c + emb + (tieWordEmbeddings ? 0 : emb);
    }

    /** {@link #parameterCount()} in floating point: an estimate that cannot overflow for absurd shapes. */
    public double parameterEstimate() {
        double c = hiddenSize;
        double attn = c * numAttentionHeads * headDim * 2 + c * numKeyValueHeads * headDim * 2;
        double perLayer = attn + 3 * c * intermediateSize + 2 * c + (qkNorm() ? 2.0 * headDim : 0);
        double emb = (double) vocabSize * c;
        return (double) numHiddenLayers * perLayer + c + emb + (tieWordEmbeddings ? 0 : emb);
    }

    /**
     * Fails before any allocation when this shape cannot fit: {@code bytesPerParameter} × the
     * parameter count against {@code availableBytes} (4 to load in fp32; 16 to train: weights,
     * gradients and two AdamW moments).
     *
     * @param source named first in the message: the config file or the flags
     */
    public void requireFits(long availableBytes, double bytesPerParameter, String purpose, String source) {
        double needed = parameterEstimate() * bytesPerParameter;
        if (needed > availableBytes) {
            throw new BadInputException(String.format(java.util.Locale.ROOT,
                    "%s: hidden_size=%d, intermediate_size=%d, num_hidden_layers=%d, vocab_size=%d make ~%s parameters,"
                            + " which need ~%s to %s; this machine has %s", source, hiddenSize, intermediateSize,
                    numHiddenLayers, vocabSize, count(parameterEstimate()), gib(needed), purpose, gib(availableBytes)));
        }
    }

    private static String count(double n) {
        return n >= 1e9 ? String.format(java.util.Locale.ROOT, n >= 1e11 ? "%,.0f billion" : "%.1f billion", n / 1e9)
                : String.format(java.util.Locale.ROOT, "%.1f million", n / 1e6);
    }

    private static String gib(double bytes) {
        double g = bytes / (1L << 30);
        return String.format(java.util.Locale.ROOT, g >= 100 ? "%,.0f GiB" : "%.1f GiB", g);
    }

    // ---- config.json ----------------------------------------------------------------------

    /** Keys we read; keys we accept only at a value that changes nothing; everything else is an error. */
    private static final Set<String> IGNORED_KEYS = Set.of("architectures", "torch_dtype", "dtype",
            "transformers_version", "initializer_range", "use_cache", "attention_dropout", "pad_token_id",
            "_name_or_path", "max_window_layers", "layer_types", "output_attentions", "output_hidden_states",
            "return_dict", "bos_token", "eos_token");
    private static final Map<String, Function<JsonElement, Boolean>> NEUTRAL_KEYS = Map.of(
            "hidden_act", v -> v.getAsString().equals("silu"),
            "mlp_bias", v -> !v.getAsBoolean(),
            "pretraining_tp", v -> v.getAsInt() == 1,
            "rope_scaling", JsonElement::isJsonNull,
            "sliding_window", v -> true,
            "use_sliding_window", v -> !v.getAsBoolean());

    private static boolean isNeutral(Function<JsonElement, Boolean> test, JsonElement value) {
        try {
            return test.apply(value);
        } catch (IllegalStateException | UnsupportedOperationException | NumberFormatException e) {
            return false; // a value of the wrong JSON type changes something we cannot honour
        }
    }

    public static LlamaConfig read(Path file) {
        JsonObject o = dev.blockdraft.io.JsonFiles.readObject(file);
        return fromJson(o, file);
    }

    /** Parses a config object; {@code file} is named in errors. */
    public static LlamaConfig fromJson(JsonObject o, Path file) {
        Set<String> known = Set.of("rope_parameters", "model_type", "vocab_size", "hidden_size", "intermediate_size",
                "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "head_dim",
                "max_position_embeddings", "rope_theta", "rms_norm_eps", "tie_word_embeddings", "attention_bias",
                "bos_token_id", "eos_token_id");
        List<String> unknown = new ArrayList<>();
        for (String key : o.keySet()) {
            if (known.contains(key) || IGNORED_KEYS.contains(key)) {
                continue;
            }
            Function<JsonElement, Boolean> neutral = NEUTRAL_KEYS.get(key);
            if (neutral == null) {
                unknown.add(key);
            } else if (!isNeutral(neutral, o.get(key))) {
                throw BadInputException.of(file, key + "=" + o.get(key) + " is not supported by blockdraft");
            }
        }
        if (!unknown.isEmpty()) {
            throw BadInputException.of(file, "unknown keys " + unknown + " (blockdraft reads Llama/Qwen2/Qwen3 configs)");
        }
        String type = str(o, "model_type", file);
        if (!MODEL_TYPES.contains(type)) {
            throw BadInputException.of(file, "unknown model_type '" + type + "'; valid: llama, qwen2, qwen3");
        }
        double ropeTheta = number(o, "rope_theta", file, 10_000.0);
        if (o.has("rope_parameters") && o.get("rope_parameters").isJsonObject()) {
            // transformers 5 moved rope_theta into rope_parameters; only the plain rotary kind is supported
            JsonObject rope = o.getAsJsonObject("rope_parameters");
            String kind = rope.has("rope_type") ? str(rope, "rope_type", file) : "default";
            if (!kind.equals("default")) {
                throw BadInputException.of(file, "rope_parameters.rope_type=" + kind + " is not supported (only default)");
            }
            ropeTheta = number(rope, "rope_theta", file, ropeTheta);
        }
        int hidden = integer(o, "hidden_size", file, null);
        int heads = integer(o, "num_attention_heads", file, null);
        if (heads <= 0) {
            throw BadInputException.of(file, "num_attention_heads=" + heads + " must be > 0");
        }
        try {
            return new LlamaConfig(type,
                    integer(o, "vocab_size", file, null),
                    hidden,
                    integer(o, "intermediate_size", file, null),
                    integer(o, "num_hidden_layers", file, null),
                    heads,
                    integer(o, "num_key_value_heads", file, heads),
                    integer(o, "head_dim", file, hidden / heads),
                    integer(o, "max_position_embeddings", file, 2048),
                    ropeTheta,
                    number(o, "rms_norm_eps", file, 1e-6),
                    bool(o, "tie_word_embeddings", file, false),
                    bool(o, "attention_bias", file, false),
                    tokenId(o, "bos_token_id", file),
                    tokenId(o, "eos_token_id", file));
        } catch (IllegalArgumentException e) {
            throw BadInputException.of(file, e.getMessage(), e);
        }
    }

    private static String str(JsonObject o, String key, Path file) {
        JsonElement e = o.get(key);
        if (e == null || e.isJsonNull()) {
            throw BadInputException.of(file, "missing required key '" + key + "'");
        }
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isString()) {
            throw BadInputException.of(file, key + "=" + abbreviate(e) + " must be a string");
        }
        return e.getAsString();
    }

    private static int integer(JsonObject o, String key, Path file, Integer fallback) {
        JsonElement e = o.get(key);
        if (e == null || e.isJsonNull()) {
            if (fallback == null) {
                throw BadInputException.of(file, "missing required key '" + key + "'");
            }
            return fallback;
        }
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isNumber()) {
            throw BadInputException.of(file, key + "=" + abbreviate(e) + " must be an integer");
        }
        java.math.BigDecimal value;
        try {
            value = e.getAsBigDecimal();
        } catch (NumberFormatException ex) {
            throw BadInputException.of(file, key + "=" + abbreviate(e) + " must be an integer");
        }
        if (value.stripTrailingZeros().scale() > 0) {
            throw BadInputException.of(file, key + "=" + e + " must be a whole number");
        }
        try {
            return value.intValueExact();
        } catch (ArithmeticException ex) {
            throw BadInputException.of(file, key + "=" + e + " is out of range: valid are integers from "
                    + Integer.MIN_VALUE + " to " + Integer.MAX_VALUE);
        }
    }

    private static String abbreviate(JsonElement e) {
        String s = String.valueOf(e);
        return s.length() <= 60 ? s : s.substring(0, 57) + "...";
    }

    private static double number(JsonObject o, String key, Path file, double fallback) {
        JsonElement e = o.get(key);
        if (e == null || e.isJsonNull()) {
            return fallback;
        }
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isNumber()) {
            throw BadInputException.of(file, key + "=" + abbreviate(e) + " must be a number");
        }
        double v = e.getAsDouble();
        if (!Double.isFinite(v)) {
            throw BadInputException.of(file, key + "=" + e + " must be a finite number");
        }
        return v;
    }

    private static boolean bool(JsonObject o, String key, Path file, boolean fallback) {
        JsonElement e = o.get(key);
        if (e == null || e.isJsonNull()) {
            return fallback;
        }
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isBoolean()) {
            throw BadInputException.of(file, key + "=" + e + " must be true or false");
        }
        return e.getAsBoolean();
    }

    /** HF allows a list of eos ids; the first one is the turn end we stop on. */
    private static int tokenId(JsonObject o, String key, Path file) {
        JsonElement e = o.get(key);
        if (e == null || e.isJsonNull()) {
            return -1;
        }
        if (e.isJsonArray()) {
            JsonArray a = e.getAsJsonArray();
            if (a.isEmpty()) {
                return -1;
            }
            JsonObject first = new JsonObject();
            first.add(key, a.get(0));
            return integer(first, key, file, -1);
        }
        return integer(o, key, file, -1);
    }

    /** The HF {@code config.json} text that {@code transformers} loads unchanged. */
    public String toJson() {
        JsonObject o = new JsonObject();
        JsonArray arch = new JsonArray();
        arch.add(switch (modelType) {
            case "qwen2" -> "Qwen2ForCausalLM";
            case "qwen3" -> "Qwen3ForCausalLM";
            default -> "LlamaForCausalLM";
        });
        o.add("architectures", arch);
        o.addProperty("model_type", modelType);
        o.addProperty("vocab_size", vocabSize);
        o.addProperty("hidden_size", hiddenSize);
        o.addProperty("intermediate_size", intermediateSize);
        o.addProperty("num_hidden_layers", numHiddenLayers);
        o.addProperty("num_attention_heads", numAttentionHeads);
        o.addProperty("num_key_value_heads", numKeyValueHeads);
        o.addProperty("head_dim", headDim);
        o.addProperty("max_position_embeddings", maxPositionEmbeddings);
        o.addProperty("rope_theta", ropeTheta);
        o.addProperty("rms_norm_eps", rmsNormEps);
        o.addProperty("tie_word_embeddings", tieWordEmbeddings);
        o.addProperty("attention_bias", attentionBias || modelType.equals("qwen2"));
        if (bosTokenId >= 0) {
            o.addProperty("bos_token_id", bosTokenId);
        }
        if (eosTokenId >= 0) {
            o.addProperty("eos_token_id", eosTokenId);
        }
        o.addProperty("hidden_act", "silu");
        o.addProperty("initializer_range", 0.02);
        o.addProperty("attention_dropout", 0.0);
        if (modelType.equals("llama")) {
            o.addProperty("mlp_bias", false);
            o.addProperty("pretraining_tp", 1);
        } else {
            o.addProperty("use_sliding_window", false);
        }
        o.add("rope_scaling", com.google.gson.JsonNull.INSTANCE);
        o.addProperty("torch_dtype", "float32");
        o.addProperty("use_cache", true);
        return new GsonBuilder().setPrettyPrinting().serializeNulls().create().toJson(o);
    }
}
