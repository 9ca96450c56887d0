package dev.blockdraft.draft;

import ai.djl.ndarray.NDManager;
import dev.blockdraft.io.AtomicFiles;
import dev.blockdraft.io.BadInputException;
import dev.blockdraft.io.JsonFiles;
import dev.blockdraft.io.SafeTensors;
import dev.blockdraft.lm.HfCheckpoint;
import dev.blockdraft.lm.LlamaModel;
import dev.blockdraft.nn.StateDict;
import java.io.BufferedOutputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * A drafter's own HF-style folder: {@code config.json} (naming its target, block size, feature
 * layers and mask token id) and {@code model.safetensors} with the drafter's weights only (the
 * embeddings and LM head stay with the target). {@link #load} also reads DFlash's layout
 * ({@link DflashConfig}), in fp32 or bf16.
 */
public final class DrafterCheckpoint {
    private DrafterCheckpoint() {}

    public static void save(Drafter drafter, Path folder, Map<String, String> extraFiles, AtomicFiles.FolderContent more) {
        var tensors = SafeTensors.fromArrays(drafter.parameters().asMap());
        AtomicFiles.writeFolder(folder, dir -> {
            Files.writeString(dir.resolve(HfCheckpoint.CONFIG), drafter.config().toJson());
            try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(dir.resolve(SafeTensors.SINGLE_FILE)), 1 << 20)) {
                SafeTensors.write(out, tensors, Map.of("target", drafter.config().targetName()), false);
            }
            for (Map.Entry<String, String> e : extraFiles.entrySet()) {
                Files.writeString(dir.resolve(e.getKey()), e.getValue());
            }
            more.writeInto(dir);
        });
    }

    /** Loads a drafter for {@code target}, failing clearly if it was trained for another target. */
    public static Drafter load(Path folder, LlamaModel target) {
        if (!Files.isDirectory(folder)) {
            throw BadInputException.of(folder, "drafter folder not found");
        }
        Path configFile = folder.resolve(HfCheckpoint.CONFIG);
        // DFlash's layout (an exported drafter, or one trained elsewhere) has the same tensor names
        DrafterConfig config = DflashConfig.isDflash(JsonFiles.readObject(configFile))
                ? DflashConfig.read(configFile, target.config(), folder.getFileName().toString())
                : DrafterConfig.read(configFile);
        config.checkCompatible(target.config(), folder);
        SafeTensors tensors = SafeTensors.openFolder(folder);
        StateDict params = new StateDict(NDManager.newBaseManager(target.device()));
        try {
            HfCheckpoint.loadInto(params, tensors, Drafter.parameterShapes(config), folder);
        } catch (RuntimeException e) {
            params.close();
            throw e;
        }
        return Drafter.fromParameters(config, params, target);
    }
}
