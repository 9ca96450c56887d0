package dev.blockdraft.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CorpusTest {

    @TempDir
    Path temp;

    private Path write(String name, String content) throws IOException {
        Path file = temp.resolve(name);
        Files.writeString(file, content);
        return file;
    }

    private String errorFor(String content) throws IOException {
        Path file = write("bad.jsonl", content);
        DataException error = assertThrows(DataException.class, () -> Corpus.read(file, -1));
        assertEquals(1, error.getMessage().lines().count(), error.getMessage());
        return error.getMessage().substring(file.toString().length());
    }

    @Test
    void readsBothRecordKinds() throws IOException {
        Path file = write("ok.jsonl", """
                {"id": "a", "prompt": "2+2?", "response": "4"}
                {"id": "b", "text": "def f():\\n\\treturn 1"}
                """);
        List<CorpusRecord> records = Corpus.read(file, -1);
        assertEquals(List.of(new CorpusRecord.Instruction("a", "2+2?", "4"),
                new CorpusRecord.Document("b", "def f():\n\treturn 1")), records);
        assertEquals("2+2?\n4", Corpus.trainingText(records.get(0)));
        assertEquals("def f():\n\treturn 1", Corpus.trainingText(records.get(1)));
    }

    @Test
    void emptyLineIsAnErrorWithItsLineNumber() throws IOException {
        assertEquals(":2: empty line (every line must hold one JSON object)",
                errorFor("{\"id\":\"a\",\"text\":\"x\"}\n\n{\"id\":\"b\",\"text\":\"y\"}\n"));
    }

    @Test
    void bytesThatAreNotUtf8AreReportedAtTheirLine() throws IOException {
        // 400 long valid lines first, so that a reader decoding ahead in chunks would fail at an earlier line
        StringBuilder good = new StringBuilder();
        for (int i = 0; i < 400; i++) {
            good.append("{\"id\":\"").append(i).append("\",\"text\":\"").append("é".repeat(20)).append("\"}\n");
        }
        byte[] head = good.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] bad = "{\"id\":\"x\",\"text\":\"caf\u00e9\"}\n".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        Path file = temp.resolve("latin1.jsonl");
        Files.write(file, java.nio.ByteBuffer.allocate(head.length + bad.length).put(head).put(bad).array());
        DataException error = assertThrows(DataException.class, () -> Corpus.read(file, -1));
        assertEquals(file + ":401: not valid UTF-8 text; save the file as UTF-8", error.getMessage());
        assertEquals(400, Corpus.read(file, 400).size(), "the lines before it read as usual");
    }

    @Test
    void malformedJsonIsAnError() throws IOException {
        String message = errorFor("{\"id\":\"a\",\"text\":\"x\"}\n{\"id\": \"b\", \"text\": \n");
        assertEquals(":2: malformed JSON", message.substring(0, ":2: malformed JSON".length()), message);
    }

    @Test
    void nonObjectLineIsAnError() throws IOException {
        assertEquals(":1: expected a JSON object, found an array", errorFor("[1, 2]\n"));
    }

    @Test
    void missingFieldIsAnError() throws IOException {
        assertEquals(":1: missing field \"id\" (expected a string)", errorFor("{\"text\":\"x\"}\n"));
        assertEquals(":1: missing field \"response\" (expected a string)", errorFor("{\"id\":\"a\",\"prompt\":\"p\"}\n"));
        assertEquals(":1: missing field \"text\" or \"prompt\"+\"response\" (a corpus record needs one of them)",
                errorFor("{\"id\":\"a\"}\n"));
    }

    @Test
    void wrongTypeIsAnError() throws IOException {
        assertEquals(":1: field \"id\" must be a string, found the number 7", errorFor("{\"id\":7,\"text\":\"x\"}\n"));
        assertEquals(":1: field \"prompt\" must be a string, found an array",
                errorFor("{\"id\":\"a\",\"prompt\":[\"p\"],\"response\":\"r\"}\n"));
    }

    @Test
    void missingFileIsAnErrorNamingIt() {
        Path missing = temp.resolve("nope.jsonl");
        DataException error = assertThrows(DataException.class, () -> Corpus.read(missing, -1));
        assertEquals(missing + ": file not found", error.getMessage());
    }

    @Test
    void streamingStopsBeforeABadLineWhenLimited() throws IOException {
        Path file = write("tail.jsonl", "{\"id\":\"a\",\"text\":\"x\"}\n{\"id\":\"b\",\"text\":\"y\"}\nnot json\n");
        try (Stream<CorpusRecord> records = Corpus.stream(file)) {
            assertEquals(2, records.limit(2).count());
        }
    }

    @Test
    void mixedCorpusHonoursCapsAndSeed() {
        DataFolder folder = TestDataFolder.find();
        Map<String, Integer> caps = new LinkedHashMap<>();
        caps.put("gsm8k_train", 30);
        caps.put("python_algorithms", 20);
        caps.put("alpaca_eval_outputs", 10);
        List<CorpusRecord> first = Corpus.readMixed(folder, caps, 42);
        List<CorpusRecord> again = Corpus.readMixed(folder, caps, 42);
        List<CorpusRecord> otherSeed = Corpus.readMixed(folder, caps, 43);
        assertEquals(60, first.size());
        assertEquals(first, again);
        // the same caps in another map order give the same mix
        Map<String, Integer> reversed = new LinkedHashMap<>();
        reversed.put("alpaca_eval_outputs", 10);
        reversed.put("python_algorithms", 20);
        reversed.put("gsm8k_train", 30);
        assertEquals(first, Corpus.readMixed(folder, reversed, 42));
        assertNotEquals(first, otherSeed);
        assertEquals(20, first.stream().filter(r -> r.id().startsWith("python_algorithms/")).count());
        assertEquals(30, first.stream().filter(r -> r.id().startsWith("gsm8k_train/")).count());
        assertInstanceOf(CorpusRecord.Document.class,
                first.stream().filter(r -> r.id().startsWith("python_algorithms/")).findFirst().orElseThrow());
    }

    @Test
    void realCorporaParseCompletely() {
        DataFolder folder = TestDataFolder.find();
        assertEquals(7473, Corpus.read(folder.corpus("gsm8k_train"), -1).size());
        assertEquals(1163, Corpus.read(folder.corpus("python_algorithms"), -1).size());
        try (Stream<CorpusRecord> records = Corpus.stream(folder.corpus("alpaca_eval_outputs"))) {
            assertEquals(30512, records.count());
        }
    }
}
