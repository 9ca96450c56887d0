package dev.blockdraft.cli;

import ai.djl.Device;
import dev.blockdraft.data.DataFolder;
import dev.blockdraft.io.OutputFolder;
import dev.blockdraft.lm.Devices;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.Option;

/** Options shared by several commands. */
final class Options {
    private Options() {}

    /** {@code --data DIR}: the datasets folder (else $BLOCKDRAFT_DATA, ../shared/datasets, datasets/). */
    static final class Data {
        @Option(names = "--data", paramLabel = "DIR",
                description = "datasets folder (default: $BLOCKDRAFT_DATA, ../shared/datasets, datasets/)")
        Path dir;

        DataFolder resolve() {
            return DataFolder.resolve(dir);
        }

        /** The data folder, if one is found, as a folder no output may be inside or above. */
        List<Path> protectedFolders() {
            try {
                return List.of(resolve().root());
            } catch (RuntimeException e) {
                return List.of(); // no data folder: nothing to protect
            }
        }
    }

    /**
     * {@code --overwrite} and {@code --restart} for a command that writes an output folder, and the
     * claim (check + lock) of that folder before anything is written.
     */
    static final class Output {
        @Option(names = "--overwrite", description = "replace what is at the output path even if blockdraft did not"
                + " make it (a file, a folder of other files); a data folder is never replaced")
        boolean overwrite;

        @Option(names = "--restart", description = "start over in an output folder that holds a run of other"
                + " settings (or a finished one) instead of resuming it; its content is deleted")
        boolean restart;

        OutputFolder claim(Path folder, String kind, String flag, List<Path> protectedFolders) {
            return OutputFolder.claim(folder, kind, flag, OutputFolder.Mode.of(overwrite, restart), protectedFolders);
        }

        /** Says what a rerun will do with the run in {@code folder}: resume it, or extend a finished one. */
        static void announce(Path folder, int steps) {
            dev.blockdraft.train.TrainerState state = dev.blockdraft.train.TrainerState.read(folder);
            if (state == null || state.step() >= steps) {
                return; // nothing to continue, or the trainer refuses it with the reason
            }
            System.out.println(state.finished(folder)
                    ? "extending the finished run in " + folder + " from " + state.step() + " to " + steps
                            + " steps (its optimizer state was not kept: AdamW starts afresh)"
                    : "resuming the run in " + folder + " at step " + state.step() + " of " + steps);
        }
    }

    /** A flag's {@code N} (> 0) or {@code all} (then {@code all}'s value), naming the flag and the value when it is neither. */
    static int countOrAll(String flag, String value, int all) {
        if (value.trim().equalsIgnoreCase("all")) {
            return all;
        }
        try {
            int n = Integer.parseInt(value.trim());
            if (n > 0) {
                return n;
            }
        } catch (NumberFormatException ignored) {
            // the message below
        }
        throw new IllegalArgumentException(flag + " " + value + ": give a positive number or 'all'");
    }

    /** Fails unless a flag's value is > 0, naming the flag and the value. */
    static int positive(String flag, Integer value) {
        if (value != null && value <= 0) {
            throw new IllegalArgumentException(flag + " " + value + ": must be > 0");
        }
        return value == null ? 0 : value;
    }

    /** {@code --device cpu|gpu[:N]}. */
    static final class Hardware {
        @Option(names = "--device", defaultValue = "cpu", paramLabel = "cpu|gpu[:N]",
                description = "where tensors live (default: ${DEFAULT-VALUE})")
        String device;

        Device resolve() {
            return Devices.parse(device);
        }
    }

    /** {@code --precision fp32|fp16} for every command that trains. */
    static final class Training {
        @Option(names = "--precision", defaultValue = "fp32", converter = PrecisionConverter.class, paramLabel = "fp32|fp16",
                description = "fp16 = mixed precision: fp32 master weights, fp16 forward/backward with a dynamic loss "
                        + "scale, fp16 frozen target (GPU) (default: ${DEFAULT-VALUE})")
        dev.blockdraft.train.Precision precision;
    }

    static final class PrecisionConverter implements picocli.CommandLine.ITypeConverter<dev.blockdraft.train.Precision> {
        @Override
        public dev.blockdraft.train.Precision convert(String value) {
            return dev.blockdraft.train.Precision.parse(value);
        }
    }
}
