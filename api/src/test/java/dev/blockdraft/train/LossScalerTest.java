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
