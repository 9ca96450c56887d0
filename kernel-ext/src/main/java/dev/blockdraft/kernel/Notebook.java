package dev.blockdraft.kernel;

import org.dflib.jjava.jupyter.kernel.BaseKernel;
import org.dflib.jjava.jupyter.kernel.display.DisplayData;

import java.util.UUID;

/**
 * Display helpers for notebook code, working in any kernel built on jjava-jupyter (ours or a
 * stock JJava): {@code Notebook.display(figure)} shows a value now, mid-cell, and returns its display
 * id; {@code Notebook.updateDisplay(id, newValue)} replaces that output in place.
 */
public final class Notebook {

    private Notebook() {
    }

    /** Renders {@code value} with the kernel's renderers, shows it, and returns its display id. */
    public static String display(Object value) {
        BaseKernel kernel = BaseKernel.notebookKernel();
        DisplayData data = kernel.getRenderer().render(value);
        if (!data.hasDisplayId()) {
            data.setDisplayId("blockdraft-" + UUID.randomUUID());
        }
        kernel.display(data);
        return data.getDisplayId();
    }

    /** Replaces the output shown under {@code displayId} with {@code value}. */
    public static void updateDisplay(String displayId, Object value) {
        BaseKernel kernel = BaseKernel.notebookKernel();
        DisplayData data = kernel.getRenderer().render(value);
        kernel.getIO().display.updateDisplay(displayId, data);
    }
}
