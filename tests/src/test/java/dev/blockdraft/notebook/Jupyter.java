package dev.blockdraft.notebook;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.blockdraft.kernel.KernelInstaller;

import java.awt.image.BufferedImage;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A Jupyter installation for notebook tests: the blockdraft kernel installed into a temporary prefix,
 * Debian's python with nbclient/nbconvert, and (if present) headless Chromium. Processes run with
 * Jupyter's data and runtime folders inside the temporary folder.
 */
final class Jupyter {

    static final String PLOTLY_MIME = "application/vnd.plotly.v1+json";

    final Path work;
    final Path prefix;
    final String kernelName;
    final String python;
    final String chromium;

    private Jupyter(Path work, String kernelName, String python, String chromium) {
        this.work = work;
        this.prefix = work.resolve("prefix");
        this.kernelName = kernelName;
        this.python = python;
        this.chromium = chromium;
    }

    /** Finds python and chromium; installs nothing yet. Python is null without nbclient/nbconvert. */
    static Jupyter find(Path work, String kernelName) throws InterruptedException {
        return new Jupyter(work, kernelName, findPython().orElse(null), findOnPath("chromium").orElse(null));
    }

    /** Installs the kernel with the test JVM's classpath: api, kernel-ext and all their dependencies. */
    void installKernel() throws IOException {
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        KernelInstaller.install(KernelInstaller.plan(Optional.of(prefix), kernelName, classpath, Map.of()));
    }

    /** Copies a test resource into the work folder. */
    Path resource(String name) throws IOException {
        Path file = work.resolve(Path.of(name).getFileName().toString());
        if (!Files.exists(file)) {
            try (InputStream in = Jupyter.class.getResourceAsStream(name)) {
                if (in == null) {
                    throw new IOException("no test resource " + name);
                }
                Files.copy(in, file);
            }
        }
        return file;
    }

