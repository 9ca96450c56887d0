package dev.blockdraft.cli;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.blockdraft.lm.Generator;
import dev.blockdraft.lm.HfCheckpoint;
import dev.blockdraft.lm.LlamaConfig;
import dev.blockdraft.lm.LlamaModel;
import dev.blockdraft.lm.Sampler;
import dev.blockdraft.io.AtomicFiles;
import dev.blockdraft.io.SafeTensors;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code blockdraft parity}: the Java half of the parity check against Hugging Face
 * {@code transformers} ({@code tests/parity/hf_parity.py} drives it). Hidden: a test tool, not a
 * user command.
 *
 * <ul>
 *   <li>{@code parity dump} loads a checkpoint (no tokenizer needed) and writes the fp32 logits of
 *       a prompt and its greedy continuation as JSON;</li>
 *   <li>{@code parity init} writes a small random checkpoint with norm weights (and biases) moved
 *       away from their 1/0 init, so a loader that dropped them would show.</li>
 * </ul>
 *
 * <p>Runs as {@code bin/blockdraft parity dump …}.
 */
@Command(name = "parity", hidden = true, mixinStandardHelpOptions = true,
        description = "Parity checks against Hugging Face transformers (see tests/parity/).",
        subcommands = {ParityCommand.Dump.class, ParityCommand.Init.class})
public final class ParityCommand implements Callable<Integer> {

    @Override
    public Integer call() {
        CommandLine.usage(this, System.err);
        return 2;
    }


    @Command(name = "dump", mixinStandardHelpOptions = true,
            description = "Write a model's fp32 logits for --ids and its greedy continuation as JSON.")
    static final class Dump implements Callable<Integer> {
        @Option(names = "--model", required = true, paramLabel = "DIR",
                description = "HF-layout model folder; repeat with --json to check several models in one JVM")
        List<Path> models;

        @Option(names = "--ids", required = true, split = ",", paramLabel = "ID,ID,…", description = "prompt token ids")
        int[] ids;

        @Option(names = "--new-tokens", defaultValue = "64", description = "greedy tokens to generate (default: ${DEFAULT-VALUE})")
        int newTokens;

        @Option(names = "--json", required = true, paramLabel = "FILE", description = "output file, one per --model")
        List<Path> jsons;

        @Mixin
        Options.Hardware hardware;

        @Override
        public Integer call() throws IOException {
            if (newTokens < 0) {
                throw new IllegalArgumentException("--new-tokens=" + newTokens + " must be >= 0");
            }
            if (ids.length == 0) {
                throw new IllegalArgumentException("--ids is empty");
            }
            if (models.size() != jsons.size()) {
                throw new IllegalArgumentException(models.size() + " --model but " + jsons.size() + " --json");
            }
            Device device = hardware.resolve();
            int failed = 0;
            for (int i = 0; i < models.size(); i++) {
                try {
                    dump(models.get(i), jsons.get(i), device);
                } catch (RuntimeException e) {
                    // one bad model must not hide the others' results: record the error in its JSON
                    failed++;
                    System.err.println("parity dump " + models.get(i) + ": " + e);
                    JsonObject err = new JsonObject();
                    err.addProperty("model", models.get(i).toString());
                    err.addProperty("device", device.toString());
                    err.addProperty("error", e.toString());
                    write(jsons.get(i), err);
                }
            }
            return failed == 0 ? 0 : 1;
        }

        private static void write(Path json, JsonObject o) throws IOException {
            Path parent = json.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            try (Writer w = Files.newBufferedWriter(json, StandardCharsets.UTF_8)) {
                w.write(o.toString());
            }
        }

        private void dump(Path model, Path json, Device device) throws IOException {
            long t0 = System.nanoTime();
            try (LlamaModel lm = HfCheckpoint.load(model, device)) {
                int vocab = lm.config().vocabSize();
                long[] prompt = new long[ids.length];
                for (int i = 0; i < ids.length; i++) {
                    if (ids[i] < 0 || ids[i] >= vocab) {
                        throw new IllegalArgumentException("--ids: " + ids[i] + " is outside the vocabulary of " + vocab);
                    }
                    prompt[i] = ids[i];
                }
                float[] logits;
                try (NDManager scope = lm.manager().newSubManager()) {
                    NDArray nd = scope.create(prompt).reshape(1, prompt.length); // (1, T) int64
                    logits = lm.forward(nd, new int[0], LlamaModel.Logits.ALL).logits().toFloatArray(); // (1, T, V)
                }
                int[] greedy = newTokens == 0 ? new int[0]
                        : Generator.generate(lm, ids, newTokens, Sampler.greedy(), -1).tokens();

                JsonObject out = new JsonObject();
                out.addProperty("model", model.toString());
                out.addProperty("device", device.toString());
                out.addProperty("model_type", lm.config().modelType());
                out.addProperty("vocab_size", vocab);
                JsonArray idArray = new JsonArray();
                for (int id : ids) {
                    idArray.add(id);
                }
                out.add("ids", idArray);
                JsonArray rows = new JsonArray();
                for (int t = 0; t < ids.length; t++) {
                    JsonArray row = new JsonArray(vocab);
                    for (int v = 0; v < vocab; v++) {
                        row.add(logits[t * vocab + v]);
                    }
                    rows.add(row);
                }
                out.add("logits", rows);
                JsonArray g = new JsonArray();
                for (int id : greedy) {
                    g.add(id);
                }
                out.add("greedy", g);
                out.addProperty("seconds", (System.nanoTime() - t0) / 1e9);
                write(json, out);
            }
        }
    }

