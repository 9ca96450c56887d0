package dev.blockdraft.eval;

import dev.blockdraft.report.HtmlTables;
import java.util.ArrayList;
import java.util.List;

/** A plain-text table with aligned columns: text left, numbers right. For JShell and logs. */
final class TextTable {
    private final List<String> headers;
    private final List<List<String>> rows = new ArrayList<>();
    private final boolean[] numeric;

    TextTable(List<String> headers, boolean... numeric) {
        this.headers = List.copyOf(headers);
        this.numeric = new boolean[headers.size()];
        for (int i = 0; i < headers.size(); i++) {
            this.numeric[i] = i < numeric.length ? numeric[i] : i > 0;
        }
    }

    TextTable row(List<String> cells) {
        if (cells.size() != headers.size()) {
            throw new IllegalArgumentException(cells.size() + " cells for " + headers.size() + " columns");
        }
        rows.add(List.copyOf(cells));
        return this;
    }

    /** A number as the HTML tables show it (4 significant digits), NaN as "–". */
    static String number(double value) {
        return Double.isNaN(value) ? "–" : HtmlTables.formatNumber(value);
    }

    /** Fixed decimals, NaN as "–". */
    static String fixed(double value, int decimals) {
        return Double.isNaN(value) ? "–" : String.format(java.util.Locale.ROOT, "%." + decimals + "f", value);
    }

    /** A signed percentage with one decimal, NaN as "–". */
    static String percent(double fraction) {
        return Double.isNaN(fraction) ? "–" : String.format(java.util.Locale.ROOT, "%+.1f%%", 100 * fraction);
    }

    String render() {
        int[] width = new int[headers.size()];
        for (int c = 0; c < width.length; c++) {
            width[c] = headers.get(c).length();
            for (List<String> row : rows) {
                width[c] = Math.max(width[c], row.get(c).length());
            }
        }
        StringBuilder out = new StringBuilder();
        line(out, headers, width);
        int total = 0;
        for (int w : width) {
            total += w;
        }
        out.append("-".repeat(total + 2 * (width.length - 1))).append('\n');
        for (List<String> row : rows) {
            line(out, row, width);
        }
        return out.toString();
    }

    private void line(StringBuilder out, List<String> cells, int[] width) {
        for (int c = 0; c < cells.size(); c++) {
            String cell = cells.get(c);
            String pad = " ".repeat(width[c] - cell.length());
            out.append(c == 0 ? "" : "  ").append(numeric[c] ? pad + cell : cell + (c == cells.size() - 1 ? "" : pad));
        }
        out.append('\n');
    }
}
