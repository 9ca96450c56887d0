package dev.blockdraft.export;

import com.google.gson.JsonObject;
import dev.blockdraft.draft.DflashConfig;
import dev.blockdraft.draft.Drafter;
import dev.blockdraft.draft.DrafterConfig;
import dev.blockdraft.io.AtomicFiles;
import dev.blockdraft.io.BadInputException;
import dev.blockdraft.io.JsonFiles;
import dev.blockdraft.io.Provenance;
import dev.blockdraft.io.SafeTensors;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Exports a blockdraft drafter folder in DFlash's layout: {@code config.json} as
 * {@link DflashConfig} writes it and {@code model.safetensors} with the same tensor names, in bf16
 * (rounded to nearest even in Java: DJL cannot hold bf16 arrays, the file can) or fp32.
 */
public final class DflashExport {

    /** The stored type of the exported weights. */
    public enum Precision {
        BF16(SafeTensors.Stored.BF16, "bfloat16"),
        FP32(SafeTensors.Stored.F32, "float32");

        final SafeTensors.Stored stored;
        final String torchType;

        Precision(SafeTensors.Stored stored, String torchType) {
            this.stored = stored;
            this.torchType = torchType;
        }

        /** "bf16" or "fp32" (also "bfloat16", "float32"). */
        public static Precision parse(String name) {
            return switch (name.toLowerCase(Locale.ROOT)) {
                case "bf16", "bfloat16" -> BF16;
                case "fp32", "float32", "f32" -> FP32;
                default -> throw new IllegalArgumentException("--dtype " + name + ": valid are bf16, fp32");
            };
        }
    }

    private DflashExport() {}

    /**
     * Writes the drafter of {@code drafterDir} (blockdraft's layout) into {@code out}, atomically.
     * {@code out} may be absent, empty, or an earlier DFlash export; anything else is refused, so
     * no user folder is replaced.
     *
     * @return the exported drafter's config
     */
    public static DrafterConfig write(Path drafterDir, Path out, Precision precision) {
        Path configFile = drafterDir.resolve("config.json");
        if (!Files.isDirectory(drafterDir)) {
            throw BadInputException.of(drafterDir, "drafter folder not found");
        }
        JsonObject json = JsonFiles.readObject(configFile);
        if (DflashConfig.isDflash(json)) {
            throw BadInputException.of(configFile, "is already in DFlash's layout; copy the folder instead");
        }
        DrafterConfig config = DrafterConfig.read(configFile);
        checkReplaceable(out);
        SafeTensors tensors = SafeTensors.openFolder(drafterDir);
        List<SafeTensors.Tensor> list = new ArrayList<>();
        for (Map.Entry<String, long[]> e : Drafter.parameterShapes(config).entrySet()) {
            if (!tensors.contains(e.getKey())) {
                throw BadInputException.of(drafterDir.resolve(SafeTensors.SINGLE_FILE), "missing tensor '" + e.getKey() + "'");
            }
            list.add(new SafeTensors.Tensor(e.getKey(), e.getValue(), tensors.readFloats(e.getKey())));
        }
        Path provenance = drafterDir.resolve(Provenance.FILE);
        AtomicFiles.writeFolder(out, dir -> {
            Files.writeString(dir.resolve("config.json"), DflashConfig.toJsonString(config, precision.torchType));
            try (OutputStream o = new BufferedOutputStream(Files.newOutputStream(dir.resolve(SafeTensors.SINGLE_FILE)), 1 << 20)) {
                SafeTensors.write(o, list, Map.of("exported_by", "blockdraft",
                        "source", drafterDir.toAbsolutePath().normalize().toString()), precision.stored);
            }
            if (Files.isRegularFile(provenance)) {
                Files.copy(provenance, dir.resolve(Provenance.FILE));
            }
        });
        return config;
    }

    private static void checkReplaceable(Path out) {
        if (!Files.exists(out)) {
            return;
        }
        if (!Files.isDirectory(out)) {
            throw BadInputException.of(out, "--out exists and is not a folder");
        }
        try (var entries = Files.list(out)) {
            if (entries.findAny().isEmpty()) {
                return;
            }
        } catch (IOException e) {
            throw BadInputException.of(out, "cannot list: " + e.getMessage(), e);
        }
        Path config = out.resolve("config.json");
        if (!Files.isRegularFile(config) || !DflashConfig.isDflash(JsonFiles.readObject(config))) {
            throw BadInputException.of(out, "--out is a non-empty folder that is not a DFlash drafter; refusing to replace it"
                    + " (give a new or empty folder)");
        }
    }
}
