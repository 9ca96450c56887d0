package dev.blockdraft.report;

import org.junit.jupiter.api.Test;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.IntColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

class HtmlTablesTest {

    private final Table runs = Table.create("runs",
            StringColumn.create("run", "a<b>", "base & co", "long"),
            IntColumn.create("block", 4, 8, 16),
            DoubleColumn.create("tau", 2.1, 3.4, 2.9),
            DoubleColumn.create("loss", 3.2112345, 2.5, 2.75));

    /** Texts of the cells marked best, in document order. */
    private static List<String> bestCells(String html) {
        Matcher m = Pattern.compile("<td class=\"" + HtmlTables.BEST_CELL_CLASS + "\"[^>]*>([^<]*)</td>").matcher(html);
        List<String> cells = new ArrayList<>();
        while (m.find()) {
            cells.add(m.group(1));
        }
        return cells;
    }

    @Test
    void cellsAreEscaped() {
        String html = HtmlTables.toHtml(runs);
        assertTrue(html.contains("<td>a&lt;b&gt;</td>"));
        assertTrue(html.contains("<td>base &amp; co</td>"));
        assertFalse(html.contains("a<b>"));
        assertEquals("&lt;&amp;&quot;&#39;&gt;", HtmlTables.escape("<&\"'>"));
    }

    @Test
    void numbersAreFormattedForReading() {
        assertEquals("3.142", HtmlTables.formatNumber(3.14159));
        assertEquals("2", HtmlTables.formatNumber(2.0));
        assertEquals("1.234e-05", HtmlTables.formatNumber(0.000012344));
        assertEquals("1.235e+06", HtmlTables.formatNumber(1234567.0));
        assertTrue(HtmlTables.toHtml(runs).contains(">3.211</td>"));
    }

    @Test
    void highlightMaxPerColumnPicksTheHighestTau() {
        assertEquals(List.of("3.4"), bestCells(HtmlTables.toHtml(runs, Highlight.maxPerColumn("tau"))));
    }

    @Test
    void highlightMinPerColumnPicksTheLowestLoss() {
        assertEquals(List.of("2.5"), bestCells(HtmlTables.toHtml(runs, Highlight.minPerColumn("loss"))));
    }

    @Test
    void highlightPerRowComparesAcrossColumns() {
        Table scores = Table.create("scores",
                DoubleColumn.create("x", 1, 9), DoubleColumn.create("y", 5, 2));
        assertEquals(List.of("5", "9"), bestCells(HtmlTables.toHtml(scores, Highlight.maxPerRow())));
    }

    @Test
    void highlightAllNumericColumnsWhenNoneNamed() {
        // document order: row 0 holds the best loss, row 1 the best tau, row 2 the largest block
        assertEquals(List.of("3.211", "3.4", "16"), bestCells(HtmlTables.toHtml(runs, Highlight.maxPerColumn())));
    }

    @Test
    void tableViewBundleHasHtmlAndPrintedText() {
        TableView view = TableView.of(runs).withMaxRows(2);
        assertTrue(((String) view.mimeBundle().get("text/html")).contains("… 1 more rows"));
        assertEquals(runs.print(), view.mimeBundle().get("text/plain"));
        assertEquals("TableView[runs: 3 rows × 4 columns]", view.toString());
    }
}
