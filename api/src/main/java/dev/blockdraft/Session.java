package dev.blockdraft;

import dev.blockdraft.data.DataFolder;
import dev.blockdraft.lm.Sampler;
import dev.blockdraft.lm.Target;
import dev.blockdraft.train.RegeneratedData;
import dev.blockdraft.train.Regenerator;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * An open target with its data folder and regenerated training data: the context in which
 * drafters are specified, trained and evaluated. Closing it frees the target.
 */
public final class Session implements AutoCloseable {
    private final Target target;
    private DataFolder data;
    private RegeneratedData regenerated;

    Session(Target target) {
        this.target = target;
    }

    public Target target() {
        return target;
    }

    /** The data folder (resolved as the CLI does unless set). */
    public synchronized DataFolder data() {
        if (data == null) {
            data = DataFolder.resolve(null);
        }
        return data;
    }

    public synchronized Session data(Path folder) {
        data = DataFolder.resolve(folder);
        return this;
    }

    /** The target's reply to one user turn (greedy). */
    public String reply(String user, int maxNewTokens) {
        return target.reply(user, maxNewTokens, Sampler.greedy());
    }

    /**
     * Regenerated training data in {@code folder}: loaded if present, else made by having the
     * target answer {@code prompts} corpus prompts greedily.
     */
    public synchronized RegeneratedData regenerate(Path folder, int prompts, int maxNewTokens) {
        regenerated = Files.exists(folder.resolve(RegeneratedData.MANIFEST)) ? RegeneratedData.load(folder)
                : Workflows.regenerate(target, data(), folder, prompts, Math.min(48, prompts / 4),
                        new Regenerator.Settings(maxNewTokens, 32, 0, 1, 160), 1234);
        return regenerated;
    }

    /** The data drafters train on: what {@link #regenerate} made, else {@code runs/regenerated/<target>}. */
    public synchronized RegeneratedData regenerated() {
        if (regenerated == null) {
            regenerate(Workflows.defaultRegeneratedFolder(target.folder()), 640, 96);
        }
        return regenerated;
    }

    /** A drafter specification with this target's defaults (block 8, paper objective, 300 steps). */
    public DrafterSpec drafter() {
        return DrafterSpec.defaults(this);
    }

    @Override
    public void close() {
        target.close();
    }

    @Override
    public String toString() {
        return "Session(" + target + ")";
    }
}
