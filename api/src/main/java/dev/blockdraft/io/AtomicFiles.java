package dev.blockdraft.io;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Writes that never leave a half-written file or folder in place of a good one: everything is
 * written beside the target under a temporary name, synced to disk, then renamed over it.
 *
 * <p>A folder written here ends with blockdraft's marker file ({@link OutputFolder#MARKER}),
 * written last: a temporary {@code .NAME.new-*} folder holding it is complete. Only an absent or
 * empty folder, or one that holds the marker, is ever replaced: someone else's files never are.
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

    /**
     * Runs between the two renames of {@link #writeFolder} (the old folder moved aside, the new one
     * not yet in place). Tests set it to simulate a kill at that instant; null otherwise.
     */
    private static volatile Runnable betweenRenames;

    /** Sets (or with null clears) the hook run between the two renames: a fault-injection seam for tests. */
    public static void setBetweenRenamesHook(Runnable hook) {
        betweenRenames = hook;
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
                try (FileOutputStream out = new FileOutputStream(tmp.toFile())) {
                    content.writeTo(out);
                    out.flush();
                    out.getFD().sync();
                }
                move(tmp, target);
                syncDirectory(dir);
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("writing " + target + ": " + e.getMessage(), e);
        }
    }

    /**
     * Writes a folder (a checkpoint) atomically: the content goes into a fresh sibling folder
     * {@code .NAME.new-*}, the marker last, everything synced; the old folder (if any) is renamed
     * aside to {@code .NAME.old-*}, the new one renamed into place, then the old one deleted. A
     * failure this method sees (a full disk) puts the old folder back; a kill leaves the pieces
     * for {@link #recover} to put together at the next start.
     *
     * @throws BadInputException if {@code target} is a file, or a non-empty folder blockdraft did not make
     */
    public static void writeFolder(Path target, FolderContent content) {
        Path abs = target.toAbsolutePath();
        Path parent = abs.getParent();
        String name = abs.getFileName().toString();
        try {
            Files.createDirectories(parent);
            String marker = OutputFolder.requireReplaceable(abs);
            Path fresh = Files.createTempDirectory(parent, "." + name + ".new-");
            Path old = null;
            try {
                content.writeInto(fresh);
                Files.writeString(fresh.resolve(OutputFolder.MARKER), marker);
                syncTree(fresh);
                if (Files.exists(abs)) {
                    old = parent.resolve("." + name + ".old-" + System.nanoTime());
                    move(abs, old);
                }
                Runnable hook = betweenRenames;
                if (hook != null) {
                    hook.run();
                }
                move(fresh, abs);
                syncDirectory(parent);
            } catch (IOException | RuntimeException e) {
                // A failure seen here (disk full, bad content): the old folder goes back, the new one away.
                if (old != null && !Files.exists(abs)) {
                    move(old, abs);
                    old = null;
                }
                if (Files.exists(fresh)) {
                    deleteRecursively(fresh);
                }
                throw e;
            }
            if (old != null) {
                deleteRecursively(old);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("writing " + target + ": " + e.getMessage(), e);
        }
    }

    /**
     * Puts an interrupted {@link #writeFolder} of {@code target} back together and removes its
     * leftovers: the newest complete {@code .NAME.new-*} folder (one holding the marker) wins over
     * {@code target}, which wins over {@code .NAME.old-*}; with no {@code target}, the newest
     * {@code .NAME.old-*} is renamed back. Call it while holding the folder's lock.
     *
     * @return the leftover folders removed or renamed into place
     */
    public static List<Path> recover(Path target) {
        Path abs = target.toAbsolutePath();
        Path parent = abs.getParent();
        String name = abs.getFileName().toString();
        List<Path> fresh = new ArrayList<>();
        List<Path> old = new ArrayList<>();
        if (parent == null || !Files.isDirectory(parent)) {
            return List.of();
        }
        try (Stream<Path> entries = Files.list(parent)) {
            for (Path p : entries.toList()) {
                String n = p.getFileName().toString();
                if (n.startsWith("." + name + ".new-") && Files.isDirectory(p)) {
                    fresh.add(p);
                } else if (n.startsWith("." + name + ".old-") && Files.isDirectory(p)) {
                    old.add(p);
                }
            }
            List<Path> touched = new ArrayList<>(fresh);
            touched.addAll(old);
            Path newestComplete = fresh.stream().filter(p -> Files.isRegularFile(p.resolve(OutputFolder.MARKER)))
                    .max(Comparator.comparing(AtomicFiles::markerTime)).orElse(null);
            if (newestComplete != null && Files.exists(abs)
                    && markerTime(newestComplete).compareTo(markerTime(abs)) <= 0) {
                newestComplete = null; // a stale leftover: the folder in place was written after it
            }
            if (newestComplete != null) {
                // written in full (the marker comes last), but killed before or between the renames
                if (Files.exists(abs)) {
                    Path aside = parent.resolve("." + name + ".old-" + System.nanoTime());
                    move(abs, aside);
                    old.add(aside);
                }
                move(newestComplete, abs);
                fresh.remove(newestComplete);
            } else if (!Files.exists(abs) && !old.isEmpty()) {
                Path newestOld = old.stream().max(Comparator.comparing(AtomicFiles::markerTime)).orElseThrow();
                move(newestOld, abs);
                old.remove(newestOld);
            }
            for (Path p : fresh) {
                deleteRecursively(p);
            }
            for (Path p : old) {
                deleteRecursively(p);
            }
            syncDirectory(parent);
            return touched;
        } catch (IOException e) {
            throw new UncheckedIOException("recovering " + target + ": " + e.getMessage(), e);
        }
    }

    private static FileTime markerTime(Path folder) {
        try {
            Path marker = folder.resolve(OutputFolder.MARKER);
            return Files.getLastModifiedTime(Files.exists(marker) ? marker : folder);
        } catch (IOException e) {
            return FileTime.fromMillis(0);
        }
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** Forces every file and folder under {@code root} to disk, so a rename never exposes unwritten data. */
    static void syncTree(Path root) throws IOException {
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
                    ch.force(true);
                }
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
                syncDirectory(dir);
                return FileVisitResult.CONTINUE;
            }
        });
    }

    /** Syncs a folder's entries (the renames in it); a no-op where the platform cannot open folders. */
    static void syncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            // Windows cannot open a directory as a channel; its renames are durable without it
        }
    }

    public static void deleteRecursively(Path root) throws IOException {
        if (!Files.exists(root, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
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
