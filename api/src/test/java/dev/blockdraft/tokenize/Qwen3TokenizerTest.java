package dev.blockdraft.tokenize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Qwen3's real tokenizer and Jinja chat template against ids and texts recorded from
 * {@code transformers} (tests/parity/make_tokenizer_fixtures.py, run on the GPU host with
 * transformers 5.17.0; tests/parity/RESULTS.md).
 */
class Qwen3TokenizerTest {

    private static Tokenizer tokenizer;
    private static JsonObject fixtures;

    @BeforeAll
    static void load() throws IOException {
        tokenizer = Tokenizer.load(Qwen3Files.folder());
        try (InputStream in = Qwen3TokenizerTest.class.getResourceAsStream("qwen3_fixtures.json")) {
            fixtures = JsonParser.parseString(new String(in.readAllBytes(), StandardCharsets.UTF_8)).getAsJsonObject();
        }
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    private static int[] ids(JsonElement array) {
        JsonArray a = array.getAsJsonArray();
        int[] ids = new int[a.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = a.get(i).getAsInt();
        }
        return ids;
    }

    private static String sha256(Path file) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
    }

    @Test
    void fixturesWereMadeFromTheseFiles() throws Exception {
        assertEquals(fixtures.get("tokenizer_json_sha256").getAsString(), sha256(Qwen3Files.folder().resolve("tokenizer.json")));
        assertEquals(fixtures.get("tokenizer_config_sha256").getAsString(),
                sha256(Qwen3Files.folder().resolve("tokenizer_config.json")));
    }

    @Test
    void encodeAndDecodeMatchTheRecordedIds() {
        int checked = 0;
        for (JsonElement e : fixtures.getAsJsonArray("texts")) {
            JsonObject c = e.getAsJsonObject();
            String text = c.get("text").getAsString();
            int[] expected = ids(c.get("ids"));
            assertArrayEquals(expected, tokenizer.encode(text), text);
            assertEquals(c.get("decoded").getAsString(), tokenizer.decode(expected), text);
            checked++;
        }
        assertEquals(8, checked);
    }

    private static List<ChatTemplate.Message> messages(JsonArray array) {
        List<ChatTemplate.Message> list = new ArrayList<>();
        for (JsonElement m : array) {
            list.add(new ChatTemplate.Message(m.getAsJsonObject().get("role").getAsString(),
                    m.getAsJsonObject().get("content").getAsString()));
        }
        return list;
    }

    @Test
    void chatTemplateRendersAsApplyChatTemplate() throws IOException {
        JsonObject cases;
        try (InputStream in = Files.newInputStream(Qwen3Files.projectRoot().resolve("tests/parity/tokenizer_cases.json"))) {
            cases = JsonParser.parseString(new String(in.readAllBytes(), StandardCharsets.UTF_8)).getAsJsonObject();
        }
        JsonArray inputs = cases.getAsJsonArray("chats");
        JsonArray expected = fixtures.getAsJsonArray("chats");
        assertEquals(inputs.size(), expected.size());
        for (int i = 0; i < inputs.size(); i++) {
            JsonObject in = inputs.get(i).getAsJsonObject();
            JsonObject out = expected.get(i).getAsJsonObject();
            assertEquals(in.get("name").getAsString(), out.get("name").getAsString());
            String rendered = tokenizer.applyChatTemplate(messages(in.getAsJsonArray("messages")),
                    in.get("add_generation_prompt").getAsBoolean());
            assertEquals(out.get("text").getAsString(), rendered, in.get("name").getAsString());
            assertArrayEquals(ids(out.get("ids")), tokenizer.encode(rendered), in.get("name").getAsString());
        }
    }

    @Test
    void specialTokenRolesComeFromTokenizerConfig() {
        assertEquals(151_669, tokenizer.vocabSize());
        assertEquals(151_645, tokenizer.eosId()); // <|im_end|>
        assertEquals(151_643, tokenizer.padId()); // <|endoftext|>
        assertEquals(151_643, tokenizer.documentEndId());
        assertTrue(tokenizer.bos().isEmpty(), "Qwen3 has no bos_token");
        assertTrue(tokenizer.mask().isEmpty(), "Qwen3 has no mask_token");
        assertTrue(tokenizer.config().chatTemplate().contains("<|im_start|>"));
    }

