package dev.blockdraft.data;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * The folder holding {@code corpora/} and {@code benchmarks/}. The data are never part of the
 * repository, so they are found at run time.
 */
public record DataFolder(Path root) {

    /** Environment variable naming the data folder. */
    public static final String ENV_VARIABLE = "BLOCKDRAFT_DATA";
    /** System property naming the project home; the current directory when unset. */
    public static final String HOME_PROPERTY = "blockdraft.home";

    public DataFolder {
        Objects.requireNonNull(root, "root");
        root = root.toAbsolutePath().normalize();
    }

    /**
     * Finds the data folder, first match wins: the explicit folder ({@code --data DIR}), then
     * {@code $BLOCKDRAFT_DATA}, then {@code <home>/../shared/datasets}, {@code <home>/datasets}, and,
     * when home is a Maven module inside a parent project, the same two relative to the parent.
     * Home is {@link ProjectHome#resolve()}: the system property {@code blockdraft.home}, else the current
     * directory or the checkout the code runs from.
     */
    public static DataFolder resolve(Path explicitOrNull) {
        return resolve(explicitOrNull, System::getenv, ProjectHome.resolve());
    }

    /** {@link #resolve(Path)} with the environment and project home given, for tests. */
    public static DataFolder resolve(Path explicitOrNull, UnaryOperator<String> environment, Path projectHome) {
        if (explicitOrNull != null) {
            if (!Files.isDirectory(explicitOrNull)) {
                throw new DataException("data folder " + explicitOrNull.toAbsolutePath() + " (given with --data) does not exist");
            }
            if (!looksLikeData(explicitOrNull)) {
                throw new DataException("data folder " + explicitOrNull.toAbsolutePath()
                        + " (given with --data) has neither corpora/ nor benchmarks/");
            }
            return new DataFolder(explicitOrNull);
        }
        List<String> looked = new ArrayList<>();
        for (Candidate candidate : candidates(environment, projectHome)) {
            looked.add(candidate.path().toAbsolutePath().normalize() + " (" + candidate.origin() + ")");
            if (looksLikeData(candidate.path())) {
                return new DataFolder(candidate.path());
            }
        }
        throw new DataException("no data folder (one containing corpora/ or benchmarks/) found; looked in: "
                + String.join(", ", looked) + "; pass --data DIR or set $" + ENV_VARIABLE);
    }

    private record Candidate(Path path, String origin) {}

    private static List<Candidate> candidates(UnaryOperator<String> environment, Path projectHome) {
        List<Candidate> candidates = new ArrayList<>();
        String fromEnvironment = environment.apply(ENV_VARIABLE);
        if (fromEnvironment != null && !fromEnvironment.isBlank()) {
            candidates.add(new Candidate(Path.of(fromEnvironment), "$" + ENV_VARIABLE));
        }
        Path home = projectHome.toAbsolutePath().normalize();
        Set<Path> homes = new LinkedHashSet<>();
        homes.add(home);
        // Tests run inside a module folder (api/), whose parent is the project home.
        Path parent = home.getParent();
        if (parent != null && Files.isRegularFile(home.resolve("pom.xml")) && Files.isRegularFile(parent.resolve("pom.xml"))) {
            homes.add(parent);
        }
        for (Path h : homes) {
            candidates.add(new Candidate(h.resolve("../shared/datasets").normalize(), "project home " + h));
            candidates.add(new Candidate(h.resolve("datasets"), "project home " + h));
        }
        return candidates;
    }

    private static boolean looksLikeData(Path folder) {
        return Files.isDirectory(folder.resolve("corpora")) || Files.isDirectory(folder.resolve("benchmarks"));
    }

    /** The corpus file with this name; {@code .jsonl} is appended when missing. */
    public Path corpus(String name) {
        return root.resolve("corpora").resolve(name.endsWith(".jsonl") ? name : name + ".jsonl");
    }

    /** The prompt file of a benchmark: a built-in's in {@code benchmarks/}, a user set's own file. */
    public Path benchmark(Benchmark benchmark) {
        if (benchmark.file().isPresent()) {
            return benchmark.file().get();
        }
        return root.resolve("benchmarks").resolve(benchmark.fileName());
    }
}
