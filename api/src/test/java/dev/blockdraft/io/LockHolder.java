package dev.blockdraft.io;

import java.nio.file.Path;

/**
 * A second process for {@code OutputFolderTest}: takes the output lock on {@code args[0]}, says
 * "locked" and holds it until its stdin closes.
 */
public final class LockHolder {
    private LockHolder() {}

    public static void main(String[] args) throws Exception {
        try (OutputFolder.Lock lock = OutputFolder.Lock.acquire(Path.of(args[0]), "--out")) {
            System.out.println("locked");
            System.out.flush();
            while (System.in.read() >= 0) {
                // hold until the parent closes our stdin (or dies)
            }
        }
    }
}
