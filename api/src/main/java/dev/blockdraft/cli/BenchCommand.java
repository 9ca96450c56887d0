package dev.blockdraft.cli;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.util.cuda.CudaUtils;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import dev.blockdraft.draft.Drafter;
import dev.blockdraft.draft.DrafterCheckpoint;
import dev.blockdraft.draft.DrafterConfig;
import dev.blockdraft.lm.Generator;
import dev.blockdraft.lm.LlamaConfig;
import dev.blockdraft.lm.LlamaModel;
import dev.blockdraft.lm.Sampler;
import dev.blockdraft.lm.Target;
import dev.blockdraft.spec.SpeculativeDecoder;
import dev.blockdraft.draft.BlockBatch;
import dev.blockdraft.train.BlockSampler;
import dev.blockdraft.train.DrafterStep;
import dev.blockdraft.train.Precision;
import dev.blockdraft.train.TrainConfig;
import dev.blockdraft.train.RegeneratedData;
import dev.blockdraft.train.TargetStep;
import dev.blockdraft.train.objective.Objective;
import dev.blockdraft.train.objective.Objectives;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code blockdraft bench}: throughput benchmarks on random models.
 *
 * <ul>
 *   <li>{@code bench train} times the drafter-training step exactly as {@code DrafterTrainer} runs
 *       it (frozen target forward for features, drafter over all blocks, B−1 slot logits through
 *       the target's head, objective, backward, global-norm clip, AdamW) at the shapes of
 *       {@code benchmarks/pytorch_reference.py} (same defaults, same tokens/s and FLOP
 *       definitions), then a target-training step ({@code TargetStep}, as {@code TargetTrainer} runs it:
 *       forward, loss, backward, AdamW), both in the chosen {@code --precision}.</li>
 *   <li>{@code bench decode} compares plain greedy decoding with speculative decoding (tokens/s,
 *       τ, speedup, token mismatches) on random or real models.</li>
 * </ul>
 *
 * <p>Runs as {@code bin/blockdraft bench train --device gpu}. Results: a small table on
 * stdout and one JSON line (prefixed {@code BENCH_JSON }) for scripts.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Benchmarks: drafter/target training step throughput and speculative decoding speed.",
        subcommands = {BenchCommand.Train.class, BenchCommand.Decode.class, BenchCommand.Compare.class})
public final class BenchCommand implements Callable<Integer> {

    @Override
    public Integer call() {
        CommandLine.usage(this, System.err);
        return 2;
    }


    // ---- shapes ---------------------------------------------------------------------------------

    /** Model and batch shapes; null options take the preset's value. */
    static final class Shapes {
        @Option(names = "--preset", defaultValue = "default", paramLabel = "default|cpu",
                description = "default = pytorch_reference.py's shapes (GPU); cpu = small, for a CPU smoke test")
        String preset;

        @Option(names = "--Lt", description = "target layers") Integer lt;
        @Option(names = "--C", description = "hidden size") Integer c;
        @Option(names = "--H", description = "attention heads") Integer h;
        @Option(names = "--G", description = "kv heads") Integer g;
        @Option(names = "--I", description = "MLP width") Integer i;
        @Option(names = "--V", description = "vocabulary (mask id = V-1)") Integer v;
        @Option(names = "--Ld", description = "drafter layers") Integer ld;
        @Option(names = "--B", description = "block size (anchor + B-1 slots)") Integer b;
        @Option(names = "--feature-layers", split = ",", description = "target layers feeding the drafter") int[] features;
        @Option(names = "--S", description = "sequences per step") Integer s;
        @Option(names = "--L", description = "sequence length") Integer l;
        @Option(names = "--m", description = "blocks (anchors) per sequence") Integer m;

        Resolved resolve() {
            Resolved d = switch (preset) {
                case "default" -> new Resolved(12, 768, 12, 4, 2048, 4096, 2, 16, new int[] {1, 6, 11}, 8, 1024, 32);
                case "cpu" -> new Resolved(4, 64, 4, 2, 192, 512, 1, 8, new int[] {1, 2, 3}, 2, 128, 8);
                default -> throw new IllegalArgumentException("--preset " + preset + ": expected default or cpu");
            };
            Resolved r = new Resolved(or(lt, d.lt), or(c, d.c), or(h, d.h), or(g, d.g), or(i, d.i), or(v, d.v), or(ld, d.ld),
                    or(b, d.b), features != null ? features : d.features, or(s, d.s), or(l, d.l), or(m, d.m));
            if (r.c % r.h != 0 || r.h % r.g != 0 || (r.c / r.h) % 2 != 0) {
                throw new IllegalArgumentException("need H | C, G | H and an even head dim");
            }
            if (r.l <= r.b + 1) {
                throw new IllegalArgumentException("need L > B + 1");
            }
            return r;
        }

        private static int or(Integer x, int d) {
            return x == null ? d : x;
        }
    }