    @Command(name = "init", mixinStandardHelpOptions = true,
            description = "Write a small random checkpoint (fp32) for parity tests.")
    static final class Init implements Callable<Integer> {
        @Option(names = "--model-type", required = true, paramLabel = "llama|qwen2|qwen3")
        String modelType;

        @Option(names = "--out", required = true, paramLabel = "DIR")
        Path out;

        @Option(names = "--seed", defaultValue = "0")
        long seed;

        @Option(names = "--vocab", defaultValue = "512")
        int vocab;

        @Option(names = "--hidden", defaultValue = "64")
        int hidden;

        @Option(names = "--layers", defaultValue = "2")
        int layers;

        @Option(names = "--heads", defaultValue = "4")
        int heads;

        @Option(names = "--kv-heads", defaultValue = "2")
        int kvHeads;

        @Option(names = "--intermediate", defaultValue = "160")
        int intermediate;

        @Option(names = "--head-dim", defaultValue = "0", description = "0 = hidden/heads (default)")
        int headDim;

        @Option(names = "--context", defaultValue = "256", description = "max_position_embeddings")
        int context;

        @Option(names = "--rope-theta", defaultValue = "0", description = "0 = 10000 (llama) or 1e6 (qwen)")
        double ropeTheta;

        @Option(names = "--tied", description = "tie the LM head to the embeddings")
        boolean tied;

        @Option(names = "--std", defaultValue = "0.1",
                description = "std of the weight matrices (default ${DEFAULT-VALUE}: larger than HF's 0.02 init, so "
                        + "attention and logits are far from uniform and a mismatch shows)")
        double std;

        @Option(names = "--norm-std", defaultValue = "0.3",
                description = "norm weights are 1 + N(0, norm-std²), biases N(0, norm-std²)")
        double normStd;

        @Option(names = "--direct-writer",
                description = "write the safetensors file here instead of through HfCheckpoint.save (a stand-in to "
                        + "measure the model maths while HfCheckpoint.save leaves its buffered stream unflushed)")
        boolean directWriter;

        @Override
        public Integer call() {
            double theta = ropeTheta > 0 ? ropeTheta : modelType.equals("llama") ? 10_000.0 : 1_000_000.0;
            int d = headDim > 0 ? headDim : hidden / heads;
            LlamaConfig config = new LlamaConfig(modelType, vocab, hidden, intermediate, layers, heads, kvHeads, d,
                    context, theta, 1e-6, tied, false, 0, 1);
            try (LlamaModel model = LlamaModel.initialize(config, Device.cpu(), seed)) {
                SplittableRandom rng = new SplittableRandom(seed ^ 0x5DEECE66DL);
                float scale = (float) (std / 0.02); // initialize draws N(0, 0.02²)
                for (Map.Entry<String, NDArray> e : model.parameters().asMap().entrySet()) {
                    String name = e.getKey();
                    NDArray p = e.getValue();
                    float[] v = p.toFloatArray();
                    if (name.endsWith("norm.weight") || name.endsWith(".bias")) {
                        float base = name.endsWith("norm.weight") ? 1f : 0f;
                        for (int i = 0; i < v.length; i++) {
                            v[i] = base + (float) (rng.nextGaussian() * normStd);
                        }
                    } else {
                        for (int i = 0; i < v.length; i++) {
                            v[i] *= scale;
                        }
                    }
                    p.set(v);
                }
                if (directWriter) {
                    List<SafeTensors.Tensor> tensors = SafeTensors.fromArrays(model.parameters().asMap());
                    AtomicFiles.writeFolder(out, dir -> {
                        Files.writeString(dir.resolve(HfCheckpoint.CONFIG), config.toJson());
                        try (OutputStream o = new BufferedOutputStream(
                                Files.newOutputStream(dir.resolve(SafeTensors.SINGLE_FILE)), 1 << 20)) {
                            SafeTensors.write(o, tensors, Map.of(), SafeTensors.Stored.F32);
                        }
                    });
                } else {
                    HfCheckpoint.save(model, out, null, Map.of());
                }
            }
            System.out.printf("wrote %s: %s, %d parameters%n", out, modelType, config.parameterCount());
            return 0;
        }
    }
}
