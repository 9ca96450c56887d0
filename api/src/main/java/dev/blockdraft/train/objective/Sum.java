package dev.blockdraft.train.objective;

import ai.djl.ndarray.NDArray;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Collectors;

/** Σ of objectives sharing one {@link SlotStats}; see {@link Objective#sum}. */
final class Sum implements StatsObjective {
    private final List<Objective> parts;

    private Sum(List<Objective> parts) {
        this.parts = List.copyOf(parts);
    }

    static Objective of(Objective... parts) {
        Objects.requireNonNull(parts, "parts");
        if (parts.length == 0) {
            throw new IllegalArgumentException("Objective.sum needs at least one part");
        }
        List<Objective> flat = new ArrayList<>();
        for (Objective p : parts) {
            Objects.requireNonNull(p, "part");
            if (p instanceof Sum s) {
                flat.addAll(s.parts);
            } else {
                flat.add(p);
            }
        }
        return flat.size() == 1 ? flat.get(0) : new Sum(flat);
    }

    List<Objective> parts() {
        return parts;
    }

    @Override
    public ObjectiveValue loss(SlotStats stats) {
        return combine(i -> parts.get(i).loss(stats));
    }

    /** Every part pools (built-ins always do; a user part may not, and then neither does the sum). */
    @Override
    public boolean pools() {
        return parts.stream().allMatch(Objective::pools);
    }

    @Override
    public BatchTotals counts(DraftBatch batch) {
        return byPart(i -> parts.get(i).counts(batch));
    }

    @Override
    public boolean needsStatistics() {
        return parts.stream().anyMatch(Objective::needsStatistics);
    }

    @Override
    public BatchTotals statistics(SlotStats stats) {
        return byPart(i -> parts.get(i).statistics(stats));
    }

    /** The parts' totals under their index prefixes ("0.", "1.", …), as {@link #advance} reads them back. */
    private BatchTotals byPart(java.util.function.IntFunction<BatchTotals> part) {
        BatchTotals all = BatchTotals.NONE;
        for (int i = 0; i < parts.size(); i++) {
            all = all.with(part.apply(i).prefixed(i));
        }
        return all;
    }

    @Override
    public void advance(BatchTotals totals) {
        for (int i = 0; i < parts.size(); i++) {
            parts.get(i).advance(totals.part(i));
        }
    }

    @Override
    public ObjectiveValue share(SlotStats stats, BatchTotals totals) {
        return combine(i -> parts.get(i).share(stats, totals.part(i)));
    }

    /** Σ of the parts' totals; their terms merged, a repeated key suffixed "_2", "_3", …. */
    private ObjectiveValue combine(java.util.function.IntFunction<ObjectiveValue> part) {
        NDArray total = null;
        Map<String, Double> terms = new LinkedHashMap<>();
        for (int i = 0; i < parts.size(); i++) {
            ObjectiveValue v = part.apply(i);
            total = total == null ? v.total() : total.add(v.total());
            for (Map.Entry<String, Double> e : v.terms().entrySet()) {
                String key = e.getKey();
                for (int j = 2; terms.containsKey(key); j++) {
                    key = e.getKey() + "_" + j;
                }
                terms.put(key, e.getValue());
            }
        }
        return new ObjectiveValue(total, terms);
    }

    @Override
    public String name() {
        return parts.stream().map(Objective::name).collect(Collectors.joining("+"));
    }

    @Override
    public String toString() {
        return parts.stream().map(Object::toString).collect(Collectors.joining(" + "));
    }

    @Override
    public java.util.Map<String, double[]> state() {
        java.util.Map<String, double[]> all = new java.util.LinkedHashMap<>();
        for (int i = 0; i < parts.size(); i++) {
            for (java.util.Map.Entry<String, double[]> e : parts.get(i).state().entrySet()) {
                all.put(i + "." + e.getKey(), e.getValue());
            }
        }
        return all;
    }

    @Override
    public void restoreState(java.util.Map<String, double[]> state) {
        for (int i = 0; i < parts.size(); i++) {
            java.util.Map<String, double[]> mine = new java.util.LinkedHashMap<>();
            String prefix = i + ".";
            for (java.util.Map.Entry<String, double[]> e : state.entrySet()) {
                if (e.getKey().startsWith(prefix)) {
                    mine.put(e.getKey().substring(prefix.length()), e.getValue());
                }
            }
            parts.get(i).restoreState(mine);
        }
    }
}