    record Resolved(int lt, int c, int h, int g, int i, int v, int ld, int b, int[] features, int s, int l, int m) {
        LlamaConfig target(int context) {
            return LlamaConfig.llama(v, c, i, lt, h, g, context); // tied embeddings, RoPE 10000, eps 1e-6
        }

        DrafterConfig drafter(LlamaConfig target) {
            return new DrafterConfig(target, "random", b, features, ld, h, g, i, v - 1, 1);
        }

        int lastFeature() {
            return Arrays.stream(features).max().orElseThrow();
        }

        Map<String, Object> asMap() {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("Lt", lt);
            o.put("C", c);
            o.put("H", h);
            o.put("G", g);
            o.put("I", i);
            o.put("V", v);
            o.put("Ld", ld);
            o.put("B", b);
            o.put("feature_layers", features);
            o.put("S", s);
            o.put("L", l);
            o.put("m", m);
            o.put("Q", m * b);
            o.put("mask_id", v - 1);
            o.put("target_layers_run", lt);
            return o;
        }

        /**
         * Model FLOPs of one drafter-training step, exactly {@code flop_count} of
         * pytorch_reference.py (with Lt' = max(feature layers)+1; blockdraft runs all Lt target
         * layers, which is the same with the defaults): {target forward, drafter training}.
         */
        double[] drafterStepFlops() {
            double d = (double) c / h;
            double lt1 = lastFeature() + 1, n = features.length, q = (double) m * b;
            double ntl = 2.0 * c * h * d + 2.0 * c * g * d + 3.0 * c * i;
            double nkv = 2.0 * c * g * d;
            double tgt = 2 * lt1 * ntl * s * l + lt1 * 2 * s * h * d * (double) l * l;
            double dr = 6 * ld * ntl * s * q + 6 * ld * nkv * s * l + 4 * n * c * (double) c * s * l
                    + 4.0 * v * c * s * m * (b - 1) + 3.0 * ld * 4 * s * h * d * q * (l + q);
            return new double[] {tgt, dr};
        }

        /**
         * Model FLOPs of one target-training step over (s, l) tokens: 6·Lt·N_tl·s·l (all layer
         * matmuls, forward + both gradients) + Lt·6·s·H·D·l² (causal attention = half of dense, fwd
         * + bwd) + 6·V·C·s·l (tied LM head, trainable).
         */
        double targetStepFlops(int ts, int tl) {
            double d = (double) c / h;
            double ntl = 2.0 * c * h * d + 2.0 * c * g * d + 3.0 * c * i;
            return 6.0 * lt * ntl * ts * tl + lt * 6.0 * ts * h * d * (double) tl * tl + 6.0 * v * c * ts * tl;
        }
    }

    // ---- bench train ----------------------------------------------------------------------------

    @Command(name = "train", mixinStandardHelpOptions = true,
            description = "Time the drafter-training step (as DrafterTrainer) and a target-training step on random models.")
    static final class Train implements Callable<Integer> {
        @Mixin
        Shapes shapes;

        @Mixin
        Options.Hardware hardware;

        @Option(names = "--warmup", defaultValue = "5", description = "untimed steps first (default: ${DEFAULT-VALUE})")
        int warmup;

        @Option(names = "--steps", defaultValue = "20", description = "timed steps (default: ${DEFAULT-VALUE})")
        int steps;

        @Option(names = "--objective", defaultValue = "uniform", description = "objective spec (default: ${DEFAULT-VALUE})")
        String objectiveSpec;

        @Option(names = "--lr", defaultValue = "3e-4") double lr;
        @Option(names = "--weight-decay", defaultValue = "0.01") double weightDecay;
        @Option(names = "--clip", defaultValue = "1.0") double clipNorm;
        @Option(names = "--seed", defaultValue = "0") long seed;

        @Option(names = "--profile-steps", defaultValue = "5",
                description = "extra steps timed phase by phase with a device sync between phases (0 = none)")
        int profileSteps;

        @Option(names = "--trace", paramLabel = "FILE",
                description = "write PyTorch's profiler trace (Chrome trace JSON, one event per op as the host issued it)"
                        + " of the drafter's timed steps to FILE; the profiler's own overhead slows those steps")
        Path trace;

        @Option(names = "--target-steps", defaultValue = "10",
                description = "timed target-training steps after the drafter benchmark (0 = skip; 3 warm-up first)")
        int targetSteps;

        @Option(names = "--target-S", description = "target-training sequences per step (default: --S)") Integer targetS;
        @Option(names = "--target-L", description = "target-training tokens per sequence (default: --L)") Integer targetL;

        @Option(names = "--half-target", description = "compute the frozen target's features in fp16 (GPU)")
        boolean halfTarget;

        @Mixin
        Options.Training training;

        @Option(names = "--json", paramLabel = "FILE", description = "also write the JSON result here")
        Path json;

        @Option(names = "--reference", paramLabel = "FILE",
                description = "JSON lines of benchmarks/pytorch_reference.py at the same shapes: print blockdraft / reference"
                        + " tokens/s per variant")
        Path reference;

