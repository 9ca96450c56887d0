package dev.blockdraft.grid;

import dev.blockdraft.data.DataFolder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * An ablation grid: the cross product of its axes (targets × objectives × block sizes × steps ×
 * seeds) as {@link Cell}s, where they are written, and the objective every other is compared with.
 * Read from a grid file by {@link GridFile#read}.
 *
 * @param name       a title for the report
 * @param file       the grid file it was read from (for messages), or null
 * @param out        the output folder: one sub-folder per cell, {@code regenerated/}, the report
 * @param baseline   the objective label the report compares every other arm against (its greedy one-block cells)
 * @param objectives the objective labels, in the grid file's order
 * @param cells      every cell, sorted by name
 */
public record Grid(String name, Path file, Path out, String baseline, List<String> objectives, List<Cell> cells) {
    public Grid {
        Objects.requireNonNull(out, "out");
        objectives = List.copyOf(objectives);
        if (!objectives.contains(baseline)) {
            throw new IllegalArgumentException("baseline " + baseline + " is not one of the objectives " + objectives);
        }
        for (Cell c : cells) {
            if (!objectives.contains(c.objective())) {
                throw new IllegalArgumentException("cell " + c.name() + " has objective " + c.objective()
                        + ", not one of " + objectives);
            }
        }
        List<Cell> sorted = new ArrayList<>(cells);
        sorted.sort(Comparator.comparing(Cell::name));
        Set<String> names = new HashSet<>();
        for (Cell c : sorted) {
            if (!names.add(c.name())) {
                throw new IllegalArgumentException("two cells are both named " + c.name()
                        + "; give the targets or objectives distinct names");
            }
        }
        cells = List.copyOf(sorted);
    }

    /**
     * The report's columns: each objective label in file order, followed by its cells' other
     * decodings ({@link Cell#arm()}, e.g. {@code "paper K=4"}) in name order.
     */
    public List<String> arms() {
        List<String> out = new ArrayList<>();
        for (String objective : objectives) {
            out.add(objective);
            cells.stream().filter(c -> c.objective().equals(objective)).map(Cell::arm).filter(a -> !a.equals(objective))
                    .distinct().sorted().forEach(out::add);
        }
        return out;
    }

    /** A grid built in code, with a grid file's defaults: {@code Grid.builder("name").objectives("uniform", "paper")…build()}. */
    public static GridBuilder builder(String name) {
        return new GridBuilder(name);
    }

    /**
     * Runs every cell not yet finished (resuming interrupted ones; progress lines on standard
     * output) with the data folder resolved as the CLI does, and returns the report of all cells.
     */
    public GridReport run() {
        return run(DataFolder.resolve(null), System.out);
    }

    /** {@link #run()} with this data folder; {@code log} may be null for silence. */
    public GridReport run(DataFolder data, java.io.PrintStream log) {
        new GridRunner(data, log, List.of(), null).run(this, Shard.ALL);
        return GridReport.read(this);
    }

    /** The cells of one shard. */
    public List<Cell> cells(Shard shard) {
        return shard.select(cells);
    }

    public Path cellFolder(Cell cell) {
        return out.resolve(cell.name());
    }

    public Grid withOut(Path folder) {
        return new Grid(name, file, folder, baseline, objectives, cells);
    }

    @Override
    public String toString() {
        return "Grid(" + name + ": " + cells.size() + " cells, objectives " + objectives + ", baseline " + baseline
                + " → " + out + ")";
    }
}
