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
        NDArray total = null;
        Map<String, Double> terms = new LinkedHashMap<>();
        for (Objective p : parts) {
            ObjectiveValue v = p.loss(stats);
            total = total == null ? v.total() : total.add(v.total());
            for (Map.Entry<String, Double> e : v.terms().entrySet()) {
                String key = e.getKey();
                for (int i = 2; terms.containsKey(key); i++) {
                    key = e.getKey() + "_" + i;
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
