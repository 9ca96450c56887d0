package dev.blockdraft.report;

import java.util.List;
import java.util.Objects;

/**
 * Which cells of a table to mark as best: per column (best run for each metric) or per row (best
 * metric of each run), where best is the highest or the lowest value.
 *
 * @param scope   compare down each column or across each row
 * @param better  whether higher or lower values win
 * @param columns the numeric columns taking part; empty means every numeric column
 */
public record Highlight(Scope scope, Better better, List<String> columns) {

    public enum Scope { PER_COLUMN, PER_ROW }

    public enum Better { HIGHER, LOWER }

    public Highlight {
        Objects.requireNonNull(scope, "scope");
        Objects.requireNonNull(better, "better");
        columns = List.copyOf(columns);
    }

    /** Marks the highest value of each listed (or every numeric) column. */
    public static Highlight maxPerColumn(String... columns) {
        return new Highlight(Scope.PER_COLUMN, Better.HIGHER, List.of(columns));
    }

    /** Marks the lowest value of each listed (or every numeric) column, e.g. losses. */
    public static Highlight minPerColumn(String... columns) {
        return new Highlight(Scope.PER_COLUMN, Better.LOWER, List.of(columns));
    }

    /** Marks the highest value of each row among the listed (or every numeric) columns. */
    public static Highlight maxPerRow(String... columns) {
        return new Highlight(Scope.PER_ROW, Better.HIGHER, List.of(columns));
    }

    /** Marks the lowest value of each row among the listed (or every numeric) columns. */
    public static Highlight minPerRow(String... columns) {
        return new Highlight(Scope.PER_ROW, Better.LOWER, List.of(columns));
    }

    boolean includes(String column) {
        return columns.isEmpty() || columns.contains(column);
    }

    boolean beats(double candidate, double best) {
        return better == Better.HIGHER ? candidate > best : candidate < best;
    }
}
