package dev.blockdraft.tokenize;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a model folder says about its tokenizer besides the vocabulary: the special tokens' roles
 * ({@code tokenizer_config.json}), the Jinja chat template ({@code chat_template.jinja}, else
 * {@code tokenizer_config.json}'s {@code chat_template}) and the extra stop tokens of
 * {@code generation_config.json}. Every file is optional; absent roles are null.
 *
 * @param source            the tokenizer_config.json read (or where it would be), for messages
 * @param bosToken          {@code bos_token}
 * @param eosToken          {@code eos_token}
 * @param padToken          {@code pad_token}
 * @param maskToken         {@code mask_token}
 * @param namedTokens       every string-valued {@code *_token} entry, as the template sees them
 * @param chatTemplate      the Jinja template text, or null
 * @param chatTemplateSource the file the template came from, or null
 * @param generationStopIds {@code eos_token_id} of generation_config.json (an int or a list)
 */
public record TokenizerConfig(Path source, String bosToken, String eosToken, String padToken, String maskToken,
        Map<String, String> namedTokens, String chatTemplate, Path chatTemplateSource, List<Integer> generationStopIds) {

    public static final String FILE = "tokenizer_config.json";
    public static final String TEMPLATE_FILE = "chat_template.jinja";
    public static final String GENERATION_FILE = "generation_config.json";

    public TokenizerConfig {
        namedTokens = Map.copyOf(namedTokens);
        generationStopIds = List.copyOf(generationStopIds);
    }

    /** Reads the optional files of {@code folder}; a file that exists but is malformed is an error naming it. */
    public static TokenizerConfig read(Path folder) {
        Path file = folder.resolve(FILE);
        JsonObject config = Files.isRegularFile(file) ? readObject(file) : new JsonObject();
        Map<String, String> named = new LinkedHashMap<>();
        for (Map.Entry<String, JsonElement> e : config.entrySet()) {
            if (e.getKey().endsWith("_token")) {
                String token = tokenString(e.getValue(), file, e.getKey());
                if (token != null) {
                    named.put(e.getKey(), token);
                }
            }
        }
        String template = null;
        Path templateSource = null;
        Path jinja = folder.resolve(TEMPLATE_FILE);
        if (Files.isRegularFile(jinja)) {
            try {
                template = Files.readString(jinja, StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new TokenizerException(jinja + ": cannot be read (" + e.getMessage() + ")", e);
            }
            templateSource = jinja;
        } else if (config.has("chat_template") && !config.get("chat_template").isJsonNull()) {
            template = chatTemplate(config.get("chat_template"), file);
            templateSource = file;
        }
        Path generation = folder.resolve(GENERATION_FILE);
        List<Integer> stops = Files.isRegularFile(generation) ? stopIds(readObject(generation), generation) : List.of();
        return new TokenizerConfig(file, named.get("bos_token"), named.get("eos_token"), named.get("pad_token"),
                named.get("mask_token"), named, template, templateSource, stops);
    }

    /** A token entry is a string, null, or an AddedToken object {@code {"content": "..."}}. */
    private static String tokenString(JsonElement value, Path file, String key) {
        if (value == null || value.isJsonNull()) {
            return null;
        }
        if (value instanceof JsonPrimitive p && p.isString()) {
            return p.getAsString();
        }
        if (value.isJsonObject() && value.getAsJsonObject().has("content")) {
            return value.getAsJsonObject().get("content").getAsString();
        }
        if (value instanceof JsonPrimitive p && p.isBoolean()) {
            return null; // e.g. "add_bos_token" is *_token too, but not a token
        }
        throw new TokenizerException(file + ": \"" + key + "\" must be a token string or {\"content\": ...}, found " + value);
    }

    /** A string, or (older folders) a list of named templates of which "default" is the chat template. */
    private static String chatTemplate(JsonElement value, Path file) {
        if (value instanceof JsonPrimitive p && p.isString()) {
            return p.getAsString();
        }
        if (value.isJsonArray()) {
            for (JsonElement e : value.getAsJsonArray()) {
                JsonObject named = e.getAsJsonObject();
                if ("default".equals(named.get("name").getAsString())) {
                    return named.get("template").getAsString();
                }
            }
        }
        throw new TokenizerException(file + ": \"chat_template\" must be a string or a list holding a \"default\" template");
    }

    private static List<Integer> stopIds(JsonObject generation, Path file) {
        JsonElement eos = generation.get("eos_token_id");
        List<Integer> ids = new ArrayList<>();
        if (eos == null || eos.isJsonNull()) {
            return ids;
        }
        if (eos instanceof JsonPrimitive p && p.isNumber()) {
            ids.add(p.getAsInt());
        } else if (eos instanceof JsonArray array) {
            for (JsonElement e : array) {
                if (!(e instanceof JsonPrimitive p) || !p.isNumber()) {
                    throw new TokenizerException(file + ": \"eos_token_id\" must hold token ids, found " + e);
                }
                ids.add(p.getAsInt());
            }
        } else {
            throw new TokenizerException(file + ": \"eos_token_id\" must be an id or a list of ids, found " + eos);
        }
        return ids;
    }

    private static JsonObject readObject(Path file) {
        try {
            JsonElement root = JsonParser.parseString(Files.readString(file, StandardCharsets.UTF_8));
            if (!root.isJsonObject()) {
                throw new TokenizerException(file + ": expected a JSON object");
            }
            return root.getAsJsonObject();
        } catch (JsonParseException e) {
            throw new TokenizerException(file + ": not valid JSON (" + e.getMessage() + ")", e);
        } catch (IOException e) {
            throw new TokenizerException(file + ": cannot be read (" + e.getMessage() + ")", e);
        }
    }
}
