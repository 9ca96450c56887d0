package dev.blockdraft.train.objective;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * One evaluation of an {@link Objective}.
 *
 * @param total the scalar loss to minimise, α weights applied, in the autograd graph of the logits
 * @param terms each term's unweighted value on the host, for logging, in insertion order (e.g.
 *     "ce", "first_error", "chain", "expected_tau")
 */
public record ObjectiveValue(NDArray total, Map<String, Double> terms) {

    public ObjectiveValue {
        Objects.requireNonNull(total, "total");
        if (total.getShape().size() != 1) {
            throw new IllegalArgumentException("total must be a scalar, got shape " + total.getShape());
        }
        terms = Collections.unmodifiableMap(new LinkedHashMap<>(Objects.requireNonNull(terms, "terms")));
    }

    /** The logged value of {@code name}; throws naming the available terms if absent. */
    public double term(String name) {
        Double v = terms.get(name);
        if (v == null) {
            throw new IllegalArgumentException("no term '" + name + "'; terms are " + terms.keySet());
        }
        return v;
    }

    /** Copies a scalar to the host as a double: one host sync. */
    static double host(NDArray scalar) {
        return scalar.toType(DataType.FLOAT64, false).getDouble();
    }
}
