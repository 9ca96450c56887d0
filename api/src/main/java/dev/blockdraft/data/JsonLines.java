package dev.blockdraft.data;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.function.Function;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/**
 * Reads a JSON Lines file one object at a time, so large corpora are never held whole in memory.
 * Every problem is reported as {@code file:line: problem}.
 */
final class JsonLines {

    private JsonLines() {}

    /** One parsed line with the position it came from, for error messages. */
    record Line(Path file, int number, JsonObject object) {

        String where() {
            return file + ":" + number;
        }

        DataException error(String problem) {
            return new DataException(where() + ": " + problem);
        }

        String requiredString(String field) {
            JsonElement value = object.get(field);
            if (value == null || value.isJsonNull()) {
                throw error("missing field \"" + field + "\" (expected a string)");
            }
            if (!(value instanceof JsonPrimitive p) || !p.isString()) {
                throw error("field \"" + field + "\" must be a string, found " + describe(value));
            }
            return value.getAsString();
        }

        /** The field's string value, or null when absent or JSON null. */
        String optionalString(String field) {
            JsonElement value = object.get(field);
            if (value == null || value.isJsonNull()) {
                return null;
            }
            return requiredString(field);
        }

        List<String> requiredStringList(String field) {
            JsonElement value = object.get(field);
            if (value == null || value.isJsonNull()) {
                throw error("missing field \"" + field + "\" (expected an array of strings)");
            }
            if (!(value instanceof JsonArray array)) {
                throw error("field \"" + field + "\" must be an array of strings, found " + describe(value));
            }
            List<String> strings = new ArrayList<>(array.size());
            for (int i = 0; i < array.size(); i++) {
                JsonElement item = array.get(i);
                if (!(item instanceof JsonPrimitive p) || !p.isString()) {
                    throw error("field \"" + field + "\"[" + i + "] must be a string, found " + describe(item));
                }
                strings.add(item.getAsString());
            }
            return List.copyOf(strings);
        }

        boolean has(String field) {
            return object.has(field) && !object.get(field).isJsonNull();
        }
    }

    static String describe(JsonElement value) {
        if (value.isJsonArray()) {
            return "an array";
        }
        if (value.isJsonObject()) {
            return "an object";
        }
        if (value.isJsonNull()) {
            return "null";
        }
        JsonPrimitive p = value.getAsJsonPrimitive();
        if (p.isNumber()) {
            return "the number " + p.getAsString();
        }
        if (p.isBoolean()) {
            return "the boolean " + p.getAsString();
        }
        return "a string";
    }

    /** Streams the file's records mapped by {@code parse}; close the stream to close the file. */
    static <T> Stream<T> stream(Path file, Function<Line, T> parse) {
        StrictUtf8Lines reader;
        try {
            reader = new StrictUtf8Lines(file);
        } catch (NoSuchFileException e) {
            throw new DataException(file + ": file not found");
        } catch (IOException e) {
            throw new DataException(file + ": cannot open (" + e.getMessage() + ")", e);
        }
        Iterator<T> iterator = new Iterator<>() {
            private int lineNumber;
            private DataException unreadable; // a line that cannot be decoded fails when it is reached, not before
            private String next = advance();

            private String advance() {
                try {
                    String line = reader.readLine(lineNumber + 1);
                    if (line != null) {
                        lineNumber++;
                    }
                    return line;
                } catch (DataException e) {
                    lineNumber++;
                    unreadable = e;
                    return "";
                } catch (IOException e) {
                    throw new DataException(file + ":" + (lineNumber + 1) + ": cannot read (" + e.getMessage() + ")", e);
                }
            }

            @Override
            public boolean hasNext() {
                return next != null;
            }

            @Override
            public T next() {
                if (next == null) {
                    throw new NoSuchElementException();
                }
                if (unreadable != null) {
                    throw unreadable;
                }
                String text = next;
                int number = lineNumber;
                next = advance();
                return parse.apply(new Line(file, number, parseObject(file, number, text)));
            }
        };
        return StreamSupport.stream(Spliterators.spliteratorUnknownSize(iterator, Spliterator.ORDERED), false)
                .onClose(() -> {
                    try {
                        reader.close();
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                });
    }

    /**
     * Lines of a file decoded one at a time with a strict UTF-8 decoder, so that bytes which are
     * not UTF-8 are reported at the line that holds them (a {@code BufferedReader} decodes ahead in
     * 8 kB chunks and replaces or reports them at an earlier line).
     */
    private static final class StrictUtf8Lines implements java.io.Closeable {
        private final Path file;
        private final java.io.InputStream in;
        private final java.nio.charset.CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
                .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT);
        private byte[] buffer = new byte[1 << 12];

        StrictUtf8Lines(Path file) throws IOException {
            this.file = file;
            this.in = new java.io.BufferedInputStream(Files.newInputStream(file), 1 << 16);
        }

        /** The next line without its terminator (\n or \r\n), or null at the end. */
        String readLine(int number) throws IOException {
            int n = 0, b;
            while ((b = in.read()) >= 0 && b != '\n') {
                if (n == buffer.length) {
                    buffer = java.util.Arrays.copyOf(buffer, n * 2);
                }
                buffer[n++] = (byte) b;
            }
            if (b < 0 && n == 0) {
                return null;
            }
            if (n > 0 && buffer[n - 1] == '\r') {
                n--;
            }
            try {
                return decoder.decode(java.nio.ByteBuffer.wrap(buffer, 0, n)).toString();
            } catch (java.nio.charset.CharacterCodingException e) {
                throw new DataException(file + ":" + number + ": not valid UTF-8 text; save the file as UTF-8");
            }
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }

    private static JsonObject parseObject(Path file, int number, String text) {
        if (text.isBlank()) {
            throw new DataException(file + ":" + number + ": empty line (every line must hold one JSON object)");
        }
        JsonElement element;
        try {
            element = JsonParser.parseString(text);
        } catch (JsonParseException e) {
            String cause = e.getCause() != null ? e.getCause().getMessage() : e.getMessage();
            throw new DataException(file + ":" + number + ": malformed JSON (" + firstLine(cause) + ")");
        }
        if (!element.isJsonObject()) {
            throw new DataException(file + ":" + number + ": expected a JSON object, found " + describe(element));
        }
        return element.getAsJsonObject();
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "unparseable";
        }
        int newline = message.indexOf('\n');
        return newline < 0 ? message : message.substring(0, newline);
    }
}