    /**
     * Executes {@code notebook} with {@code run_notebook.py} (recording display updates in the metadata)
     * into {@code executed}; the kernel starts in {@code workingDir} when given.
     */
    void execute(Path notebook, Path executed, Path workingDir, int cellTimeoutSeconds, int timeoutSeconds)
            throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(python, resource("/notebooks/run_notebook.py").toString(),
                notebook.toString(), executed.toString(), kernelName));
        if (workingDir != null) {
            command.add(workingDir.toAbsolutePath().toString());
            command.add(Integer.toString(cellTimeoutSeconds));
        }
        run(command, timeoutSeconds);
    }

    /** nbconvert to HTML; returns the exported file. */
    Path exportHtml(Path executed, String outputDir) throws IOException, InterruptedException {
        Path htmlDir = work.resolve(outputDir);
        run(List.of(python, "-m", "nbconvert", "--to", "html", executed.toString(), "--output-dir", htmlDir.toString()),
                120);
        String name = executed.getFileName().toString();
        return htmlDir.resolve(name.substring(0, name.length() - ".ipynb".length()) + ".html");
    }

    List<String> chromiumCommand(String action, String size, Path html) {
        List<String> command = new ArrayList<>(chromiumCommand(action, html));
        command.add(command.size() - 1, size);
        return command;
    }

    List<String> chromiumCommand(String action, Path html) {
        return List.of(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run",
                "--user-data-dir=" + work.resolve("chromium-profile"),
                // Lets plotly's deferred drawing finish before the snapshot without sleeping in real time.
                "--virtual-time-budget=10000", action, html.toUri().toString());
    }

    String run(List<String> command, int timeoutSeconds) throws IOException, InterruptedException {
        ProcessBuilder builder = new ProcessBuilder(command).directory(work.toFile());
        Map<String, String> env = builder.environment();
        env.put("JUPYTER_PATH", prefix.resolve("share/jupyter").toString());
        // Keep Jupyter's runtime and data files inside the temporary folder.
        env.put("JUPYTER_DATA_DIR", work.resolve("jupyter-data").toString());
        env.put("JUPYTER_RUNTIME_DIR", work.resolve("jupyter-runtime").toString());
        env.put("JUPYTER_PLATFORM_DIRS", "1");
        // Surefire sets MKL_CBWR=COMPATIBLE for the bit-exact resume tests; inherited by a kernel it makes MKL take
        // its SSE2 code path, and the notebooks' training and decoding ran about 3x slower than in a user's Jupyter
        // (20 drafter steps: 36.4 s against 12.5 s). Kernels here run as a user's do; no notebook test compares bits.
        env.remove("MKL_CBWR");
        Path log = Files.createTempFile(work, "process", ".log");
        Path stdout = Files.createTempFile(work, "process", ".out");
        builder.redirectError(log.toFile()).redirectOutput(stdout.toFile());
        Process process = builder.start();
        if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            fail("timed out after " + timeoutSeconds + " s: " + command.get(0) + "\n" + tail(log));
        }
        assertEquals(0, process.exitValue(), "failed: " + command.get(0) + " " + command.get(1) + "\n" + tail(log));
        return Files.readString(stdout, StandardCharsets.UTF_8);
    }

    private static String tail(Path log) throws IOException {
        String text = Files.readString(log);
        return text.length() > 6000 ? text.substring(text.length() - 6000) : text;
    }

    static Optional<String> findPython() throws InterruptedException {
        // Debian's python has the apt-installed nbclient; a pyenv or venv python first on PATH may not.
        for (String candidate : List.of("/usr/bin/python3", "python3")) {
            try {
                Process check = new ProcessBuilder(candidate, "-c", "import nbclient, nbconvert, nbformat")
                        .redirectErrorStream(true).start();
                check.getInputStream().readAllBytes();
                if (check.waitFor(60, TimeUnit.SECONDS) && check.exitValue() == 0) {
                    return Optional.of(candidate);
                }
            } catch (IOException notInstalled) {
                // try the next one
            }
        }
        return Optional.empty();
    }

    static Optional<String> findOnPath(String program) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            Path candidate = Path.of(dir, program);
            if (Files.isExecutable(candidate)) {
                return Optional.of(candidate.toString());
            }
        }
        return Optional.empty();
    }

    // ---- reading notebooks ----

    static int countPixelsNear(BufferedImage image, int r, int g, int b, int tolerance) {
        int count = 0;
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                int rgb = image.getRGB(x, y);
                if (Math.abs(((rgb >> 16) & 0xff) - r) <= tolerance && Math.abs(((rgb >> 8) & 0xff) - g) <= tolerance
                        && Math.abs((rgb & 0xff) - b) <= tolerance) {
                    count++;
                }
            }
        }
        return count;
    }

    static int countOccurrences(String text, String needle) {
        return text.split(java.util.regex.Pattern.quote(needle), -1).length - 1;
    }

    static JsonObject cell(JsonObject notebook, String id) {
        for (JsonElement cell : notebook.getAsJsonArray("cells")) {
            if (cell.getAsJsonObject().get("id").getAsString().equals(id)) {
                return cell.getAsJsonObject();
            }
        }
        throw new AssertionError("no cell " + id);
    }

    static JsonArray outputs(JsonObject cell) {
        return cell.has("outputs") ? cell.getAsJsonArray("outputs") : new JsonArray();
    }

    static List<String> tags(JsonObject cell) {
        List<String> tags = new ArrayList<>();
        JsonObject metadata = cell.getAsJsonObject("metadata");
        if (metadata != null && metadata.has("tags")) {
            metadata.getAsJsonArray("tags").forEach(t -> tags.add(t.getAsString()));
        }
        return tags;
    }

    /** The cell's outputs of one type ({@code execute_result}, {@code display_data}, …). */
    static List<JsonObject> outputsOfType(JsonObject cell, String type) {
        List<JsonObject> found = new ArrayList<>();
        for (JsonElement output : outputs(cell)) {
            if (output.getAsJsonObject().get("output_type").getAsString().equals(type)) {
                found.add(output.getAsJsonObject());
            }
        }
        return found;
    }

    static JsonObject result(JsonObject notebook, String cellId) {
        List<JsonObject> results = outputsOfType(cell(notebook, cellId), "execute_result");
        if (results.isEmpty()) {
            throw new AssertionError("no execute_result in " + cellId + ": " + outputs(cell(notebook, cellId)));
        }
        return results.get(0);
    }

    static String text(JsonObject output, String mime) {
        JsonElement value = output.getAsJsonObject("data").get(mime);
        if (value == null) {
            throw new AssertionError("no " + mime + " in " + output.getAsJsonObject("data").keySet());
        }
        return joined(value);
    }

    /** nbformat stores multi-line strings as arrays of lines. */
    static String joined(JsonElement text) {
        if (text.isJsonArray()) {
            StringBuilder joined = new StringBuilder();
            text.getAsJsonArray().forEach(line -> joined.append(line.getAsString()));
            return joined.toString();
        }
        return text.getAsString();
    }
}
