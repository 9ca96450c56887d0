package dev.blockdraft.kernel;

import org.dflib.jjava.jupyter.kernel.BaseKernel;
import org.dflib.jjava.jupyter.kernel.display.DisplayData;

import java.util.Map;

/**
 * A kernel built on jjava-jupyter: blockdraft's own and a stock JJava. Uses only calls whose signatures are the
 * same from 1.0-a6 on; the display id goes through {@link JJavaDisplayIds}.
 */
final class JJavaFrontEnd implements FrontEnd {

    private final BaseKernel kernel;

    JJavaFrontEnd(BaseKernel kernel) {
        this.kernel = kernel;
    }

    @Override
    public String display(Object value) {
        DisplayData data = kernel.getRenderer().render(value);
        if (!data.hasDisplayId()) {
            JJavaDisplayIds.set(data, Notebook.newDisplayId());
        }
        kernel.display(data);
        return data.getDisplayId();
    }

    @Override
    public void updateDisplay(String displayId, Object value) {
        kernel.getIO().display.updateDisplay(displayId, kernel.getRenderer().render(value));
    }

    @Override
    public void show(Map<String, Object> bundle) {
        kernel.display(displayData(bundle));
    }

    @Override
    public void update(String displayId, Map<String, Object> bundle) {
        kernel.getIO().display.updateDisplay(displayId, displayData(bundle));
    }

    static DisplayData displayData(Map<String, Object> bundle) {
        DisplayData data = new DisplayData();
        bundle.forEach(data::putData);
        return data;
    }
}
