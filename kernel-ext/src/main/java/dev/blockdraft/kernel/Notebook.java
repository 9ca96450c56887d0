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

    /**
     * Connects blockdraft's displays to the running kernel now and says which one: what a notebook's first cell
     * calls so that values shown as cell results render as tables and figures in kernels that load no
     * extensions from their classpath (JJava after 1.0-a7). A no-op where the adapter is already installed.
     */
    public static String connect() {
        return "blockdraft displays connected to " + frontEnd().describe();
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
        synchronized (Notebook.class) {
            if (frontEnd != null) {
                return frontEnd;
            }
            // Kernels that did not install our adapter: a JJava that loads no extensions from JJAVA_CLASSPATH, and
            // rapaio, which creates display providers at its first rendered value. Each adapter class is touched
            // only when its kernel's classes exist, so that nothing links against a missing API.
            if (present("org.dflib.jjava.jupyter.kernel.BaseKernel")) {
                FrontEnd attached = JJavaFrontEnd.attachToRunningKernel();
                if (attached != null) {
                    frontEnd = attached;
                    return attached;
                }
            }
            if (present("org.rapaio.jupyter.kernel.MainApp")) {
                frontEnd = new RapaioFrontEnd();
                return frontEnd;
            }
        }
        throw new IllegalStateException("Notebook.display needs a notebook kernel with blockdraft's display adapter:"
                + " blockdraft's kernel (bin/blockdraft kernel install), JJava or rapaio-jupyter-kernel with"
                + " kernel-ext/target/blockdraft-kernel-ext-*.jar on the kernel's classpath");
    }

    private static boolean present(String className) {
        try {
            Class.forName(className, false, Notebook.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException | LinkageError absent) {
            return false;
        }
    }

    static String newDisplayId() {
        return "blockdraft-" + UUID.randomUUID();
    }
}
