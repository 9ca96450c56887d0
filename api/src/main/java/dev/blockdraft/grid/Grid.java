package dev.blockdraft.grid;

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
 * @param baseline   the objective label the report compares every other against
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
