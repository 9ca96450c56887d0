package dev.blockdraft.io;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * Writes that never leave a half-written file or folder in place of a good one: everything is
 * written beside the target under a temporary name, then renamed over it.
 */
public final class AtomicFiles {
    private AtomicFiles() {}

    /** A writer of one file's content. */
    @FunctionalInterface
    public interface Content {
        void writeTo(OutputStream out) throws IOException;
    }

    /** A writer of a whole folder's content into an empty folder. */
    @FunctionalInterface
    public interface FolderContent {
        void writeInto(Path emptyFolder) throws IOException;
    }

    public static void writeString(Path target, String text) {
        write(target, out -> out.write(text.getBytes(StandardCharsets.UTF_8)));
    }

    public static void write(Path target, Content content) {
        Path dir = target.toAbsolutePath().getParent();
        try {
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, "." + target.getFileName() + ".", ".tmp");
            try {
                try (OutputStream out = Files.newOutputStream(tmp)) {
                    content.writeTo(out);
                }
                move(tmp, target);
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("writing " + target + ": " + e.getMessage(), e);
        }
    }

    /**
     * Writes a folder (a checkpoint) atomically: the content goes into a fresh sibling folder,
     * the old folder (if any) is renamed aside, the new one renamed into place, then the old one
     * deleted. A crash leaves either the old folder or the new one at {@code target} (or, in the
     * instant between the two renames, the old one under {@code .<name>.old-*}).
     */
    public static void writeFolder(Path target, FolderContent content) {
        Path abs = target.toAbsolutePath();
        Path parent = abs.getParent();
        String name = abs.getFileName().toString();
        try {
            Files.createDirectories(parent);
            Path fresh = Files.createTempDirectory(parent, "." + name + ".new-");
            Path old = null;
            try {
                content.writeInto(fresh);
                if (Files.exists(abs)) {
                    old = parent.resolve("." + name + ".old-" + System.nanoTime());
                    move(abs, old);
                }
                move(fresh, abs);
            } catch (IOException | RuntimeException e) {
                if (old != null && !Files.exists(abs)) {
                    move(old, abs);
                    old = null;
                }
                throw e;
            } finally {
                if (Files.exists(fresh)) {
                    deleteRecursively(fresh);
                }
                if (old != null) {
                    deleteRecursively(old);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("writing " + target + ": " + e.getMessage(), e);
        }
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    public static void deleteRecursively(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.delete(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
                Files.delete(dir);
                return FileVisitResult.CONTINUE;
            }
        });
    }
}
