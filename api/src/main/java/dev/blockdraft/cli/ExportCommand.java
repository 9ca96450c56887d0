package dev.blockdraft.cli;

import dev.blockdraft.draft.Drafter;
import dev.blockdraft.draft.DrafterCheckpoint;
import dev.blockdraft.draft.DrafterConfig;
import dev.blockdraft.export.DflashExport;
import dev.blockdraft.export.ParitySample;
import dev.blockdraft.lm.Target;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "export", mixinStandardHelpOptions = true,
        description = "Write a trained drafter in another layout: DFlash's (config.json + model.safetensors), which"
                + " DFlash's reference code and serving engines load; eval and train-drafter --init read it back.")
final class ExportCommand implements Callable<Integer> {
    @Option(names = "--drafter", required = true, paramLabel = "DIR", description = "a drafter folder written by train-drafter")
    Path drafterDir;

    @Option(names = "--format", required = true, paramLabel = "NAME", description = "dflash")
    String format;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "new (or empty) folder, or an earlier export")
    Path out;

    @Option(names = "--dtype", defaultValue = "bf16", description = "bf16 | fp32 weights (default: ${DEFAULT-VALUE})")
    String dtype;

    @Option(names = "--parity-sample", description = "also write " + ParitySample.FILE + " (needs --target): one block"
            + " drafted by blockdraft, for tests/parity/dflash_parity.py")
    boolean paritySample;

    @Option(names = "--target", paramLabel = "DIR", description = "the drafter's target (for --parity-sample)")
    Path targetDir;

    @Option(names = "--prompt", defaultValue = "What is 2 + 3?", description = "prompt of the parity sample")
    String prompt;

    @Mixin
    Options.Hardware hardware;

    @Override
    public Integer call() {
        if (!"dflash".equals(format)) {
            throw new IllegalArgumentException("--format " + format + ": valid formats are dflash");
        }
        if (paritySample && targetDir == null) {
            throw new IllegalArgumentException("--parity-sample needs --target DIR (the drafter's target)");
        }
        DflashExport.Precision precision = DflashExport.Precision.parse(dtype);
        DrafterConfig config = DflashExport.write(drafterDir, out, precision);
        System.out.printf("exported %s → %s (DFlash layout, %s): block_size %d, mask_token_id %d, target_layer_ids %s%n",
                drafterDir, out, precision.name().toLowerCase(java.util.Locale.ROOT), config.blockSize(),
                config.maskTokenId(), Arrays.toString(config.featureLayers()));
        if (paritySample) {
            try (Target target = Target.load(targetDir, hardware.resolve());
                    Drafter drafter = DrafterCheckpoint.load(out, target.model())) {
                Path file = out.resolve(ParitySample.FILE);
                ParitySample.write(target, drafter, prompt, file);
                System.out.println("parity sample → " + file);
            }
        }
        return 0;
    }
}
