package dev.blockdraft.kernel;

import org.rapaio.jupyter.kernel.MainApp;
import org.rapaio.jupyter.kernel.display.DisplayData;
import org.rapaio.jupyter.kernel.global.Global;

import java.util.Map;

/** rapaio-jupyter-kernel: its single kernel is {@code MainApp.kernel}, rendering goes through {@code Global}. */
final class RapaioFrontEnd implements FrontEnd {

    @Override
    public String describe() {
        return "rapaio-jupyter-kernel";
    }

    @Override
    public String display(Object value) {
        // Rendered here rather than by rapaio's display system, which may not have loaded our provider yet.
        DisplayData data = RapaioDisplayProvider.renderOrNull(value);
        if (data == null) {
            return Global.display(value);
        }
        data.setDisplayId(Notebook.newDisplayId());
        MainApp.kernel.display(data);
        return data.getDisplayId();
    }

    @Override
    public void updateDisplay(String displayId, Object value) {
        DisplayData data = RapaioDisplayProvider.renderOrNull(value);
        if (data == null) {
            Global.updateDisplay(displayId, value);
            return;
        }
        data.setDisplayId(displayId);
        MainApp.kernel.updateDisplay(data);
    }

    @Override
    public void show(Map<String, Object> bundle) {
        showBundle(bundle);
    }

    @Override
    public void update(String displayId, Map<String, Object> bundle) {
        updateBundle(displayId, bundle);
    }

    static void showBundle(Map<String, Object> bundle) {
        DisplayData data = new RapaioDisplayProvider.Bundle(bundle, null);
        // rapaio's display messages need an id; no update will name this one
        data.setDisplayId(Notebook.newDisplayId());
        MainApp.kernel.display(data);
    }

    static void updateBundle(String displayId, Map<String, Object> bundle) {
        DisplayData data = new RapaioDisplayProvider.Bundle(bundle, null);
        data.setDisplayId(displayId);
        MainApp.kernel.updateDisplay(data);
    }
}
