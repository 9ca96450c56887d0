package dev.blockdraft.report;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class FigureTest {

    private final Figure figure = Figure.lines("Training <loss>", "step", "loss")
            .withLine("train", new double[] {1, 2, 3}, new double[] {3.5, 2.25, Double.NaN})
            .withLine("eval", new double[] {1, 3}, new double[] {3.0, 2.0});

    @Test
    void jsonHasDataAndLayoutWithTracesAsGiven() {
        JsonObject json = figure.toJson();
        JsonArray data = json.getAsJsonArray("data");
        assertEquals(2, data.size());
        JsonObject train = data.get(0).getAsJsonObject();
        assertEquals("train", train.get("name").getAsString());
        assertEquals("scatter", train.get("type").getAsString());
        assertEquals("lines", train.get("mode").getAsString());
        assertEquals(3.5, train.getAsJsonArray("y").get(0).getAsDouble());
        assertEquals(2.25, train.getAsJsonArray("y").get(1).getAsDouble());
        assertTrue(train.getAsJsonArray("y").get(2).isJsonNull(), "NaN must become null, JSON has no NaN");
        assertEquals(List.of("train", "eval"), figure.traceNames());
    }

    @Test
    void titlesAreObjectsWithText() {
        JsonObject layout = figure.toJson().getAsJsonObject("layout");
        assertEquals("Training <loss>", layout.getAsJsonObject("title").get("text").getAsString());
        assertEquals("step", layout.getAsJsonObject("xaxis").getAsJsonObject("title").get("text").getAsString());
        assertEquals("loss", layout.getAsJsonObject("yaxis").getAsJsonObject("title").get("text").getAsString());
        JsonObject withAxis = figure.withSecondaryAxis("tok/s").toJson().getAsJsonObject("layout");
        assertEquals("tok/s", withAxis.getAsJsonObject("yaxis2").getAsJsonObject("title").get("text").getAsString());
        assertEquals("y", withAxis.getAsJsonObject("yaxis2").get("overlaying").getAsString());
    }

    @Test
    void withMethodsLeaveTheOriginalUnchanged() {
        Figure more = figure.withBars("b", new String[] {"a"}, new double[] {1}).withLayout("height", 300);
        assertEquals(2, figure.toJson().getAsJsonArray("data").size());
        assertFalse(figure.toJson().getAsJsonObject("layout").has("height"));
        assertEquals(3, more.toJson().getAsJsonArray("data").size());
        assertEquals(300, more.toJson().getAsJsonObject("layout").get("height").getAsInt());
        figure.toJson().getAsJsonArray("data").remove(0);
        assertEquals(2, figure.traceNames().size(), "toJson must return a copy");
    }

    @Test
    void barsOverCategoriesKeepCategoryNames() {
        JsonObject bars = Figure.bars("τ by block size", "block", "τ")
                .withBars("draft", new String[] {"4", "8", "16"}, new double[] {2.1, 2.9, 3.4})
                .toJson().getAsJsonArray("data").get(0).getAsJsonObject();
        assertEquals("bar", bars.get("type").getAsString());
        assertEquals("8", bars.getAsJsonArray("x").get(1).getAsString());
        assertEquals(3.4, bars.getAsJsonArray("y").get(2).getAsDouble());
    }

    @Test
    void mismatchedLengthsAreRejected() {
        assertThrows(IllegalArgumentException.class,
                () -> Figure.lines("t", "x", "y").withLine("bad", new double[] {1, 2}, new double[] {1}));
    }

    @Test
    void mimeBundleHasPlotlyJsonObjectHtmlAndSummary() {
        Map<String, Object> bundle = figure.mimeBundle();
        Object plotly = bundle.get(Displayable.PLOTLY_MIME);
        // A plain map, not a string nor a Gson tree: kernels write bundles with their own JSON library.
        assertInstanceOf(Map.class, plotly, "plotly MIME data must be a plain JSON object");
        Map<?, ?> json = (Map<?, ?>) plotly;
        assertEquals(java.util.Set.of("data", "layout"), json.keySet());
        Map<?, ?> firstTrace = (Map<?, ?>) ((java.util.List<?>) json.get("data")).get(0);
        assertEquals("train", firstTrace.get("name"));
        assertInstanceOf(java.util.List.class, firstTrace.get("y"));
        assertEquals(figure.toJson().getAsJsonArray("data").get(0).getAsJsonObject().getAsJsonArray("y").get(0).getAsDouble(),
                ((Number) ((java.util.List<?>) firstTrace.get("y")).get(0)).doubleValue());
        assertEquals("Figure \"Training <loss>\" [train: 3 points, eval: 2 points]", bundle.get("text/plain"));
        String html = (String) bundle.get("text/html");
        assertTrue(html.contains("class=\"blockdraft-figure\""));
        assertTrue(html.contains("Plotly.newPlot"));
    }

    @Test
    void htmlEscapesTitleInsideScript() {
        String html = Figure.lines("</script><b>x</b>", "x", "y").toHtml("fig", false);
        assertFalse(html.contains("</script><b>"), "a title must not be able to close the script element");
        assertTrue(html.contains("\\u003c/script\\u003e"));
    }

    @Test
    void toHtmlInlinesLibraryOnlyWhenAsked() {
        assertTrue(PlotlyJs.carriesLibrary(figure.toHtml("a", true)));
        assertFalse(PlotlyJs.carriesLibrary(figure.toHtml("a", false)));
    }
}