        @Override
        public Integer call() throws IOException {
            List<BenchReference.Round> referenceRounds = reference == null ? null : BenchReference.readReference(reference);
            Resolved r = shapes.resolve();
            if (referenceRounds != null) {
                BenchReference.checkShapes(referenceRounds, "bench train", r.asMap()); // before the benchmark's minutes
            }
            Device device = hardware.resolve();
            int ts = targetS == null ? r.s : targetS, tl = targetL == null ? r.l : targetL;
            Engine.getInstance().setRandomSeed((int) seed);
            Memory mem = new Memory(device);
            mem.baseline();
            LlamaConfig tc = r.target(Math.max(r.l + r.b, tl));
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("command", "bench train");
            out.put("device", device.toString());
            out.put("gpu", gpuName(device));
            out.put("dtype", training.precision.toString());
            out.put("tf32_override", "1".equals(System.getenv("TORCH_ALLOW_TF32_CUBLAS_OVERRIDE")));
            out.put("engine", Engine.getInstance().getEngineName() + " " + Engine.getInstance().getVersion());
            out.put("shapes", r.asMap());
            try (LlamaModel target = LlamaModel.initialize(tc, device, seed);
                    Drafter drafter = Drafter.initialize(r.drafter(tc), target, seed + 1)) {
                out.put("backend", target.backend().toString()); // eager or fused ops, and any kept eager
                System.out.println("backend: " + target.backend() + " ops on " + device);
                out.put("params", Map.of("target", target.parameters().parameterCount(),
                        "drafter_trainable", drafter.parameters().parameterCount()));
                out.put("half_target", halfTarget || training.precision == Precision.FP16);
                out.put("drafter_step", drafterBench(r, target, drafter, mem));
                if (targetSteps > 0) {
                    out.put("target_step", targetBench(r, target, ts, tl));
                }
            }
            printTable(out);
            if (referenceRounds != null) {
                printReference(reference, referenceRounds, out);
            }
            Gson gson = new GsonBuilder().serializeSpecialFloatingPointValues().create();
            String line = gson.toJson(out);
            System.out.println("BENCH_JSON " + line);
            if (json != null) {
                Files.writeString(json, line + "\n", StandardCharsets.UTF_8);
            }
            return 0;
        }

