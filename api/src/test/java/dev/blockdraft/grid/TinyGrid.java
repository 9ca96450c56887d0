package dev.blockdraft.grid;

import ai.djl.Device;
import dev.blockdraft.lm.HfCheckpoint;
import dev.blockdraft.lm.LlamaConfig;
import dev.blockdraft.lm.LlamaModel;
import dev.blockdraft.tokenize.BpeModel;
import dev.blockdraft.tokenize.BpeTrainer;
import dev.blockdraft.tokenize.SpecialTokens;
import dev.blockdraft.tokenize.Tokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** A tiny target folder, a tiny data folder and grid files over them: a 2 × 2 grid runs in seconds. */
public final class TinyGrid {
    private TinyGrid() {}

    /** A random 2-layer, hidden-32 target with a byte-level tokenizer of a few dozen merges, saved as an HF folder. */
    public static Path target(Path dir) {
        List<String> texts = List.of("What is the answer to the question? The answer is two.",
                "Write a short poem about the sea and the answer.", "def add(a, b):\n    return a + b\n",
                "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May.");
        try {
            Path tok = Files.createDirectories(dir.resolve("tokenizer"));
            new BpeTrainer(new BpeTrainer.Options(SpecialTokens.ALL.size() + 256 + 40, 100_000, 4096)).train(texts).save(tok);
            LlamaConfig config;
            try (Tokenizer t = Tokenizer.load(tok)) {
                config = LlamaConfig.llama(t.vocabSize(), 32, 64, 2, 4, 2, 256).withTiedEmbeddings(false)
                        .withSpecialTokens(t.bosId(), t.eosId());
            }
            Path folder = dir.resolve("tiny");
            try (LlamaModel m = LlamaModel.initialize(config, Device.cpu(), 3)) {
                HfCheckpoint.save(m, folder, tok, Map.of());
            }
            return folder;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Corpora of a few prompts each and the six benchmark files with three short prompts each. */
    public static Path data(Path dir) {
        try {
            Path corpora = Files.createDirectories(dir.resolve("data/corpora"));
            Path benchmarks = Files.createDirectories(dir.resolve("data/benchmarks"));
            List<String> math = new ArrayList<>(), chat = new ArrayList<>(), code = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                math.add("{\"id\": \"m/" + i + "\", \"prompt\": \"Tom has " + i + " apples and buys " + (i + 2)
                        + " more. How many apples?\", \"response\": \"" + (2 * i + 2) + "\"}");
                chat.add("{\"id\": \"c/" + i + "\", \"prompt\": \"Write a line about the sea number " + i
                        + ".\", \"response\": \"The sea.\"}");
                code.add("{\"id\": \"p/" + i + ".py\", \"text\": \"def f" + i + "(x):\\n    \\\"\\\"\\\"Return x plus "
                        + i + " for the caller please.\\\"\\\"\\\"\\n    return x + " + i + "\\n\"}");
            }
            Files.write(corpora.resolve("gsm8k_train.jsonl"), math);
            Files.write(corpora.resolve("alpaca_eval_outputs.jsonl"), chat);
            Files.write(corpora.resolve("python_algorithms.jsonl"), code);
            for (String b : List.of("gsm8k", "math500", "humaneval", "mbpp", "mt_bench", "alpaca")) {
                List<String> lines = new ArrayList<>();
                for (int i = 0; i < 3; i++) {
                    lines.add("{\"id\": \"" + b + "/" + i + "\", \"turns\": [\"What is " + i + " plus " + b.length()
                            + "? The answer is\"]}");
                }
                Files.write(benchmarks.resolve(b + ".jsonl"), lines);
            }
            return dir.resolve("data");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A grid of objectives {uniform, paper} × seeds {1, 2} on the tiny target, with {@code extra} JSON members appended. */
    static Path gridFile(Path dir, String name, Path target, Path out, String extra) {
        String json = "{\n"
                + "  \"name\": \"" + name + "\",\n"
                + "  \"out\": " + quote(out) + ",\n"
                + "  \"targets\": [" + quote(target) + "],\n"
                + "  \"objectives\": [\"uniform\", \"paper\"],\n"
                + "  \"baseline\": \"uniform\",\n"
                + "  \"seeds\": [1, 2],\n"
                + "  \"steps\": [6],\n"
                + "  \"block_sizes\": [4],\n"
                + "  \"regeneration\": {\"conversations\": 8, \"validation\": 2, \"max_new_tokens\": 12, \"batch\": 8},\n"
                + "  \"training\": {\"batch\": 2, \"seq_len\": 128, \"blocks_per_sequence\": 4, \"validation_sequences\": 2,"
                + " \"eval_every\": 3, \"checkpoint_every\": 2, \"warmup_steps\": 1},\n"
                + "  \"eval\": {\"benchmarks\": [\"gsm8k\", \"humaneval\"], \"prompts\": 2, \"max_new_tokens\": 8}"
                + (extra == null || extra.isEmpty() ? "" : ",\n  " + extra) + "\n}\n";
        try {
            Path file = dir.resolve(name + ".json");
            Files.writeString(file, json);
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String quote(Path p) {
        return "\"" + p.toAbsolutePath().toString().replace("\\", "\\\\") + "\"";
    }
}
