package dev.blockdraft.tokenize;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * A Hugging Face {@code tokenizer.json} loaded through DJL: blockdraft's own trained tokenizers and
 * real model tokenizers load the same way. Special tokens are never added implicitly; the
 * {@link ChatTemplate} places them.
 */
public final class Tokenizer implements AutoCloseable {

    private final Path source;
    private final HuggingFaceTokenizer tokenizer;
    private final Map<String, Integer> tokenIds;
    private final Set<Integer> specialIds;
    private final int vocabSize;

    private Tokenizer(Path source, HuggingFaceTokenizer tokenizer, Map<String, Integer> tokenIds, Set<Integer> specialIds) {
        this.source = source;
        this.tokenizer = tokenizer;
        this.tokenIds = tokenIds;
        this.specialIds = specialIds;
        this.vocabSize = tokenIds.values().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1;
    }

    /** Loads {@code dir/tokenizer.json}, or the file itself when {@code dirOrFile} is a file. */
    public static Tokenizer load(Path dirOrFile) {
        Path file = Files.isDirectory(dirOrFile) ? dirOrFile.resolve(BpeModel.TOKENIZER_FILE) : dirOrFile;
        file = file.toAbsolutePath().normalize();
        if (!Files.isRegularFile(file)) {
            throw new TokenizerException("tokenizer file " + file + " not found; train one or point at a folder holding tokenizer.json");
        }
        Map<String, Integer> ids = new HashMap<>();
        Set<Integer> specials = new HashSet<>();
        readVocabulary(file, ids, specials);
        Map<String, String> options = Map.of(
                "addSpecialTokens", "false",
                "truncation", "false",
                "padding", "false");
        HuggingFaceTokenizer tokenizer;
        try {
            tokenizer = HuggingFaceTokenizer.newInstance(file, options);
        } catch (IOException | RuntimeException e) {
            throw new TokenizerException("tokenizer file " + file + " cannot be loaded by Hugging Face tokenizers: "
                    + oneLine(e.getMessage()), e);
        }
        return new Tokenizer(file, tokenizer, Map.copyOf(ids), Set.copyOf(specials));
    }

    private static void readVocabulary(Path file, Map<String, Integer> ids, Set<Integer> specials) {
        JsonElement root;
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            root = JsonParser.parseReader(reader);
        } catch (JsonParseException e) {
            throw new TokenizerException("tokenizer file " + file + " is not valid JSON: "
                    + oneLine(e.getCause() != null ? e.getCause().getMessage() : e.getMessage()), e);
        } catch (IOException e) {
            throw new TokenizerException("tokenizer file " + file + " cannot be read: " + oneLine(e.getMessage()), e);
        }
        if (!root.isJsonObject() || !root.getAsJsonObject().has("model") || !root.getAsJsonObject().get("model").isJsonObject()) {
            throw new TokenizerException("tokenizer file " + file + " has no \"model\" object; expected a Hugging Face tokenizer.json");
        }
        JsonObject model = root.getAsJsonObject().getAsJsonObject("model");
        JsonElement vocab = model.get("vocab");
        if (vocab != null && vocab.isJsonObject()) {
            // BPE and WordPiece: {"token": id}
            for (Map.Entry<String, JsonElement> entry : vocab.getAsJsonObject().entrySet()) {
                ids.put(entry.getKey(), entry.getValue().getAsInt());
            }
        } else if (vocab != null && vocab.isJsonArray()) {
            // Unigram: [["piece", score], ...], the id is the position
            JsonArray pieces = vocab.getAsJsonArray();
            for (int id = 0; id < pieces.size(); id++) {
                ids.put(pieces.get(id).getAsJsonArray().get(0).getAsString(), id);
            }
        } else {
            throw new TokenizerException("tokenizer file " + file + " has no \"model.vocab\"; expected an object or an array of tokens");
        }
        JsonElement added = root.getAsJsonObject().get("added_tokens");
        if (added != null && added.isJsonArray()) {
            for (JsonElement element : added.getAsJsonArray()) {
                JsonObject token = element.getAsJsonObject();
                int id = token.get("id").getAsInt();
                ids.put(token.get("content").getAsString(), id);
                if (token.has("special") && token.get("special").getAsBoolean()) {
                    specials.add(id);
                }
            }
        }
    }

    private static String oneLine(String message) {
        if (message == null) {
            return "no detail";
        }
        int newline = message.indexOf('\n');
        return newline < 0 ? message : message.substring(0, newline);
    }

    /** Token ids of the text; special-token strings in the text become their single ids. */
    public int[] encode(String text) {
        long[] ids = tokenizer.encode(text, false, false).getIds();
        int[] result = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            result[i] = (int) ids[i];
        }
        return result;
    }

    /** The text of the ids, special tokens included. */
    public String decode(int[] ids) {
        return decode(ids, false);
    }

    public String decode(int[] ids, boolean skipSpecialTokens) {
        long[] wide = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= vocabSize) {
                throw new IllegalArgumentException("token id " + ids[i] + " at position " + i
                        + " is outside the vocabulary [0, " + vocabSize + ") of " + source);
            }
            wide[i] = ids[i];
        }
        return tokenizer.decode(wide, skipSpecialTokens);
    }

    /** One more than the largest token id, added tokens included. */
    public int vocabSize() {
        return vocabSize;
    }

    public boolean hasToken(String token) {
        return tokenIds.containsKey(token);
    }

    public boolean isSpecial(int id) {
        return specialIds.contains(id);
    }

    /** The id of a token string as it appears in the vocabulary (byte-level spelling for merged symbols). */
    public int tokenId(String token) {
        Integer id = tokenIds.get(token);
        if (id == null) {
            throw new TokenizerException("tokenizer file " + source + " has no token \"" + token + "\""
                    + (SpecialTokens.ALL.contains(token)
                    ? "; it is not a blockdraft tokenizer (train one with BpeTrainer, whose vocab starts with " + SpecialTokens.ALL + ")"
                    : ""));
        }
        return id;
    }

    public int maskId() {
        return tokenId(SpecialTokens.MASK);
    }

    public int bosId() {
        return tokenId(SpecialTokens.BEGIN_OF_TEXT);
    }

    /** The end-of-turn token, which ends generation. */
    public int eosId() {
        return tokenId(SpecialTokens.END_OF_TURN);
    }

    public int padId() {
        return tokenId(SpecialTokens.PAD);
    }

    public int userId() {
        return tokenId(SpecialTokens.USER);
    }

    public int assistantId() {
        return tokenId(SpecialTokens.ASSISTANT);
    }

    /** The tokenizer.json this was loaded from. */
    public Path source() {
        return source;
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
