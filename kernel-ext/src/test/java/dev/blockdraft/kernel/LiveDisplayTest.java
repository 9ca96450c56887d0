package dev.blockdraft.kernel;

import com.google.gson.Gson;
import dev.blockdraft.report.Displayable;
import dev.blockdraft.report.PlotlyJs;
import dev.blockdraft.report.Updatable;
import dev.blockdraft.train.TrainingRun;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.*;

class LiveDisplayTest {

    /** A counter whose text is its count. */
    static final class Counter implements Updatable {
        int count;

        @Override
        public Map<String, Object> mimeBundle() {
            return Map.of("text/plain", "count " + count);
        }

        @Override
        public void addChangeListener(Runnable listener) {
        }

        @Override
        public void removeChangeListener(Runnable listener) {
        }
    }

    @Test
    void changesWithinHalfASecondCoalesceIntoOneUpdateShowingTheLatestState() {
        AtomicLong clock = new AtomicLong(0);
        List<String> sent = new ArrayList<>();
        Counter counter = new Counter();
        LiveDisplay live = new LiveDisplay(counter, "id-1",
                (id, bundle) -> sent.add(id + " " + bundle.get("text/plain")), clock::get);

        clock.set(600_000_000L);            // first change after the initial render: sent at once
        counter.count = 1;
        live.run();
        clock.addAndGet(100_000_000L);      // 100 ms later: throttled
        counter.count = 2;
        live.run();
        clock.addAndGet(100_000_000L);
        counter.count = 3;
        live.run();
        assertEquals(List.of("id-1 count 1"), sent);

        live.flush();                       // end of the cell: the final state goes out
        assertEquals(List.of("id-1 count 1", "id-1 count 3"), sent);
        live.flush();                       // nothing pending: nothing sent
        assertEquals(2, live.updatesSent());
    }

    @Test
    void theChangeThatFinishesTheValueIsSentAtOnceOnTheCallersThread() {
        AtomicLong clock = new AtomicLong(0);
        List<String> sent = new ArrayList<>();
        TrainingRun run = new TrainingRun("t", Map.of());
        LiveDisplay live = new LiveDisplay(run, "id-2", (id, bundle) -> sent.add((String) bundle.get("text/plain")),
                clock::get);
        run.addChangeListener(live);
        clock.set(600_000_000L);
        run.record(step(1));                // sent at once: the last update is old enough
        clock.addAndGet(10_000_000L);
        run.record(step(2));                // 10 ms later: throttled, a trailing update is scheduled
        assertEquals(1, sent.size());
        run.finish();                       // no waiting for the trailing update: sent now, by this thread
        assertEquals(2, sent.size());
        assertTrue(sent.get(1).endsWith("finished)"), sent.get(1));
        assertEquals(sent.get(1), run.toString());
    }

    @Test
    void anUpdateOfA300StepRunCarriesFiguresButNotPlotlyJsAndStaysUnder200kB() {
        PlotlyJs.notebookSession().reset();
        TrainingRun run = new TrainingRun("paper", Map.of());
        List<Map<String, Object>> shownFirst = new ArrayList<>();
        Map<String, Object> first = LiveDisplay.firstBundle(run, shownFirst::add);
        assertEquals(1, shownFirst.size(), "the first figure of the session brings plotly.js in an output of its own");
        assertTrue(PlotlyJs.carriesLibrary((String) shownFirst.get(0).get("text/html")));
        assertFalse(PlotlyJs.carriesLibrary((String) first.get("text/html")), "the live display itself does not carry it");

        List<Map<String, Object>> updates = new ArrayList<>();
        LiveDisplay live = new LiveDisplay(run, "id-3", (id, bundle) -> updates.add(bundle), System::nanoTime);
        run.addChangeListener(live);
        for (int step = 1; step <= 300; step++) {
            run.record(step(step));
            if (step % 50 == 0) {
                run.record(new TrainingRun.Eval(step, Map.of("tau", 2.0 + step / 300.0, "expected_tau", 2.5, "ce", 1.25)));
            }
        }
        run.finish();
        Map<String, Object> last = updates.get(updates.size() - 1);
        String html = (String) last.get("text/html");
        assertFalse(PlotlyJs.carriesLibrary(html), "an update must not re-send plotly.js");
        assertEquals(3, html.split("Plotly.newPlot", -1).length - 1, "loss, validation and learning-rate figures");
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> traces = (List<Map<String, Object>>) ((Map<String, Object>) last.get(Displayable.PLOTLY_MIME)).get("data");
        assertEquals(300, ((List<?>) traces.get(0).get("y")).size(), "the figure JSON holds every step");
        int bytes = new Gson().toJson(last).getBytes(StandardCharsets.UTF_8).length;
        assertTrue(bytes < 200_000, "update of a 300-step run: " + bytes + " bytes");
        assertTrue(bytes > 10_000, "the update holds the figures: " + bytes + " bytes");
    }

    private static TrainingRun.Step step(int step) {
        double loss = 5.0 / Math.sqrt(step);
        return new TrainingRun.Step(step, loss, Map.of("positional", loss * 0.6, "first_error", loss * 0.3, "chain", loss * 0.1),
                3e-4 * Math.min(1.0, step / 30.0), 1.5, 12_345.0, 4_096L * step, false);
    }

    @Test
    void installerPlansSpecUnderPrefixWithAbsoluteClasspath() {
        KernelInstaller.Installation plan = KernelInstaller.plan(Optional.of(Path.of("/opt/env")), "blockdraft",
                "a.jar:lib/b.jar", Map.of());
        assertEquals(Path.of("/opt/env/share/jupyter/kernels/blockdraft"), plan.kernelDir());
        assertEquals(Path.of("lib/b.jar").toAbsolutePath().toString(), plan.argv().get(2).split(":")[1]);
        assertEquals("dev.blockdraft.kernel.BlockdraftKernel", plan.argv().get(plan.argv().size() - 2));
        assertEquals("{connection_file}", plan.argv().get(plan.argv().size() - 1));
        KernelInstaller.Installation user = KernelInstaller.plan(Optional.empty(), "bd", "a.jar",
                Map.of("JUPYTER_DATA_DIR", "/data/jupyter"));
        assertEquals(Path.of("/data/jupyter/kernels/bd"), user.kernelDir());
        assertThrows(IllegalArgumentException.class,
                () -> KernelInstaller.plan(Optional.empty(), "bad name", "a.jar", Map.of()));
    }
}
