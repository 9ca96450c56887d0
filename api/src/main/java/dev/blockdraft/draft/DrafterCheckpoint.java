package dev.blockdraft.draft;

import ai.djl.ndarray.NDManager;
import dev.blockdraft.io.AtomicFiles;
import dev.blockdraft.io.BadInputException;
import dev.blockdraft.io.JsonFiles;
import dev.blockdraft.io.SafeTensors;
import dev.blockdraft.lm.HfCheckpoint;
import dev.blockdraft.lm.LlamaModel;
import dev.blockdraft.lm.TargetFingerprint;
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
        AtomicFiles.writeFolder(folder, dir -> {
            writeFiles(drafter, dir, extraFiles);
            more.writeInto(dir);
        });
    }

    /** Writes the drafter's files (config, weights, extras) into an existing folder, non-atomically. */
    public static void writeFiles(Drafter drafter, Path dir, Map<String, String> extraFiles) throws java.io.IOException {
        var tensors = SafeTensors.fromArrays(drafter.parameters().asMap());
        Files.writeString(dir.resolve(HfCheckpoint.CONFIG), drafter.config().toJson());
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(dir.resolve(SafeTensors.SINGLE_FILE)), 1 << 20)) {
            SafeTensors.write(out, tensors, Map.of("target", drafter.config().targetName()), SafeTensors.Stored.F32);
        }
        Files.writeString(dir.resolve(TargetFingerprint.FILE), TargetFingerprint.of(drafter.target()).toJson());
        for (Map.Entry<String, String> e : extraFiles.entrySet()) {
            Files.writeString(dir.resolve(e.getKey()), e.getValue());
        }
    }

    /** Loads a drafter for {@code target}, failing clearly if it was trained for another target. */
    public static Drafter load(Path folder, LlamaModel target) {
        return load(folder, target, false);
    }

    /**
     * As {@link #load(Path, LlamaModel)}; {@code force} skips the check of the target's fingerprint
     * (its config and embedding/head weights), not the shape checks.
     */
    public static Drafter load(Path folder, LlamaModel target, boolean force) {
        if (!Files.isDirectory(folder)) {
            throw BadInputException.of(folder, "drafter folder not found");
        }
        Path configFile = folder.resolve(HfCheckpoint.CONFIG);
        // DFlash's layout (an exported drafter, or one trained elsewhere) has the same tensor names
        DrafterConfig config = DflashConfig.isDflash(JsonFiles.readObject(configFile))
                ? DflashConfig.read(configFile, target.config(), folder.getFileName().toString())
                : DrafterConfig.read(configFile);
        config.checkCompatible(target.config(), folder);
        TargetFingerprint trainedFor = TargetFingerprint.read(folder);
        if (trainedFor != null && !force) {
            trainedFor.requireSame(TargetFingerprint.of(target), folder);
        }
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
