package dev.blockdraft.cli;

import dev.blockdraft.train.TrainingListener;
import dev.blockdraft.train.TrainingRun;

/** Prints a training run's progress to the terminal: a bar with loss, τ and tokens/s. */
final class ConsoleProgress implements TrainingListener {
    private final String label;
    private final boolean prefix;
    private dev.blockdraft.report.ProgressBar bar;

    ConsoleProgress(String label) {
        this(label, false);
    }

    private ConsoleProgress(String label, boolean prefix) {
        this.label = label;
        this.prefix = prefix;
    }

    /** Labels each run {@code prefix + run name} (one listener for the many runs of a grid). */
    static ConsoleProgress perRun(String prefix) {
        return new ConsoleProgress(prefix, true);
    }

    @Override
    public void onStart(TrainingRun run, int startStep, int totalSteps) {
        bar = dev.blockdraft.report.ProgressBar.start(prefix ? label + run.name() : label, totalSteps);
        if (startStep > 0) {
            bar.step(startStep, "resumed at step " + startStep);
        }
    }

    @Override
    public void onStep(TrainingRun run, TrainingRun.Step step, int totalSteps) {
        StringBuilder metrics = new StringBuilder(String.format("loss %.3f", run.recentLoss(10)));
        double tau = run.lastEval("tau");
        if (!Double.isNaN(tau)) {
            metrics.append(String.format(" τ %.2f", tau));
        }
        double val = run.lastEval("val_loss");
        if (!Double.isNaN(val)) {
            metrics.append(String.format(" val %.3f", val));
        }
        metrics.append(String.format(" %s tok/s", human(step.tokensPerSecond())));
        bar.step(1, metrics.toString());
    }

    @Override
    public void onFinish(TrainingRun run) {
        bar.close();
    }

    static String human(double v) {
        if (v >= 1e6) {
            return String.format("%.2fM", v / 1e6);
        }
        if (v >= 1e3) {
            return String.format("%.1fk", v / 1e3);
        }
        return String.format("%.0f", v);
    }
}
