package dev.blockdraft.train;

import dev.blockdraft.report.Displayable;
import dev.blockdraft.report.Figure;
import dev.blockdraft.report.PlotlyJs;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A {@link TrainingRun}'s display: loss curves (total and per objective term), validation
 * metrics and the learning rate, as Plotly figures, plus a one-line text summary.
 */
public final class TrainingRunDisplay {
    private TrainingRunDisplay() {}

    static Map<String, Object> bundle(TrainingRun run) {
        List<Figure> figures = figures(run);
        Map<String, Object> bundle = new LinkedHashMap<>();
        StringBuilder html = new StringBuilder("<div class=\"blockdraft-run\"><p><b>")
                .append(escape(run.toString())).append("</b></p>");
        String lib = PlotlyJs.notebookSession().libraryOnce();
        html.append(lib);
        int i = 0;
        for (Figure f : figures) {
            html.append(f.toHtml("bd-run-" + System.identityHashCode(run) + "-" + i++, false));
        }
        html.append("</div>");
        bundle.put("text/html", html.toString());
        // The loss figure is the run's primary plot for front ends that render Plotly JSON themselves.
        bundle.put(Displayable.PLOTLY_MIME, figures.get(0).plotlyJson());
        bundle.put("text/plain", run.toString());
        return bundle;
    }

    /** Loss (total and terms), validation metrics, learning rate. */
    public static List<Figure> figures(TrainingRun run) {
        List<TrainingRun.Step> steps = run.steps();
        double[] x = new double[steps.size()];
        double[] loss = new double[steps.size()];
        double[] lr = new double[steps.size()];
        for (int i = 0; i < steps.size(); i++) {
            x[i] = steps.get(i).step();
            loss[i] = steps.get(i).loss();
            lr[i] = steps.get(i).lr();
        }
        Figure lossFig = Figure.lines("Training loss — " + run.name(), "step", "loss").withLine("total", x, loss);
        for (String term : run.termNames()) {
            double[] y = new double[steps.size()];
            for (int i = 0; i < steps.size(); i++) {
                y[i] = steps.get(i).terms().getOrDefault(term, Double.NaN);
            }
            lossFig = lossFig.withLine(term, x, y);
        }
        List<Figure> out = new ArrayList<>();
        out.add(lossFig);
        List<TrainingRun.Eval> evals = run.evals();
        if (!evals.isEmpty()) {
            Figure val = Figure.lines("Validation — " + run.name(), "step", "value");
            double[] ex = new double[evals.size()];
            for (int i = 0; i < evals.size(); i++) {
                ex[i] = evals.get(i).step();
            }
            for (String metric : run.evalMetricNames()) {
                double[] y = new double[evals.size()];
                for (int i = 0; i < evals.size(); i++) {
                    y[i] = evals.get(i).metrics().getOrDefault(metric, Double.NaN);
                }
                val = val.withMarkers(metric, ex, y);
            }
            out.add(val);
        }
        out.add(Figure.lines("Learning rate — " + run.name(), "step", "learning rate").withLine("lr", x, lr));
        return out;
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }
}
