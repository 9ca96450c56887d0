package dev.blockdraft.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import dev.blockdraft.draft.Drafter;
import dev.blockdraft.draft.DrafterConfig;
import dev.blockdraft.io.AtomicFiles;
import dev.blockdraft.io.BadInputException;
import dev.blockdraft.lm.LlamaModel;
import dev.blockdraft.train.objective.Objectives;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A checkpoint belongs to one run: resuming with other settings is refused (listing them), a
 * finished run extends to more steps, and a kill between the two renames of a checkpoint write
 * resumes from the newest complete checkpoint to the weights of an uninterrupted run.
 */
class RunSettingsTest {
    @TempDir
    Path dir;

    static final TrainConfig CONFIG = new TrainConfig(6, 4, 16, 1, 1e-2, 2, 0.1, 0.01, 1.0, 0, 1, 3, 11);

    static TokenStream stream() {
        int[] tokens = new int[3000];
        Random r = new Random(3);
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = (i % 7 == 0) ? 1 : r.nextInt(30);
        }
        return new TokenStream(tokens);
    }

    @Test
    void resumingWithOtherSettingsIsRefusedListingEachWithBothValues() throws IOException {
        TokenStream data = stream();
        Path out = dir.resolve("run");
        try (LlamaModel m = LlamaModel.initialize(TrainingResumeTest.TARGET, Device.cpu(), 1)) {
            assertThrows(IllegalStateException.class, () -> new TargetTrainer(CONFIG, List.of(new TrainingResumeTest.Crash(4)))
                    .train(m, data, data, out, null, null));
        }
        Map<String, byte[]> checkpoint = snapshot(out);
        TrainConfig other = CONFIG.withSeed(12).withLearningRate(2e-2).withBatch(5, 16);
        try (LlamaModel m = LlamaModel.initialize(TrainingResumeTest.TARGET, Device.cpu(), 1)) {
            BadInputException e = assertThrows(BadInputException.class,
                    () -> new TargetTrainer(other, List.of()).train(m, data, data, out, null, null));
            assertMessage(e, out.toString(), "holds a run (at step 3) with other settings", "seed 11 → 12",
                    "learning_rate 0.01 → 0.02", "batch_size 4 → 5", "--restart");
            assertFalse(e.getMessage().contains("steps "), "steps may differ (extension): " + e.getMessage());
            e = assertThrows(BadInputException.class, () -> new TargetTrainer(CONFIG, List.of()).withPrecision(Precision.FP16)
                    .train(m, data, data, out, null, null));
            assertMessage(e, "precision fp32 → fp16");
            TokenStream otherData = new TokenStream(java.util.Arrays.copyOf(data.tokens(), 2999));
            e = assertThrows(BadInputException.class, () -> new TargetTrainer(CONFIG, List.of())
                    .train(m, otherData, otherData, out, null, null));
            assertMessage(e, "train_tokens 3000 tokens");
        }
        assertSame(checkpoint, snapshot(out));
    }

    @Test
    void aFinishedRunExtendsToMoreStepsButIsNotTrainedAgainSilently() throws IOException {
        TokenStream data = stream();
        Path out = dir.resolve("run");
        try (LlamaModel m = LlamaModel.initialize(TrainingResumeTest.TARGET, Device.cpu(), 1)) {
            new TargetTrainer(CONFIG.withSteps(4), List.of()).train(m, data, data, out, null, null);
            assertFalse(Files.exists(out.resolve(TrainerState.OPTIMIZER_FILE)), "a finished run is a plain model");
            Map<String, byte[]> finished = snapshot(out);
            BadInputException e = assertThrows(BadInputException.class,
                    () -> new TargetTrainer(CONFIG.withSteps(4), List.of()).train(m, data, data, out, null, null));
            assertMessage(e, "already holds a finished run of 4 steps (asked for 4)", "--steps above 4", "--restart");
            e = assertThrows(BadInputException.class,
                    () -> new TargetTrainer(CONFIG.withSteps(3), List.of()).train(m, data, data, out, null, null));
            assertMessage(e, "already holds a longer run of 4 steps (asked for 3)");
            assertSame(finished, snapshot(out));
        }
        float[] before = TrainingResumeTestWeights.read(out);
        try (LlamaModel m = LlamaModel.initialize(TrainingResumeTest.TARGET, Device.cpu(), 99)) {
            AtomicInteger startedAt = new AtomicInteger(-1);
            TrainingRun run = new TargetTrainer(CONFIG.withSteps(7), List.of(new TrainingListener() {
                @Override
                public void onStart(TrainingRun r, int start, int total) {
                    startedAt.set(start);
                }
            })).train(m, data, data, out, null, null);
            assertEquals(4, startedAt.get(), "continues from the finished run's step");
            assertEquals(7, run.steps().size(), "history of the 4 steps, then 3 more");
            float[] after = m.parameters().get("model.layers.1.mlp.down_proj.weight").toFloatArray();
            assertFalse(java.util.Arrays.equals(before, after), "trained further");
        }
        assertEquals(7, TrainerState.read(out).step());
    }

    /** A kill between the renames of the step-6 checkpoint: the rerun recovers it and ends on the uninterrupted weights. */
    @Test
    void drafterKilledBetweenTheTwoRenamesResumesBitForBit() throws IOException {
        RegeneratedData data = TrainingResumeTest.syntheticData();
        DraftTrainConfig config = new DraftTrainConfig(new TrainConfig(8, 3, 64, 1, 1e-2, 2, 0.1, 0.0, 1.0, 0, 1, 3, 5), 4, 2);
        try (LlamaModel t = LlamaModel.initialize(TrainingResumeTest.TARGET, Device.cpu(), 1)) {
            DrafterConfig dc = DrafterConfig.forTarget(TrainingResumeTest.TARGET, "t", 4, 29, ai.djl.Device.cpu());
            float[] uninterrupted;
            try (Drafter d = Drafter.initialize(dc, t, 2)) {
                new DrafterTrainer(config, Objectives.paper(), List.of()).train(d, data, 28, dir.resolve("a"), null);
                uninterrupted = d.parameters().get("layers.0.mlp.up_proj.weight").toFloatArray();
            }
            Path out = dir.resolve("b");
            AtomicInteger writes = new AtomicInteger();
            AtomicFiles.setBetweenRenamesHook(() -> {
                if (writes.incrementAndGet() == 2) {
                    throw new KilledBetweenRenames();
                }
            });
            try (Drafter d = Drafter.initialize(dc, t, 2)) {
                assertThrows(KilledBetweenRenames.class, () -> new DrafterTrainer(config, Objectives.paper(), List.of())
                        .train(d, data, 28, out, null));
            } finally {
                AtomicFiles.setBetweenRenamesHook(null);
            }
            assertFalse(Files.exists(out), "killed between the renames: no folder in place");
            try (Drafter d = Drafter.initialize(dc, t, 77)) {
                AtomicInteger startedAt = new AtomicInteger(-1);
                new DrafterTrainer(config, Objectives.paper(), List.of(new TrainingListener() {
                    @Override
                    public void onStart(TrainingRun r, int start, int total) {
                        startedAt.set(start);
                    }
                })).train(d, data, 28, out, null);
                assertEquals(6, startedAt.get(), "resumed from the newest complete checkpoint (step 6), not step 0");
                assertArrayEquals(uninterrupted, d.parameters().get("layers.0.mlp.up_proj.weight").toFloatArray(), 0f);
            }
            try (Stream<Path> s = Files.list(dir)) {
                assertTrue(s.noneMatch(p -> p.getFileName().toString().matches("\\.b\\.(new|old)-.*")),
                        "no temporary folders left");
            }
        }
    }

    /** Stands for a kill: an Error, which no cleanup code catches. */
    static final class KilledBetweenRenames extends Error {
        private static final long serialVersionUID = 1L;
    }

    /** Reads a saved target's weights for comparison. */
    static final class TrainingResumeTestWeights {
        static float[] read(Path folder) {
            return dev.blockdraft.io.SafeTensors.openFolder(folder).readFloats("model.layers.1.mlp.down_proj.weight");
        }
    }

    private static void assertMessage(BadInputException e, String... parts) {
        for (String part : parts) {
            assertTrue(e.getMessage().contains(part), "'" + part + "' in: " + e.getMessage());
        }
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
    }

    private static Map<String, byte[]> snapshot(Path root) throws IOException {
        Map<String, byte[]> files = new TreeMap<>();
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                files.put(root.relativize(p).toString(), Files.readAllBytes(p));
            }
        }
        return files;
    }

    private static void assertSame(Map<String, byte[]> before, Map<String, byte[]> after) {
        assertEquals(before.keySet(), after.keySet());
        before.forEach((name, bytes) -> assertArrayEquals(bytes, after.get(name), "byte for byte: " + name));
    }
}
