package dev.blockdraft.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class LossScalerTest {
    @Test
    void overflowSkipsAndHalvesCleanStepsGrowAfterTheInterval() {
        LossScaler s = new LossScaler(1024, 3);
        assertFalse(s.update(false), "an overflowing step is skipped");
        assertEquals(512, s.scale());
        assertTrue(s.update(true));
        assertTrue(s.update(true));
        assertEquals(512, s.scale(), "two clean steps are not yet the interval");
        assertTrue(s.update(true));
        assertEquals(1024, s.scale(), "the third clean step in a row doubles the scale");
        assertTrue(s.update(true));
        assertFalse(s.update(false));
        assertTrue(s.update(true));
        assertTrue(s.update(true));
        assertEquals(512, s.scale(), "an overflow restarts the count of clean steps");
        assertEquals(2, s.skippedSteps());
    }

    @Test
    void stateSurvivesACheckpointSoAResumedRunScalesAsAnUninterruptedOne(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws java.io.IOException {
        LossScaler s = new LossScaler(1024, 3);
        s.update(false);
        s.update(true);
        s.update(true); // scale 512, two clean steps towards the next doubling, one skip
        TrainingRun run = new TrainingRun("t", java.util.Map.of());
        try (ai.djl.ndarray.NDManager m = ai.djl.ndarray.NDManager.newBaseManager(ai.djl.Device.cpu());
                AdamW opt = AdamW.standard(m, 0)) {
            TrainerState.of(3, TrainConfig.tinyCpu(), run).withLossScaler(s).writeInto(dir, opt);
        }
        LossScaler resumed = new LossScaler(1024, 3);
        resumed.restore(TrainerState.read(dir).lossScaler());
        assertEquals(512, resumed.scale());
        assertEquals(1, resumed.skippedSteps());
        resumed.update(true);
        assertEquals(1024, resumed.scale(), "the saved clean-step count carries over: one more doubles");
        LossScaler fp32 = new LossScaler(1024, 3);
        fp32.restore(null); // an fp32 checkpoint has no scaler state
        assertEquals(1024, fp32.scale());
    }

    @Test
    void scaleNeverDropsBelowOneAndRejectsNonsense() {
        LossScaler s = new LossScaler(2, 10);
        s.update(false);
        s.update(false);
        s.update(false);
        assertEquals(1, s.scale());
        assertThrows(IllegalArgumentException.class, () -> new LossScaler(0.5, 10));
        assertThrows(IllegalArgumentException.class, () -> new LossScaler(Double.NaN, 10));
        assertThrows(IllegalArgumentException.class, () -> new LossScaler(8, 0));
    }
}
