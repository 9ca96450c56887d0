package dev.blockdraft;

import ai.djl.Device;
import dev.blockdraft.lm.Devices;
import dev.blockdraft.lm.Target;
import java.nio.file.Path;

/**
 * The fluent entry point for notebooks, JShell and scripts:
 *
 * <pre>{@code
 * try (Session s = Blockdraft.target("default")) {
 *     TrainedDrafter d = s.drafter().objective("paper").steps(300).train();
 *     AcceptanceReport r = d.evaluate(Benchmark.GSM8K, Benchmark.MT_BENCH);
 * }
 * }</pre>
 */
public final class Blockdraft {
    private Blockdraft() {}

    /** Opens a target on the CPU: {@code "default"} is the embedded one, anything else a model folder. */
    public static Session target(String nameOrFolder) {
        return target(nameOrFolder, "cpu");
    }

    /** Opens a target on {@code device} ({@code cpu}, {@code gpu}, {@code gpu:N}). */
    public static Session target(String nameOrFolder, String device) {
        Path folder = nameOrFolder.equals("default") ? Workflows.defaultTargetFolder() : Path.of(nameOrFolder);
        return target(folder, Devices.parse(device));
    }

    public static Session target(Path folder, Device device) {
        return new Session(Target.load(folder, device));
    }
}
