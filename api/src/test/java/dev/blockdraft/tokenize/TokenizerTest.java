package dev.blockdraft.tokenize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.blockdraft.data.Benchmark;
import dev.blockdraft.data.BenchmarkPrompt;
import dev.blockdraft.data.Benchmarks;
import dev.blockdraft.data.Corpus;
import dev.blockdraft.data.CorpusRecord;
import dev.blockdraft.data.TestDataFolder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TokenizerTest {

    private static Tokenizer tokenizer;

    @TempDir
    Path temp;

    @BeforeAll
    static void load() {
        tokenizer = Tokenizer.load(TrainedTokenizer.DIR);
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    private static void assertRoundTrip(String text, String label) {
        String decoded = tokenizer.decode(tokenizer.encode(text));
        assertEquals(text, decoded, label);
    }

    @Test
    void trainingIsFastEnough() {
        // 8 M characters to vocab 4096 on one core; the brief's ceiling is 60 s
        assertEquals(8_000_000L, TrainedTokenizer.TRAINING_CHARS);
        assertTrue(TrainedTokenizer.TRAINING_MILLIS < 60_000, "training took " + TrainedTokenizer.TRAINING_MILLIS + " ms");
    }

    @Test
    void vocabSizeIsExactlyAsAsked() {
        assertEquals(4096, tokenizer.vocabSize());
    }

    @Test
    void roundTripsEveryCorpusLineType() {
        // math word problems, python source (tabs, indentation, unicode), dialogue (emoji, non-Latin)
        List<CorpusRecord> records = new ArrayList<>();
        records.addAll(Corpus.read(TestDataFolder.find().corpus("gsm8k_train"), 300));
        records.addAll(Corpus.read(TestDataFolder.find().corpus("python_algorithms"), -1));
        records.addAll(TrainedTokenizer.heldOut("alpaca_eval_outputs", 29_000, 1500));
        int withNonAscii = 0;
        int withTabs = 0;
        for (CorpusRecord record : records) {
            String text = Corpus.trainingText(record);
            withNonAscii += text.chars().anyMatch(c -> c > 127) ? 1 : 0;
            withTabs += text.indexOf('\t') >= 0 ? 1 : 0;
            assertRoundTrip(text, record.id());
        }
        // the sample really exercises the hard cases
        assertTrue(withNonAscii > 50, "non-ASCII records: " + withNonAscii);
        assertTrue(withTabs > 0, "records with tabs: " + withTabs);
    }

    @Test
    void roundTripsEveryBenchmarkTurn() {
        int turns = 0;
        for (Benchmark benchmark : Benchmark.values()) {
            for (BenchmarkPrompt prompt : Benchmarks.load(TestDataFolder.find(), benchmark, -1)) {
                for (String turn : prompt.turns()) {
                    assertRoundTrip(turn, prompt.id());
                    turns++;
                }
            }
        }
        assertEquals(1319 + 500 + 164 + 974 + 160 + 80, turns);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", " ", "   ", "\n", "\n\n\n", " \t \n \r\n ", "\t\tindent", "trailing   ",
            "你好，世界！这是一个测试。", "😀🙂👍🏽👨‍👩‍👧", "Здравствуй, мир", "مرحبا بالعالم", "नमस्ते", "e\u0301 combining",
            "\u0000\u0001\u007f control", "x = {'a': [1, 2.5e-3]}  # comment", "<|mask|> literal <|end_of_turn|>"})
    void roundTripsEdgeCases(String text) {
        assertRoundTrip(text, "edge case");
    }

    @Test
    void textOutsideTheTrainingAlphabetFallsBackToBytes() {
        // a CJK character never merged: its three UTF-8 bytes become three byte symbols
        int[] ids = tokenizer.encode("\u9fa0");
        assertEquals(3, ids.length);
        assertTrue(ids[0] >= SpecialTokens.ALL.size() && ids[0] < SpecialTokens.ALL.size() + 256, "byte symbol id " + ids[0]);
        assertEquals("\u9fa0", tokenizer.decode(ids));
        // a supplementary private-use character: four bytes no merge has seen
        assertEquals(4, tokenizer.encode(new String(Character.toChars(0xF0000))).length);
    }

    @Test
    void specialTokensAreSingleIdsInFixedOrder() {
        for (int id = 0; id < SpecialTokens.ALL.size(); id++) {
            String token = SpecialTokens.ALL.get(id);
            assertArrayEquals(new int[] {id}, tokenizer.encode(token), token);
            assertEquals(id, tokenizer.tokenId(token));
        }
        assertEquals(0, tokenizer.bosId());
        assertEquals(4, tokenizer.eosId());
        assertEquals(5, tokenizer.maskId());
        assertEquals(6, tokenizer.padId());
        assertArrayEquals(new int[] {5, 5, 4}, tokenizer.encode("<|mask|><|mask|><|end_of_turn|>"));
    }

    @Test
    void decodeCanSkipSpecialTokens() {
        int[] ids = tokenizer.encode("<|user|>hello<|end_of_turn|>");
        assertEquals("hello", tokenizer.decode(ids, true));
        assertEquals("<|user|>hello<|end_of_turn|>", tokenizer.decode(ids, false));
    }

    @Test
    void commonWordsAreSingleTokens() {
        for (String word : List.of(" the", " and", " of", " is", "def", " return", " number", " total")) {
            assertEquals(1, tokenizer.encode(word).length, "'" + word + "' -> " + tokenizer.encode(word).length + " tokens");
        }
    }

    @Test
    void compressesHeldOutTextMoreThanTwoAndAHalfCharsPerToken() {
        long chars = 0;
        long tokens = 0;
        StringBuilder perDomain = new StringBuilder();
        for (List<CorpusRecord> domain : List.of(
                TrainedTokenizer.heldOut("gsm8k_train", TrainedTokenizer.GSM8K_TRAIN, 1000),
                TrainedTokenizer.heldOut("python_algorithms", TrainedTokenizer.PYTHON_TRAIN, 163),
                TrainedTokenizer.heldOut("alpaca_eval_outputs", 29_000, 1000))) {
            long domainChars = 0;
            long domainTokens = 0;
            for (CorpusRecord record : domain) {
                String text = Corpus.trainingText(record);
                domainChars += text.length();
                domainTokens += tokenizer.encode(text).length;
            }
            perDomain.append(String.format(" %s %.2f", domain.get(0).id().split("/")[0], (double) domainChars / domainTokens));
            assertTrue((double) domainChars / domainTokens > 2.5, perDomain.toString());
            chars += domainChars;
            tokens += domainTokens;
        }
        double ratio = (double) chars / tokens;
        System.out.printf("held-out compression: %.2f chars/token overall;%s%n", ratio, perDomain);
        assertTrue(ratio > 2.5, "chars/token " + ratio);
    }

    @Test
    void trainedFileLoadsInDjlHuggingFaceTokenizerDirectly() throws IOException {
        try (HuggingFaceTokenizer hf = HuggingFaceTokenizer.newInstance(TrainedTokenizer.DIR.resolve("tokenizer.json"),
                Map.of("addSpecialTokens", "false"))) {
            long[] ids = hf.encode("The total is 42.").getIds();
            int[] ours = tokenizer.encode("The total is 42.");
            assertEquals(ours.length, ids.length);
            for (int i = 0; i < ids.length; i++) {
                assertEquals(ours[i], ids[i]);
            }
            assertEquals(List.of("The", "Ġtotal", "Ġis", "Ġ42", "."), hf.tokenize("The total is 42."));
        }
    }

    @Test
    void tokenizerConfigNamesTheRoles() throws IOException {
        JsonObject config = JsonParser.parseString(Files.readString(TrainedTokenizer.DIR.resolve("tokenizer_config.json")))
                .getAsJsonObject();
        assertEquals("<|end_of_turn|>", config.get("eos_token").getAsString());
        assertEquals("<|begin_of_text|>", config.get("bos_token").getAsString());
        assertEquals("<|mask|>", config.get("mask_token").getAsString());
        assertEquals("<|pad|>", config.get("pad_token").getAsString());
        assertEquals(4096, config.get("model_max_length").getAsInt());
    }

    @Test
    void longTextIsNotTruncated() {
        assertEquals(5000, tokenizer.encode(" the".repeat(5000)).length);
    }

    @Test
    void missingTokenizerFileIsAClearError() {
        TokenizerException error = assertThrows(TokenizerException.class, () -> Tokenizer.load(temp));
        assertEquals("tokenizer file " + temp.resolve("tokenizer.json").toAbsolutePath()
                + " not found; train one or point at a folder holding tokenizer.json", error.getMessage());
    }

    @Test
    void malformedTokenizerFileIsAClearError() throws IOException {
        Path file = temp.resolve("tokenizer.json");
        Files.writeString(file, "{\"model\": {\"vocab\": {\"a\": 0,");
        TokenizerException error = assertThrows(TokenizerException.class, () -> Tokenizer.load(temp));
        assertTrue(error.getMessage().startsWith("tokenizer file " + file.toAbsolutePath() + " is not valid JSON: "), error.getMessage());
        assertEquals(1, error.getMessage().lines().count());

        Files.writeString(file, "{\"version\": \"1.0\"}");
        assertEquals("tokenizer file " + file.toAbsolutePath() + " has no \"model\" object; expected a Hugging Face tokenizer.json",
                assertThrows(TokenizerException.class, () -> Tokenizer.load(temp)).getMessage());
    }

    @Test
    void foreignTokenizerWithoutBlockdraftSpecialsNamesTheMissingToken() throws IOException {
        Path file = temp.resolve("tokenizer.json");
        Files.writeString(file, """
                {"version": "1.0", "truncation": null, "padding": null, "added_tokens": [],
                 "normalizer": null, "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
                 "post_processor": null, "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
                 "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
                           "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false,
                           "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}}
                """);
        try (Tokenizer foreign = Tokenizer.load(file)) {
            assertArrayEquals(new int[] {2, 0}, foreign.encode("aba"));
            assertEquals(3, foreign.vocabSize());
            TokenizerException error = assertThrows(TokenizerException.class, foreign::maskId);
            assertTrue(error.getMessage().startsWith("tokenizer file " + file.toAbsolutePath() + " has no token \"<|mask|>\"; "),
                    error.getMessage());
            assertThrows(TokenizerException.class, () -> new ChatTemplate(foreign));
        }
    }

    @Test
    void decodeRejectsIdsOutsideTheVocabulary() {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class, () -> tokenizer.decode(new int[] {7, 4096}));
        assertEquals("token id 4096 at position 1 is outside the vocabulary [0, 4096) of " + tokenizer.source(), error.getMessage());
    }
}
