package dev.blockdraft.train.objective;

/** Hyperparameter validation; messages name the field and value, e.g. "gamma=-1.0 must be > 0". */
final class Check {
    private Check() {}

    static double positive(String field, double v) {
        if (!(v > 0) || Double.isInfinite(v)) {
            throw new IllegalArgumentException(field + "=" + v + " must be > 0 and finite");
        }
        return v;
    }

    static double nonNegative(String field, double v) {
        if (!(v >= 0) || Double.isInfinite(v)) {
            throw new IllegalArgumentException(field + "=" + v + " must be >= 0 and finite");
        }
        return v;
    }

    /** v in [0, 1] (closed) or [0, 1) when {@code includeOne} is false. */
    static double unit(String field, double v, boolean includeOne) {
        if (!(v >= 0) || (includeOne ? v > 1 : v >= 1)) {
            throw new IllegalArgumentException(field + "=" + v + " must be in [0, 1" + (includeOne ? "]" : ")"));
        }
        return v;
    }
}
