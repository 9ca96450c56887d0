package dev.blockdraft.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Output folders: nobody's files are replaced, a data folder never, a second writer fails at once, kills recover. */
class OutputFolderTest {
    @TempDir
    Path dir;

    @Test
    void anExistingFileIsRefusedNamingItAndKeptByteForByte() throws IOException {
        Path file = dir.resolve("notes.txt");
        Files.writeString(file, "my notes\n");
        Map<String, byte[]> before = snapshot(dir);
        BadInputException e = assertThrows(BadInputException.class, () -> claim(file, OutputFolder.Mode.KEEP));
        assertMessage(e, "--out " + file, "is an existing file", "--overwrite");
        assertSame(before, snapshot(dir));
        // the library path refuses it too: an atomic folder write never replaces a file
        e = assertThrows(BadInputException.class, () -> AtomicFiles.writeFolder(file, d -> Files.writeString(d.resolve("x"), "x")));
        assertMessage(e, file.toString(), "is an existing file");
        assertSame(before, snapshot(dir));
    }

    @Test
    void aForeignFolderIsRefusedAndReplacedOnlyWithOverwrite() throws IOException {
        Path theirs = dir.resolve("theirs");
        Files.createDirectories(theirs.resolve("sub"));
        Files.writeString(theirs.resolve("paper.tex"), "\\documentclass{article}");
        Files.write(theirs.resolve("sub/data.bin"), new byte[] {1, 2, 3});
        Map<String, byte[]> before = snapshot(dir);
        BadInputException e = assertThrows(BadInputException.class, () -> claim(theirs, OutputFolder.Mode.KEEP));
        assertMessage(e, "--out " + theirs, "not made by blockdraft", "2 entries: paper.tex, sub", "--overwrite");
        e = assertThrows(BadInputException.class, () -> claim(theirs, OutputFolder.Mode.RESTART));
        assertMessage(e, "not made by blockdraft");
        e = assertThrows(BadInputException.class, () -> AtomicFiles.writeFolder(theirs, d -> Files.writeString(d.resolve("x"), "x")));
        assertMessage(e, theirs.toString(), "not made by blockdraft");
        assertSame(before, snapshot(dir));

        try (OutputFolder out = claim(theirs, OutputFolder.Mode.OVERWRITE)) {
            assertEquals(List.of(OutputFolder.MARKER), names(theirs), "replaced explicitly: only the marker is left");
            assertEquals("target", OutputFolder.markerKind(theirs));
        }
    }

    @Test
    void blockdraftsOwnFolderIsReusedButNotOneOfAnotherKind() throws IOException {
        Path run = dir.resolve("run");
        try (OutputFolder out = claim(run, OutputFolder.Mode.KEEP)) {
            AtomicFiles.writeFolder(run, d -> Files.writeString(d.resolve("weights"), "w1"));
        }
        assertEquals("target", OutputFolder.markerKind(run), "the marker survives the atomic replace");
        try (OutputFolder out = claim(run, OutputFolder.Mode.KEEP)) {
            assertEquals("w1", Files.readString(run.resolve("weights")), "kept for resuming");
        }
        Map<String, byte[]> before = snapshot(dir);
        BadInputException e = assertThrows(BadInputException.class,
                () -> OutputFolder.claim(run, "drafter", "--out", OutputFolder.Mode.KEEP, List.of()));
        assertMessage(e, "holds blockdraft's target output, not a drafter", "--overwrite");
        assertSame(before, snapshot(dir));
        try (OutputFolder out = claim(run, OutputFolder.Mode.RESTART)) {
            assertFalse(Files.exists(run.resolve("weights")), "--restart starts over");
        }
    }

    @Test
    void aDataFolderIsNeverWrittenEvenWithOverwrite() throws IOException {
        Path data = dir.resolve("datasets");
        Files.createDirectories(data.resolve("corpora"));
        Files.writeString(data.resolve("corpora/gsm8k_train.jsonl"), "{\"question\": \"1+1?\"}\n");
        Files.createDirectories(data.resolve("benchmarks"));
        Map<String, byte[]> before = snapshot(dir);
        // the library path as well, even with a marker someone copied in
        Files.writeString(data.resolve(OutputFolder.MARKER), "{\"kind\": \"regenerated\"}");
        BadInputException refused = assertThrows(BadInputException.class,
                () -> AtomicFiles.writeFolder(data, d -> Files.writeString(d.resolve("manifest.json"), "{}")));
        assertMessage(refused, data.toString(), "is a data folder");
        Files.delete(data.resolve(OutputFolder.MARKER));
        for (OutputFolder.Mode mode : OutputFolder.Mode.values()) {
            BadInputException e = assertThrows(BadInputException.class, () -> claim(data, mode));
            assertMessage(e, "--out " + data, "is a data folder", "never writes into one");
            e = assertThrows(BadInputException.class, () -> OutputFolder.claim(data.resolve("corpora/regen"),
                    "regenerated", "--out", mode, List.of(data)));
            assertMessage(e, "is inside the data folder " + data);
            e = assertThrows(BadInputException.class, () -> OutputFolder.claim(dir, "regenerated", "--out", mode, List.of(data)));
            assertMessage(e, "is a folder above the data folder " + data);
        }
        assertSame(before, snapshot(dir));
    }

