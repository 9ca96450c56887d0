package dev.blockdraft.io;

import ai.djl.Device;
import com.google.gson.GsonBuilder;
import dev.blockdraft.nn.Backend;
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
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where a result came from: what made it, with which settings and seed, from which data (by
 * SHA-256), on which device and {@link Backend} (eager or fused ops, and which fused ops were kept
 * eager), code version and time. Saved as {@code provenance.json} beside every checkpoint and result.
 */
public record Provenance(String kind, String createdAt, String gitCommit, String javaVersion, String os,
        String engine, String device, String backend, long seed, Map<String, String> settings,
        Map<String, String> dataSha256, Map<String, String> parents) {

    public static final String FILE = "provenance.json";
    private static final Pattern DEVICE_NAME = Pattern.compile("([a-z]+)\\((\\d*)\\)");

    /** What the model run on {@code backend} (its device and ops) made. */
    public static Provenance capture(String kind, Backend backend, long seed, Map<String, String> settings,
            Map<String, Path> dataFiles, Map<String, String> parents) {
        return capture(kind, backend.device().toString(), backend.toString(), seed, settings, dataFiles, parents);
    }

    /**
     * As {@link #capture(String, Backend, long, Map, Map, Map)} with the backend models on {@code device}
     * (DJL's name, e.g. {@code gpu(0)}) get under the current settings ({@link Backend#forDevice}); pass
     * the model's own backend where one is at hand.
     */
    public static Provenance capture(String kind, String device, long seed, Map<String, String> settings,
            Map<String, Path> dataFiles, Map<String, String> parents) {
        return capture(kind, device, defaultBackend(device), seed, settings, dataFiles, parents);
    }

    private static Provenance capture(String kind, String device, String backend, long seed, Map<String, String> settings,
            Map<String, Path> dataFiles, Map<String, String> parents) {
        Map<String, String> hashes = new LinkedHashMap<>();
        dataFiles.forEach((name, path) -> hashes.put(name, sha256(path)));
        return new Provenance(kind, Instant.now().toString(), currentGitCommit(), System.getProperty("java.version"),
                System.getProperty("os.name") + " " + System.getProperty("os.arch"), engineVersion(), device, backend,
                seed, new LinkedHashMap<>(settings), hashes, new LinkedHashMap<>(parents));
    }

    /** {@link Backend#forDevice} of a device named as DJL's {@code Device.toString} names it; "unknown" otherwise. */
    static String defaultBackend(String device) {
        Matcher m = DEVICE_NAME.matcher(device);
        if (!m.matches()) {
            return "unknown";
        }
        return Backend.forDevice(Device.of(m.group(1), m.group(2).isEmpty() ? -1 : Integer.parseInt(m.group(2)))).toString();
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
