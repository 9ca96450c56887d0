package dev.blockdraft.kernel;

import java.util.UUID;

/**
 * Display helpers for notebook code, working in blockdraft's kernel, a stock JJava and rapaio-jupyter-kernel:
 * {@code Notebook.display(figure)} shows a value now, mid-cell, and returns its display id;
 * {@code Notebook.updateDisplay(id, newValue)} replaces that output in place. A live value (a training run)
 * shown with {@code display} follows its changes by itself.
 */
public final class Notebook {

    private static volatile FrontEnd frontEnd;

    private Notebook() {
    }

    /** Renders {@code value} with the kernel's renderers, shows it, and returns its display id. */
    public static String display(Object value) {
        return frontEnd().display(value);
    }

    /** Replaces the output shown under {@code displayId} with {@code value}. */
    public static void updateDisplay(String displayId, Object value) {
        frontEnd().updateDisplay(displayId, value);
    }

    /** Called by a kernel adapter when it is installed into a kernel. */
    static void use(FrontEnd kernel) {
        frontEnd = kernel;
    }

    static FrontEnd frontEnd() {
        FrontEnd current = frontEnd;
        if (current != null) {
            return current;
        }
        // rapaio creates its display providers lazily (at the first rendered value): look for it directly.
        if (RapaioFrontEnd.kernelRunning()) {
            current = new RapaioFrontEnd();
            frontEnd = current;
            return current;
        }
        throw new IllegalStateException("Notebook.display needs a notebook kernel with blockdraft's display adapter:"
                + " blockdraft's kernel (bin/blockdraft kernel install), JJava or rapaio-jupyter-kernel with"
                + " kernel-ext/target/blockdraft-kernel-ext-*.jar on the kernel's classpath");
    }

    static String newDisplayId() {
        return "blockdraft-" + UUID.randomUUID();
    }
}
