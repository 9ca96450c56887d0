package dev.blockdraft.kernel;

import java.util.Map;

/**
 * The notebook kernel this JVM serves, as {@link Notebook} and {@link LiveDisplay} need it: show a value or a
 * MIME bundle as a new output, replace an output by its display id. One implementation per kernel API
 * (jjava-jupyter for blockdraft's kernel and JJava, rapaio-jupyter-kernel).
 */
interface FrontEnd {

    /** Renders {@code value} with the kernel's renderers (blockdraft's included), shows it, returns its display id. */
    String display(Object value);

    /** Replaces the output shown under {@code displayId} with {@code value}, rendered. */
    void updateDisplay(String displayId, Object value);

    /** Shows {@code bundle} as a new output without a display id. */
    void show(Map<String, Object> bundle);

    /** Replaces the output shown under {@code displayId} with {@code bundle}. */
    void update(String displayId, Map<String, Object> bundle);

    /** The kernel, in a few words. */
    String describe();
}
