package dev.blockdraft.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import dev.blockdraft.lm.HfCheckpoint;
import dev.blockdraft.lm.LlamaConfig;
import dev.blockdraft.lm.LlamaModel;
import dev.blockdraft.tokenize.BpeModel;
import dev.blockdraft.tokenize.BpeTrainer;
import dev.blockdraft.tokenize.SpecialTokens;
import dev.blockdraft.tokenize.Tokenizer;
import dev.blockdraft.train.RegeneratedData;
import dev.blockdraft.train.TrainerState;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code train-drafter} as a user runs it, {@code kill -9}ed mid-run in its own JVM: with the
 * default {@code --checkpoint-every} it has saved before the kill, and the same command rerun
 * resumes and ends on the bytes of an uninterrupted run.
 */
class KillResumeTest {
    @TempDir
    Path dir;

    static final int STEPS = 120;

    @Test
    void trainDrafterKilledMidRunResumesToTheUninterruptedWeights() throws Exception {
        Path target = tinyTarget();
        Path data = regeneratedData(target);
        String[] common = {"train-drafter", "--target", target.toString(), "--data-dir", data.toString(), "--steps",
            "" + STEPS, "--batch", "2", "--blocks-per-sequence", "2", "--block-size", "4"};
        Path uninterrupted = dir.resolve("uninterrupted");
        assertEquals(0, run(common, "--out", uninterrupted.toString()), "the uninterrupted run");

        Path killed = dir.resolve("killed");
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "-Dai.djl.offline=true",
                "-Dai.djl.pytorch.num_threads=1", "-Dai.djl.pytorch.num_interop_threads=1",
                "-Dai.djl.pytorch.graph_optimizer=false", Main.class.getName()));
        command.addAll(List.of(common));
        command.addAll(List.of("--out", killed.toString()));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(dir.resolve("child.log").toFile());
        pb.environment().put("OMP_NUM_THREADS", "1");
        pb.environment().put("MKL_CBWR", "COMPATIBLE");
        Process child = pb.start();
        int savedAt = 0;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (savedAt == 0 && child.isAlive() && System.nanoTime() < deadline) {
            Thread.sleep(20);
            savedAt = savedStep(killed);
        }
        child.destroyForcibly(); // SIGKILL: no shutdown hooks, no cleanup
        assertTrue(child.waitFor(30, TimeUnit.SECONDS));
        assertTrue(savedAt > 0 && savedAt < STEPS, "killed after a mid-run checkpoint (step " + savedAt + " of " + STEPS
                + "); child log: " + Files.readString(dir.resolve("child.log")));

        java.io.PrintStream stdout = System.out;
        java.io.ByteArrayOutputStream progress = new java.io.ByteArrayOutputStream();
        System.setOut(new java.io.PrintStream(progress, true, java.nio.charset.StandardCharsets.UTF_8));
        try {
            assertEquals(0, run(common, "--out", killed.toString()), "the same command, rerun");
        } finally {
            System.setOut(stdout);
        }
        String printed = progress.toString(java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(printed.matches("(?s).*resumed at step (\\d+).*"), "resumed, not started over: " + printed);
        int resumedAt = Integer.parseInt(printed.replaceAll("(?s).*resumed at step (\\d+).*", "$1"));
        assertTrue(resumedAt >= savedAt && resumedAt < STEPS, "from the last checkpoint the killed run saved ("
                + savedAt + " or later), not from 0: " + resumedAt);
        assertEquals(STEPS, TrainerState.read(killed).step());
        assertArrayEquals(Files.readAllBytes(uninterrupted.resolve("model.safetensors")),
                Files.readAllBytes(killed.resolve("model.safetensors")), "the weights of the uninterrupted run, byte for byte");
        try (Stream<Path> s = Files.list(dir)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().matches("\\.killed\\.(new|old)-.*")),
                    "no temporary folders left");
        }
    }

    /**
     * {@code --devices cpu,cpu}: two replicas over each step's two micro-batches are the one-device run
     * with {@code --grad-accum 2}, byte for byte (one micro-batch per replica adds the gradients in the
     * one-device order), and the device list is in the run's provenance.
     */
    @Test
    void trainDrafterOnTwoCpuReplicasIsTheOneDeviceRun() throws Exception {
        Path target = tinyTarget();
        Path data = regeneratedData(target);
        String[] common = {"train-drafter", "--target", target.toString(), "--data-dir", data.toString(), "--steps", "6",
            "--batch", "2", "--grad-accum", "2", "--blocks-per-sequence", "2", "--block-size", "4", "--objective", "paper"};
        Path one = dir.resolve("one"), two = dir.resolve("two");
        assertEquals(0, run(common, "--out", one.toString()), "one device");
        assertEquals(0, run(common, "--out", two.toString(), "--devices", "cpu,cpu"), "two CPU replicas");
        assertArrayEquals(Files.readAllBytes(one.resolve("model.safetensors")),
                Files.readAllBytes(two.resolve("model.safetensors")), "the one-device weights, byte for byte");
        String provenance = Files.readString(two.resolve(dev.blockdraft.io.Provenance.FILE));
        assertTrue(provenance.matches("(?s).*\"devices\"\\s*:\\s*\"cpu,cpu\".*"), provenance);
    }

    /** The step of the checkpoint in {@code out}, 0 while there is none (or it is being replaced). */
    private static int savedStep(Path out) {
        try {
            TrainerState s = TrainerState.read(out);
            return s == null ? 0 : s.step();
        } catch (RuntimeException e) {
            return 0; // between the renames of a checkpoint write
        }
    }

    private Path tinyTarget() throws IOException {
        Path tok = dir.resolve("tok");
        BpeModel bpe = new BpeTrainer(new BpeTrainer.Options(SpecialTokens.ALL.size() + 256 + 16, 100_000, 512))
                .train(List.of("What is the answer? The answer is two.", "def add(a, b): return a + b"));
        bpe.save(tok);
        Path target = dir.resolve("target");
        try (Tokenizer tokenizer = Tokenizer.load(tok)) {
            LlamaConfig config = LlamaConfig.llama(tokenizer.vocabSize(), 32, 48, 2, 4, 2, 128)
                    .withSpecialTokens(tokenizer.bosId(), tokenizer.eosId());
            try (LlamaModel model = LlamaModel.initialize(config, Device.cpu(), 3)) {
                HfCheckpoint.save(model, target, tok, Map.of());
            }
        }
        return target;
    }

    private Path regeneratedData(Path target) throws IOException {
        int vocab = LlamaConfig.read(target.resolve(HfCheckpoint.CONFIG)).vocabSize();
        List<RegeneratedData.Sequence> seqs = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            int[] ids = new int[30 + i];
            for (int j = 0; j < ids.length; j++) {
                ids[j] = 20 + (j * 7 + i) % (vocab - 40); // clear of the special tokens at both ends
            }
            seqs.add(new RegeneratedData.Sequence(ids, 6));
        }
        Path data = dir.resolve("regen");
        RegeneratedData.write(data, seqs.subList(4, 16), seqs.subList(0, 4), "target", "synthetic", 32, null);
        return data;
    }

    private static int run(String[] common, String... more) {
        String[] args = Stream.concat(Stream.of(common), Stream.of(more)).toArray(String[]::new);
        StringWriter err = new StringWriter();
        int code = Main.run(args, new PrintWriter(new StringWriter(), true), new PrintWriter(err, true));
        if (code != 0) {
            throw new AssertionError("exit " + code + ": " + err);
        }
        return code;
    }
}
