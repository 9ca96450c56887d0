package dev.blockdraft.tokenize;

import com.google.gson.JsonArray;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import dev.blockdraft.io.JsonFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * A trained byte-level BPE vocabulary, savable as a Hugging Face {@code tokenizer.json}.
 *
 * @param vocab          token strings by id: the special tokens, the 256 byte symbols, then merged symbols
 * @param merges         merges in priority order (rank 0 first)
 * @param modelMaxLength the context length recorded in tokenizer_config.json
 */
public record BpeModel(List<String> vocab, List<Merge> merges, int modelMaxLength) {

    public static final String TOKENIZER_FILE = "tokenizer.json";
    public static final String CONFIG_FILE = "tokenizer_config.json";

    /** Two adjacent symbols that are joined into one. */
    public record Merge(String left, String right) {
        public Merge {
            Objects.requireNonNull(left, "left");
            Objects.requireNonNull(right, "right");
        }
    }

    public BpeModel {
        vocab = List.copyOf(vocab);
        merges = List.copyOf(merges);
        if (!vocab.subList(0, Math.min(vocab.size(), SpecialTokens.ALL.size())).equals(SpecialTokens.ALL)) {
            throw new IllegalArgumentException("vocab must start with the special tokens " + SpecialTokens.ALL);
        }
        if (modelMaxLength <= 0) {
            throw new IllegalArgumentException("modelMaxLength must be > 0, was " + modelMaxLength);
        }
    }

    public int vocabSize() {
        return vocab.size();
    }

    /** Writes {@code tokenizer.json} and {@code tokenizer_config.json} into {@code dir}, each atomically. */
    public void save(Path dir) throws IOException {
        JsonFiles.writeAtomically(dir.resolve(TOKENIZER_FILE), tokenizerJson());
        JsonFiles.writeAtomically(dir.resolve(CONFIG_FILE), tokenizerConfigJson());
    }

    /** The Hugging Face tokenizers serialization: BPE model, ByteLevel pre-tokenizer and decoder. */
    public JsonObject tokenizerJson() {
        JsonObject root = new JsonObject();
        root.addProperty("version", "1.0");
        root.add("truncation", JsonNull.INSTANCE);
        root.add("padding", JsonNull.INSTANCE);
        JsonArray added = new JsonArray();
        for (int id = 0; id < SpecialTokens.ALL.size(); id++) {
            JsonObject token = new JsonObject();
            token.addProperty("id", id);
            token.addProperty("content", SpecialTokens.ALL.get(id));
            token.addProperty("single_word", false);
            token.addProperty("lstrip", false);
            token.addProperty("rstrip", false);
            token.addProperty("normalized", false);
            token.addProperty("special", true);
            added.add(token);
        }
        root.add("added_tokens", added);
        root.add("normalizer", JsonNull.INSTANCE);
        root.add("pre_tokenizer", byteLevel(false, true));
        root.add("post_processor", byteLevel(false, false));
        root.add("decoder", byteLevel(true, true));

        JsonObject model = new JsonObject();
        model.addProperty("type", "BPE");
        model.add("dropout", JsonNull.INSTANCE);
        model.add("unk_token", JsonNull.INSTANCE);
        model.add("continuing_subword_prefix", JsonNull.INSTANCE);
        model.add("end_of_word_suffix", JsonNull.INSTANCE);
        model.addProperty("fuse_unk", false);
        model.addProperty("byte_fallback", false);
        model.addProperty("ignore_merges", false);
        JsonObject vocabJson = new JsonObject();
        for (int id = 0; id < vocab.size(); id++) {
            vocabJson.addProperty(vocab.get(id), id);
        }
        model.add("vocab", vocabJson);
        JsonArray mergesJson = new JsonArray();
        for (Merge merge : merges) {
            // Byte-level symbols never contain a space (it is written as 'Ġ'), so "left right" is unambiguous.
            mergesJson.add(merge.left() + " " + merge.right());
        }
        model.add("merges", mergesJson);
        root.add("model", model);
        return root;
    }

    private static JsonObject byteLevel(boolean addPrefixSpace, boolean trimOffsets) {
        JsonObject json = new JsonObject();
        json.addProperty("type", "ByteLevel");
        json.addProperty("add_prefix_space", addPrefixSpace);
        json.addProperty("trim_offsets", trimOffsets);
        json.addProperty("use_regex", true);
        return json;
    }

    /** The transformers-side configuration naming the special tokens' roles. */
    public JsonObject tokenizerConfigJson() {
        JsonObject config = new JsonObject();
        config.addProperty("tokenizer_class", "PreTrainedTokenizerFast");
        config.addProperty("bos_token", SpecialTokens.BEGIN_OF_TEXT);
        config.addProperty("eos_token", SpecialTokens.END_OF_TURN);
        config.addProperty("pad_token", SpecialTokens.PAD);
        config.addProperty("mask_token", SpecialTokens.MASK);
        config.add("unk_token", JsonNull.INSTANCE);
        JsonArray additional = new JsonArray();
        additional.add(SpecialTokens.END_OF_TEXT);
        additional.add(SpecialTokens.USER);
        additional.add(SpecialTokens.ASSISTANT);
        config.add("additional_special_tokens", additional);
        config.addProperty("add_bos_token", false);
        config.addProperty("add_eos_token", false);
        config.addProperty("clean_up_tokenization_spaces", false);
        config.addProperty("model_max_length", modelMaxLength);
        config.addProperty("chat_template", ChatTemplate.BLOCKDRAFT);
        return config;
    }
}
