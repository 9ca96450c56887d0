package dev.blockdraft.grid;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * A deterministic share of a grid: with its cells sorted by name, shard {@code i/n} runs those
 * whose index modulo n is i. The shards of one n are disjoint and together the whole grid,
 * whichever machine or GPU runs each.
 */
public record Shard(int index, int count) {
    public static final Shard ALL = new Shard(0, 1);

    public Shard {
        if (count < 1 || index < 0 || index >= count) {
            throw new IllegalArgumentException("--shard " + index + "/" + count + ": give i/n with n >= 1 and 0 <= i < n, e.g. 0/2");
        }
    }

    /** Parses {@code i/n}. */
    public static Shard parse(String spec) {
        String s = spec == null ? "" : spec.trim();
        int slash = s.indexOf('/');
        try {
            if (slash > 0) {
                int i = Integer.parseInt(s.substring(0, slash).trim());
                int n = Integer.parseInt(s.substring(slash + 1).trim());
                if (n >= 1 && i >= 0 && i < n) {
                    return new Shard(i, n);
                }
            }
        } catch (NumberFormatException ignored) {
            // the message below
        }
        throw new IllegalArgumentException("--shard " + spec + ": give i/n with n >= 1 and 0 <= i < n, e.g. 0/2");
    }

    /** This shard's cells, in name order. */
    public List<Cell> select(List<Cell> cells) {
        List<Cell> sorted = new ArrayList<>(cells);
        sorted.sort(Comparator.comparing(Cell::name));
        List<Cell> out = new ArrayList<>();
        for (int k = 0; k < sorted.size(); k++) {
            if (k % count == index) {
                out.add(sorted.get(k));
            }
        }
        return out;
    }

    @Override
    public String toString() {
        return index + "/" + count;
    }
}
