package dev.blockdraft.report;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The vendored plotly.js bundle, and the bookkeeping that inlines it only once per page.
 *
 * <p>Figures must render offline (no CDN), so the library travels inside the HTML. Inlining 1.5 MB
 * into every output would bloat notebooks, so a {@code PlotlyJs} session hands out the library
 * the first time and, afterwards, nothing: every figure's own script waits for
 * {@code window.Plotly} (see {@link Figure#toHtml}). A notebook page is one session; the kernel
 * extension resets {@link #notebookSession()} when a kernel starts, because a restarted kernel
 * usually means a re-run notebook whose first figure must carry the library again.
 */
public final class PlotlyJs {

    /** Version of the vendored bundle; PLOTLY-NOTICE.txt records package name and sha256. */
    public static final String VERSION = "4.1.1";

    /** Classpath resource name, relative to this class. */
    public static final String RESOURCE = "plotly-cartesian.min.js";

    /** Marker attribute on the script tag that carries the library, so outputs can be recognised. */
    public static final String LIBRARY_MARKER = "data-blockdraft-plotly=\"" + VERSION + "\"";

    private static final PlotlyJs NOTEBOOK_SESSION = new PlotlyJs();
    private static volatile String source;

    private final AtomicBoolean libraryHandedOut = new AtomicBoolean();

    /** A fresh session: its first {@link #libraryOnce()} returns the library. */
    public static PlotlyJs newSession() {
        return new PlotlyJs();
    }

    /** The session {@link Figure#mimeBundle()} uses: one per kernel JVM, reset on kernel start. */
    public static PlotlyJs notebookSession() {
        return NOTEBOOK_SESSION;
    }

    /** The minified plotly.js source, loaded from the classpath once. */
    public static String source() {
        String loaded = source;
        if (loaded == null) {
            try (InputStream in = PlotlyJs.class.getResourceAsStream(RESOURCE)) {
                if (in == null) {
                    throw new IllegalStateException("plotly.js resource missing: " + RESOURCE);
                }
                loaded = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            source = loaded;
        }
        return loaded;
    }

    /** A {@code <script>} element carrying the whole library. */
    public static String libraryScript() {
        return "<script type=\"text/javascript\" " + LIBRARY_MARKER + ">" + source() + "</script>";
    }

    /** Whether an HTML fragment carries the library (as produced by {@link #libraryScript()}). */
    public static boolean carriesLibrary(String html) {
        return html != null && html.contains(LIBRARY_MARKER);
    }

    /**
     * The library alone as a MIME bundle: the output a live display puts before itself, so that replacing the
     * live display never removes plotly.js from the page or the saved notebook, and its updates need not carry it.
     */
    public static Map<String, Object> libraryBundle() {
        return Map.of("text/html", libraryScript());
    }

    /** {@code bundle} with the library script removed from its HTML (the same map when it carries none). */
    public static Map<String, Object> withoutLibrary(Map<String, Object> bundle) {
        Object html = bundle.get("text/html");
        if (!(html instanceof String) || !carriesLibrary((String) html)) {
            return bundle;
        }
        Map<String, Object> stripped = new LinkedHashMap<>(bundle);
        stripped.put("text/html", ((String) html).replace(libraryScript(), ""));
        return Collections.unmodifiableMap(stripped);
    }

    /**
     * The library script the first time this session is asked, the empty string afterwards: figures wait for
     * {@code window.Plotly} themselves.
     */
    public String libraryOnce() {
        return libraryHandedOut.compareAndSet(false, true) ? libraryScript() : "";
    }

    /** Whether this session has handed out the library. */
    public boolean libraryHandedOut() {
        return libraryHandedOut.get();
    }

    /** Forgets that the library was handed out: the next figure inlines it again. */
    public void reset() {
        libraryHandedOut.set(false);
    }

    @Override
    public String toString() {
        return "PlotlyJs[" + VERSION + (libraryHandedOut.get() ? ", library inlined]" : ", library not yet inlined]");
    }
}
