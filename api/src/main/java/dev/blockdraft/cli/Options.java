package dev.blockdraft.cli;

import ai.djl.Device;
import dev.blockdraft.data.DataFolder;
import dev.blockdraft.lm.Devices;
import java.nio.file.Path;
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
