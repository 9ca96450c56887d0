package dev.blockdraft.report;

import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;

/**
 * An immutable Plotly figure: traces plus layout. Every {@code with…} method returns a new figure.
 *
 * <pre>{@code
 * Figure.lines("Training", "step", "loss")
 *       .withLine("train", steps, trainLoss)
 *       .withLine("eval", steps, evalLoss)
 * }</pre>
 *
 * <p>Titles are written as {@code {"text": ...}} objects: plotly.js 3 dropped plain-string titles.
 * Non-finite values become JSON {@code null} (a gap in the line) because JSON has no NaN.
 */
public final class Figure implements Displayable {

    // Gson escapes <, >, & and = by default, which is what makes JSON safe inside <script>.
    private static final Gson HTML_SAFE_GSON = new Gson();
    private static final String DEFAULT_HEIGHT_PX = "420px";

    private final List<JsonObject> traces;
    private final JsonObject layout;

    private Figure(List<JsonObject> traces, JsonObject layout) {
        this.traces = traces;
        this.layout = layout;
    }

    /** An empty figure for line charts (scatter traces drawn as lines). */
    public static Figure lines(String title, String xLabel, String yLabel) {
        return new Figure(List.of(), baseLayout(title, xLabel, yLabel));
    }

    /** An empty figure for bar charts; several bar traces are grouped side by side. */
    public static Figure bars(String title, String xLabel, String yLabel) {
        JsonObject layout = baseLayout(title, xLabel, yLabel);
        layout.addProperty("barmode", "group");
        return new Figure(List.of(), layout);
    }

    /** An empty figure for histograms; several histograms overlay each other, half transparent. */
    public static Figure histograms(String title, String xLabel) {
        JsonObject layout = baseLayout(title, xLabel, "count");
        layout.addProperty("barmode", "overlay");
        return new Figure(List.of(), layout);
    }

    private static JsonObject baseLayout(String title, String xLabel, String yLabel) {
        JsonObject layout = new JsonObject();
        layout.add("title", titleObject(title));
        JsonObject xaxis = new JsonObject();
        xaxis.add("title", titleObject(xLabel));
        layout.add("xaxis", xaxis);
        JsonObject yaxis = new JsonObject();
        yaxis.add("title", titleObject(yLabel));
        layout.add("yaxis", yaxis);
        return layout;
    }

    private static JsonObject titleObject(String text) {
        JsonObject title = new JsonObject();
        title.addProperty("text", text == null ? "" : text);
        return title;
    }

    /** Adds a line trace. */
    public Figure withLine(String name, double[] x, double[] y) {
        return withXyTrace("scatter", "lines", name, numbers(x), y, null);
    }

    /** Adds a line trace with x = 0, 1, 2, …. */
    public Figure withLine(String name, double[] y) {
        double[] x = new double[y.length];
        for (int i = 0; i < x.length; i++) {
            x[i] = i;
        }
        return withLine(name, x, y);
    }

    /** Adds a scatter trace drawn as markers only. */
    public Figure withMarkers(String name, double[] x, double[] y) {
        return withXyTrace("scatter", "markers", name, numbers(x), y, null);
    }

    /** Adds a line trace plotted against the secondary y axis; call {@link #withSecondaryAxis} too. */
    public Figure withLineOnSecondaryAxis(String name, double[] x, double[] y) {
        return withXyTrace("scatter", "lines", name, numbers(x), y, "y2");
    }

    /** Adds a bar trace over named categories. */
    public Figure withBars(String name, String[] categories, double[] y) {
        JsonArray x = new JsonArray();
        for (String category : categories) {
            x.add(category);
        }
        return withXyTrace("bar", null, name, x, y, null);
    }

    /** Adds a bar trace over numeric x positions. */
    public Figure withBars(String name, double[] x, double[] y) {
        return withXyTrace("bar", null, name, numbers(x), y, null);
    }

    /** Adds a histogram of raw values; plotly.js does the binning in the browser. */
    public Figure withHistogram(String name, double[] values) {
        JsonObject trace = new JsonObject();
        trace.addProperty("type", "histogram");
        trace.addProperty("name", name);
        trace.add("x", numbers(values));
        trace.addProperty("opacity", 0.6);
        return withTrace(trace);
    }

    /** Adds a second y axis on the right, overlaying the first, for traces with another unit. */
    public Figure withSecondaryAxis(String yLabel) {
        JsonObject yaxis2 = new JsonObject();
        yaxis2.add("title", titleObject(yLabel));
        yaxis2.addProperty("overlaying", "y");
        yaxis2.addProperty("side", "right");
        return withLayout("yaxis2", yaxis2);
    }

    /**
     * Sets a top-level layout key. {@code value} may be a String, Number, Boolean, a Gson
     * {@link JsonElement} or a {@code Map}/{@code List} of those (converted to JSON).
     */
    public Figure withLayout(String key, Object value) {
        JsonObject newLayout = layout.deepCopy();
        newLayout.add(key, toJsonElement(value));
        return new Figure(traces, newLayout);
    }

    /** Adds a trace given as raw Plotly JSON, for trace types without a dedicated method. */
    public Figure withTrace(JsonObject trace) {
        Objects.requireNonNull(trace, "trace");
        List<JsonObject> newTraces = new ArrayList<>(traces);
        newTraces.add(trace.deepCopy());
        return new Figure(Collections.unmodifiableList(newTraces), layout);
    }

