package dev.blockdraft.kernel;

import dev.blockdraft.report.PlotlyJs;
import dev.blockdraft.report.Updatable;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * One display of an {@link Updatable}: listens for changes and sends {@code update_display_data} for its display
 * id, at most {@link #MIN_INTERVAL_NANOS twice a second}. Changes in between are coalesced into a trailing update
 * that shows the latest state; the change that {@link Updatable#finished() finishes} the value is sent at once,
 * on the thread that made it, so the final state reaches the notebook before the cell's reply in any kernel.
 *
 * <p>Updates never carry plotly.js: the first display puts the library in an output of its own
 * ({@link #firstBundle}), which no update replaces.
 */
final class LiveDisplay implements Runnable {

    static final long MIN_INTERVAL_NANOS = 500_000_000L;

    private static final List<LiveDisplay> ACTIVE = new CopyOnWriteArrayList<>();
    private static final ScheduledExecutorService TRAILING_UPDATES = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread thread = new Thread(r, "blockdraft-live-display");
        thread.setDaemon(true);
        return thread;
    });

    private final Updatable target;
    private final Publisher publisher;
    private final LongSupplier nanoClock;

    private String displayId;
    private long lastPublishNanos;
    private ScheduledFuture<?> trailing;
    private boolean dirty;
    private int updatesSent;

    /** Sends one update; the kernel's display stream in production, a recorder in tests. */
    interface Publisher {
        void update(String displayId, Map<String, Object> bundle);
    }

    /** A display of {@code target} under {@code displayId} (null: not known yet, see {@link #retarget}). */
    LiveDisplay(Updatable target, String displayId, Publisher publisher, LongSupplier nanoClock) {
        this.target = target;
        this.displayId = displayId;
        this.publisher = publisher;
        this.nanoClock = nanoClock;
        this.lastPublishNanos = nanoClock.getAsLong();
    }

    /**
     * The bundle a live display starts with: {@code target}'s, without plotly.js. When the bundle carried the
     * library (the first figure of the notebook session), {@code showLibrary} gets it as a bundle of its own,
     * to be shown just before the live display.
     */
    static Map<String, Object> firstBundle(Updatable target, Consumer<Map<String, Object>> showLibrary) {
        Map<String, Object> bundle = target.mimeBundle();
        Object html = bundle.get("text/html");
        if (html instanceof String && PlotlyJs.carriesLibrary((String) html)) {
            showLibrary.accept(PlotlyJs.libraryBundle());
        }
        return PlotlyJs.withoutLibrary(bundle);
    }

    /** Keeps the output under {@code displayId} up to date with {@code target}'s changes. */
    static LiveDisplay subscribe(Updatable target, String displayId, Publisher publisher) {
        LiveDisplay live = new LiveDisplay(target, displayId, publisher, System::nanoTime);
        ACTIVE.add(live);
        target.addChangeListener(live);
        return live;
    }

    /** Sends every pending trailing update now; blockdraft's kernel calls it before a cell's reply. */
    static void flushAll() {
        ACTIVE.forEach(LiveDisplay::flush);
    }

    static void unsubscribeAll() {
        ACTIVE.forEach(LiveDisplay::unsubscribe);
    }

    /** The display id became known or changed (a kernel that assigns ids after rendering). */
    synchronized void retarget(String newDisplayId) {
        displayId = newDisplayId;
    }

    /** Change listener: publish now if the last update is old enough or the value finished, else schedule. */
    @Override
    public synchronized void run() {
        if (target.finished()) {
            dirty = true;
            flush();
            unsubscribe();
            return;
        }
        long sinceLast = nanoClock.getAsLong() - lastPublishNanos;
        if (sinceLast >= MIN_INTERVAL_NANOS && trailing == null) {
            publish();
        } else {
            dirty = true;
            if (trailing == null) {
                trailing = TRAILING_UPDATES.schedule(this::publishTrailing,
                        Math.max(0, MIN_INTERVAL_NANOS - sinceLast), TimeUnit.NANOSECONDS);
            }
        }
    }

    synchronized void flush() {
        if (dirty) {
            if (trailing != null) {
                trailing.cancel(false);
            }
            publish();
        }
    }

    private synchronized void publishTrailing() {
        if (dirty) {
            publish();
        }
    }

    private void publish() {
        trailing = null;
        if (displayId == null) {
            dirty = true; // sent once the kernel has named the display
            return;
        }
        dirty = false;
        lastPublishNanos = nanoClock.getAsLong();
        publisher.update(displayId, PlotlyJs.withoutLibrary(target.mimeBundle()));
        updatesSent++;
    }

    private void unsubscribe() {
        target.removeChangeListener(this);
        ACTIVE.remove(this);
    }

    synchronized int updatesSent() {
        return updatesSent;
    }

    synchronized String displayId() {
        return displayId;
    }

    @Override
    public synchronized String toString() {
        return "LiveDisplay[" + displayId + ", " + updatesSent + " updates" + (dirty ? ", pending]" : "]");
    }
}
