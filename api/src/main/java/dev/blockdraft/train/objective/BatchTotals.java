package dev.blockdraft.train.objective;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Additive statistics of a batch that an objective's normalisers and running state need: counts
 * (valid slots, blocks, sequences, per-slot valid blocks) and no-gradient sums (blocks with an
 * error, Σw, per-slot reach). Each is a sum over blocks, so the totals of a concatenation of
 * micro-batches are the element-wise sums of theirs ({@link #plus}); a data-parallel step
 * all-reduces them (sum) in {@link #sums()}'s key order. Keys of a {@link Objective#sum sum}'s parts
 * carry the part's index ("0.slots", "1.error_blocks", …), as in {@link Objective#state()}.
 *
 * @param sums each statistic by name, in insertion order; vectors are per slot (length K)
 */
public record BatchTotals(Map<String, double[]> sums) {

    /** No statistics. */
    public static final BatchTotals NONE = new BatchTotals(Map.of());

    public BatchTotals {
        Map<String, double[]> copy = new LinkedHashMap<>();
        Objects.requireNonNull(sums, "sums").forEach((k, v) -> copy.put(k, v.clone()));
        sums = Collections.unmodifiableMap(copy);
    }

    /** A deep copy: the arrays stay this value's own. */
    @Override
    public Map<String, double[]> sums() {
        Map<String, double[]> copy = new LinkedHashMap<>();
        sums.forEach((k, v) -> copy.put(k, v.clone()));
        return copy;
    }

    /** One scalar statistic. */
    public static BatchTotals of(String key, double value) {
        return new BatchTotals(Map.of(key, new double[] {value}));
    }

    /** The statistics of a batch and another (disjoint) batch: element-wise sums; a key present in one only is kept. */
    public BatchTotals plus(BatchTotals other) {
        Map<String, double[]> out = new LinkedHashMap<>(sums);
        other.sums.forEach((k, v) -> out.merge(k, v, BatchTotals::add));
        return new BatchTotals(out);
    }

    /** This and {@code other}'s statistics side by side (keys must not collide). */
    public BatchTotals with(BatchTotals other) {
        Map<String, double[]> out = new LinkedHashMap<>(sums);
        other.sums.forEach((k, v) -> {
            if (out.putIfAbsent(k, v) != null) {
                throw new IllegalArgumentException("statistic '" + k + "' given twice");
            }
        });
        return new BatchTotals(out);
    }

    /** A copy of the statistic {@code key}; throws naming the keys present if absent. */
    public double[] get(String key) {
        double[] v = sums.get(key);
        if (v == null) {
            throw new IllegalArgumentException("no statistic '" + key + "'; present: " + sums.keySet());
        }
        return v.clone();
    }

    /** The scalar statistic {@code key}. */
    public double scalar(String key) {
        return get(key)[0];
    }

    /** These statistics with keys prefixed "i." (a sum's part i). */
    BatchTotals prefixed(int part) {
        Map<String, double[]> out = new LinkedHashMap<>();
        sums.forEach((k, v) -> out.put(part + "." + k, v));
        return new BatchTotals(out);
    }

    /** The statistics of a sum's part i, prefix removed. */
    BatchTotals part(int part) {
        Map<String, double[]> out = new LinkedHashMap<>();
        String prefix = part + ".";
        sums.forEach((k, v) -> {
            if (k.startsWith(prefix)) {
                out.put(k.substring(prefix.length()), v);
            }
        });
        return new BatchTotals(out);
    }

    private static double[] add(double[] a, double[] b) {
        if (a.length != b.length) {
            throw new IllegalArgumentException("statistics of lengths " + a.length + " and " + b.length
                    + " cannot be added (batches with different slot counts?)");
        }
        double[] s = a.clone();
        for (int i = 0; i < s.length; i++) {
            s[i] += b[i];
        }
        return s;
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("BatchTotals{");
        sums.forEach((k, v) -> b.append(b.length() > 12 ? ", " : "").append(k).append('=').append(java.util.Arrays.toString(v)));
        return b.append('}').toString();
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof BatchTotals t) || !t.sums.keySet().equals(sums.keySet())) {
            return false;
        }
        return sums.entrySet().stream().allMatch(e -> java.util.Arrays.equals(e.getValue(), t.sums.get(e.getKey())));
    }

    @Override
    public int hashCode() {
        int h = 0;
        for (Map.Entry<String, double[]> e : sums.entrySet()) {
            h += e.getKey().hashCode() ^ java.util.Arrays.hashCode(e.getValue());
        }
        return h;
    }
}
