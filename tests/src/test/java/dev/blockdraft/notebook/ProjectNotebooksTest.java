package dev.blockdraft.notebook;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static dev.blockdraft.notebook.Jupyter.PLOTLY_MIME;
import static dev.blockdraft.notebook.Jupyter.cell;
import static dev.blockdraft.notebook.Jupyter.countOccurrences;
import static dev.blockdraft.notebook.Jupyter.countPixelsNear;
import static dev.blockdraft.notebook.Jupyter.joined;
import static dev.blockdraft.notebook.Jupyter.outputs;
import static dev.blockdraft.notebook.Jupyter.outputsOfType;
import static dev.blockdraft.notebook.Jupyter.result;
import static dev.blockdraft.notebook.Jupyter.text;
import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Executes the project's notebooks ({@code notebooks/*.ipynb}) headless with the installed blockdraft kernel
 * on the embedded default target, checks what they show (Plotly figures, HTML tables, the live training run),
 * and renders the executed quickstart in headless Chromium. Each notebook takes a minute or two on a CPU;
 * per-notebook and per-cell times go to {@code target/<kernel>-notebook-timings.txt}. This class and
 * {@link RapaioNotebooksTest} run side by side (two surefire forks, tests/pom.xml): each kernel uses one core.
 *
 * <p>The kernel starts in the project root, so {@code Blockdraft.target("default")} and the data folder
 * resolve as they do for {@code bin/blockdraft}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ProjectNotebooksTest {

    private static final List<String> NOTEBOOKS = List.of("quickstart", "interventions", "ablation");

    protected Jupyter jupyter;
    protected Path root;
    private final Map<String, Object> executed = new LinkedHashMap<>(); // JsonObject, or the failure
    private final Map<String, Path> executedFiles = new LinkedHashMap<>();
    private final List<String> timings = new ArrayList<>();

    @BeforeAll
    void installKernel(@TempDir Path temp) throws Exception {
        root = projectRoot();
        jupyter = Jupyter.find(temp, kernelName());
        assumeTrue(jupyter.python != null, "no python3 with nbclient and nbconvert: run bin/setup-jupyter");
        assertTrue(Files.isRegularFile(root.resolve("datasets/targets/default/config.json")),
                "the notebooks need the embedded default target in " + root.resolve("datasets/targets/default"));
        installKernel();
    }

    /** The kernel under test: blockdraft's, with the test JVM's classpath. */
    protected void installKernel() throws IOException, InterruptedException {
        jupyter.installKernel();
    }

    protected String kernelName() {
        return "blockdraft-project-test";
    }

    /** Where the kernel starts: the project root, as for {@code bin/blockdraft}. */
    protected Path workingDirectory() {
        return root;
    }

    /** Whether to export the executed quickstart and screenshot it (once is enough). */
    protected boolean screenshots() {
        return true;
    }

    @AfterAll
    void writeTimings() throws IOException {
        if (!timings.isEmpty()) {
            Path file = Path.of("target", kernelName() + "-notebook-timings.txt");
            Files.createDirectories(file.getParent());
            Files.write(file, timings);
        }
    }

    // ---- the committed files ----

    @ParameterizedTest
    @ValueSource(strings = {"quickstart", "interventions", "ablation"})
    @Order(1)
    void committedNotebookHasNoOutputs(String name) throws IOException {
        JsonObject notebook = JsonParser.parseString(Files.readString(source(name))).getAsJsonObject();
        assertEquals("blockdraft", notebook.getAsJsonObject("metadata").getAsJsonObject("kernelspec")
                .get("name").getAsString());
        Set<String> ids = new HashSet<>();
        for (JsonElement element : notebook.getAsJsonArray("cells")) {
            JsonObject cell = element.getAsJsonObject();
            assertTrue(ids.add(cell.get("id").getAsString()), "duplicate cell id " + cell.get("id"));
            if (cell.get("cell_type").getAsString().equals("code")) {
                assertEquals(0, outputs(cell).size(), name + " is committed with outputs in " + cell.get("id"));
                assertTrue(cell.get("execution_count").isJsonNull(), name + " has an execution count in " + cell.get("id"));
            }
        }
    }

    // ---- executing them ----

    @ParameterizedTest
    @ValueSource(strings = {"quickstart", "interventions", "ablation"})
    @Order(2)
    void notebookRunsTopToBottomWithoutErrors(String name) throws Exception {
        JsonObject notebook = executed(name);
        for (JsonElement element : notebook.getAsJsonArray("cells")) {
            JsonObject cell = element.getAsJsonObject();
            if (!cell.get("cell_type").getAsString().equals("code")) {
                continue;
            }
            assertFalse(cell.get("execution_count").isJsonNull(), "cell " + cell.get("id") + " did not run");
            for (JsonElement output : outputs(cell)) {
                assertNotEquals("error", output.getAsJsonObject().get("output_type").getAsString(),
                        name + ", cell " + cell.get("id") + ": " + output);
                // blockdraft ships an SLF4J provider: no "No SLF4J providers were found" lines in any cell
                assertFalse(output.toString().contains("SLF4J"), name + ", cell " + cell.get("id") + ": " + output);
            }
        }
    }

    @Test
    @Order(3)
    void quickstartDisplaysTheTrainingRunLiveAndItFollowsTheRun() throws Exception {
        JsonObject notebook = executed("quickstart");
        assertTrue(shown(result(notebook, "open")).startsWith("Session(Target(default"));
        assertFalse(shown(result(notebook, "reply")).isBlank());

        List<JsonObject> displays = outputsOfType(cell(notebook, "train"), "display_data");
        // The run is the notebook's first figure: plotly.js comes in an output of its own, just before it.
        assertEquals(2, displays.size(), "plotly.js, then the run, displayed once and updated in place: " + displays);
        assertTrue(text(displays.get(0), "text/html").contains("data-blockdraft-plotly="), "plotly.js output first");
        JsonObject display = displays.get(1);
        assertPlotlyFigure(display);
        // Displayed before the first step; only update_display_data can have brought it to the finished run.
        String shown = text(display, "text/plain");
        assertTrue(shown.contains("60 steps") && shown.endsWith("finished)"), shown);
        assertTrue(text(display, "text/html").contains("Plotly.newPlot"));
        JsonArray updates = updates(notebook);
        assertTrue(updates.size() >= 1, "no update_display_data was sent for the live run");
        assertEquals(shown, updates.get(updates.size() - 1).getAsJsonObject().get("text").getAsString());
        for (JsonElement update : updates) {
            int bytes = update.getAsJsonObject().get("bytes").getAsInt();
            assertTrue(bytes < 200_000, "an update of the live run carries " + bytes + " bytes");
        }
    }

    @Test
    @Order(4)
    void quickstartShowsTheReportAsHtmlTableWithFiguresAndDecodesExactly() throws Exception {
        JsonObject notebook = executed("quickstart");
        JsonObject report = result(notebook, "evaluate");
        String html = text(report, "text/html");
        assertTrue(html.startsWith("<table class=\"blockdraft-table\">"), html.substring(0, Math.min(200, html.length())));
        for (String benchmark : List.of("GSM8K", "MATH-500", "HumanEval", "MBPP", "MT-Bench", "Alpaca")) {
            assertTrue(html.contains(">" + benchmark + "<"), "no row for " + benchmark);
        }
        assertEquals(2, countOccurrences(html, "Plotly.newPlot"), "slot acceptance and histogram figures");
        assertEquals("0", shown(result(notebook, "exact")), "speculative output differs from greedy");
        JsonObject slots = assertPlotlyFigure(result(notebook, "slots"));
        assertEquals(6, slots.getAsJsonArray("data").size(), "one line per benchmark");
    }

    @Test
    @Order(5)
    void interventionsShowWeightsExpectedTauAndFirstErrorPositions() throws Exception {
        JsonObject notebook = executed("interventions");
        JsonArray weights = assertPlotlyFigure(result(notebook, "weights")).getAsJsonArray("data");
        assertEquals(6, weights.size());
        double[] exponential = ys(weights, "exponential (DFlash, γ = 4 at B = 8)");
        assertEquals(Math.exp(-6 / 4.0), exponential[6], 1e-9);
        assertArrayEquals(new double[] {1, 0.8, 0.48, 0.24, 0.096, 0.0336, 0.01008},
                ys(weights, "reach probability (â = 0.8, 0.6, …)"), 1e-6);
        for (JsonElement trace : weights) {
            double[] y = ys(trace.getAsJsonObject());
            assertEquals(1.0, y[0], 1e-9, "slot 1 weighs 1");
            for (int k = 1; k < y.length; k++) {
                assertTrue(y[k] <= y[k - 1] + 1e-12, "weights never grow along the block: " + trace);
            }
        }

        assertEquals(2, outputsOfType(cell(notebook, "train"), "display_data").size(), "both runs shown live");
        assertTrue(updates(notebook).size() >= 2, "live runs were not updated");

        JsonArray tau = assertPlotlyFigure(result(notebook, "tau")).getAsJsonArray("data");
        assertEquals(List.of("uniform E[τ]", "uniform greedy τ", "paper E[τ]", "paper greedy τ"), names(tau));
        for (JsonElement trace : tau) {
            assertArrayEquals(new double[] {10, 20, 30, 40}, xs(trace.getAsJsonObject()), "validation every 10 steps");
            for (double v : ys(trace.getAsJsonObject())) {
                assertTrue(v >= 1 && v <= 8, "τ is within [1, B]: " + trace);
            }
        }

        double[] learned = ys(assertPlotlyFigure(result(notebook, "learned")).getAsJsonArray("data").get(0).getAsJsonObject());
        assertEquals(7, learned.length);
        assertEquals(1.0, learned[0], 1e-12, "verification always reaches slot 1");
        JsonArray firstError = assertPlotlyFigure(result(notebook, "first-error")).getAsJsonArray("data");
        assertEquals(List.of("uniform", "paper"), names(firstError));
        for (JsonElement trace : firstError) {
            double[] shares = ys(trace.getAsJsonObject());
            assertEquals(8, shares.length, "k* = 1..7 and none");
            assertEquals(1.0, java.util.Arrays.stream(shares).sum(), 1e-9);
        }
    }

    @Test
    @Order(6)
    void ablationShowsTheComparisonAsTableAndGroupedBars() throws Exception {
        JsonObject notebook = executed("ablation");
        String html = text(result(notebook, "comparison"), "text/html");
        assertTrue(html.startsWith("<table class=\"blockdraft-table\">"), html.substring(0, Math.min(200, html.length())));
        assertTrue(html.contains("paper vs uniform %") && html.contains("dflash vs uniform %"), "relative columns");
        assertEquals(1, countOccurrences(html, "Plotly.newPlot"));
        assertTrue(text(result(notebook, "table"), "text/html").startsWith("<table class=\"blockdraft-table\">"));

        JsonObject bars = assertPlotlyFigure(result(notebook, "bars"));
        assertEquals("group", bars.getAsJsonObject("layout").get("barmode").getAsString());
        JsonArray traces = bars.getAsJsonArray("data");
        assertEquals(List.of("uniform", "dflash", "paper"), names(traces));
        for (JsonElement trace : traces) {
            assertEquals("bar", trace.getAsJsonObject().get("type").getAsString());
            double[] tau = ys(trace.getAsJsonObject());
            assertEquals(7, tau.length, "six benchmarks and the mean");
            for (double v : tau) {
                assertTrue(v >= 1 && v <= 8, "τ is within [1, B]: " + trace);
            }
        }
        assertEquals(3, assertPlotlyFigure(result(notebook, "slot-acceptance")).getAsJsonArray("data").size());

        // the grid's report: τ with 95% intervals and the change against uniform, per benchmark, pooled and objective
        String report = text(result(notebook, "report"), "text/html");
        assertTrue(report.startsWith("<table class=\"blockdraft-table\">"), report.substring(0, Math.min(200, report.length())));
        assertTrue(report.contains("τ 95% low") && report.contains("Δ% vs uniform"), "interval columns");
        assertEquals(3 * 7, countOccurrences(report, "<tr>") - 1, "3 objectives × (6 benchmarks + all), under a header");
        JsonArray intervals = assertPlotlyFigure(result(notebook, "intervals")).getAsJsonArray("data");
        assertEquals(List.of("uniform", "dflash", "paper"), names(intervals));
        for (JsonElement trace : intervals) {
            JsonObject error = trace.getAsJsonObject().getAsJsonObject("error_y");
            double[] tau = ys(trace.getAsJsonObject()), up = numbers(error.getAsJsonArray("array")),
                    down = numbers(error.getAsJsonArray("arrayminus"));
            for (int i = 0; i < tau.length; i++) {
                assertTrue(up[i] >= 0 && down[i] >= 0 && tau[i] - down[i] >= 1, "an interval around τ ≥ 1: " + trace);
            }
        }
        String perPrompt = outputsOfType(cell(notebook, "per-prompt"), "stream").stream()
                .map(o -> joined(o.get("text"))).collect(java.util.stream.Collectors.joining());
        assertEquals(3, perPrompt.lines().count(), perPrompt);
        assertTrue(perPrompt.contains("\"tau\":") && perPrompt.contains("\"prompt\":"), perPrompt);
    }

    @Test
    @Order(7)
    void exportedQuickstartRendersItsFiguresInChromium() throws Exception {
        assumeTrue(screenshots(), "screenshots are taken in blockdraft's kernel");
        executed("quickstart");
        assumeTrue(jupyter.chromium != null, "no chromium on PATH: run bin/setup-jupyter");
        Path html = jupyter.exportHtml(executedFiles.get("quickstart"), "html");
        String exported = Files.readString(html);
        assertEquals(1, countOccurrences(exported, "data-blockdraft-plotly=\""), "plotly.js inlined once");
        // The run's three figures, the report's two and the slot figure.
        assertEquals(6, countOccurrences(exported, "Plotly.newPlot"));

        Path png = jupyter.work.resolve("quickstart.png");
        jupyter.run(jupyter.chromiumCommand("--screenshot=" + png, "--window-size=1200,6000", html), 180);
        String dom = jupyter.run(jupyter.chromiumCommand("--dump-dom", html), 180);
        assertTrue(countOccurrences(dom, "class=\"plot-container") >= 6, "plotly drew fewer than six figures");

        BufferedImage image = ImageIO.read(png.toFile());
        assertEquals(1200, image.getWidth());
        // Plotly's first trace colour, #1f77b4: only a drawn line or bar has it.
        int plotlyBlue = countPixelsNear(image, 0x1f, 0x77, 0xb4, 12);
        assertTrue(plotlyBlue > 1000, "figure pixels in screenshot: " + plotlyBlue);
        Path kept = Path.of("target", "quickstart-screenshot.png");
        Files.copy(html, Path.of("target", "quickstart.html"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.createDirectories(kept.getParent());
        Files.copy(png, kept, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    // ---- helpers ----

    /** Executes a notebook once (kernel in the project root) and remembers the result or the failure. */
    private JsonObject executed(String name) throws Exception {
        assertTrue(NOTEBOOKS.contains(name));
        if (!executed.containsKey(name)) {
            Path out = jupyter.work.resolve(name + ".executed.ipynb");
            long start = System.nanoTime();
            try {
                jupyter.execute(source(name), out, workingDirectory(), 400, 600);
                JsonObject notebook = JsonParser.parseString(Files.readString(out)).getAsJsonObject();
                executed.put(name, notebook);
                executedFiles.put(name, out);
                recordTimings(name, notebook, (System.nanoTime() - start) / 1e9, Files.size(out));
                Path kept = Path.of("target", kernelName() + "-" + name + ".executed.ipynb");
                Files.createDirectories(kept.getParent());
                Files.copy(out, kept, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            } catch (Throwable failure) {
                executed.put(name, failure);
            }
        }
        Object value = executed.get(name);
        if (value instanceof Throwable failure) {
            throw new AssertionError("executing notebooks/" + name + ".ipynb failed", failure);
        }
        return (JsonObject) value;
    }

    private void recordTimings(String name, JsonObject notebook, double seconds, long bytes) {
        StringBuilder line = new StringBuilder(String.format("%s: %.1f s (kernel start included), executed notebook %,d bytes;",
                name, seconds, bytes));
        for (JsonElement element : notebook.getAsJsonArray("cells")) {
            JsonObject cell = element.getAsJsonObject();
            JsonObject execution = cell.getAsJsonObject("metadata").getAsJsonObject("execution");
            if (execution != null && execution.has("iopub.execute_input") && execution.has("shell.execute_reply")) {
                Duration d = Duration.between(OffsetDateTime.parse(execution.get("iopub.execute_input").getAsString()),
                        OffsetDateTime.parse(execution.get("shell.execute_reply").getAsString()));
                line.append(String.format(" %s %.1f s", cell.get("id").getAsString(), d.toMillis() / 1000.0));
            }
        }
        timings.add(line.toString());
        System.out.println(line);
    }

    private Path source(String name) {
        return root.resolve("notebooks").resolve(name + ".ipynb");
    }

    /** The checkout: the first folder upwards from the working directory (tests/ under Maven) with notebooks/. */
    private static Path projectRoot() {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.isRegularFile(dir.resolve("notebooks/quickstart.ipynb")) && Files.isRegularFile(dir.resolve("pom.xml"))) {
                return dir;
            }
        }
        throw new AssertionError("no project root with notebooks/ above " + Path.of("").toAbsolutePath());
    }

    /** What a value shows as text: its text/plain (rapaio gives values it has no renderer for only as text/html). */
    private static String shown(JsonObject output) {
        JsonObject data = output.getAsJsonObject("data");
        return text(output, data.has("text/plain") ? "text/plain" : "text/html");
    }

    private static JsonArray updates(JsonObject notebook) {
        return notebook.getAsJsonObject("metadata").getAsJsonObject("blockdraft_test").getAsJsonArray("updates");
    }

    /** The output's Plotly JSON: an object (not a string) with a {@code data} array and a {@code layout}. */
    private static JsonObject assertPlotlyFigure(JsonObject output) {
        JsonElement plotly = output.getAsJsonObject("data").get(PLOTLY_MIME);
        assertNotNull(plotly, "no " + PLOTLY_MIME + " in " + output.getAsJsonObject("data").keySet());
        assertTrue(plotly.isJsonObject(), "Plotly JSON must be an object, not " + plotly);
        JsonObject figure = plotly.getAsJsonObject();
        assertTrue(figure.get("data").isJsonArray() && figure.getAsJsonArray("data").size() > 0, "no traces");
        assertTrue(figure.get("layout").isJsonObject(), "no layout");
        assertTrue(text(output, "text/html").contains("Plotly.newPlot"), "the HTML draws no figure");
        return figure;
    }

    private static List<String> names(JsonArray traces) {
        List<String> names = new ArrayList<>();
        traces.forEach(t -> names.add(t.getAsJsonObject().get("name").getAsString()));
        return names;
    }

    private static double[] ys(JsonArray traces, String name) {
        for (JsonElement trace : traces) {
            if (trace.getAsJsonObject().get("name").getAsString().equals(name)) {
                return ys(trace.getAsJsonObject());
            }
        }
        throw new AssertionError("no trace " + name + " in " + names(traces));
    }

    private static double[] ys(JsonObject trace) {
        return numbers(trace.getAsJsonArray("y"));
    }

    private static double[] xs(JsonObject trace) {
        return numbers(trace.getAsJsonArray("x"));
    }

    private static double[] numbers(JsonArray array) {
        double[] values = new double[array.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = array.get(i).isJsonNull() ? Double.NaN : array.get(i).getAsDouble();
        }
        return values;
    }
}
