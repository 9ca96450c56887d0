package dev.blockdraft.data;

import java.nio.file.Files;
import java.nio.file.Path;

/** Finds the real shared data for tests: walks up from the working directory to a folder holding shared/datasets. */
public final class TestDataFolder {

    private TestDataFolder() {}

    public static DataFolder find() {
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null) {
            Path candidate = dir.resolve("shared/datasets");
            if (Files.isDirectory(candidate.resolve("corpora"))) {
                return DataFolder.resolve(candidate);
            }
            dir = dir.getParent();
        }
        throw new IllegalStateException("no shared/datasets above " + Path.of("").toAbsolutePath()
                + "; the real-data tests need the shared datasets folder");
    }
}
