package dev.blockdraft.data;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.CodeSource;

/**
 * The blockdraft checkout the library runs from: where {@code datasets/targets/default} (the embedded default
 * target) and {@code runs/} are, and beside which {@code ../shared/datasets} is looked for.
 *
 * <p>First match wins: the system property {@code blockdraft.home}; the working directory when it holds the
 * embedded target; the checkout the blockdraft classes were loaded from (a jar under {@code kernel-ext/target/},
 * {@code api/target/classes}, …: its nearest parent holding the embedded target); else the working directory.
 * The third rule is what lets a stock Java kernel, started in a notebook's own folder without system
 * properties, find the embedded target.
 */
public final class ProjectHome {

    /** Where the embedded default target lives, relative to the home. */
    public static final String DEFAULT_TARGET = "datasets/targets/default";

    private static final int MAX_LEVELS_ABOVE_CODE = 6;

    private ProjectHome() {
    }

    /** The project home, by the rules above. */
    public static Path resolve() {
        String property = System.getProperty(DataFolder.HOME_PROPERTY);
        if (property != null && !property.isBlank()) {
            return Path.of(property).toAbsolutePath().normalize();
        }
        Path workingDirectory = Path.of("").toAbsolutePath();
        if (holdsDefaultTarget(workingDirectory)) {
            return workingDirectory;
        }
        Path code = codeLocation();
        return code == null ? workingDirectory : checkoutAbove(code).orElse(workingDirectory);
    }

    /** The nearest folder at or above {@code start} (at most six levels up) holding the embedded target. */
    static java.util.Optional<Path> checkoutAbove(Path start) {
        Path dir = Files.isDirectory(start) ? start : start.getParent();
        for (int level = 0; dir != null && level <= MAX_LEVELS_ABOVE_CODE; level++, dir = dir.getParent()) {
            if (holdsDefaultTarget(dir)) {
                return java.util.Optional.of(dir);
            }
        }
        return java.util.Optional.empty();
    }

    private static boolean holdsDefaultTarget(Path dir) {
        return Files.isRegularFile(dir.resolve(DEFAULT_TARGET).resolve("config.json"));
    }

    private static Path codeLocation() {
        CodeSource source = ProjectHome.class.getProtectionDomain().getCodeSource();
        if (source == null || source.getLocation() == null) {
            return null;
        }
        try {
            return Path.of(source.getLocation().toURI()).toAbsolutePath().normalize();
        } catch (URISyntaxException | IllegalArgumentException notAFile) {
            return null;
        }
    }
}