        private Map<String, Object> drafterBench(Resolved r, LlamaModel target, Drafter drafter, Memory mem) {
            Objective objective = Objectives.parse(objectiveSpec);
            BlockSampler sampler = new BlockSampler(r.b, r.m, r.l, r.v - 1, 0);
            SplittableRandom rng = new SplittableRandom(seed);
            // 4 pre-made host batches, cycled (as the reference's 4 device batches); sampling is timed apart
            List<RegeneratedData.Sequence> seqs = new ArrayList<>();
            for (int k = 0; k < 4 * r.s; k++) {
                int[] ids = new int[r.l];
                for (int j = 0; j < r.l; j++) {
                    ids[j] = rng.nextInt(r.v - 1); // V-1 is the mask id
                }
                seqs.add(new RegeneratedData.Sequence(ids, 1)); // the whole sequence is "response"
            }
            List<BlockBatch> batches = new ArrayList<>();
            double[] sampleMs = new double[4];
            for (int k = 0; k < 4; k++) {
                long t0 = System.nanoTime();
                batches.add(sampler.sample(seqs.subList(k * r.s, (k + 1) * r.s), r.s, rng.split()));
                sampleMs[k] = (System.nanoTime() - t0) / 1e6;
            }
            List<Double> times = new ArrayList<>();
            List<Double> losses = new ArrayList<>();
            Map<String, Double> phases = new LinkedHashMap<>();
            Map<String, Double> phasesHost = new LinkedHashMap<>();
            long tAll = System.nanoTime();
            TrainConfig opt = new TrainConfig(warmup + steps + profileSteps, r.s, r.l, 1, lr, 0, 1.0, weightDecay,
                    clipNorm, 0, 0, 0, seed);
            int skipped = 0;
            boolean tracing = false;
            try (DrafterStep stepper = new DrafterStep(drafter, objective, opt, training.precision, halfTarget)) {
                int total = warmup + steps + profileSteps;
                for (int step = 0; step < total; step++) {
                    BlockBatch batch = batches.get(step % batches.size());
                    boolean profiling = step >= warmup + steps;
                    if (trace != null && step == warmup) {
                        JniUtils.startProfile(drafter.device().isGpu(), true, false);
                        tracing = true;
                    }
                    if (tracing && profiling) {
                        JniUtils.stopProfile(trace.toString());
                        tracing = false;
                    }
                    Phases ph = profiling ? new Phases(drafter.parameters().manager()) : null;
                    long t0 = System.nanoTime();
                    DrafterStep.Result res = stepper.run(List.of(batch), lr, ph == null ? DrafterStep.PhaseMarks.NONE
                            : phase -> mark(ph, phase));
                    sync(drafter.parameters().manager());
                    double ms = (System.nanoTime() - t0) / 1e6;
                    mem.sample();
                    losses.add(res.loss());
                    skipped += res.skipped() ? 1 : 0;
                    if (step >= warmup && !profiling) {
                        times.add(ms);
                    }
                    if (profiling) {
                        ph.times.forEach((k, v) -> phases.merge(k, v / profileSteps, Double::sum));
                        ph.host.forEach((k, v) -> phasesHost.merge(k, v / profileSteps, Double::sum));
                    }
                    System.err.printf("step %3d loss %.4f |g| %.3f %8.2f ms%s%s%n", step, res.loss(), res.gradNorm(), ms,
                            res.skipped() ? " (skipped: overflow)" : "",
                            step < warmup ? " (warm-up)" : profiling ? " (profiled, synced phases)" : "");
                }
            }
            if (tracing) {
                JniUtils.stopProfile(trace.toString());
            }
            double wall = (System.nanoTime() - tAll) / 1e9;
            double med = median(times);
            double[] flops = r.drafterStepFlops();
            double achieved = (flops[0] + flops[1]) / (med / 1e3) / 1e12;
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("objective", objectiveSpec);
            o.put("precision", training.precision.toString());
            o.put("skipped_steps", skipped);
            o.put("steps_timed", times.size());
            o.put("warmup", warmup);
            o.put("step_ms_median", med);
            o.put("step_ms_min", times.stream().mapToDouble(Double::doubleValue).min().orElse(Double.NaN));
            o.put("step_ms_max", times.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN));
            o.put("tokens_per_s", r.s * r.l / (med / 1e3));
            o.put("blocks_per_s", r.s * r.m / (med / 1e3));
            o.put("model_tflop_per_step", Map.of("target_fwd", flops[0] / 1e12, "drafter_train", flops[1] / 1e12));
            o.put("achieved_tflops", achieved);
            Double peak = peakTflops(gpuName(drafter.device()), tf32());
            o.put("peak_tflops_assumed", peak);
            o.put("peak_precision", tf32() ? "tf32" : "fp32");
            o.put("mfu", peak == null ? null : achieved / peak);
            o.put("host_sample_ms_mean", Arrays.stream(sampleMs).average().orElse(Double.NaN));
            o.put("loss_first", losses.get(0));
            o.put("loss_last", losses.get(warmup + steps - 1));
            o.put("profile_ms_per_phase", phases.isEmpty() ? null : phases);
            o.put("profile_ms_total", phases.values().stream().mapToDouble(Double::doubleValue).sum());
            o.put("profile_host_ms_per_phase", phasesHost.isEmpty() ? null : phasesHost);
            o.put("gpu_mem_used_peak_gib", mem.peakGib());
            o.put("gpu_mem_used_over_baseline_gib", mem.overBaselineGib());
            o.put("gpu_mem_method", "cudaMemGetInfo (total-free, whole device) via ai.djl.util.cuda.CudaUtils.getGpuMemory, "
                    + "sampled after every step; baseline = before the models were built (CUDA context may not exist yet)");
            o.put("wall_s", wall);
            return o;
        }

