package dev.blockdraft.report;

import java.io.PrintStream;
import java.util.function.LongSupplier;

/**
 * A progress bar for long work, readable both on a terminal and in logs or notebook outputs.
 *
 * <pre>{@code
 * try (ProgressBar bar = ProgressBar.start("train", steps)) {
 *     for (...) { ...; bar.step(1, String.format("loss %.2f τ %.1f", loss, tau)); }
 * }
 * }</pre>
 * prints {@code train  42% |█████       | 420/1000 loss 3.21 τ 2.4 eta 0:41}.
 *
 * <p>On an interactive console the line is redrawn in place with {@code \r}, at most ten times a
 * second. Anywhere else (a pipe, a log file, a notebook kernel, where {@code System.console()} is
 * null) it prints a plain new line each time another tenth of the work is done, so logs stay
 * readable and carry no control characters. Thread-safe.
 */
public final class ProgressBar implements AutoCloseable {

    static final int BAR_WIDTH = 12;
    private static final long REDRAW_INTERVAL_NANOS = 100_000_000L;
    private static final String[] PARTIAL_BLOCKS = {"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"};

    private final String label;
    private final long total;
    private final PrintStream out;
    private final boolean interactive;
    private final LongSupplier nanoClock;
    private final long startNanos;

    private long done;
    private String metrics = "";
    private long lastDrawNanos = Long.MIN_VALUE;
    private int lastPrintedTenth = -1;
    private int lastLineLength;
    private boolean closed;

    ProgressBar(String label, long total, PrintStream out, boolean interactive, LongSupplier nanoClock) {
        if (total < 0) {
            throw new IllegalArgumentException("total must be >= 0, was " + total);
        }
        this.label = label;
        this.total = total;
        this.out = out;
        this.interactive = interactive;
        this.nanoClock = nanoClock;
        this.startNanos = nanoClock.getAsLong();
    }

    /** Starts a bar on {@code System.out}, redrawing in place only when it is a console. */
    public static ProgressBar start(String label, long total) {
        return new ProgressBar(label, total, System.out, System.console() != null, System::nanoTime);
    }

    /** Starts a bar on the given stream; {@code interactive} chooses in-place redraw over lines. */
    public static ProgressBar start(String label, long total, PrintStream out, boolean interactive) {
        return new ProgressBar(label, total, out, interactive, System::nanoTime);
    }

    /** Records {@code n} more units of work done and the latest metrics text (may be empty). */
    public synchronized void step(long n, String metrics) {
        update(done + n, metrics);
    }

    /** Records that {@code done} units in total are finished. */
    public synchronized void update(long done, String metrics) {
        if (closed) {
            return;
        }
        this.done = Math.max(0, total > 0 ? Math.min(done, total) : done);
        this.metrics = metrics == null ? "" : metrics;
        long now = nanoClock.getAsLong();
        if (interactive) {
            if (lastDrawNanos == Long.MIN_VALUE || now - lastDrawNanos >= REDRAW_INTERVAL_NANOS) {
                redraw(line(now, false));
                lastDrawNanos = now;
            }
        } else {
            int tenth = total > 0 ? (int) (this.done * 10 / total) : 0;
            if (tenth > lastPrintedTenth && this.done < total) {
                out.println(line(now, false));
                out.flush();
                lastPrintedTenth = tenth;
            }
        }
    }

    /** Units done so far. */
    public synchronized long done() {
        return done;
    }

    /** Prints the final line (with the elapsed time) and ends it with a newline. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        String finalLine = line(nanoClock.getAsLong(), true);
        if (interactive) {
            redraw(finalLine);
            out.println();
        } else {
            out.println(finalLine);
        }
        out.flush();
    }

    private void redraw(String line) {
        int padding = Math.max(0, lastLineLength - line.length());
        out.print("\r" + line + " ".repeat(padding));
        out.flush();
        lastLineLength = line.length();
    }

    /** The line for the current state; {@code finished} shows elapsed time instead of the eta. */
    synchronized String line(long nowNanos, boolean finished) {
        StringBuilder line = new StringBuilder(label).append(' ');
        double fraction = total > 0 ? (double) done / total : 0;
        line.append(String.format("%3d%% |", (int) Math.floor(fraction * 100)));
        line.append(bar(fraction)).append("| ").append(done).append('/').append(total);
        if (!metrics.isBlank()) {
            line.append(' ').append(metrics.strip());
        }
        double elapsedSeconds = (nowNanos - startNanos) / 1e9;
        if (finished) {
            line.append(" in ").append(duration(elapsedSeconds));
        } else if (done > 0 && done < total) {
            line.append(" eta ").append(duration(elapsedSeconds / done * (total - done)));
        }
        return line.toString();
    }

    static String bar(double fraction) {
        int eighths = (int) Math.round(Math.max(0, Math.min(1, fraction)) * BAR_WIDTH * 8);
        StringBuilder bar = new StringBuilder("█".repeat(eighths / 8)).append(PARTIAL_BLOCKS[eighths % 8]);
        return bar.append(" ".repeat(BAR_WIDTH - bar.length())).toString();
    }

    /** 41 s → "0:41", 3725 s → "1:02:05". */
    static String duration(double seconds) {
        long s = Math.max(0, Math.round(seconds));
        return s >= 3600
                ? String.format("%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60)
                : String.format("%d:%02d", s / 60, s % 60);
    }

    @Override
    public synchronized String toString() {
        return "ProgressBar[" + label + " " + done + "/" + total + (closed ? ", closed]" : "]");
    }
}
