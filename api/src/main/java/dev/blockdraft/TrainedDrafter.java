package dev.blockdraft;

import dev.blockdraft.data.Benchmark;
import dev.blockdraft.draft.Drafter;
import dev.blockdraft.eval.AcceptanceReport;
import dev.blockdraft.eval.BenchmarkRun;
import dev.blockdraft.eval.SpeculativeEvaluator;
import dev.blockdraft.report.Displayable;
import dev.blockdraft.train.TrainingRun;
import java.util.Map;

/** A trained drafter with the run that made it; evaluates itself on benchmarks. */
public record TrainedDrafter(Session session, String objective, Drafter drafter, TrainingRun run)
        implements Displayable, AutoCloseable {

    /** τ and acceptance on the given benchmarks (6 prompts each, 96 new tokens per turn). */
    public AcceptanceReport evaluate(Benchmark... benchmarks) {
        Benchmark[] list = benchmarks.length == 0 ? Benchmark.values() : benchmarks;
        return evaluate(BenchmarkRun.of(6, 96, list));
    }

    public AcceptanceReport evaluate(BenchmarkRun settings) {
        return new SpeculativeEvaluator().withObjective(objective)
                .withOfflineTau(Workflows.offlineTau(drafter, session.target().tokenizer().padId()))
                .evaluate(session.target(), drafter, session.data(), settings);
    }

    @Override
    public Map<String, Object> mimeBundle() {
        return run.mimeBundle();
    }

    @Override
    public void close() {
        drafter.close();
    }

    @Override
    public String toString() {
        return "TrainedDrafter(" + objective + ", " + drafter.config() + ", " + run + ")";
    }
}
