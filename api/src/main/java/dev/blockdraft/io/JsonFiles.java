package dev.blockdraft.io;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;

/** Writes JSON files atomically, so a reader never sees half a file after a crash. */
public final class JsonFiles {

    /** Pretty, and without HTML escaping so tokens like {@code <|mask|>} stay readable. */
    public static final Gson GSON = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().serializeNulls().create();

    private JsonFiles() {}

    /** Writes the JSON to a temporary file beside {@code file}, then renames it over {@code file}. */
    public static void writeAtomically(Path file, JsonElement json) throws IOException {
        Path absolute = file.toAbsolutePath();
        Path dir = absolute.getParent();
        Files.createDirectories(dir);
        Path temp = Files.createTempFile(dir, "." + absolute.getFileName(), ".tmp");
        try {
            if (temp.getFileSystem().supportedFileAttributeViews().contains("posix")) {
                // temp files are created owner-only; the result should be readable like any written file
                Files.setPosixFilePermissions(temp, PosixFilePermissions.fromString("rw-r--r--"));
            }
            try (java.io.FileOutputStream stream = new java.io.FileOutputStream(temp.toFile());
                    Writer writer = new java.io.OutputStreamWriter(stream, StandardCharsets.UTF_8)) {
                GSON.toJson(json, writer);
                writer.write('\n');
                writer.flush();
                stream.getFD().sync(); // on disk before the rename makes it visible
            }
            Files.move(temp, absolute, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            AtomicFiles.syncDirectory(dir);
        } finally {
            Files.deleteIfExists(temp);
        }
    }

    /**
     * Reads a JSON object file, failing with one line that names the file: not found, unreadable,
     * or malformed/truncated JSON.
     */
    public static com.google.gson.JsonObject readObject(Path file) {
        try {
            return com.google.gson.JsonParser.parseString(java.nio.file.Files.readString(file)).getAsJsonObject();
        } catch (java.nio.file.NoSuchFileException e) {
            throw BadInputException.of(file, "file not found", e);
        } catch (IOException e) {
            throw BadInputException.of(file, "cannot read: " + e.getMessage(), e);
        } catch (com.google.gson.JsonParseException | IllegalStateException e) {
            throw BadInputException.of(file, "malformed or truncated JSON: " + e.getMessage(), e);
        }
    }
}
