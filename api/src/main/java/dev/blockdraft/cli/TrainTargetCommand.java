package dev.blockdraft.cli;

import ai.djl.Device;
import dev.blockdraft.data.DataFolder;
import dev.blockdraft.io.Memory;
import dev.blockdraft.io.OutputFolder;
import dev.blockdraft.io.Provenance;
import dev.blockdraft.nn.Backend;
import dev.blockdraft.lm.LlamaConfig;
import dev.blockdraft.lm.LlamaModel;
import dev.blockdraft.tokenize.Tokenizer;
import dev.blockdraft.train.CorpusTokens;
import dev.blockdraft.train.TargetTrainer;
import dev.blockdraft.train.TrainConfig;
import dev.blockdraft.train.TrainingRun;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "train-target", mixinStandardHelpOptions = true,
        description = "Train a target language model (Llama or Qwen3 shape) on the corpora; resumes an unfinished --out.")
final class TrainTargetCommand implements Callable<Integer> {
    @Option(names = "--size", defaultValue = "tiny", description = "tiny | small | tiny-qwen3 | small-qwen3 (default: ${DEFAULT-VALUE})")
    String size;

    @Option(names = "--tokenizer", required = true, paramLabel = "DIR", description = "folder with tokenizer.json")
    Path tokenizerDir;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "model folder (HF layout)")
    Path out;

    @Option(names = "--hidden", description = "explicit shape: hidden size (overrides --size)")
    Integer hidden;

    @Option(names = "--layers", description = "explicit shape: layers")
    Integer layers;

    @Option(names = "--heads", description = "explicit shape: attention heads")
    Integer heads;

    @Option(names = "--kv-heads", description = "explicit shape: key/value heads")
    Integer kvHeads;

    @Option(names = "--intermediate", description = "explicit shape: MLP width")
    Integer intermediate;

    @Option(names = "--model-type", defaultValue = "llama", description = "explicit shape: llama | qwen3 (default: ${DEFAULT-VALUE})")
    String modelType;

    @Option(names = "--vocab-size", description = "embedding rows (vocab_size): at least the tokenizer's size (default:"
            + " the tokenizer's size when it has a mask token, else rounded up to a multiple of 64 past it, leaving"
            + " unused ids for the drafter's mask token; Qwen3's own is 151936)")
    Integer vocabSize;

    @Option(names = "--context", defaultValue = "1024", description = "explicit shape: max positions (default: ${DEFAULT-VALUE})")
    int context;

    @Option(names = "--steps", description = "optimizer steps (default: preset's)")
    Integer steps;

    @Option(names = "--batch", description = "sequences per micro-batch")
    Integer batch;

    @Option(names = "--seq-len", description = "tokens per sequence")
    Integer seqLen;

    @Option(names = "--grad-accum", defaultValue = "1")
    int gradAccum;

    @Option(names = "--lr", description = "peak learning rate")
    Double lr;

    @Option(names = "--corpus-cap", defaultValue = "6000", description = "records per corpus file (default: ${DEFAULT-VALUE})")
    int corpusCap;

    @Option(names = "--seed", defaultValue = "1234")
    long seed;

    @Option(names = "--weight-decay", description = "AdamW decoupled weight decay on matrices (default: preset's)")
    Double weightDecay;

    @Option(names = "--checkpoint-every", description = "steps between resumable checkpoints in --out (default:"
            + " a tenth of the steps; 0 = only at the end). Rerunning the same command resumes from the last one;"
            + " with more --steps it extends a finished run.")
    Integer checkpointEvery;

    @Mixin
    Options.Output output;

    @Option(names = "--eval-every", description = "steps between validation passes (default: preset's)")
    Integer evalEvery;

    @Mixin
    Options.Training training;

    @Mixin
    Options.Data data;

    @Mixin
    Options.Hardware hardware;

    @Override
    public Integer call() {
        checkFlags();
        Device device = hardware.resolve();
        DataFolder folder = data.resolve();
        try (OutputFolder claimed = output.claim(out, "target", "--out", List.of(folder.root()));
                Tokenizer tokenizer = Tokenizer.load(tokenizerDir)) {
            LlamaConfig config = shape(tokenizer);
            // before any allocation: weights, gradients and two AdamW moments in fp32
            config.requireFits(Memory.availableBytes(device), 16, "train (weights, gradients and AdamW moments in fp32)",
                    hidden != null ? "--hidden/--layers/--heads/--intermediate" : "--size " + size);
            TrainConfig train = trainConfig();
            Options.Output.announce(out, train.steps());
            long t0 = System.nanoTime();
            CorpusTokens corpus = CorpusTokens.build(folder, tokenizer, corpusCap, 0.02, seed);
            System.out.printf("corpus: %d train records (%,d tokens), %d validation (%,d tokens), %d dropped as benchmark prompts%n",
                    corpus.trainRecords(), corpus.train().length(), corpus.validationRecords(), corpus.validation().length(),
                    corpus.droppedAsBenchmark());
            System.out.printf("model: %s, %.2fM parameters on %s%n", config.modelType(), config.parameterCount() / 1e6, device);
            Map<String, String> settings = new LinkedHashMap<>(train.asMap());
            settings.put("model", config.toJson().replaceAll("\\s+", ""));
            settings.put("precision", training.precision.toString());
            Backend backend = Backend.forDevice(device);
            Provenance provenance = Provenance.capture("target", backend, seed, settings,
                    corpus.files(), Map.of("tokenizer", tokenizerDir.toAbsolutePath().toString()));
            try (LlamaModel model = LlamaModel.initialize(config, backend, seed)) {
                TrainingRun run = new TargetTrainer(train, List.of(new ConsoleProgress("train-target"))).withPrecision(training.precision)
                        .train(model, corpus.train(), corpus.validation(), out, tokenizerDir, provenance);
                double unigram = corpus.validation().unigramEntropy(config.vocabSize());
                System.out.printf("done in %.1f s: train loss %.3f, validation loss %.3f (unigram entropy %.3f nats) → %s%n",
                        (System.nanoTime() - t0) / 1e9, run.recentLoss(20), run.lastEval("val_loss"), unigram, out);
            }
        }
        return 0;
    }

    /** Every flag checked before anything is read or allocated, each error naming the flag and its value. */
    private void checkFlags() {
        Options.positive("--hidden", hidden);
        Options.positive("--layers", layers);
        Options.positive("--heads", heads);
        Options.positive("--kv-heads", kvHeads);
        Options.positive("--intermediate", intermediate);
        Options.positive("--context", context);
        Options.positive("--steps", steps);
        Options.positive("--batch", batch);
        Options.positive("--grad-accum", gradAccum);
        Options.positive("--corpus-cap", corpusCap);
        if (seqLen != null && seqLen < 2) {
            throw new IllegalArgumentException("--seq-len " + seqLen + ": must be >= 2");
        }
        if (lr != null && !(lr > 0 && Double.isFinite(lr))) {
            throw new IllegalArgumentException("--lr " + lr + ": must be a positive number");
        }
        if (weightDecay != null && !(weightDecay >= 0 && Double.isFinite(weightDecay))) {
            throw new IllegalArgumentException("--weight-decay " + weightDecay + ": must be >= 0");
        }
        if (checkpointEvery != null && checkpointEvery < 0) {
            throw new IllegalArgumentException("--checkpoint-every " + checkpointEvery + ": must be >= 0 (0 = only at the end)");
        }
        if (evalEvery != null && evalEvery < 0) {
            throw new IllegalArgumentException("--eval-every " + evalEvery + ": must be >= 0 (0 = only at the end)");
        }
        if (hidden != null && heads != null && hidden % heads != 0) {
            throw new IllegalArgumentException("--hidden " + hidden + " must be divisible by --heads " + heads
                    + " (head_dim = hidden / heads)");
        }
        if (heads != null && kvHeads != null && heads % kvHeads != 0) {
            throw new IllegalArgumentException("--kv-heads " + kvHeads + " must divide --heads " + heads);
        }
        if (hidden != null && heads != null && (hidden / heads) % 2 != 0) {
            throw new IllegalArgumentException("--hidden " + hidden + " / --heads " + heads + " = " + hidden / heads
                    + ": the head size must be even for rotary embeddings");
        }
    }

    private LlamaConfig shape(Tokenizer tokenizer) {
        int vocab = vocabSize(tokenizer);
        LlamaConfig c;
        if (hidden != null || layers != null) {
            if (hidden == null || layers == null || heads == null) {
                throw new IllegalArgumentException("an explicit shape needs --hidden, --layers and --heads");
            }
            int kv = kvHeads == null ? heads : kvHeads;
            long defaultInter = ((long) hidden * 8 / 3 + 63) / 64 * 64; // SwiGLU's 8/3, rounded up to 64
            if (intermediate == null && defaultInter > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("--hidden " + hidden + ": its MLP width " + defaultInter
                        + " exceeds " + Integer.MAX_VALUE + "; valid hidden sizes are far smaller");
            }
            int inter = intermediate == null ? (int) defaultInter : intermediate;
            c = switch (modelType) {
                case "llama" -> LlamaConfig.llama(vocab, hidden, inter, layers, heads, kv, context);
                case "qwen3" -> LlamaConfig.qwen3(vocab, hidden, inter, layers, heads, kv, context);
                default -> throw new IllegalArgumentException("--model-type " + modelType + ": valid are llama, qwen3");
            };
        } else {
            c = LlamaConfig.preset(size, vocab);
        }
        return c.withSpecialTokens(tokenizer.bos().orElse(-1), tokenizer.eosId());
    }

    /** The model's vocab_size: a tokenizer without a mask token gets unused rows past its ids, as real models have. */
    private int vocabSize(Tokenizer tokenizer) {
        int size = tokenizer.vocabSize();
        if (vocabSize != null) {
            if (vocabSize < size) {
                throw new IllegalArgumentException("--vocab-size " + vocabSize + " is smaller than the tokenizer's "
                        + size + " tokens (" + tokenizer.source() + ")");
            }
            return vocabSize;
        }
        return tokenizer.mask().isPresent() ? size : (size + 1 + 63) / 64 * 64;
    }

    private TrainConfig trainConfig() {
        TrainConfig t = size.startsWith("small") && hidden == null ? TrainConfig.smallCpu() : TrainConfig.tinyCpu();
        t = t.withSeed(seed).withGradAccum(gradAccum);
        if (steps != null) {
            t = t.withSteps(steps);
        }
        if (batch != null || seqLen != null) {
            t = t.withBatch(batch == null ? t.batchSize() : batch, seqLen == null ? t.seqLen() : seqLen);
        }
        if (lr != null) {
            t = t.withLearningRate(lr);
        }
        if (evalEvery != null) {
            t = t.withEvalEvery(evalEvery, t.evalBatches());
        }
        if (weightDecay != null) {
            t = t.withWeightDecay(weightDecay);
        }
        // a kill loses at most a tenth of the run unless told otherwise
        t = t.withCheckpointEvery(checkpointEvery != null ? checkpointEvery : Math.max(1, t.steps() / 10));
        return t;
    }
}
