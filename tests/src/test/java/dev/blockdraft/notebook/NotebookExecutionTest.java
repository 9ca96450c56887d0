package dev.blockdraft.notebook;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.blockdraft.kernel.KernelInstaller;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
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

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * End to end: installs the blockdraft kernel into a temporary prefix, runs a notebook with
 * nbclient, checks the outputs, exports the notebook to HTML and renders it in headless Chromium.
 * Needs Debian's jupyter/nbclient and chromium ({@code bin/setup-jupyter} installs them).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class NotebookExecutionTest {

    private static final String KERNEL_NAME = "blockdraft-test";
    private static final String PLOTLY_MIME = "application/vnd.plotly.v1+json";

    private Path work;

    private String python;
    private String chromium;
    private Path prefix;
    private JsonObject executed;
    private Path executedFile;

    @BeforeAll
    void installKernelAndRunNotebook(@TempDir Path temp) throws Exception {
        work = temp;
        python = findPython().orElse(null);
        assumeTrue(python != null, "no python3 with nbclient and nbconvert: run bin/setup-jupyter");
        chromium = findOnPath("chromium").orElse(null);

        prefix = work.resolve("prefix");
        // The test JVM's classpath holds api, kernel-ext and all their dependencies: exactly what the kernel needs.
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        KernelInstaller.install(KernelInstaller.plan(Optional.of(prefix), KERNEL_NAME, classpath, Map.of()));

        Path notebook = work.resolve("smoke.ipynb");
        try (InputStream in = getClass().getResourceAsStream("/notebooks/smoke.ipynb")) {
            Files.copy(in, notebook);
        }
        Path runner = work.resolve("run_notebook.py");
        try (InputStream in = getClass().getResourceAsStream("/notebooks/run_notebook.py")) {
            Files.copy(in, runner);
        }
        executedFile = work.resolve("executed.ipynb");
        run(List.of(python, runner.toString(), notebook.toString(), executedFile.toString(), KERNEL_NAME), 300);
        executed = JsonParser.parseString(Files.readString(executedFile)).getAsJsonObject();
    }

    @Test
    @Order(1)
    void kernelSpecRunsBlockdraftKernelWithAbsoluteClasspath() throws IOException {
        JsonObject spec = JsonParser.parseString(Files.readString(
                prefix.resolve("share/jupyter/kernels/" + KERNEL_NAME + "/kernel.json"))).getAsJsonObject();
        List<String> argv = new ArrayList<>();
        spec.getAsJsonArray("argv").forEach(e -> argv.add(e.getAsString()));
        assertTrue(argv.get(0).endsWith("/bin/java"), argv.get(0));
        assertEquals("-cp", argv.get(1));
        for (String entry : argv.get(2).split(File.pathSeparator)) {
            assertTrue(Path.of(entry).isAbsolute(), entry);
        }
        assertTrue(argv.get(2).contains("jjava-jupyter"), "classpath must contain the kernel library");
        assertEquals(List.of("-Dai.djl.offline=true", "dev.blockdraft.kernel.BlockdraftKernel", "{connection_file}"),
                argv.subList(3, 6));
        assertEquals("Java (blockdraft)", spec.get("display_name").getAsString());
        assertEquals("java", spec.get("language").getAsString());
    }

    @Test
    @Order(2)
    void untaggedCellsHaveNoErrorsAndValuesAreRendered() {
        for (JsonElement cell : cells()) {
            boolean mayRaise = tags(cell.getAsJsonObject()).contains("raises-exception");
            for (JsonElement output : outputs(cell.getAsJsonObject())) {
                String type = output.getAsJsonObject().get("output_type").getAsString();
                assertTrue(mayRaise || !type.equals("error"),
                        "unexpected error in " + cell.getAsJsonObject().get("id") + ": " + output);
            }
        }
        assertEquals("3", text(result("value"), "text/plain"));
        assertEquals("still alive: 42", text(result("after-errors"), "text/plain"));
    }

    @Test
    @Order(3)
    void stdoutAndStderrArriveAsStreams() {
        JsonArray outputs = outputs(cell("streams"));
        assertEquals("stdout", outputs.get(0).getAsJsonObject().get("name").getAsString());
        assertEquals("hello from java\n", joined(outputs.get(0).getAsJsonObject().get("text")));
        assertEquals("stderr", outputs.get(1).getAsJsonObject().get("name").getAsString());
        assertEquals("warning from java\n", joined(outputs.get(1).getAsJsonObject().get("text")));
    }

    @Test
    @Order(4)
    void figureIsPlotlyJsonObjectPlusOfflineHtml() {
        JsonObject data = result("figure").getAsJsonObject("data");
        JsonObject plotly = data.get(PLOTLY_MIME).getAsJsonObject(); // an object, not a string
        JsonArray traces = plotly.getAsJsonArray("data");
        assertEquals("train", traces.get(0).getAsJsonObject().get("name").getAsString());
        assertEquals(2.1, traces.get(0).getAsJsonObject().getAsJsonArray("y").get(3).getAsDouble());
        assertEquals("eval", traces.get(1).getAsJsonObject().get("name").getAsString());
        assertEquals("Training loss", plotly.getAsJsonObject("layout").getAsJsonObject("title").get("text").getAsString());
        String html = text(result("figure"), "text/html");
        assertTrue(html.contains("data-blockdraft-plotly=\""), "first figure of the session inlines plotly.js");
        assertFalse(java.util.regex.Pattern.compile("<script[^>]*\\ssrc=").matcher(html).find(),
                "no script is loaded from elsewhere (no CDN)");
        assertEquals("Figure \"Training loss\" [train: 4 points, eval: 2 points]", text(result("figure"), "text/plain"));
    }

    @Test
    @Order(5)
    void tablesawTableRendersAsHtmlTable() {
        String html = text(result("table"), "text/html");
        assertTrue(html.startsWith("<table class=\"blockdraft-table\">"), html);
        assertTrue(html.contains("<td>block-8</td>"));
        assertTrue(html.contains(">3.4</td>"));
    }

    @Test
    @Order(6)
    void liveDisplayWasUpdatedInPlaceAtMostTwicePerSecond() {
        JsonArray updates = executed.getAsJsonObject("metadata").getAsJsonObject("blockdraft_test").getAsJsonArray("updates");
        // 3 changes 300 ms apart: the first goes out at once, the rest coalesce into trailing updates.
        assertTrue(updates.size() >= 1 && updates.size() <= 3, updates.toString());
        JsonObject last = updates.get(updates.size() - 1).getAsJsonObject();
        assertEquals("Figure \"count 3\" [count: 1 point]", last.get("text").getAsString());
        JsonObject display = outputs(cell("live")).get(0).getAsJsonObject();
        assertEquals("display_data", display.get("output_type").getAsString());
        // Displayed at count 0; only update_display_data can have made it "count 3".
        assertEquals("Figure \"count 3\" [count: 1 point]", text(display, "text/plain"));
        assertEquals(3.0, display.getAsJsonObject("data").getAsJsonObject(PLOTLY_MIME).getAsJsonArray("data")
                .get(0).getAsJsonObject().getAsJsonArray("y").get(0).getAsDouble());
    }

    @Test
    @Order(7)
    void taggedCellsProduceErrorOutputsWithMessageAndTrace() {
        JsonObject thrown = outputs(cell("throws")).get(0).getAsJsonObject();
        assertEquals("error", thrown.get("output_type").getAsString());
        assertEquals("java.lang.IllegalStateException: boom from a tagged cell", thrown.get("evalue").getAsString());
        assertTrue(thrown.getAsJsonArray("traceback").get(1).getAsString().contains("snippet"), thrown.toString());
        JsonObject compile = outputs(cell("compile-error")).get(0).getAsJsonObject();
        assertEquals("error", compile.get("output_type").getAsString());
        assertTrue(compile.get("evalue").getAsString().contains("incompatible types"), compile.toString());
    }

    @Test
    @Order(8)
    void exportedHtmlRendersTheFigureInChromium() throws Exception {
        assumeTrue(chromium != null, "no chromium on PATH: run bin/setup-jupyter");
        Path htmlDir = work.resolve("html");
        run(List.of(python, "-m", "nbconvert", "--to", "html", executedFile.toString(),
                "--output-dir", htmlDir.toString()), 120);
        Path html = htmlDir.resolve("executed.html");
        String exported = Files.readString(html);
        assertEquals(1, exported.split("data-blockdraft-plotly=\"", -1).length - 1, "plotly.js inlined once");

        Path png = work.resolve("screenshot.png");
        run(chromiumCommand("--screenshot=" + png, "--window-size=1200,1600", html), 120);
        String dom = run(chromiumCommand("--dump-dom", html), 120);
        assertTrue(dom.contains("plot-container"), "plotly drew no figure");
        assertTrue(countOccurrences(dom, "class=\"main-svg\"") >= 4, "both figures have svg layers");

        BufferedImage image = ImageIO.read(png.toFile());
        assertEquals(1200, image.getWidth());
        // Plotly's first trace colour, #1f77b4: only a drawn line or bar has it.
        int plotlyBlue = countPixelsNear(image, 0x1f, 0x77, 0xb4, 12);
        assertTrue(plotlyBlue > 300, "figure pixels in screenshot: " + plotlyBlue);
        Path kept = Path.of("target", "notebook-screenshot.png");
        Files.createDirectories(kept.getParent());
        Files.copy(png, kept, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    // ---- helpers ----

    private List<String> chromiumCommand(String action, String size, Path html) {
        List<String> command = new ArrayList<>(chromiumCommand(action, html));
        command.add(command.size() - 1, size);
        return command;
    }

    private List<String> chromiumCommand(String action, Path html) {
        return List.of(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run",
                "--user-data-dir=" + work.resolve("chromium-profile"),
                // Lets plotly's deferred drawing finish before the snapshot without sleeping in real time.
                "--virtual-time-budget=10000", action, html.toUri().toString());
    }

    private static int countPixelsNear(BufferedImage image, int r, int g, int b, int tolerance) {
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

    private static int countOccurrences(String text, String needle) {
        return text.split(java.util.regex.Pattern.quote(needle), -1).length - 1;
    }

    private JsonArray cells() {
        return executed.getAsJsonArray("cells");
    }

    private JsonObject cell(String id) {
        for (JsonElement cell : cells()) {
            if (cell.getAsJsonObject().get("id").getAsString().equals(id)) {
                return cell.getAsJsonObject();
            }
        }
        throw new AssertionError("no cell " + id);
    }

    private static JsonArray outputs(JsonObject cell) {
        return cell.getAsJsonArray("outputs");
    }

    private static List<String> tags(JsonObject cell) {
        List<String> tags = new ArrayList<>();
        JsonObject metadata = cell.getAsJsonObject("metadata");
        if (metadata != null && metadata.has("tags")) {
            metadata.getAsJsonArray("tags").forEach(t -> tags.add(t.getAsString()));
        }
        return tags;
    }

    private JsonObject result(String cellId) {
        for (JsonElement output : outputs(cell(cellId))) {
            if (output.getAsJsonObject().get("output_type").getAsString().equals("execute_result")) {
                return output.getAsJsonObject();
            }
        }
        throw new AssertionError("no execute_result in " + cellId + ": " + outputs(cell(cellId)));
    }

    private static String text(JsonObject output, String mime) {
        return joined(output.getAsJsonObject("data").get(mime));
    }

    /** nbformat stores multi-line strings as arrays of lines. */
    private static String joined(JsonElement text) {
        if (text.isJsonArray()) {
            StringBuilder joined = new StringBuilder();
            text.getAsJsonArray().forEach(line -> joined.append(line.getAsString()));
            return joined.toString();
        }
        return text.getAsString();
    }

    private String run(List<String> command, int timeoutSeconds) throws IOException, InterruptedException {
        ProcessBuilder builder = new ProcessBuilder(command).directory(work.toFile());
        Map<String, String> env = builder.environment();
        env.put("JUPYTER_PATH", prefix.resolve("share/jupyter").toString());
        // Keep Jupyter's runtime and data files inside the temporary folder.
        env.put("JUPYTER_DATA_DIR", work.resolve("jupyter-data").toString());
        env.put("JUPYTER_RUNTIME_DIR", work.resolve("jupyter-runtime").toString());
        env.put("JUPYTER_PLATFORM_DIRS", "1");
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
        return text.length() > 4000 ? text.substring(text.length() - 4000) : text;
    }

    private static Optional<String> findPython() throws InterruptedException {
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

    private static Optional<String> findOnPath(String program) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            Path candidate = Path.of(dir, program);
            if (Files.isExecutable(candidate)) {
                return Optional.of(candidate.toString());
            }
        }
        return Optional.empty();
    }
}
