package dev.blockdraft.io;

import com.google.gson.GsonBuilder;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Where a result came from: what made it, with which settings and seed, from which data (by
 * SHA-256), on which device, code version and time. Saved as {@code provenance.json} beside
 * every checkpoint and result.
 */
public record Provenance(String kind, String createdAt, String gitCommit, String javaVersion, String os,
        String engine, String device, long seed, Map<String, String> settings, Map<String, String> dataSha256,
        Map<String, String> parents) {

    public static final String FILE = "provenance.json";

    public static Provenance capture(String kind, String device, long seed, Map<String, String> settings,
            Map<String, Path> dataFiles, Map<String, String> parents) {
        Map<String, String> hashes = new LinkedHashMap<>();
        dataFiles.forEach((name, path) -> hashes.put(name, sha256(path)));
        return new Provenance(kind, Instant.now().toString(), currentGitCommit(), System.getProperty("java.version"),
                System.getProperty("os.name") + " " + System.getProperty("os.arch"), engineVersion(), device, seed,
                new LinkedHashMap<>(settings), hashes, new LinkedHashMap<>(parents));
    }

    public String toJson() {
        return new GsonBuilder().setPrettyPrinting().create().toJson(this);
    }

    public static String sha256(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            int n;
            while ((n = in.read(buf)) > 0) {
                md.update(buf, 0, n);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (IOException e) {
            throw BadInputException.of(file, "cannot read for hashing: " + e.getMessage(), e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static String engineVersion() {
        try {
            return "DJL " + ai.djl.engine.Engine.getDjlVersion() + " / PyTorch "
                    + ai.djl.engine.Engine.getInstance().getVersion();
        } catch (RuntimeException e) {
            return "unknown";
        }
    }

    /** The project's git commit, when run from a checkout (blockdraft.home or the working directory). */
    static String currentGitCommit() {
        String home = System.getProperty("blockdraft.home", ".");
        try {
            Process p = new ProcessBuilder("git", "-C", Paths.get(home).toString(), "rev-parse", "--short", "HEAD")
                    .redirectErrorStream(true).start();
            if (!p.waitFor(5, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return "unknown";
            }
            String out = new String(p.getInputStream().readAllBytes()).trim();
            return p.exitValue() == 0 ? out : "unknown";
        } catch (IOException e) {
            return "unknown";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "unknown";
        }
    }
}
