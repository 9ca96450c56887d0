package dev.blockdraft.kernel;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.blockdraft.report.Displayable;
import dev.blockdraft.report.Figure;
import dev.blockdraft.train.TrainingRun;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Kernels write MIME bundles with their own JSON library: rapaio-jupyter-kernel and JJava bundle a relocated
 * Gson. Here rapaio's copy ({@code org.rapaio.shaded.com.google.gson}, a test-scope dependency) writes the bundles
 * and the Plotly JSON must come out as {@code {"data": [...], "layout": {...}}}.
 */
class MimeBundleThroughRelocatedGsonTest {

    private static final org.rapaio.shaded.com.google.gson.Gson RELOCATED = new org.rapaio.shaded.com.google.gson.Gson();

    @Test
    void theRelocatedGsonIsNotOurs() {
        assertNotEquals(com.google.gson.Gson.class.getName(), RELOCATED.getClass().getName());
        // The failure this guards against: a Gson tree written by a Gson that does not know it.
        JsonObject tree = new JsonObject();
        tree.add("data", new JsonArray());
        assertTrue(RELOCATED.toJson(tree).contains("\"members\""), RELOCATED.toJson(tree));
    }

    @Test
    void aFiguresPlotlyJsonSurvivesTheRelocatedGson() {
        Figure figure = Figure.lines("Loss", "step", "loss")
                .withLine("train", new double[] {1, 2, 3}, new double[] {3.5, Double.NaN, 1.25})
                .withBars("count", new String[] {"a", "b"}, new double[] {4, 5});
        JsonObject plotly = roundTrip(figure.mimeBundle());

        assertEquals(java.util.Set.of("data", "layout"), plotly.keySet());
        JsonArray traces = plotly.getAsJsonArray("data");
        assertEquals(2, traces.size());
        JsonObject line = traces.get(0).getAsJsonObject();
        assertEquals("scatter", line.get("type").getAsString());
        assertEquals("lines", line.get("mode").getAsString());
        assertEquals(3.0, line.getAsJsonArray("x").get(2).getAsDouble());
        assertEquals(3.5, line.getAsJsonArray("y").get(0).getAsDouble());
        assertTrue(line.getAsJsonArray("y").get(1).isJsonNull(), "NaN is a gap");
        assertEquals(1.25, line.getAsJsonArray("y").get(2).getAsDouble());
        assertEquals("b", traces.get(1).getAsJsonObject().getAsJsonArray("x").get(1).getAsString());
        assertEquals("Loss", plotly.getAsJsonObject("layout").getAsJsonObject("title").get("text").getAsString());
        assertEquals("step", plotly.getAsJsonObject("layout").getAsJsonObject("xaxis").getAsJsonObject("title")
                .get("text").getAsString());
    }

    @Test
    void aTrainingRunsPlotlyJsonSurvivesTheRelocatedGson() {
        TrainingRun run = new TrainingRun("paper", Map.of());
        run.record(new TrainingRun.Step(1, 2.5, Map.of("chain", 0.5), 1e-4, 1.0, 100, 64, false));
        run.record(new TrainingRun.Step(2, 2.0, Map.of("chain", 0.4), 2e-4, 1.0, 100, 128, false));
        JsonObject plotly = roundTrip(run.mimeBundle());
        JsonArray traces = plotly.getAsJsonArray("data");
        assertEquals("total", traces.get(0).getAsJsonObject().get("name").getAsString());
        assertEquals(2.0, traces.get(0).getAsJsonObject().getAsJsonArray("y").get(1).getAsDouble());
        assertEquals(0.4, traces.get(1).getAsJsonObject().getAsJsonArray("y").get(1).getAsDouble());
        assertTrue(plotly.get("layout").isJsonObject());
    }

    /** The bundle written by the relocated Gson, read back; its Plotly entry. */
    private static JsonObject roundTrip(Map<String, Object> bundle) {
        Object plotly = bundle.get(Displayable.PLOTLY_MIME);
        assertFalse(plotly.getClass().getName().startsWith("com.google.gson"), "a Gson type in the bundle: " + plotly.getClass());
        JsonObject written = JsonParser.parseString(RELOCATED.toJson(bundle)).getAsJsonObject();
        assertFalse(written.toString().contains("\"members\""), written.toString());
        return written.getAsJsonObject(Displayable.PLOTLY_MIME);
    }
}
