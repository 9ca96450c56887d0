package dev.blockdraft;

import dev.blockdraft.data.DataFolder;
import dev.blockdraft.lm.Sampler;
import dev.blockdraft.lm.Target;
import dev.blockdraft.train.RegeneratedData;
import dev.blockdraft.train.RegenerationRecipe;
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
     * Regenerated training data in {@code folder} under {@code recipe}: loaded if it was made under
     * the same recipe, made there if absent, refused if made under another.
     */
    public synchronized RegeneratedData regenerate(Path folder, RegenerationRecipe recipe) {
        regenerated = Workflows.regeneratedData(target, data(), folder, recipe);
        return regenerated;
    }

    /** As {@link #regenerate(Path, RegenerationRecipe)} with the device's default recipe, {@code prompts} conversations and answers up to {@code maxNewTokens}. */
    public synchronized RegeneratedData regenerate(Path folder, int prompts, int maxNewTokens) {
        RegenerationRecipe r = RegenerationRecipe.defaultsFor(target.model().device());
        return regenerate(folder, r.withConversations(prompts)
                .withMaxNewTokens(maxNewTokens));
    }

    /** The data drafters train on: what {@link #regenerate} made, else {@code runs/regenerated/<target>} under the default recipe. */
    public synchronized RegeneratedData regenerated() {
        if (regenerated == null) {
            regenerate(Workflows.defaultRegeneratedFolder(target.folder()), RegenerationRecipe.defaultsFor(target.model().device()));
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