        private Map<String, Object> targetBench(Resolved r, LlamaModel target, int ts, int tl) {
            SplittableRandom rng = new SplittableRandom(seed + 7);
            List<long[]> windows = new ArrayList<>();
            for (int k = 0; k < 4; k++) {
                long[] w = new long[ts * (tl + 1)];
                for (int j = 0; j < w.length; j++) {
                    w[j] = rng.nextInt(r.v);
                }
                windows.add(w);
            }
            int warm = 3;
            List<Double> times = new ArrayList<>();
            double first = Double.NaN, last = Double.NaN;
            Memory mem = new Memory(target.device());
            TrainConfig opt = new TrainConfig(warm + targetSteps, ts, tl, 1, lr, 0, 1.0, weightDecay, clipNorm, 0, 0, 0, seed);
            int skipped = 0;
            try (TargetStep stepper = new TargetStep(target, opt, training.precision)) {
                for (int step = 0; step < warm + targetSteps; step++) {
                    long t0 = System.nanoTime();
                    TargetStep.Result res = stepper.run(List.of(windows.get(step % 4)), lr);
                    sync(target.manager());
                    double ms = (System.nanoTime() - t0) / 1e6;
                    mem.sample();
                    first = step == 0 ? res.loss() : first;
                    last = res.loss();
                    skipped += res.skipped() ? 1 : 0;
                    if (step >= warm) {
                        times.add(ms);
                    }
                    System.err.printf("target step %3d loss %.4f %8.2f ms%s%s%n", step, res.loss(), ms,
                            res.skipped() ? " (skipped: overflow)" : "", step < warm ? " (warm-up)" : "");
                }
            }
            double med = median(times);
            double flops = r.targetStepFlops(ts, tl);
            double achieved = flops / (med / 1e3) / 1e12;
            Double peak = peakTflops(gpuName(target.device()), tf32());
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("S", ts);
            o.put("L", tl);
            o.put("precision", training.precision.toString());
            o.put("skipped_steps", skipped);
            o.put("steps_timed", times.size());
            o.put("warmup", warm);
            o.put("step_ms_median", med);
            o.put("step_ms_min", times.stream().mapToDouble(Double::doubleValue).min().orElse(Double.NaN));
            o.put("step_ms_max", times.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN));
            o.put("tokens_per_s", ts * tl / (med / 1e3));
            o.put("model_tflop_per_step", flops / 1e12);
            o.put("achieved_tflops", achieved);
            o.put("mfu", peak == null ? null : achieved / peak);
            o.put("loss_first", first);
            o.put("loss_last", last);
            o.put("gpu_mem_used_peak_gib", mem.peakGib());
            return o;
        }

        @SuppressWarnings("unchecked")
        private static void printTable(Map<String, Object> out) {
            Map<String, Object> d = (Map<String, Object>) out.get("drafter_step");
            Map<String, Object> t = (Map<String, Object>) out.get("target_step");
            System.out.printf("device %s (%s), %s%s%s, %s%n", out.get("device"), out.get("gpu"), out.get("dtype"),
                    "fp16".equals(out.get("dtype")) ? " mixed precision (fp32 masters)" : "",
                    Boolean.TRUE.equals(out.get("tf32_override")) ? " + TF32 (cuBLAS override)" : "", out.get("engine"));
            System.out.println("shapes " + new Gson().toJson(out.get("shapes")));
            System.out.printf("%-16s %12s %12s %12s %10s %8s %10s%n", "step", "median ms", "min-max ms", "tokens/s",
                    "TFLOP/s", "MFU", "mem GiB");
            row("drafter train", d);
            if (t != null) {
                row("target train", t);
            }
            Object phases = d.get("profile_ms_per_phase");
            if (phases instanceof Map<?, ?> p) {
                System.out.printf("drafter step phases (synced, mean of profiled steps; sum %.2f ms; host = time to issue"
                        + " the phase's work before its sync, near the total when the host is the bottleneck):%n",
                        (Double) d.get("profile_ms_total"));
                Map<?, ?> host = d.get("profile_host_ms_per_phase") instanceof Map<?, ?> h ? h : Map.of();
                p.forEach((k, v) -> System.out.printf("  %-28s %8.2f ms  (host %6.2f ms)%n", k, (Double) v,
                        host.get(k) instanceof Double hv ? hv : Double.NaN));
            }
        }

        private static void row(String name, Map<String, Object> m) {
            Object mfu = m.get("mfu");
            Object mem = m.get("gpu_mem_used_peak_gib");
            System.out.printf("%-16s %12.2f %12s %12.0f %10.2f %8s %10s%n", name, (Double) m.get("step_ms_median"),
                    String.format("%.1f-%.1f", (Double) m.get("step_ms_min"), (Double) m.get("step_ms_max")),
                    (Double) m.get("tokens_per_s"), (Double) m.get("achieved_tflops"),
                    mfu == null ? "-" : String.format("%.1f%%", 100 * (Double) mfu),
                    mem == null ? "-" : String.format("%.2f", (Double) mem));
        }
    }

    // ---- bench decode ---------------------------------------------------------------------------

    @Command(name = "decode", mixinStandardHelpOptions = true,
            description = "Plain greedy vs speculative decoding tokens/s on random models or --target/--drafter.")
    static final class Decode implements Callable<Integer> {
        @Mixin
        Shapes shapes;

        @Mixin
        Options.Hardware hardware;

        @Option(names = "--target", paramLabel = "DIR", description = "a target model folder (with tokenizer.json)")
        Path targetDir;

        @Option(names = "--force", description = "use a drafter trained for another target anyway")
        boolean force;

        @Option(names = "--drafter", paramLabel = "DIR", description = "a drafter trained for --target")
        Path drafterDir;

        @Option(names = "--prompts", defaultValue = "4", description = "prompts (default: ${DEFAULT-VALUE})")
        int prompts;

        @Option(names = "--prompt-len", defaultValue = "32", description = "random-prompt length (default: ${DEFAULT-VALUE})")
        int promptLen;

        @Option(names = "--max-new-tokens", defaultValue = "128") int maxNewTokens;
        @Option(names = "--seed", defaultValue = "0") long seed;

        @Mixin
        DecodingOptions decodingOptions;

        @Option(names = "--json", paramLabel = "FILE", description = "also write the JSON result here")
        Path json;

        @Option(names = "--reference", paramLabel = "FILE",
                description = "JSON lines of benchmarks/decode_reference.py at the same shapes: print blockdraft / reference"
                        + " tokens/s per variant, for plain and speculative decoding")
        Path reference;

        @Option(names = "--trace", paramLabel = "FILE",
                description = "after the timed runs, write PyTorch's profiler trace of one plain decode of the first prompt"
                        + " to FILE and of one speculative decode to FILE.spec.json (benchmarks/trace_summary.py --per"
                        + " TOKENS counts the ops per token)")
        Path trace;

        private static final String[] TEXT_PROMPTS = {
            "What is 12 times 7?", "Write a Python function that reverses a string.",
            "Explain why the sky is blue in two sentences.", "List three prime numbers greater than 20.",
            "Summarise the rules of chess briefly.", "What is the capital of France?",
        };

        @Override
        public Integer call() throws IOException {
            if ((targetDir == null) != (drafterDir == null)) {
                throw new IllegalArgumentException("--target and --drafter go together");
            }
            List<BenchReference.Round> referenceRounds = reference == null ? null : BenchReference.readReference(reference);
            Device device = hardware.resolve();
            Engine.getInstance().setRandomSeed((int) seed);
            Target loaded = null;
            LlamaModel target;
            Drafter drafter;
            List<int[]> promptIds = new ArrayList<>();
            Resolved r = shapes.resolve();
            if (targetDir != null) {
                loaded = Target.load(targetDir, device);
                target = loaded.model();
                drafter = DrafterCheckpoint.load(drafterDir, target, force);
                for (int k = 0; k < prompts; k++) {
                    promptIds.add(loaded.template().promptIds(List.of(), TEXT_PROMPTS[k % TEXT_PROMPTS.length]));
                }
            } else {
                LlamaConfig tc = r.target(promptLen + maxNewTokens + 2 * r.b);
                target = LlamaModel.initialize(tc, device, seed);
                drafter = Drafter.initialize(r.drafter(tc), target, seed + 1);
                SplittableRandom rng = new SplittableRandom(seed);
                for (int k = 0; k < prompts; k++) {
                    int[] p = new int[promptLen];
                    for (int j = 0; j < promptLen; j++) {
                        p[j] = rng.nextInt(r.v - 1);
                    }
                    promptIds.add(p);
                }
            }
            try {
                if (referenceRounds != null) {
                    BenchReference.checkShapes(referenceRounds, "bench decode", decodeShapes(target.config(), promptIds, maxNewTokens));
                }
                dev.blockdraft.spec.Decoding decoding = decodingOptions.resolve(seed);
                SpeculativeDecoder spec = new SpeculativeDecoder(drafter).with(decoding);
                boolean greedy = decoding.sampling().isGreedy();
                // warm-up: one short decode of each kind (kernels, allocator)
                Generator.generate(target, promptIds.get(0), 8, Sampler.GREEDY, -1);
                spec.generate(promptIds.get(0), 2 * drafter.config().blockSize(), -1);
                long plainTokens = 0, specTokens = 0, mismatches = 0;
                double plainS = 0, specS = 0, steps = 0, emitted = 0;
                for (int[] p : promptIds) {
                    // no stop token: both decode exactly max-new-tokens (spec's budget leaves room for a block)
                    Generator.Generation g = Generator.generate(target, p, maxNewTokens,
                            decoding.sampling().sampler(new SplittableRandom(seed)), -1);
                    SpeculativeDecoder.Output o = spec.generate(p, maxNewTokens, -1);
                    plainTokens += g.tokens().length;
                    plainS += g.seconds();
                    specTokens += o.tokens().length;
                    specS += o.stats().seconds();
                    steps += o.stats().steps();
                    emitted += o.stats().emitted();
                    int n = Math.min(g.tokens().length, o.tokens().length);
                    for (int j = 0; j < n && greedy; j++) { // sampled outputs differ by design
                        mismatches += g.tokens()[j] == o.tokens()[j] ? 0 : 1;
                    }
                    System.err.printf("prompt %d: plain %d tok %.1f tok/s | spec %d tok %.1f tok/s tau %.2f%n", promptIds.indexOf(p),
                            g.tokens().length, g.tokensPerSecond(), o.tokens().length, o.stats().tokensPerSecond(), o.stats().tau());
                }
                double plainTps = plainTokens / plainS, specTps = specTokens / specS;
                Map<String, Object> out = new LinkedHashMap<>();
                out.put("command", "bench decode");
                out.put("device", device.toString());
                out.put("backend", target.backend().toString()); // eager or fused ops, and any kept eager
                out.put("gpu", gpuName(device));
                out.put("tf32_override", "1".equals(System.getenv("TORCH_ALLOW_TF32_CUBLAS_OVERRIDE")));
                out.put("models", targetDir == null ? Map.of("random", r.asMap()) : Map.of("target", targetDir.toString(), "drafter", drafterDir.toString()));
                out.put("block_size", drafter.config().blockSize());
                out.putAll(decoding.asSettings());
                out.put("prompts", promptIds.size());
                out.put("max_new_tokens", maxNewTokens);
                out.put("shapes", decodeShapes(target.config(), promptIds, maxNewTokens));
                out.put("plain_tokens_per_s", plainTps);
                out.put("spec_tokens_per_s", specTps);
                out.put("speedup", specTps / plainTps);
                double tau = steps == 0 ? Double.NaN : emitted / steps;
                out.put("tau", tau);
                // what a speculative step costs in plain steps: the speedup is τ over it (issue goal: speedup ≥ 0.8 τ)
                out.put("step_cost_in_plain_steps", tau * plainTps / specTps);
                out.put("mismatches", mismatches);
                if (trace != null) {
                    out.put("trace", traceDecodes(target, spec, promptIds.get(0), decoding));
                }
                System.out.printf("backend: %s ops on %s%n", target.backend(), device);
                System.out.printf("%-12s %10s %10s%n", "decode", "tokens", "tokens/s");
                System.out.printf("%-12s %10d %10.1f%n", "plain", plainTokens, plainTps);
                System.out.printf("%-12s %10d %10.1f   tau %.2f  speedup %.2fx (a step costs %.2f plain steps)  mismatches %d%n",
                        "speculative", specTokens, specTps, tau, specTps / plainTps, tau * plainTps / specTps, mismatches);
                if (mismatches > 0 && Boolean.TRUE.equals(out.get("tf32_override")) && decoding.sampling().isGreedy()) {
                    // verification's wider matmuls round differently under TF32: near-ties of the argmax can flip
                    System.out.println("note: TF32 is on (TORCH_ALLOW_TF32_CUBLAS_OVERRIDE=1), so speculative and plain greedy"
                            + " tokens may differ at near-ties; unset it to check exactness");
                }
                if (referenceRounds != null) {
                    printReference(reference, referenceRounds, out);
                }
                String line = new GsonBuilder().serializeSpecialFloatingPointValues().create().toJson(out);
                System.out.println("BENCH_JSON " + line);
                if (json != null) {
                    Files.writeString(json, line + "\n", StandardCharsets.UTF_8);
                }
            } finally {
                drafter.close();
                if (loaded != null) {
                    loaded.close();
                } else {
                    target.close();
                }
            }
            return 0;
        }

        /** One plain and one speculative decode under PyTorch's profiler (host-issued ops; the profiler slows them). */
        private Map<String, Object> traceDecodes(LlamaModel target, SpeculativeDecoder spec, int[] prompt,
                dev.blockdraft.spec.Decoding decoding) {
            Path specTrace = trace.resolveSibling(trace.getFileName() + ".spec.json");
            JniUtils.startProfile(target.device().isGpu(), false, false);
            Generator.Generation g = Generator.generate(target, prompt, maxNewTokens,
                    decoding.sampling().sampler(new SplittableRandom(seed)), -1);
            JniUtils.stopProfile(trace.toString());
            JniUtils.startProfile(target.device().isGpu(), false, false);
            SpeculativeDecoder.Output o = spec.generate(prompt, maxNewTokens, -1);
            JniUtils.stopProfile(specTrace.toString());
            System.out.printf("traces: %s (plain, %d tokens), %s (speculative, %d tokens in %d steps)%n", trace,
                    g.tokens().length, specTrace, o.tokens().length, o.stats().steps());
            Map<String, Object> t = new LinkedHashMap<>();
            t.put("plain", Map.of("file", trace.toString(), "tokens", g.tokens().length));
            t.put("speculative", Map.of("file", specTrace.toString(), "tokens", o.tokens().length, "steps", o.stats().steps()));
            return t;
        }
    }

    // ---- bench compare --------------------------------------------------------------------------

    @Command(name = "compare", mixinStandardHelpOptions = true,
            description = "blockdraft / reference tokens/s from saved results: rounds of bench --json against rounds of a"
                    + " reference script (benchmarks/vs_reference.sh interleaves them).")
    static final class Compare implements Callable<Integer> {
        @Option(names = "--ours", required = true, paramLabel = "FILE",
                description = "BENCH_JSON lines of bench train or bench decode, one per round")
        Path ours;

        @Option(names = "--reference", required = true, paramLabel = "FILE",
                description = "JSON lines of benchmarks/pytorch_reference.py or benchmarks/decode_reference.py")
        Path reference;

        @Option(names = "--json", paramLabel = "FILE", description = "also write the comparison as one JSON line here")
        Path json;

        @Override
        public Integer call() throws IOException {
            List<BenchReference.Round> rounds = BenchReference.readReference(reference);
            List<Map<String, Object>> results = new ArrayList<>();
            List<String> where = new ArrayList<>();
            for (BenchReference.Line line : BenchReference.readLines(ours)) {
                results.add(line.json());
                where.add(line.where());
            }
            List<BenchReference.Row> rows = BenchReference.against(rounds, results, where);
            System.out.print(BenchReference.table(reference, rows));
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("command", "bench compare");
            out.put("of", results.get(0).get("command"));
            out.put("ours", ours.toString());
            out.put("reference", reference.toString());
            out.put("vs_reference", BenchReference.asJson(rows));
            String line = new GsonBuilder().serializeSpecialFloatingPointValues().create().toJson(out);
            System.out.println("BENCH_JSON " + line);
            if (json != null) {
                Files.writeString(json, line + "\n", StandardCharsets.UTF_8);
            }
            return 0;
        }
    }

    // ---- helpers --------------------------------------------------------------------------------

    /** Prints this run against the reference's rounds and records the ratios in {@code out} ("vs_reference"). */
    static void printReference(Path file, List<BenchReference.Round> rounds, Map<String, Object> out) {
        List<BenchReference.Row> rows = BenchReference.against(rounds, List.of(out), List.of("this run"));
        System.out.print(BenchReference.table(file, rows));
        out.put("vs_reference", BenchReference.asJson(rows));
        out.put("reference_file", file.toString());
    }

    /** The shapes decode_reference.py records, of this run's target and prompts. */
    static Map<String, Object> decodeShapes(LlamaConfig c, List<int[]> prompts, int maxNewTokens) {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("Lt", c.numHiddenLayers());
        o.put("C", c.hiddenSize());
        o.put("H", c.numAttentionHeads());
        o.put("G", c.numKeyValueHeads());
        o.put("I", c.intermediateSize());
        o.put("V", c.vocabSize());
        int len = prompts.get(0).length;
        if (prompts.stream().allMatch(p -> p.length == len)) {
            o.put("prompt_len", len); // prompts of several lengths (real models' text prompts): not compared
        }
        o.put("max_new_tokens", maxNewTokens);
        return o;
    }


    /** Waits for the device: a 1-element copy to the host queues behind all earlier work. */
    static void sync(NDManager m) {
        try (NDManager tmp = m.newSubManager()) {
            tmp.zeros(new Shape(1)).getFloat();
        }
    }

    /** Phase timer: each mark syncs the device and charges the time since the last mark. */
    static final class Phases {
        final NDManager manager;
        final Map<String, Double> times = new LinkedHashMap<>();
        final Map<String, Double> host = new LinkedHashMap<>();
        long last = System.nanoTime();

        Phases(NDManager manager) {
            this.manager = manager;
            sync(manager);
            last = System.nanoTime();
        }
    }

    static void mark(Phases ph, String name) {
        if (ph == null) {
            return;
        }
        long issued = System.nanoTime();
        sync(ph.manager);
        long now = System.nanoTime();
        ph.times.merge(name, (now - ph.last) / 1e6, Double::sum);
        ph.host.merge(name, (issued - ph.last) / 1e6, Double::sum);
        ph.last = now;
    }

    /** Peak device memory in use (total − free), sampled. */
    static final class Memory {
        final Device device;
        final boolean gpu;
        long base = -1;
        long peak = -1;

        Memory(Device device) {
            this.device = device;
            this.gpu = device.isGpu() && CudaUtils.hasCuda();
        }

        void baseline() {
            if (gpu) {
                base = CudaUtils.getGpuMemory(device).getUsed();
            }
        }

        void sample() {
            if (gpu) {
                peak = Math.max(peak, CudaUtils.getGpuMemory(device).getUsed());
            }
        }

        Double peakGib() {
            return peak < 0 ? null : peak / (double) (1L << 30);
        }

        Double overBaselineGib() {
            return peak < 0 || base < 0 ? null : (peak - base) / (double) (1L << 30);
        }
    }

    static boolean tf32() {
        return "1".equals(System.getenv("TORCH_ALLOW_TF32_CUBLAS_OVERRIDE"));
    }

    static double median(List<Double> xs) {
        if (xs.isEmpty()) {
            return Double.NaN;
        }
        double[] a = xs.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return a.length % 2 == 1 ? a[a.length / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
    }

    private static String gpuNameCache;

    /** The card's name from nvidia-smi ($BENCH_GPU_NAME overrides), "cpu" on the CPU. */
    static String gpuName(Device device) {
        if (!device.isGpu()) {
            return "cpu";
        }
        if (gpuNameCache != null) {
            return gpuNameCache;
        }
        String name = System.getenv("BENCH_GPU_NAME");
        if (name == null) {
            try {
                Process p = new ProcessBuilder("nvidia-smi", "--query-gpu=name", "--format=csv,noheader",
                        "-i", "" + device.getDeviceId()).redirectErrorStream(true).start();
                try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                    name = in.readLine();
                }
                p.waitFor(10, TimeUnit.SECONDS);
            } catch (IOException e) {
                name = null;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (name == null || name.isBlank()) {
            name = "gpu (compute capability " + CudaUtils.getComputeCapability(device.getDeviceId()) + ")";
        }
        gpuNameCache = name.trim();
        return gpuNameCache;
    }

    /**
     * Dense peak TFLOP/s for fp32 matmuls (TF32 when the cuBLAS override is on), as
     * pytorch_reference.py's table (which has no plain-fp32 column: those values are the cards'
     * datasheet FP32 numbers). Null when the card is unknown.
     */
    static Double peakTflops(String name, boolean tf32) {
        String n = name.toUpperCase();
        Object[][] table = { // substring, tf32, fp32
            {"H200", 494.7, 66.9}, {"H100 PCIE", 378.0, 51.2}, {"H100", 494.7, 66.9},
            {"A100", 156.0, 19.5}, {"L40S", 183.0, 91.6}, {"A10G", 35.0, 31.2},
        };
        for (Object[] row : table) {
            if (n.contains((String) row[0])) {
                return (Double) (tf32 ? row[1] : row[2]);
            }
        }
        return null;
    }
}