    @Test
    void aReadOnlyFolderFailsBeforeAnyWork() throws IOException {
        Path ro = dir.resolve("ro");
        Files.createDirectories(ro);
        assertTrue(ro.toFile().setWritable(false));
        try {
            if (!Files.isWritable(ro)) {
                BadInputException e = assertThrows(BadInputException.class, () -> claim(ro.resolve("tok"), OutputFolder.Mode.KEEP));
                assertMessage(e, "--out " + ro.resolve("tok"), "cannot be created", ro + " is not writable");
            }
            // as root permissions are not enforced, but a file system that refuses writes still is (/proc)
            Path proc = Path.of("/proc/blockdraft-out");
            if (Files.isDirectory(proc.getParent())) {
                BadInputException e = assertThrows(BadInputException.class, () -> claim(proc, OutputFolder.Mode.KEEP));
                assertMessage(e, "--out " + proc, "cannot");
            }
        } finally {
            ro.toFile().setWritable(true);
        }
    }

    @Test
    void aSecondProcessWritingTheSameFolderFailsAtOnceNamingTheHolder() throws Exception {
        Path out = dir.resolve("shared-out");
        Process other = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), LockHolder.class.getName(), out.toString())
                .redirectErrorStream(true).start();
        try {
            BufferedReader lines = new BufferedReader(new InputStreamReader(other.getInputStream(), StandardCharsets.UTF_8));
            assertEquals("locked", lines.readLine(), "the other writer holds the lock");
            long t0 = System.nanoTime();
            BadInputException e = assertThrows(BadInputException.class, () -> claim(out, OutputFolder.Mode.KEEP));
            assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(5), "fails at once, does not wait");
            assertMessage(e, "--out " + out, "is being written by process " + other.pid());
            assertFalse(Files.exists(out), "nothing written by the refused writer");
        } finally {
            other.getOutputStream().close();
            assertTrue(other.waitFor(30, TimeUnit.SECONDS));
        }
        try (OutputFolder claimed = claim(out, OutputFolder.Mode.KEEP)) {
            assertTrue(Files.isDirectory(out), "free again once the holder exits");
        }
    }

    @Test
    void leftoverTemporaryFoldersAreCleanedAtStart() throws IOException {
        Path run = dir.resolve("run");
        AtomicFiles.writeFolder(run, d -> Files.writeString(d.resolve("weights"), "good"));
        Path partial = Files.createDirectories(dir.resolve(".run.new-123")); // killed while writing: no marker
        Files.writeString(partial.resolve("weights"), "half");
        Path old = Files.createDirectories(dir.resolve(".run.old-456"));
        Files.writeString(old.resolve("weights"), "older");
        try (OutputFolder out = claim(run, OutputFolder.Mode.KEEP)) {
            assertEquals(List.of(".run.lock", "run"), names(dir));
            assertEquals("good", Files.readString(run.resolve("weights")));
        }
    }

    /** A kill between the two renames leaves no folder in place: the rerun takes the newest complete one. */
    @Test
    void aKillBetweenTheTwoRenamesRecoversTheNewestCompleteCheckpoint() throws IOException {
        Path run = dir.resolve("run");
        AtomicFiles.writeFolder(run, d -> Files.writeString(d.resolve("step"), "4"));
        AtomicFiles.setBetweenRenamesHook(() -> {
            throw new SimulatedKill();
        });
        try {
            assertThrows(SimulatedKill.class, () -> AtomicFiles.writeFolder(run, d -> Files.writeString(d.resolve("step"), "8")));
        } finally {
            AtomicFiles.setBetweenRenamesHook(null);
        }
        assertFalse(Files.exists(run), "killed between the renames: nothing at the target");
        assertEquals(2, names(dir).size(), "the old and the new folder are both left: " + names(dir));
        AtomicFiles.recover(run);
        assertEquals("8", Files.readString(run.resolve("step")), "the newest complete checkpoint");
        assertEquals(List.of("run"), names(dir));

        // killed before the new one was complete (no marker): the old one comes back
        Path fresh = Files.createDirectories(dir.resolve(".run.new-1"));
        Files.writeString(fresh.resolve("step"), "12");
        Files.move(run, dir.resolve(".run.old-2"));
        AtomicFiles.recover(run);
        assertEquals("8", Files.readString(run.resolve("step")));
        assertEquals(List.of("run"), names(dir));
    }

    /** Stands for a kill: an Error no cleanup code catches. */
    static final class SimulatedKill extends Error {
        private static final long serialVersionUID = 1L;
    }

    private OutputFolder claim(Path folder, OutputFolder.Mode mode) {
        return OutputFolder.claim(folder, "target", "--out", mode, List.of());
    }

    static void assertMessage(BadInputException e, String... parts) {
        for (String part : parts) {
            assertTrue(e.getMessage().contains(part), "'" + part + "' in: " + e.getMessage());
        }
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
    }

    private static List<String> names(Path folder) throws IOException {
        try (Stream<Path> s = Files.list(folder)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /** Every file under {@code root} with its bytes, to check that a refusal touched nothing. */
    static Map<String, byte[]> snapshot(Path root) throws IOException {
        Map<String, byte[]> files = new TreeMap<>();
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.toList()) {
                files.put(root.relativize(p).toString() + (Files.isDirectory(p) ? "/" : ""),
                        Files.isDirectory(p) ? new byte[0] : Files.readAllBytes(p));
            }
        }
        return files;
    }

    static void assertSame(Map<String, byte[]> before, Map<String, byte[]> after) {
        assertEquals(before.keySet(), after.keySet(), "the same files");
        for (String name : before.keySet()) {
            assertArrayEquals(before.get(name), after.get(name), "byte for byte: " + name);
        }
    }
}