    @Test
    void stopTokensIncludeGenerationConfig(@TempDir Path dir) throws IOException {
        Files.copy(Qwen3Files.folder().resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
        Files.copy(Qwen3Files.folder().resolve("tokenizer_config.json"), dir.resolve("tokenizer_config.json"));
        Files.writeString(dir.resolve("generation_config.json"), "{\"eos_token_id\": [151645, 151643], \"do_sample\": true}");
        try (Tokenizer t = Tokenizer.load(dir)) {
            assertArrayEquals(new int[] {151_645, 151_643}, t.stopIds());
        }
        Files.writeString(dir.resolve("generation_config.json"), "{\"eos_token_id\": \"x\"}");
        TokenizerException bad = assertThrows(TokenizerException.class, () -> Tokenizer.load(dir));
        assertTrue(bad.getMessage().startsWith(dir.resolve("generation_config.json") + ": \"eos_token_id\""), bad.getMessage());
    }

    @Test
    void maskIsTheFirstUnusedIdUnlessGiven() {
        assertEquals(new MaskToken(151_669, "first unused id"), MaskToken.choose(tokenizer, Qwen3Files.VOCAB_SIZE, null));
        assertEquals(151_700, MaskToken.choose(tokenizer, Qwen3Files.VOCAB_SIZE, 151_700).id());
        TokenizerException collision = assertThrows(TokenizerException.class,
                () -> MaskToken.choose(tokenizer, Qwen3Files.VOCAB_SIZE, 151_643));
        assertTrue(collision.getMessage().startsWith("--mask-token-id 151643 collides with the real token \"<|endoftext|>\" (id 151643)"),
                collision.getMessage());
        assertTrue(collision.getMessage().endsWith("choose an unused id in [151669, 151936)"), collision.getMessage());
        TokenizerException outside = assertThrows(TokenizerException.class,
                () -> MaskToken.choose(tokenizer, Qwen3Files.VOCAB_SIZE, 151_936));
        assertEquals("--mask-token-id 151936 is outside the model's vocab_size 151936; valid: an unused id in [151669, 151936)",
                outside.getMessage());
        TokenizerException loaded = assertThrows(TokenizerException.class,
                () -> MaskToken.check(tokenizer, Qwen3Files.VOCAB_SIZE, 151_645, "D/config.json: mask_token_id 151645"));
        assertTrue(loaded.getMessage().startsWith("D/config.json: mask_token_id 151645 collides with the real token \"<|im_end|>\""),
                loaded.getMessage());
        TokenizerException full = assertThrows(TokenizerException.class, () -> MaskToken.choose(tokenizer, 151_669, null));
        assertTrue(full.getMessage().contains("has 151669 tokens, filling the model's vocab_size 151669"), full.getMessage());
    }

    @Test
    void trainingExampleStartsItsResponseAfterTheGenerationPrompt() {
        ChatTemplate template = tokenizer.chatTemplate();
        ChatTemplate.EncodedExample example = template.encodeExample("Name a prime.", "7 is prime.");
        int[] prompt = template.promptIds(List.of(), "Name a prime.");
        assertArrayEquals(prompt, Arrays.copyOf(example.ids(), example.responseStart()));
        assertEquals("<think>\n\n</think>\n\n7 is prime.<|im_end|>\n",
                tokenizer.decode(Arrays.copyOfRange(example.ids(), example.responseStart(), example.ids().length)));
        JsonObject finished = fixtures.getAsJsonArray("chats").get(3).getAsJsonObject();
        assertEquals("finished_exchange", finished.get("name").getAsString());
        assertArrayEquals(ids(finished.get("ids")), example.ids());
    }

    @Test
    void systemPromptComesFirst() {
        int[] ids = tokenizer.chatTemplate().promptIds("You are a terse assistant.", List.of(), "Name a prime.");
        JsonObject system = fixtures.getAsJsonArray("chats").get(2).getAsJsonObject();
        assertEquals("system_prompt", system.get("name").getAsString());
        assertArrayEquals(ids(system.get("ids")), ids);
        assertFalse(tokenizer.decode(ids).contains("<think>"));
    }
}
