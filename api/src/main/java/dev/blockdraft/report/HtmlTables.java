package dev.blockdraft.report;

import tech.tablesaw.api.Table;
import tech.tablesaw.columns.Column;
import tech.tablesaw.api.NumericColumn;

import java.math.BigDecimal;
import java.math.MathContext;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/** Renders Tablesaw tables as HTML {@code <table>} elements with escaped cells. */
public final class HtmlTables {

    /** Rows rendered before the rest is summarised as "… N more rows"; notebooks choke on huge tables. */
    public static final int DEFAULT_MAX_ROWS = 200;

    static final String BEST_CELL_CLASS = "blockdraft-best";
    private static final String BEST_CELL_STYLE = "font-weight:bold;background-color:#d9f2e0;";
    private static final MathContext FOUR_SIGNIFICANT_DIGITS = new MathContext(4);

    private HtmlTables() {
    }

    public static String toHtml(Table table) {
        return toHtml(table, Optional.empty(), DEFAULT_MAX_ROWS);
    }

    public static String toHtml(Table table, Highlight highlight) {
        return toHtml(table, Optional.of(highlight), DEFAULT_MAX_ROWS);
    }

    public static String toHtml(Table table, Optional<Highlight> highlight, int maxRows) {
        int shownRows = Math.min(table.rowCount(), Math.max(0, maxRows));
        Set<Long> bestCells = highlight.map(h -> bestCells(table, h, shownRows)).orElse(Set.of());
        StringBuilder html = new StringBuilder();
        html.append("<table class=\"blockdraft-table\">\n");
        if (table.name() != null && !table.name().isBlank()) {
            html.append("<caption>").append(escape(table.name())).append("</caption>\n");
        }
        html.append("<thead><tr>");
        for (Column<?> column : table.columns()) {
            html.append(column instanceof NumericColumn ? "<th style=\"text-align:right\">" : "<th>")
                    .append(escape(column.name())).append("</th>");
        }
        html.append("</tr></thead>\n<tbody>\n");
        for (int row = 0; row < shownRows; row++) {
            html.append("<tr>");
            for (int col = 0; col < table.columnCount(); col++) {
                Column<?> column = table.column(col);
                boolean numeric = column instanceof NumericColumn;
                boolean best = bestCells.contains(cellKey(row, col));
                html.append("<td");
                if (best) {
                    html.append(" class=\"").append(BEST_CELL_CLASS).append("\" style=\"")
                            .append(BEST_CELL_STYLE).append(numeric ? "text-align:right;" : "").append('"');
                } else if (numeric) {
                    html.append(" style=\"text-align:right\"");
                }
                html.append('>').append(escape(cellText(column, row))).append("</td>");
            }
            html.append("</tr>\n");
        }
        html.append("</tbody>\n</table>");
        if (shownRows < table.rowCount()) {
            html.append("\n<p><em>… ").append(table.rowCount() - shownRows).append(" more rows</em></p>");
        }
        return html.toString();
    }

    /** Text of one cell: numbers formatted for reading, missing values empty. */
    static String cellText(Column<?> column, int row) {
        if (column.isMissing(row)) {
            return "";
        }
        if (column instanceof NumericColumn) {
            NumericColumn<?> numbers = (NumericColumn<?>) column;
            Object value = column.get(row);
            if (value instanceof Integer || value instanceof Long || value instanceof Short) {
                return value.toString();
            }
            return formatNumber(numbers.getDouble(row));
        }
        return column.getString(row);
    }

    /**
     * Four significant digits, plain notation between 1e-4 and 1e6, scientific outside:
     * 3.14159 → "3.142", 0.000012345 → "1.234e-05", 1234567.0 → "1.235e+06", 2.0 → "2".
     */
    public static String formatNumber(double value) {
        if (Double.isNaN(value)) {
            return "NaN";
        }
        if (Double.isInfinite(value)) {
            return value > 0 ? "∞" : "-∞";
        }
        if (value == 0) {
            return "0";
        }
        double magnitude = Math.abs(value);
        if (magnitude >= 1e6 || magnitude < 1e-4) {
            return String.format("%.3e", value);
        }
        return new BigDecimal(value).round(FOUR_SIGNIFICANT_DIGITS).stripTrailingZeros().toPlainString();
    }

    /** Escapes text for HTML element content and double-quoted attribute values. */
    public static String escape(String text) {
        if (text == null) {
            return "";
        }
        StringBuilder escaped = new StringBuilder(text.length() + 16);
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '&': escaped.append("&amp;"); break;
                case '<': escaped.append("&lt;"); break;
                case '>': escaped.append("&gt;"); break;
                case '"': escaped.append("&quot;"); break;
                case '\'': escaped.append("&#39;"); break;
                default: escaped.append(c);
            }
        }
        return escaped.toString();
    }

    /** Coordinates (row, column index) of the best cells; ties all win. */
    static Set<Long> bestCells(Table table, Highlight highlight, int rows) {
        List<Integer> columns = new ArrayList<>();
        for (int col = 0; col < table.columnCount(); col++) {
            Column<?> column = table.column(col);
            if (column instanceof NumericColumn && highlight.includes(column.name())) {
                columns.add(col);
            }
        }
        Set<Long> best = new HashSet<>();
        if (highlight.scope() == Highlight.Scope.PER_COLUMN) {
            for (int col : columns) {
                NumericColumn<?> column = (NumericColumn<?>) table.column(col);
                markBest(highlight, best, rows, i -> column.isMissing(i) ? Double.NaN : column.getDouble(i),
                        i -> cellKey(i, col));
            }
        } else {
            for (int row = 0; row < rows; row++) {
                int r = row;
                markBest(highlight, best, columns.size(), i -> {
                    NumericColumn<?> column = (NumericColumn<?>) table.column(columns.get(i));
                    return column.isMissing(r) ? Double.NaN : column.getDouble(r);
                }, i -> cellKey(r, columns.get(i)));
            }
        }
        return best;
    }

    private static void markBest(Highlight highlight, Set<Long> best, int count,
                                 java.util.function.IntToDoubleFunction valueAt,
                                 java.util.function.IntToLongFunction keyAt) {
        double bestValue = Double.NaN;
        for (int i = 0; i < count; i++) {
            double value = valueAt.applyAsDouble(i);
            if (!Double.isNaN(value) && (Double.isNaN(bestValue) || highlight.beats(value, bestValue))) {
                bestValue = value;
            }
        }
        if (Double.isNaN(bestValue)) {
            return;
        }
        for (int i = 0; i < count; i++) {
            if (valueAt.applyAsDouble(i) == bestValue) {
                best.add(keyAt.applyAsLong(i));
            }
        }
    }

    private static long cellKey(int row, int col) {
        return ((long) row << 32) | col;
    }
}
