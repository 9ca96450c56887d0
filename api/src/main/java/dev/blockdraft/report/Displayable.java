package dev.blockdraft.report;

import java.util.Map;

/**
 * A value that knows how to show itself in a rich front end (a Jupyter notebook, an HTML report),
 * without depending on any kernel.
 *
 * <p>The bundle maps MIME types to content: {@code text/plain} and {@code text/html} map to
 * strings, {@code application/vnd.plotly.v1+json} maps to a JSON object given as a plain {@code Map} of
 * {@code Map}/{@code List}/{@code String}/{@code Number}/{@code Boolean} values (see {@link PlainJson}), never to a
 * string nor to a Gson type: kernels encode bundles with their own, usually relocated, JSON library. A kernel
 * extension only adapts this map.
 */
public interface Displayable {

    /** MIME type of a Plotly figure: a JSON object with {@code data} and {@code layout}. */
    String PLOTLY_MIME = "application/vnd.plotly.v1+json";

    /** The representations of this value, richest first; always contains {@code text/plain}. */
    Map<String, Object> mimeBundle();
}
