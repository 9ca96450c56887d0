package dev.blockdraft.grid;

import java.util.Objects;

/**
 * One point of a grid: its folder name, the axis values that place it in the report, and the
 * experiment it runs.
 *
 * @param name      the folder name under the grid's output, unique in the grid
 * @param objective the objective's label in the grid file (the baseline is named by it)
 * @param seed      the training seed (drafter init, batches, anchors)
 */
public record Cell(String name, String objective, long seed, Experiment experiment) {
    public Cell {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(objective, "objective");
        Objects.requireNonNull(experiment, "experiment");
    }

    public String target() {
        return experiment.target().name();
    }

    public int steps() {
        return experiment.training().optimizer().steps();
    }

    public int blockSize() {
        return experiment.blockSize();
    }

    /**
     * The cell's column in the report: its objective label, and how it decodes when that is not
     * greedy with one block ({@code "paper K=4"}): cells of one arm differ only in their seed.
     */
    public String arm() {
        String decoding = experiment.eval().decodingLabel();
        return decoding.isEmpty() ? objective : objective + " " + decoding;
    }

    /** The axes other than objective and seed: the cells of one report row group agree on them. */
    public String group() {
        return target() + " · B" + blockSize() + " · " + steps() + " steps";
    }

    /** A file-name-safe form of a label: letters, digits, '.', '-' and '_' kept, anything else '_'. */
    public static String safe(String label) {
        return label.replaceAll("[^A-Za-z0-9._-]", "_");
    }

    /** {@code <target>-<objective>-B<b>-steps<n>-seed<s>}. */
    static String nameOf(String target, String objective, int blockSize, int steps, long seed) {
        return safe(target) + "-" + safe(objective) + "-B" + blockSize + "-steps" + steps + "-seed" + seed;
    }

    /** {@link #nameOf} of the experiment, with {@code -<decoding>} when it does not decode greedily with one block. */
    public static String nameOf(String objectiveLabel, long seed, Experiment e) {
        String base = nameOf(e.target().name(), objectiveLabel, e.blockSize(), e.training().optimizer().steps(), seed);
        String decoding = e.eval().decodingLabel();
        return decoding.isEmpty() ? base : base + "-" + fileLabel(decoding);
    }

    /** A label as part of a file name: {@code "paper K=4"} → {@code paper-K4}. */
    public static String fileLabel(String label) {
        return safe(label.replace("=", "").replace(' ', '-'));
    }
}
