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

    /**
     * Installs blockdraft's renderers into the jjava-jupyter kernel running this JVM, if one can be found, and
     * returns its front end. For JJava versions that do not load extensions from {@code JJAVA_CLASSPATH}.
     */
    static FrontEnd attachToRunningKernel() {
        BaseKernel kernel = runningKernel();
        return kernel == null ? null : BlockdraftExtension.attach(kernel);
    }

    /** {@code BaseKernel.notebookKernel()} (1.0-a6, a7) or {@code JJava.getKernelInstance()} (later), by name. */
    private static BaseKernel runningKernel() {
        Object kernel = callStatic(BaseKernel.class.getName(), "notebookKernel");
        if (kernel == null) {
            kernel = callStatic("org.dflib.jjava.JJava", "getKernelInstance");
        }
        return kernel instanceof BaseKernel ? (BaseKernel) kernel : null;
    }

    private static Object callStatic(String className, String method) {
        try {
            return Class.forName(className, true, JJavaFrontEnd.class.getClassLoader()).getMethod(method).invoke(null);
        } catch (ReflectiveOperationException | LinkageError | RuntimeException notThisVersion) {
            return null; // absent in this version, or no kernel running
        }
    }

    @Override
    public String describe() {
        return kernel.getClass().getSimpleName() + " (jjava-jupyter)";
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
