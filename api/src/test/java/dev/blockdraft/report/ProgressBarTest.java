package dev.blockdraft.report;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.*;

class ProgressBarTest {

    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
    private final AtomicLong clock = new AtomicLong();

    private String output() {
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void lineShowsPercentBarCountMetricsAndEta() {
        ProgressBar bar = new ProgressBar("train", 1000, out, false, clock::get);
        clock.set(30_000_000_000L);
        bar.update(420, "loss 3.21 τ 2.4 12.3k tok/s");
        // 420 done in 30 s → 580 left at 14 per second → 41 s
        assertEquals("train  42% |█████       | 420/1000 loss 3.21 τ 2.4 12.3k tok/s eta 0:41",
                bar.line(clock.get(), false));
    }

    @Test
    void barUsesEighthBlocks() {
        assertEquals("██████      ", ProgressBar.bar(0.5));
        assertEquals("█▌          ", ProgressBar.bar(0.125));
        assertEquals("████████████", ProgressBar.bar(1.0));
        assertEquals("1:02:05", ProgressBar.duration(3725));
    }

    @Test
    void nonInteractivePrintsOneLinePerTenthWithoutCarriageReturns() {
        ProgressBar bar = new ProgressBar("eval", 100, out, false, clock::get);
        for (int i = 0; i < 100; i++) {
            clock.addAndGet(10_000_000L);
            bar.step(1, "");
        }
        bar.close();
        String text = output();
        assertFalse(text.contains("\r"));
        assertFalse(text.contains("\u001b"), "no ANSI escapes outside a terminal");
        String[] lines = text.split("\n");
        // the first step (so a log shows the work started), 10%, 20%, … 90%, then the final line
        assertEquals(11, lines.length, text);
        assertEquals("eval   1% |▏           | 1/100 eta 0:01", lines[0]);
        assertEquals("eval  50% |██████      | 50/100 eta 0:01", lines[5]);
        assertEquals("eval 100% |████████████| 100/100 in 0:01", lines[10]);
    }

    @Test
    void interactiveRedrawsInPlaceAtMostTenTimesPerSecond() {
        ProgressBar bar = new ProgressBar("train", 1000, out, true, clock::get);
        for (int i = 0; i < 1000; i++) {
            clock.addAndGet(1_000_000L); // 1 ms per step: 1 s in all
            bar.step(1, "");
        }
        bar.close();
        String text = output();
        long redraws = text.chars().filter(c -> c == '\r').count();
        assertTrue(redraws >= 10 && redraws <= 12, "redraws: " + redraws);
        assertTrue(text.endsWith("1000/1000 in 0:01\n"));
    }

    @Test
    void closeIsIdempotentAndStepsAfterCloseAreIgnored() {
        ProgressBar bar = new ProgressBar("x", 10, out, false, clock::get);
        bar.close();
        bar.close();
        bar.step(5, "");
        assertEquals(1, output().split("\n").length);
        assertEquals("ProgressBar[x 0/10, closed]", bar.toString());
    }
}
