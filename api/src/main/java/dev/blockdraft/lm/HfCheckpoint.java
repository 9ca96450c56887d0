package dev.blockdraft.lm;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.blockdraft.io.AtomicFiles;
import dev.blockdraft.io.BadInputException;
import dev.blockdraft.io.SafeTensors;
import dev.blockdraft.nn.StateDict;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads and writes target models in the Hugging Face layout: {@code config.json},
 * {@code model.safetensors} (or shards with {@code model.safetensors.index.json}) and, copied
 * alongside, {@code tokenizer.json}. A folder written here loads in {@code transformers}
 * unchanged ({@code LlamaForCausalLM} / {@code Qwen3ForCausalLM}).
 */
public final class HfCheckpoint {
    public static final String CONFIG = "config.json";
    private HfCheckpoint() {}

    /** Loads a model, checking every expected tensor name and shape against the config. */
    public static LlamaModel load(Path folder, Device device) {
        if (!Files.isDirectory(folder)) {
            throw BadInputException.of(folder, "model folder not found");
        }
        LlamaConfig config = LlamaConfig.read(folder.resolve(CONFIG));
        // before any allocation: an absurd shape must fail here, not at the heap limit minutes later
        config.requireFits(dev.blockdraft.io.Memory.availableBytes(device), 4, "load in fp32",
                folder.resolve(CONFIG).toString());
        SafeTensors tensors = SafeTensors.openFolder(folder);
        StateDict params = new StateDict(NDManager.newBaseManager(device));
        try {
            loadInto(params, tensors, LlamaModel.parameterShapes(config), folder);
        } catch (RuntimeException e) {
            params.close();
            throw e;
        }
        return LlamaModel.fromParameters(config, params);
    }

    /**
     * Fills {@code params} with the expected tensors (widened to fp32), failing with the file
     * and tensor name on a missing tensor or a wrong shape. Extra tensors are ignored only when
     * they are derived buffers HF may save ({@code rotary_emb.inv_freq}) or a tied duplicate head.
     */
    public static void loadInto(StateDict params, SafeTensors tensors, Map<String, long[]> expected, Path folder) {
        for (Map.Entry<String, long[]> e : expected.entrySet()) {
            String name = e.getKey();
            SafeTensors.Entry entry = tensors.entry(name);
            if (entry == null) {
                throw BadInputException.of(folder.resolve(SafeTensors.SINGLE_FILE),
                        "missing tensor '" + name + "' of shape " + Arrays.toString(e.getValue()));
            }
            if (!Arrays.equals(entry.shape(), e.getValue())) {
                throw BadInputException.of(entry.file(), "tensor '" + name + "' has shape "
                        + Arrays.toString(entry.shape()) + " but the config needs " + Arrays.toString(e.getValue()));
            }
            float[] values = tensors.readFloats(name);
            params.put(name, params.manager().create(values, new Shape(entry.shape())));
        }
        List<String> unexpected = new ArrayList<>();
        for (String name : tensors.names()) {
            if (!expected.containsKey(name) && !name.endsWith("rotary_emb.inv_freq") && !name.equals(LlamaModel.LM_HEAD)) {
                unexpected.add(name);
            }
        }
        if (!unexpected.isEmpty()) {
            throw BadInputException.of(folder, "unexpected tensors " + unexpected.subList(0, Math.min(5, unexpected.size()))
                    + (unexpected.size() > 5 ? " and " + (unexpected.size() - 5) + " more" : "")
                    + " do not belong to this config");
        }
    }

    /**
     * Writes config, weights (fp32) and optionally the tokenizer files into {@code folder},
     * atomically: a crash never leaves a half checkpoint in place of a good one.
     *
     * @param tokenizerFolder folder holding {@code tokenizer.json} (and maybe
     *     {@code tokenizer_config.json}) to copy, or null
     * @param extraFiles more files to write (name → text), e.g. provenance
     */
    public static void save(LlamaModel model, Path folder, Path tokenizerFolder, Map<String, String> extraFiles) {
        save(model, folder, tokenizerFolder, extraFiles, dir -> { });
    }

    /** As {@link #save(LlamaModel, Path, Path, Map)}, with more content (trainer state) in the same atomic write. */
    public static void save(LlamaModel model, Path folder, Path tokenizerFolder, Map<String, String> extraFiles,
            AtomicFiles.FolderContent more) {
        Map<String, NDArray> arrays = new LinkedHashMap<>(model.parameters().asMap());
        List<SafeTensors.Tensor> tensors = SafeTensors.fromArrays(arrays);
        AtomicFiles.writeFolder(folder, dir -> {
            Files.writeString(dir.resolve(CONFIG), model.config().toJson());
            try (OutputStream out = new java.io.BufferedOutputStream(
                    Files.newOutputStream(dir.resolve(SafeTensors.SINGLE_FILE)), 1 << 20)) {
                SafeTensors.write(out, tensors, Map.of(), SafeTensors.Stored.F32);
            }
            if (tokenizerFolder != null) {
                copyTokenizer(tokenizerFolder, dir);
            }
            for (Map.Entry<String, String> e : extraFiles.entrySet()) {
                Files.writeString(dir.resolve(e.getKey()), e.getValue());
            }
            more.writeInto(dir);
        });
    }

    static void copyTokenizer(Path from, Path to) throws IOException {
        for (String name : new String[] {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                "chat_template.jinja", "generation_config.json"}) {
            Path src = from.resolve(name);
            if (Files.exists(src)) {
                Files.copy(src, to.resolve(name));
            } else if (name.equals("tokenizer.json")) {
                throw BadInputException.of(from, "no tokenizer.json in the tokenizer folder");
            }
        }
    }
}
