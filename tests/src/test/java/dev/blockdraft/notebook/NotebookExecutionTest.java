package dev.blockdraft.notebook;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
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
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static dev.blockdraft.notebook.Jupyter.countOccurrences;
import static dev.blockdraft.notebook.Jupyter.countPixelsNear;
import static dev.blockdraft.notebook.Jupyter.joined;
import static dev.blockdraft.notebook.Jupyter.outputs;
import static dev.blockdraft.notebook.Jupyter.tags;
import static dev.blockdraft.notebook.Jupyter.text;

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

    private Jupyter jupyter;
    private Path prefix;
    private JsonObject executed;
    private Path executedFile;

    @BeforeAll
    void installKernelAndRunNotebook(@TempDir Path temp) throws Exception {
        jupyter = Jupyter.find(temp, KERNEL_NAME);
        assumeTrue(jupyter.python != null, "no python3 with nbclient and nbconvert: run bin/setup-jupyter");
        prefix = jupyter.prefix;
        jupyter.installKernel();
        executedFile = temp.resolve("executed.ipynb");
        jupyter.execute(jupyter.resource("/notebooks/smoke.ipynb"), executedFile, null, 180, 300);
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
        assertEquals("-Dai.djl.offline=true", argv.get(3));
        assertEquals(List.of("dev.blockdraft.kernel.BlockdraftKernel", "{connection_file}"),
                argv.subList(argv.size() - 2, argv.size()));
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
        assumeTrue(jupyter.chromium != null, "no chromium on PATH: run bin/setup-jupyter");
        Path html = jupyter.exportHtml(executedFile, "html");
        String exported = Files.readString(html);
        assertEquals(1, exported.split("data-blockdraft-plotly=\"", -1).length - 1, "plotly.js inlined once");

        Path png = jupyter.work.resolve("screenshot.png");
        jupyter.run(jupyter.chromiumCommand("--screenshot=" + png, "--window-size=1200,1600", html), 120);
        String dom = jupyter.run(jupyter.chromiumCommand("--dump-dom", html), 120);
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

    private JsonArray cells() {
        return executed.getAsJsonArray("cells");
    }

    private JsonObject cell(String id) {
        return Jupyter.cell(executed, id);
    }

    private JsonObject result(String cellId) {
        return Jupyter.result(executed, cellId);
    }
}
