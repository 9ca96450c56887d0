package dev.blockdraft.kernel;

import dev.blockdraft.report.Updatable;
import org.junit.jupiter.api.Test;

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
        LiveDisplay live = new LiveDisplay(counter, "id-1", false,
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
