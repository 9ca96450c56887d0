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
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;

/**
 * A Hugging Face tokenizer loaded through DJL: blockdraft's own trained tokenizers and real model
 * tokenizers (Qwen3, Llama 3, ...) load the same way. From a model folder it reads
 * {@code tokenizer.json}, and where present {@code tokenizer_config.json} (the special tokens' roles
 * and the Jinja {@code chat_template}), {@code chat_template.jinja} and {@code generation_config.json}
 * (stop tokens). Special tokens are never added implicitly; the {@link ChatTemplate} places them.
 */
public final class Tokenizer implements AutoCloseable {

    private final Path source;
    private final HuggingFaceTokenizer tokenizer;
    private final Map<String, Integer> tokenIds;
    private final Set<Integer> specialIds;
    private final int vocabSize;
    private final TokenizerConfig config;
    private final String[] tokensById;
    private ChatTemplate chatTemplate;

    private Tokenizer(Path source, HuggingFaceTokenizer tokenizer, Map<String, Integer> tokenIds, Set<Integer> specialIds,
            TokenizerConfig config) {
        this.source = source;
        this.tokenizer = tokenizer;
        this.tokenIds = tokenIds;
        this.specialIds = specialIds;
        this.vocabSize = tokenIds.values().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1;
        this.config = config;
        this.tokensById = new String[vocabSize];
        tokenIds.forEach((token, id) -> tokensById[id] = token);
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
        TokenizerConfig config;
        try {
            config = TokenizerConfig.read(file.getParent());
        } catch (RuntimeException e) {
            tokenizer.close();
            throw e;
        }
        return new Tokenizer(file, tokenizer, Map.copyOf(ids), Set.copyOf(specials), config);
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

    /** The token string with this id, empty for ids no token has (gaps and ids past the vocabulary). */
    public Optional<String> tokenAt(int id) {
        return id >= 0 && id < vocabSize ? Optional.ofNullable(tokensById[id]) : Optional.empty();
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

    /** The roles of the special tokens, the chat template and the stop tokens, as the folder's files give them. */
    public TokenizerConfig config() {
        return config;
    }

    /** The id of a role's token: the one tokenizer_config.json names, else blockdraft's own token if the vocabulary has it. */
    private OptionalInt roleId(String configured, String blockdraftToken) {
        if (configured != null) {
            Integer id = tokenIds.get(configured);
            if (id == null) {
                throw new TokenizerException(config.source() + " names the token \"" + configured
                        + "\", which is not in the vocabulary of " + source);
            }
            return OptionalInt.of(id);
        }
        Integer own = tokenIds.get(blockdraftToken);
        return own == null ? OptionalInt.empty() : OptionalInt.of(own);
    }

    /** The tokenizer's own mask token, if it has one (blockdraft's tokenizers do; most model tokenizers do not). */
    public OptionalInt mask() {
        return roleId(config.maskToken(), SpecialTokens.MASK);
    }

    /** The begin-of-sequence token, if the tokenizer has one (Qwen3's has none). */
    public OptionalInt bos() {
        return roleId(config.bosToken(), SpecialTokens.BEGIN_OF_TEXT);
    }

    /** The tokenizer's mask token; fails when it has none (then choose one with {@link MaskToken#choose}). */
    public int maskId() {
        OptionalInt id = mask();
        if (id.isEmpty()) {
            tokenId(SpecialTokens.MASK); // throws, naming the file and the token
        }
        return id.getAsInt();
    }

    /** The begin-of-sequence token; fails when the tokenizer has none. */
    public int bosId() {
        OptionalInt id = bos();
        if (id.isEmpty()) {
            tokenId(SpecialTokens.BEGIN_OF_TEXT);
        }
        return id.getAsInt();
    }

    /** The end-of-turn token, which ends generation ({@code eos_token}, e.g. Qwen3's {@code <|im_end|>}). */
    public int eosId() {
        OptionalInt id = roleId(config.eosToken(), SpecialTokens.END_OF_TURN);
        if (id.isEmpty()) {
            throw new TokenizerException("tokenizer " + source + " names no eos_token (in tokenizer_config.json) and has no "
                    + SpecialTokens.END_OF_TURN + "; generation would never stop");
        }
        return id.getAsInt();
    }

    /**
     * Every token that ends generation: the eos token and those of {@code generation_config.json}'s
     * {@code eos_token_id}, in that order, without repeats.
     */
    public int[] stopIds() {
        java.util.LinkedHashSet<Integer> ids = new java.util.LinkedHashSet<>();
        ids.add(eosId());
        ids.addAll(config.generationStopIds());
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }

    /** The padding token: {@code pad_token}, blockdraft's {@code <|pad|>}, else the eos token. */
    public int padId() {
        OptionalInt id = roleId(config.padToken(), SpecialTokens.PAD);
        return id.isPresent() ? id.getAsInt() : eosId();
    }

    /**
     * The token that ends a plain document in target training: blockdraft's and Llama 3's
     * {@code <|end_of_text|>}, Qwen's {@code <|endoftext|>}, else the eos token.
     */
    public int documentEndId() {
        for (String token : List.of(SpecialTokens.END_OF_TEXT, "<|endoftext|>")) {
            Integer id = tokenIds.get(token);
            if (id != null) {
                return id;
            }
        }
        return eosId();
    }

    /** blockdraft's own user-turn token. */
    public int userId() {
        return tokenId(SpecialTokens.USER);
    }

    /** blockdraft's own assistant-turn token. */
    public int assistantId() {
        return tokenId(SpecialTokens.ASSISTANT);
    }

    /**
     * The tokenizer's chat template: the model's own Jinja template, or blockdraft's for its own
     * tokenizers; fails, naming the folder, when there is neither.
     */
    public synchronized ChatTemplate chatTemplate() {
        if (chatTemplate == null) {
            chatTemplate = new ChatTemplate(this);
        }
        return chatTemplate;
    }

    /** The conversation rendered as text by the chat template, as {@code apply_chat_template(..., tokenize=False)}. */
    public String applyChatTemplate(List<ChatTemplate.Message> messages, boolean addGenerationPrompt) {
        return chatTemplate().render(messages, addGenerationPrompt);
    }

    /** The tokenizer.json this was loaded from. */
    public Path source() {
        return source;
    }

    @Override
    public void close() {
        tokenizer.close();
    }

    @Override
    public String toString() {
        return "Tokenizer(" + source.getParent().getFileName() + ", " + vocabSize + " tokens"
                + (config.chatTemplate() != null ? ", own chat template" : "") + ")";
    }
}
