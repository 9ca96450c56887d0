package dev.blockdraft.report;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.Table;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

class HtmlReportTest {

    @Test
    void writesStandaloneHtmlWithLibraryOnceAndAllBlocks(@TempDir Path dir) throws Exception {
        Figure figure = Figure.lines("loss", "step", "loss").withLine("train", new double[] {3, 2, 1});
        HtmlReport report = HtmlReport.titled("Run <42>")
                .section("Curves").figure(figure).figure(figure)
                .section("Metrics").text("τ & friends")
                .table(Table.create("m", DoubleColumn.create("tau", 2.5)));
        Path file = report.writeTo(dir.resolve("sub/report.html"));
        String html = Files.readString(file);
        assertEquals(1, html.split(PlotlyJs.LIBRARY_MARKER, -1).length - 1, "library inlined exactly once");
        assertTrue(html.contains("<title>Run &lt;42&gt;</title>"));
        assertTrue(html.contains("<p>τ &amp; friends</p>"));
        assertTrue(html.contains("id=\"figure-1\"") && html.contains("id=\"figure-2\""));
        assertEquals("HtmlReport[\"Run <42>\": 2 sections, 1 tables, 2 figures, 1 paragraphs]", report.toString());
        try (var files = Files.list(file.getParent())) {
            assertEquals(1, files.count(), "no temp file left behind");
        }
    }

    @Test
    void reportWithoutFiguresDoesNotCarryTheLibrary() {
        assertFalse(PlotlyJs.carriesLibrary(HtmlReport.titled("t").text("x").toHtml()));
    }
}
