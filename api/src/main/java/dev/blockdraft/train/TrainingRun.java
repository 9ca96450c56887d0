package dev.blockdraft.train;

import dev.blockdraft.report.Updatable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Everything a training run recorded, step by step: loss (total and per objective term),
 * learning rate, gradient norm, throughput, and periodic validation metrics. It is a live value:
 * a notebook displays it once and the display follows the run.
 */
public final class TrainingRun implements Updatable {

    /** One optimizer step. {@code terms} holds each objective term's value (e.g. "chain"). */
    public record Step(int step, double loss, Map<String, Double> terms, double lr, double gradNorm,
            double tokensPerSecond, long tokensSeen, boolean skipped) {}

    /** One validation pass, e.g. {@code val_loss}, {@code tau}. */
    public record Eval(int step, Map<String, Double> metrics) {}

    private final String name;
    private final Map<String, String> settings;
    private final List<Step> steps = new ArrayList<>();
    private final List<Eval> evals = new ArrayList<>();
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
    private volatile boolean finished;

    public TrainingRun(String name, Map<String, String> settings) {
        this.name = name;
        this.settings = Collections.unmodifiableMap(new LinkedHashMap<>(settings));
    }

    public String name() {
        return name;
    }

    public Map<String, String> settings() {
        return settings;
    }

    public synchronized List<Step> steps() {
        return List.copyOf(steps);
    }

    public synchronized List<Eval> evals() {
        return List.copyOf(evals);
    }

    public boolean finished() {
        return finished;
    }

    public void record(Step step) {
        synchronized (this) {
            steps.add(step);
        }
        notifyListeners();
    }

    public void record(Eval eval) {
        synchronized (this) {
            evals.add(eval);
        }
        notifyListeners();
    }

    public void finish() {
        finished = true;
        notifyListeners();
    }

    /** Restores history from a checkpoint when a run resumes. */
    synchronized void restore(List<Step> oldSteps, List<Eval> oldEvals) {
        steps.clear();
        steps.addAll(oldSteps);
        evals.clear();
        evals.addAll(oldEvals);
    }

    /** The last recorded value of a validation metric, or NaN. */
    /** The highest value a metric reached over the run's validation passes, NaN if never measured. */
    public synchronized double bestEval(String metric) {
        double best = Double.NaN;
        for (Eval e : evals) {
            Double v = e.metrics().get(metric);
            if (v != null && !(v <= best)) {
                best = v;
            }
        }
        return best;
    }

    public synchronized double lastEval(String metric) {
        for (int i = evals.size() - 1; i >= 0; i--) {
            Double v = evals.get(i).metrics().get(metric);
            if (v != null) {
                return v;
            }
        }
        return Double.NaN;
    }

    /** Mean training loss over the last {@code n} steps. */
    public synchronized double recentLoss(int n) {
        if (steps.isEmpty()) {
            return Double.NaN;
        }
        double sum = 0;
        int count = 0;
        for (int i = Math.max(0, steps.size() - n); i < steps.size(); i++) {
            if (!steps.get(i).skipped()) {
                sum += steps.get(i).loss();
                count++;
            }
        }
        return count == 0 ? Double.NaN : sum / count;
    }

    /** Names of all objective terms seen. */
    public synchronized Set<String> termNames() {
        Set<String> names = new LinkedHashSet<>();
        for (Step s : steps) {
            names.addAll(s.terms().keySet());
        }
        return names;
    }

    /** Names of all validation metrics seen. */
    public synchronized Set<String> evalMetricNames() {
        Set<String> names = new LinkedHashSet<>();
        for (Eval e : evals) {
            names.addAll(e.metrics().keySet());
        }
        return names;
    }

    @Override
    public void addChangeListener(Runnable listener) {
        listeners.add(listener);
    }

    @Override
    public void removeChangeListener(Runnable listener) {
        listeners.remove(listener);
    }

    private void notifyListeners() {
        for (Runnable l : listeners) {
            l.run();
        }
    }

    @Override
    public Map<String, Object> mimeBundle() {
        return TrainingRunDisplay.bundle(this);
    }

    @Override
    public synchronized String toString() {
        StringBuilder sb = new StringBuilder();
        sb.append("TrainingRun(").append(name).append(", ").append(steps.size()).append(" steps");
        if (!steps.isEmpty()) {
            Step last = steps.get(steps.size() - 1);
            sb.append(String.format(", loss %.4f, lr %.2e, %.0f tok/s", recentLoss(20), last.lr(), last.tokensPerSecond()));
        }
        for (String metric : evalMetricNames()) {
            sb.append(String.format(", %s %.4f", metric, lastEval(metric)));
        }
        sb.append(finished ? ", finished)" : ", running)");
        return sb.toString();
    }
}
