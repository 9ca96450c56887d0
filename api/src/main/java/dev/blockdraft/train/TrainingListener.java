package dev.blockdraft.train;

/** Observes a training loop: progress bars, logs and notebook displays are listeners. */
public interface TrainingListener {
    default void onStart(TrainingRun run, int startStep, int totalSteps) {}

    default void onStep(TrainingRun run, TrainingRun.Step step, int totalSteps) {}

    default void onEval(TrainingRun run, TrainingRun.Eval eval) {}

    default void onCheckpoint(TrainingRun run, int step, java.nio.file.Path folder) {}

    default void onFinish(TrainingRun run) {}
}
