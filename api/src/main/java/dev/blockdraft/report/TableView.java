package dev.blockdraft.report;

import tech.tablesaw.api.Table;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/** A Tablesaw table shown as an HTML table in rich front ends and as {@code table.print()} in text. */
public final class TableView implements Displayable {

    private final Table table;
    private final Optional<Highlight> highlight;
    private final int maxRows;

    private TableView(Table table, Optional<Highlight> highlight, int maxRows) {
        this.table = Objects.requireNonNull(table, "table");
        this.highlight = highlight;
        this.maxRows = maxRows;
    }

    public static TableView of(Table table) {
        return new TableView(table, Optional.empty(), HtmlTables.DEFAULT_MAX_ROWS);
    }

    /** The same view with the best values marked. */
    public TableView withHighlight(Highlight highlight) {
        return new TableView(table, Optional.of(highlight), maxRows);
    }

    /** The same view showing at most {@code maxRows} rows in HTML. */
    public TableView withMaxRows(int maxRows) {
        return new TableView(table, highlight, maxRows);
    }

    public Table table() {
        return table;
    }

    public String toHtml() {
        return HtmlTables.toHtml(table, highlight, maxRows);
    }

    @Override
    public Map<String, Object> mimeBundle() {
        Map<String, Object> bundle = new LinkedHashMap<>();
        bundle.put("text/html", toHtml());
        bundle.put("text/plain", table.print());
        return bundle;
    }

    /** {@code TableView[runs: 3 rows × 4 columns, best per column HIGHER]}. */
    @Override
    public String toString() {
        return "TableView[" + table.name() + ": " + table.rowCount() + " rows × " + table.columnCount() + " columns"
                + highlight.map(h -> ", best " + h.scope().name().toLowerCase().replace('_', ' ') + " "
                + h.better().name().toLowerCase()).orElse("") + "]";
    }
}
