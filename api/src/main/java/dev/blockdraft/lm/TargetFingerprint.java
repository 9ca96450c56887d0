package dev.blockdraft.lm;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.blockdraft.io.BadInputException;
import dev.blockdraft.io.JsonFiles;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * Which target a drafter was trained for: the target's config and SHA-256 hashes of its embedding
 * and LM-head weights (what a drafter reuses). Two targets of the same shape differ here, so a
 * drafter is never silently decoded with a target it was not trained against.
 *
 * @param config the target's {@code config.json} as a JSON object
 * @param embeddingSha256 hash of {@code model.embed_tokens.weight} as fp32 little-endian
 * @param headSha256 hash of the LM head's weights (the embedding's when tied)
 */
public record TargetFingerprint(JsonObject config, String embeddingSha256, String headSha256) {
    public static final String FILE = "target_fingerprint.json";

    /** Targets are frozen while drafters train: each one is hashed once, not at every checkpoint. */
    private static final Map<LlamaModel, TargetFingerprint> CACHE = new java.util.WeakHashMap<>();

    public static TargetFingerprint of(LlamaModel target) {
        synchronized (CACHE) {
            TargetFingerprint cached = CACHE.get(target);
            if (cached != null) {
                return cached;
            }
        }
        JsonObject config = JsonParser.parseString(target.config().toJson()).getAsJsonObject();
        String embedding = sha256(target.parameters().get(LlamaModel.EMBED));
        String head = target.config().tieWordEmbeddings() ? embedding
                : sha256(target.parameters().get(LlamaModel.LM_HEAD));
        TargetFingerprint f = new TargetFingerprint(config, embedding, head);
        synchronized (CACHE) {
            CACHE.put(target, f);
        }
        return f;
    }

    public String toJson() {
        JsonObject o = new JsonObject();
        o.add("config", config);
        o.addProperty("embedding_sha256", embeddingSha256);
        o.addProperty("lm_head_sha256", headSha256);
        return JsonFiles.GSON.toJson(o);
    }

    /** The fingerprint saved in a drafter folder, or null for a drafter saved before fingerprints. */
    public static TargetFingerprint read(Path folder) {
        Path file = folder.resolve(FILE);
        if (!Files.exists(file)) {
            return null;
        }
        JsonObject o = JsonFiles.readObject(file);
        try {
            return new TargetFingerprint(o.getAsJsonObject("config"), o.get("embedding_sha256").getAsString(),
                    o.get("lm_head_sha256").getAsString());
        } catch (RuntimeException e) {
            throw BadInputException.of(file, "malformed target fingerprint: expected config, embedding_sha256 and"
                    + " lm_head_sha256");
        }
    }

    /**
     * Fails unless {@code actual} is the target this fingerprint was taken from, listing what
     * differs (config keys with both values, weight hashes).
     *
     * @param drafterFolder named in the message
     */
    public void requireSame(TargetFingerprint actual, Path drafterFolder) {
        List<String> differences = new ArrayList<>();
        for (Map.Entry<String, JsonElement> e : config.entrySet()) {
            JsonElement other = actual.config().get(e.getKey());
            if (!e.getValue().equals(other)) {
                differences.add(e.getKey() + " " + e.getValue() + " vs " + other);
            }
        }
        for (String key : actual.config().keySet()) {
            if (!config.has(key)) {
                differences.add(key + " (absent) vs " + actual.config().get(key));
            }
        }
        if (!embeddingSha256.equals(actual.embeddingSha256())) {
            differences.add("embedding weights sha256 " + embeddingSha256.substring(0, 12) + "… vs "
                    + actual.embeddingSha256().substring(0, 12) + "…");
        }
        if (!headSha256.equals(actual.headSha256()) && !embeddingSha256.equals(headSha256)) {
            differences.add("lm_head weights sha256 " + headSha256.substring(0, 12) + "… vs "
                    + actual.headSha256().substring(0, 12) + "…");
        }
        if (!differences.isEmpty()) {
            throw BadInputException.of(drafterFolder, "this drafter was trained for another target: "
                    + String.join(", ", differences) + " (drafter's target vs this one); pass the target it was"
                    + " trained for, or --force to use it anyway");
        }
    }

    /** SHA-256 of an array's values as fp32 little-endian, copied to the host a few MB at a time. */
    static String sha256(ai.djl.ndarray.NDArray array) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            long n = array.size();
            long chunk = 1L << 22;
            try (ai.djl.ndarray.NDManager scope = array.getManager().newSubManager()) {
                ai.djl.ndarray.NDArray flat = array.reshape(-1);
                flat.attach(scope);
                for (long start = 0; start < n; start += chunk) {
                    float[] values = flat.get(new ai.djl.ndarray.index.NDIndex("{}:{}", start, Math.min(n, start + chunk)))
                            .toType(ai.djl.ndarray.types.DataType.FLOAT32, false).toFloatArray();
                    ByteBuffer buf = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
                    buf.asFloatBuffer().put(values);
                    md.update(buf.array());
                }
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
