package dev.blockdraft.report;

import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

class PlotlyJsTest {

    @Test
    void sessionInlinesLibraryExactlyOnceUntilReset() {
        PlotlyJs session = PlotlyJs.newSession();
        assertTrue(PlotlyJs.carriesLibrary(session.libraryOnce()));
        assertEquals("", session.libraryOnce());
        assertEquals("", session.libraryOnce());
        session.reset();
        assertTrue(PlotlyJs.carriesLibrary(session.libraryOnce()));
    }

    @Test
    void notebookFiguresCarryLibraryOnlyInTheFirstBundle() {
        PlotlyJs.notebookSession().reset();
        Figure figure = Figure.lines("t", "x", "y").withLine("a", new double[] {1, 2});
        int carrying = 0;
        for (int i = 0; i < 5; i++) {
            if (PlotlyJs.carriesLibrary((String) figure.mimeBundle().get("text/html"))) {
                carrying++;
            }
        }
        assertEquals(1, carrying);
    }

    @Test
    void aBundleWithoutTheLibraryKeepsItsFigureAndTheLibraryGetsABundleOfItsOwn() {
        PlotlyJs.notebookSession().reset();
        Figure figure = Figure.lines("t", "x", "y").withLine("a", new double[] {1, 2});
        java.util.Map<String, Object> first = figure.mimeBundle();
        java.util.Map<String, Object> stripped = PlotlyJs.withoutLibrary(first);
        String html = (String) stripped.get("text/html");
        assertFalse(PlotlyJs.carriesLibrary(html));
        assertTrue(html.contains("Plotly.newPlot"));
        assertEquals(((String) first.get("text/html")).length() - PlotlyJs.libraryScript().length(), html.length());
        assertEquals(first.get(Displayable.PLOTLY_MIME), stripped.get(Displayable.PLOTLY_MIME));
        assertSame(stripped, PlotlyJs.withoutLibrary(stripped), "nothing to strip: the same bundle");
        assertTrue(PlotlyJs.carriesLibrary((String) PlotlyJs.libraryBundle().get("text/html")));
    }

    @Test
    void vendoredBundleMatchesNoticeSha256AndVersion() throws Exception {
        byte[] bundle;
        try (InputStream in = PlotlyJs.class.getResourceAsStream(PlotlyJs.RESOURCE)) {
            bundle = in.readAllBytes();
        }
        String notice;
        try (InputStream in = PlotlyJs.class.getResourceAsStream("PLOTLY-NOTICE.txt")) {
            notice = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        Matcher sha = Pattern.compile("sha256:\\s+([0-9a-f]{64})").matcher(notice);
        assertTrue(sha.find());
        String actual = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bundle));
        assertEquals(sha.group(1), actual);
        assertTrue(notice.contains("version:  " + PlotlyJs.VERSION));
        assertTrue(PlotlyJs.source().startsWith("/**\n* plotly.js (cartesian - minified) v" + PlotlyJs.VERSION));
        assertFalse(PlotlyJs.source().contains("</script"), "inlining requires no closing script tag inside");
    }
}
