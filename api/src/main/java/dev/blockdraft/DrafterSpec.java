package dev.blockdraft;

import dev.blockdraft.draft.Drafter;
import dev.blockdraft.draft.DrafterConfig;
import dev.blockdraft.train.DraftTrainConfig;
import dev.blockdraft.train.DrafterTrainer;
import dev.blockdraft.train.TrainingListener;
import dev.blockdraft.train.TrainingRun;
import dev.blockdraft.train.objective.Objective;
import dev.blockdraft.train.objective.Objectives;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * What drafter to train and how: an immutable value, each verb returns a changed copy;
 * {@link #train()} runs it.
 */
public record DrafterSpec(Session session, int blockSize, Integer layers, String objective, int steps, long seed,
        Path checkpoint, List<Consumer<TrainingRun>> onStart) {

    static DrafterSpec defaults(Session s) {
        var device = s.target().model().device();
        return new DrafterSpec(s, DrafterConfig.defaultBlockSize(device), null, "paper",
                DraftTrainConfig.defaultsFor(device).optimizer().steps(), 7, null, List.of());
    }

    public DrafterSpec blockSize(int b) {
        return new DrafterSpec(session, b, layers, objective, steps, seed, checkpoint, onStart);
    }

    public DrafterSpec layers(int n) {
        return new DrafterSpec(session, blockSize, n, objective, steps, seed, checkpoint, onStart);
    }

    /** A preset name ({@code uniform}, {@code dflash}, {@code paper}, …, with optional {@code :key=value}). */
    public DrafterSpec objective(String name) {
        Objectives.parse(name); // fail now, not after regeneration
        return new DrafterSpec(session, blockSize, layers, name, steps, seed, checkpoint, onStart);
    }

    public DrafterSpec steps(int n) {
        return new DrafterSpec(session, blockSize, layers, objective, n, seed, checkpoint, onStart);
    }

    public DrafterSpec seed(long s) {
        return new DrafterSpec(session, blockSize, layers, objective, steps, s, checkpoint, onStart);
    }

    /** Save (and resume) the drafter in this folder. */
    public DrafterSpec checkpoint(Path folder) {
        return new DrafterSpec(session, blockSize, layers, objective, steps, seed, folder, onStart);
    }

    /** Called with the live run before the first step, e.g. {@code Notebook::display}. */
    public DrafterSpec onStart(Consumer<TrainingRun> action) {
        List<Consumer<TrainingRun>> all = new ArrayList<>(onStart);
        all.add(action);
        return new DrafterSpec(session, blockSize, layers, objective, steps, seed, checkpoint, List.copyOf(all));
    }

    public DrafterConfig drafterConfig() {
        var t = session.target();
        DrafterConfig c = DrafterConfig.forTarget(t.config(), t.folder().getFileName().toString(), blockSize,
                dev.blockdraft.tokenize.MaskToken.choose(t.tokenizer(), t.config().vocabSize(), null).id(), t.model().device());
        return layers == null ? c : c.withLayers(layers);
    }

    public TrainedDrafter train() {
        Objective obj = Objectives.parse(objective);
        DraftTrainConfig config = DraftTrainConfig.defaultsFor(session.target().model().device()).withSteps(steps).withSeed(seed);
        var target = session.target();
        Drafter drafter = Drafter.initialize(drafterConfig(), target.model(), seed);
        List<TrainingListener> listeners = new ArrayList<>();
        listeners.add(new TrainingListener() {
            @Override
            public void onStart(TrainingRun run, int startStep, int totalSteps) {
                onStart.forEach(c -> c.accept(run));
            }
        });
        try {
            TrainingRun run = new DrafterTrainer(config, obj, listeners).named(objective)
                    .train(drafter, session.regenerated(), target.tokenizer().padId(), checkpoint, null);
            return new TrainedDrafter(session, objective, drafter, run);
        } catch (RuntimeException e) {
            drafter.close();
            throw e;
        }
    }

    @Override
    public String toString() {
        return String.format("DrafterSpec(objective %s, block %d, %s layers, %d steps, seed %d)", objective, blockSize,
                layers == null ? "default" : layers, steps, seed);
    }
}
