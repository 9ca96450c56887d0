package dev.blockdraft.io;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A folder blockdraft writes its output into, claimed before the first byte is written: it is
 * blockdraft's only if blockdraft made it (the {@link #MARKER} file inside), anything else there
 * is refused unless replaced explicitly ({@link Mode#OVERWRITE}), a data folder never is, and the
 * claim holds an exclusive lock for as long as the process writes, so a second writer fails at once.
 *
 * <pre>{@code
 * try (OutputFolder out = OutputFolder.claim(dir, "target", "--out", Mode.KEEP, List.of())) {
 *     ... train, checkpointing into dir ...
 * }
 * }</pre>
 */
public final class OutputFolder implements AutoCloseable {
    /** The marker file: a small JSON naming what made the folder ({@code kind}). */
    public static final String MARKER = ".blockdraft";
    /** The kind written by {@link AtomicFiles#writeFolder} into a folder nobody claimed: matches any kind. */
    public static final String ANY_KIND = "any";

    /** What to do with what is already at the output path. */
    public enum Mode {
        /** Keep it: resume blockdraft's own folder of the same kind; refuse anything else. */
        KEEP,
        /** Start over in blockdraft's own folder of the same kind (its content is deleted); refuse anything else. */
        RESTART,
        /** Replace whatever is there (a file, someone's folder), except a data folder. */
        OVERWRITE;

        public static Mode of(boolean overwrite, boolean restart) {
            return overwrite ? OVERWRITE : restart ? RESTART : KEEP;
        }
    }

    private final Path folder;
    private final Lock lock;
    private boolean closed;

    private OutputFolder(Path folder, Lock lock) {
        this.folder = folder;
        this.lock = lock;
    }

    public Path path() {
        return folder;
    }

    /**
     * Locks {@code folder}, puts an interrupted atomic write back together, checks what is there
     * and makes it blockdraft's folder of {@code kind} (creating it when absent).
     *
     * @param flag the option that named the folder, for messages ({@code --out})
     * @param protectedFolders folders the output may be neither inside nor above (the data folder)
     * @throws BadInputException naming the folder, what is there and how to proceed
     */
    public static OutputFolder claim(Path folder, String kind, String flag, Mode mode, List<Path> protectedFolders) {
        Path abs = folder.toAbsolutePath().normalize();
        refuseProtected(abs, flag, protectedFolders);
        try {
            check(abs, kind, flag, mode); // refusals first, so a refused path gets not even a lock file beside it
        } catch (IOException e) {
            throw BadInputException.of(abs, "cannot read the output folder (" + flag + "): " + e.getMessage(), e);
        }
        Lock lock = Lock.acquire(abs, flag);
        try {
            AtomicFiles.recover(abs);
            check(abs, kind, flag, mode);
            prepare(abs, kind, mode);
            return new OutputFolder(abs, lock);
        } catch (IOException e) {
            lock.close();
            throw BadInputException.of(abs, "cannot prepare the output folder (" + flag + "): " + e.getMessage(), e);
        } catch (RuntimeException e) {
            lock.close();
            throw e;
        }
    }

    /** Refuses what may not be written, without writing anything. */
    private static void check(Path abs, String kind, String flag, Mode mode) throws IOException {
        String replace = mode == Mode.OVERWRITE ? "" : "; choose another " + flag + ", or pass --overwrite to replace it";
        if (Files.exists(abs) && !Files.isDirectory(abs)) {
            if (mode != Mode.OVERWRITE) {
                throw new BadInputException(flag + " " + abs + ": is an existing file, not a folder" + replace);
            }
        } else if (Files.isDirectory(abs)) {
            if (!Files.isWritable(abs)) {
                throw new BadInputException(flag + " " + abs + ": the folder is not writable");
            }
            String found = markerKind(abs);
            if (found == null && !isEmpty(abs) && !isLegacyBlockdraftFolder(abs)) {
                if (mode != Mode.OVERWRITE) {
                    throw new BadInputException(flag + " " + abs + ": exists, is not empty and was not made by blockdraft"
                            + " (no " + MARKER + " file; holds " + sample(abs) + ")" + replace);
                }
            } else if (found != null && !found.equals(kind) && !found.equals(ANY_KIND) && mode != Mode.OVERWRITE) {
                throw new BadInputException(flag + " " + abs + ": holds blockdraft's " + found + " output, not a " + kind
                        + replace);
            }
        } else {
            Path parent = nearestExisting(abs.getParent());
            if (parent != null && !Files.isWritable(parent)) {
                throw new BadInputException(flag + " " + abs + ": cannot be created, " + parent + " is not writable");
            }
        }
    }

    /** Makes the checked path blockdraft's folder of {@code kind}: replaced or cleared as {@code mode} says. */
    private static void prepare(Path abs, String kind, Mode mode) throws IOException {
        if (Files.exists(abs) && !Files.isDirectory(abs)) {
            Files.delete(abs); // only OVERWRITE passes the check with a file here
        }
        if (Files.isDirectory(abs)) {
            if (mode != Mode.KEEP) {
                clear(abs);
            }
        } else {
            Files.createDirectories(abs);
        }
        Files.writeString(abs.resolve(MARKER), markerJson(kind));
        AtomicFiles.syncDirectory(abs);
    }

    /**
     * The marker text a folder written by {@link AtomicFiles#writeFolder} should carry, after
     * checking that it may be replaced: absent, empty, or blockdraft's.
     */
    static String requireReplaceable(Path abs) throws IOException {
        if (!Files.exists(abs)) {
            return markerJson(ANY_KIND);
        }
        if (!Files.isDirectory(abs)) {
            throw BadInputException.of(abs, "is an existing file; blockdraft replaces only folders it made"
                    + " (choose another folder, or remove it)");
        }
        if (looksLikeDataFolder(abs)) {
            throw BadInputException.of(abs, "is a data folder (it holds corpora/ or benchmarks/); blockdraft never"
                    + " writes into one; choose another folder");
        }
        Path marker = abs.resolve(MARKER);
        if (Files.isRegularFile(marker)) {
            return Files.readString(marker);
        }
        if (isEmpty(abs) || isLegacyBlockdraftFolder(abs)) {
            return markerJson(ANY_KIND);
        }
        throw BadInputException.of(abs, "exists, is not empty and was not made by blockdraft (no " + MARKER
                + " file; holds " + sample(abs) + "); choose another folder, or remove it");
    }

    /** The kind recorded in {@code folder}'s marker, or null when it has none. */
    public static String markerKind(Path folder) {
        Path marker = folder.resolve(MARKER);
        if (!Files.isRegularFile(marker)) {
            return null;
        }
        try {
            JsonObject o = JsonParser.parseString(Files.readString(marker)).getAsJsonObject();
            return o.has("kind") ? o.get("kind").getAsString() : ANY_KIND;
        } catch (IOException | RuntimeException e) {
            return ANY_KIND; // a damaged marker still says blockdraft made the folder
        }
    }

    /** A data folder (corpora/ or benchmarks/ inside): never written into or replaced. */
    public static boolean looksLikeDataFolder(Path folder) {
        return Files.isDirectory(folder.resolve("corpora")) || Files.isDirectory(folder.resolve("benchmarks"));
    }

    private static void refuseProtected(Path abs, String flag, List<Path> protectedFolders) {
        if (looksLikeDataFolder(abs)) {
            throw new BadInputException(flag + " " + abs + ": is a data folder (it holds corpora/ or benchmarks/);"
                    + " blockdraft never writes into one; choose another " + flag);
        }
        for (Path p : protectedFolders) {
            Path q = p.toAbsolutePath().normalize();
            if (abs.startsWith(q) || q.startsWith(abs)) {
                throw new BadInputException(flag + " " + abs + ": is " + (abs.equals(q) ? "" : abs.startsWith(q)
                        ? "inside " : "a folder above ") + "the data folder " + q
                        + "; blockdraft never writes into it; choose another " + flag);
            }
        }
        Path cwd = Path.of("").toAbsolutePath().normalize();
        Path home = Path.of(System.getProperty("user.home", "/")).toAbsolutePath().normalize();
        if (abs.getParent() == null || cwd.startsWith(abs) || home.startsWith(abs)) {
            throw new BadInputException(flag + " " + abs + ": is the current folder, the home folder or one above them;"
                    + " choose a folder of its own for " + flag);
        }
    }

    /**
     * Folders written before the marker existed: blockdraft's provenance.json is inside (models,
     * drafters), or regenerated data's manifest beside its token file.
     */
    private static boolean isLegacyBlockdraftFolder(Path folder) {
        return Files.isRegularFile(folder.resolve(Provenance.FILE))
                || Files.isRegularFile(folder.resolve("manifest.json")) && Files.isRegularFile(folder.resolve("train.i32"));
    }

    private static boolean isEmpty(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.findAny().isEmpty();
        }
    }

    private static String sample(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            List<String> names = s.map(p -> p.getFileName().toString()).sorted().toList();
            String shown = String.join(", ", names.subList(0, Math.min(3, names.size())));
            return names.size() + (names.size() == 1 ? " entry: " : " entries: ") + shown
                    + (names.size() > 3 ? ", …" : "");
        }
    }

    private static void clear(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.toList()) {
                AtomicFiles.deleteRecursively(p);
            }
        }
    }

    private static Path nearestExisting(Path p) {
        while (p != null && !Files.exists(p)) {
            p = p.getParent();
        }
        return p;
    }

    static String markerJson(String kind) {
        JsonObject o = new JsonObject();
        o.addProperty("made_by", "blockdraft");
        o.addProperty("kind", kind);
        return o + "\n";
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            lock.close();
        }
    }

    /**
     * An exclusive, advisory lock on an output folder, held in {@code .NAME.lock} beside it (the
     * folder itself is replaced by every checkpoint) with the holder's pid inside. Reentrant
     * within one JVM: a command and the trainer it calls may both take it.
     */
    public static final class Lock implements AutoCloseable {
        private static final Map<Path, Lock> HELD = new HashMap<>();
        private final Path key;
        private final FileChannel channel;
        private final FileLock fileLock;
        private int holds = 1;

        private Lock(Path key, FileChannel channel, FileLock fileLock) {
            this.key = key;
            this.channel = channel;
            this.fileLock = fileLock;
        }

        public static Path lockFile(Path folder) {
            Path abs = folder.toAbsolutePath().normalize();
            return abs.resolveSibling("." + abs.getFileName() + ".lock");
        }

        /** Takes the lock or fails at once naming the process that holds it. */
        public static Lock acquire(Path folder, String flag) {
            Path key = folder.toAbsolutePath().normalize();
            synchronized (HELD) {
                Lock held = HELD.get(key);
                if (held != null) {
                    held.holds++;
                    return held;
                }
                Path file = lockFile(key);
                try {
                    Files.createDirectories(file.getParent());
                    FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                            StandardOpenOption.WRITE);
                    FileLock fl;
                    try {
                        fl = ch.tryLock();
                    } catch (java.nio.channels.OverlappingFileLockException e) {
                        fl = null; // this JVM holds it under another path to the same folder (a link)
                    }
                    if (fl == null) {
                        ByteBuffer buf = ByteBuffer.allocate(64);
                        ch.read(buf, 0);
                        ch.close();
                        String pid = new String(buf.array(), 0, buf.position(), StandardCharsets.UTF_8).trim();
                        throw new BadInputException(flag + " " + key + ": is being written by "
                                + (pid.isEmpty() ? "another process" : "process " + pid) + " (lock " + file
                                + "); wait for it to finish, or choose another " + flag);
                    }
                    ch.truncate(0);
                    ch.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.UTF_8)), 0);
                    ch.force(false);
                    Lock lock = new Lock(key, ch, fl);
                    HELD.put(key, lock);
                    return lock;
                } catch (IOException e) {
                    throw new BadInputException(flag + " " + key + ": cannot create its lock file " + file + " ("
                            + e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage())
                            + "); is the folder above it writable?", e);
                }
            }
        }

        @Override
        public void close() {
            synchronized (HELD) {
                if (--holds > 0) {
                    return;
                }
                HELD.remove(key);
                try {
                    fileLock.release();
                    channel.close();
                } catch (IOException e) {
                    // closing the channel releases the lock in any case
                }
            }
        }
    }
}
