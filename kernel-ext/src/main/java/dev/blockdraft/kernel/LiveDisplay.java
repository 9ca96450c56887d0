package dev.blockdraft.kernel;

import dev.blockdraft.report.PlotlyJs;
import dev.blockdraft.report.Updatable;
import org.dflib.jjava.jupyter.kernel.BaseKernel;
import org.dflib.jjava.jupyter.kernel.display.DisplayData;

import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * One display of an {@link Updatable}: listens for changes and sends {@code update_display_data}
 * for its display id, at most {@link #MIN_INTERVAL_NANOS twice a second}. Changes in between are
 * coalesced into a trailing update that shows the latest state, so the last change is always shown.
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
    private final String displayId;
    private final boolean carriesLibrary;
    private final Publisher publisher;
    private final LongSupplier nanoClock;

    private long lastPublishNanos;
    private ScheduledFuture<?> trailing;
    private boolean dirty;
    private int updatesSent;

    /** Sends one update; the kernel's display stream in production, a recorder in tests. */
    interface Publisher {
        void update(String displayId, Map<String, Object> bundle);
    }

    LiveDisplay(Updatable target, String displayId, boolean carriesLibrary, Publisher publisher, LongSupplier nanoClock) {
        this.target = target;
        this.displayId = displayId;
        this.carriesLibrary = carriesLibrary;
        this.publisher = publisher;
        this.nanoClock = nanoClock;
        this.lastPublishNanos = nanoClock.getAsLong();
    }

    /** Gives {@code output} a display id and keeps it up to date with {@code target}'s changes. */
    static LiveDisplay subscribe(BaseKernel kernel, Updatable target, DisplayData output) {
        String displayId = output.hasDisplayId() ? output.getDisplayId() : "blockdraft-" + UUID.randomUUID();
        output.setDisplayId(displayId);
        Object html = output.getData(org.dflib.jjava.jupyter.kernel.display.mime.MIMEType.TEXT_HTML);
        boolean carriesLibrary = html instanceof String && PlotlyJs.carriesLibrary((String) html);
        LiveDisplay live = new LiveDisplay(target, displayId, carriesLibrary, (id, bundle) -> {
            DisplayData update = new DisplayData();
            BlockdraftExtension.copyBundle(bundle, update);
            kernel.getIO().display.updateDisplay(id, update);
        }, System::nanoTime);
        target.addChangeListener(live);
        ACTIVE.add(live);
        return live;
    }

    /** Sends every pending trailing update now; the kernel calls it before a cell's reply. */
    static void flushAll() {
        ACTIVE.forEach(LiveDisplay::flush);
    }

    static void unsubscribeAll() {
        for (LiveDisplay live : ACTIVE) {
            live.target.removeChangeListener(live);
        }
        ACTIVE.clear();
    }

    /** Change listener: publish now if the last update is old enough, else schedule a trailing one. */
    @Override
    public synchronized void run() {
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
        dirty = false;
        lastPublishNanos = nanoClock.getAsLong();
        // The display being replaced may be the one that carried plotly.js into the page; its
        // replacement must carry it too, or a saved notebook renders no figure at all.
        Map<String, Object> bundle = carriesLibrary ? PlotlyJs.inliningAlways(target::mimeBundle) : target.mimeBundle();
        publisher.update(displayId, bundle);
        updatesSent++;
    }

    synchronized int updatesSent() {
        return updatesSent;
    }

    String displayId() {
        return displayId;
    }

    @Override
    public synchronized String toString() {
        return "LiveDisplay[" + displayId + ", " + updatesSent + " updates" + (dirty ? ", pending]" : "]");
    }
}
