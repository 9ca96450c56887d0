package dev.blockdraft.kernel;

import dev.blockdraft.report.Displayable;
import dev.blockdraft.report.TableView;
import dev.blockdraft.report.Updatable;
import org.rapaio.jupyter.kernel.display.DisplayData;
import org.rapaio.jupyter.kernel.display.DisplayRenderer;
import org.rapaio.jupyter.kernel.display.DisplayTransformer;
import org.rapaio.jupyter.kernel.display.spi.DisplayProvider;
import tech.tablesaw.api.Table;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Teaches rapaio-jupyter-kernel to show blockdraft values: {@link Displayable}s through their MIME bundle,
 * Tablesaw tables as HTML, {@link Updatable}s as live displays. Found by rapaio through
 * {@code META-INF/services/org.rapaio.jupyter.kernel.display.spi.DisplayProvider}.
 */
public final class RapaioDisplayProvider implements DisplayProvider {

    /** The MIME names rapaio may ask for: none (its default), and the ones our bundles hold. */
    private static final Set<String> RENDERED = Set.of("", "html", "text/html", "text", "text/plain", Displayable.PLOTLY_MIME);

    @Override
    public List<DisplayRenderer> getDisplayRenderers() {
        // rapaio takes the first renderer whose class matches: the most specific first.
        return List.of(new Renderer(Updatable.class), new Renderer(Displayable.class), new Renderer(Table.class));
    }

    @Override
    public List<DisplayTransformer> getDisplayTransformers() {
        return List.of();
    }

    /** {@code value} as rapaio display data, or null when blockdraft does not render its type. */
    static DisplayData renderOrNull(Object value) {
        if (value instanceof Updatable) {
            Updatable updatable = (Updatable) value;
            Map<String, Object> bundle = LiveDisplay.firstBundle(updatable, RapaioFrontEnd::showBundle);
            LiveDisplay live = LiveDisplay.subscribe(updatable, null, RapaioFrontEnd::updateBundle);
            return new Bundle(bundle, live);
        }
        if (value instanceof Displayable) {
            return new Bundle(((Displayable) value).mimeBundle(), null);
        }
        if (value instanceof Table) {
            return new Bundle(TableView.of((Table) value).mimeBundle(), null);
        }
        return null;
    }

    private static final class Renderer implements DisplayRenderer {
        private final Class<?> type;

        Renderer(Class<?> type) {
            this.type = type;
        }

        @Override
        public Class<?> rendererClass() {
            return type;
        }

        @Override
        public boolean canRender(String mime) {
            return mime == null || RENDERED.contains(mime.trim());
        }

        @Override
        public DisplayData render(String mime, Object value) {
            // rapaio renders on its shell thread and has no answer for a renderer that throws: the kernel dies.
            try {
                return renderOrNull(value);
            } catch (RuntimeException | LinkageError e) {
                return new Bundle(Map.of("text/plain", value + "\n(blockdraft could not render this value: " + e + ")"), null);
            }
        }
    }

    /**
     * A MIME bundle as rapaio display data. rapaio names a display after rendering it (and {@code display(...)}
     * renames it once more), so a live display follows the id it is given last.
     */
    static final class Bundle extends DisplayData {
        private final LiveDisplay live;

        Bundle(Map<String, Object> bundle, LiveDisplay live) {
            this.live = live;
            bundle.forEach(this::putData);
        }

        @Override
        public void setDisplayId(String id) {
            super.setDisplayId(id);
            if (live != null) {
                live.retarget(id);
            }
        }
    }
}