    private Figure withXyTrace(String type, String mode, String name, JsonArray x, double[] y, String yAxis) {
        if (x.size() != y.length) {
            throw new IllegalArgumentException(
                    "trace '" + name + "': x has " + x.size() + " values but y has " + y.length);
        }
        JsonObject trace = new JsonObject();
        trace.addProperty("type", type);
        if (mode != null) {
            trace.addProperty("mode", mode);
        }
        trace.addProperty("name", name);
        trace.add("x", x);
        trace.add("y", numbers(y));
        if (yAxis != null) {
            trace.addProperty("yaxis", yAxis);
        }
        return withTrace(trace);
    }

    private static JsonArray numbers(double[] values) {
        JsonArray array = new JsonArray(values.length);
        for (double value : values) {
            array.add(Double.isFinite(value) ? new JsonPrimitive(value) : JsonNull.INSTANCE);
        }
        return array;
    }

    private static JsonElement toJsonElement(Object value) {
        if (value instanceof JsonElement) {
            return ((JsonElement) value).deepCopy();
        }
        if (value instanceof Double && !Double.isFinite((Double) value)) {
            return JsonNull.INSTANCE;
        }
        return HTML_SAFE_GSON.toJsonTree(value);
    }

    /** The figure title, as given. */
    public String title() {
        JsonElement title = layout.get("title");
        return title != null && title.isJsonObject() && title.getAsJsonObject().has("text")
                ? title.getAsJsonObject().get("text").getAsString()
                : "";
    }

    /** Trace names in drawing order. */
    public List<String> traceNames() {
        List<String> names = new ArrayList<>();
        for (JsonObject trace : traces) {
            names.add(trace.has("name") ? trace.get("name").getAsString() : "");
        }
        return names;
    }

    /**
     * {@code {"data": [...], "layout": {...}}} as plain, unmodifiable maps and lists (see {@link PlainJson}): what
     * goes into the MIME bundle, so any kernel's JSON encoder writes the figure as Plotly expects.
     */
    public Map<String, Object> plotlyJson() {
        return PlainJson.of(toJson());
    }

    /** {@code {"data": [...], "layout": {...}}} as a Gson tree, a fresh copy the caller may modify. */
    public JsonObject toJson() {
        JsonObject json = new JsonObject();
        JsonArray data = new JsonArray();
        traces.forEach(trace -> data.add(trace.deepCopy()));
        json.add("data", data);
        json.add("layout", layout.deepCopy());
        return json;
    }

    /**
     * A {@code <div>} and a script drawing this figure into it. With {@code includePlotlyJs} the
     * library is inlined before the figure; without, the script waits until another output (or
     * the page head) has defined {@code window.Plotly}.
     */
    public String toHtml(String divId, boolean includePlotlyJs) {
        String escapedId = HtmlTables.escape(divId);
        JsonObject config = new JsonObject();
        config.addProperty("responsive", true);
        config.addProperty("displaylogo", false);
        StringBuilder html = new StringBuilder();
        if (includePlotlyJs) {
            html.append(PlotlyJs.libraryScript());
        }
        html.append("<div id=\"").append(escapedId).append("\" class=\"blockdraft-figure\" style=\"width:100%;height:")
                .append(DEFAULT_HEIGHT_PX).append(";\"></div>\n")
                .append("<script type=\"text/javascript\">(function () {\n")
                .append("  var figure = ").append(HTML_SAFE_GSON.toJson(toJson())).append(";\n")
                .append("  var config = ").append(HTML_SAFE_GSON.toJson(config)).append(";\n")
                .append("  var tries = 0;\n")
                // Waiting, not failing: the library may be defined by an earlier output or the head.
                .append("  function draw() {\n")
                .append("    var div = document.getElementById(").append(HTML_SAFE_GSON.toJson(divId)).append(");\n")
                .append("    if (!div || !window.Plotly) { if (tries++ < 400) { setTimeout(draw, 25); } return; }\n")
                .append("    window.Plotly.newPlot(div, figure.data, figure.layout, config);\n")
                .append("  }\n")
                .append("  draw();\n")
                .append("})();</script>");
        return html.toString();
    }

    /**
     * Plotly JSON for front ends with a Plotly renderer (JupyterLab with jupyterlab-plotly), HTML
     * with the library inlined once per {@link PlotlyJs#notebookSession()} for everything else,
     * and a one-line summary as text.
     */
    @Override
    public Map<String, Object> mimeBundle() {
        String divId = "blockdraft-figure-" + UUID.randomUUID();
        Map<String, Object> bundle = new LinkedHashMap<>();
        bundle.put(PLOTLY_MIME, plotlyJson());
        bundle.put("text/html", PlotlyJs.notebookSession().libraryOnce() + toHtml(divId, false));
        bundle.put("text/plain", toString());
        return Collections.unmodifiableMap(bundle);
    }

    /** {@code Figure "Training" [train: 1000 points, eval: 10 points]}. */
    @Override
    public String toString() {
        StringBuilder text = new StringBuilder("Figure \"").append(title()).append("\" [");
        for (int i = 0; i < traces.size(); i++) {
            JsonObject trace = traces.get(i);
            String values = trace.has("y") ? "y" : "x";
            int points = trace.has(values) ? trace.getAsJsonArray(values).size() : 0;
            text.append(i == 0 ? "" : ", ")
                    .append(trace.has("name") ? trace.get("name").getAsString() : "?")
                    .append(": ").append(points).append(points == 1 ? " point" : " points");
        }
        return text.append(']').toString();
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof Figure
                && traces.equals(((Figure) other).traces)
                && layout.equals(((Figure) other).layout);
    }

    @Override
    public int hashCode() {
        return Objects.hash(traces, layout);
    }
}
