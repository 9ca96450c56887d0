package dev.blockdraft.kernel;

import dev.blockdraft.report.Displayable;
import dev.blockdraft.report.TableView;
import dev.blockdraft.report.PlotlyJs;
import dev.blockdraft.report.Updatable;
import org.dflib.jjava.jupyter.Extension;
import org.dflib.jjava.jupyter.kernel.BaseKernel;
import org.dflib.jjava.jupyter.kernel.display.DisplayData;
import tech.tablesaw.api.Table;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Teaches a JJava-style kernel (ours or a stock JJava) to show blockdraft values: {@link Displayable}s
 * through their MIME bundle, Tablesaw tables as HTML, {@link Updatable}s as live displays. It also
 * imports what notebooks use. Found through {@code META-INF/services}, like every JJava extension,
 * and uses only jjava-jupyter calls whose signatures did not change after 1.0-a6 (see {@link JJavaDisplayIds}).
 */
public final class BlockdraftExtension implements Extension {

    /**
     * Imports run when the kernel starts. Packages that do not exist yet (later milestones) are
     * skipped one by one, so a notebook works with whatever the classpath has.
     */
    public static final List<String> NOTEBOOK_IMPORTS = List.of(
            "import dev.blockdraft.*;",
            "import dev.blockdraft.report.*;",
            "import dev.blockdraft.kernel.Notebook;",
            "import dev.blockdraft.train.*;",
            "import dev.blockdraft.train.objective.*;",
            "import dev.blockdraft.eval.*;",
            "import dev.blockdraft.draft.*;",
            "import dev.blockdraft.lm.*;",
            "import dev.blockdraft.data.*;",
            "import tech.tablesaw.api.*;");

    private volatile List<String> importsSkipped = List.of();

    @Override
    public void install(BaseKernel kernel) {
        // A kernel start means the page will be (re)built from the top: inline plotly.js again.
        PlotlyJs.notebookSession().reset();
        attach(kernel);
        runImports(kernel);
    }

    /** Registers blockdraft's renderers with {@code kernel} and makes it {@link Notebook}'s front end. */
    static JJavaFrontEnd attach(BaseKernel kernel) {
        JJavaFrontEnd frontEnd = new JJavaFrontEnd(kernel);
        registerRenderers(kernel, frontEnd);
        Notebook.use(frontEnd);
        return frontEnd;
    }

    @Override
    public void uninstall(BaseKernel kernel) {
        LiveDisplay.unsubscribeAll();
    }

    /** The imports from {@link #NOTEBOOK_IMPORTS} that failed (their package is not on the classpath). */
    public List<String> importsSkipped() {
        return importsSkipped;
    }

    static void registerRenderers(BaseKernel kernel, JJavaFrontEnd frontEnd) {
        // Updatable first: the renderer matches the most specific registered type.
        kernel.getRenderer().createRegistration(Updatable.class)
                .preferring("text/html")
                .supporting("text/html", "text/plain", Displayable.PLOTLY_MIME)
                .register((updatable, context) -> {
                    DisplayData output = context.getOutputContainer();
                    copyBundle(LiveDisplay.firstBundle(updatable, frontEnd::show), output);
                    if (!output.hasDisplayId()) {
                        JJavaDisplayIds.set(output, Notebook.newDisplayId());
                    }
                    LiveDisplay.subscribe(updatable, output.getDisplayId(), frontEnd::update);
                });
        kernel.getRenderer().createRegistration(Displayable.class)
                .preferring("text/html")
                .supporting("text/html", "text/plain", Displayable.PLOTLY_MIME)
                .register((displayable, context) -> copyBundle(displayable.mimeBundle(), context.getOutputContainer()));
        kernel.getRenderer().createRegistration(Table.class)
                .preferring("text/html")
                .supporting("text/html", "text/plain")
                .register((table, context) -> copyBundle(TableView.of(table).mimeBundle(), context.getOutputContainer()));
    }

    static void copyBundle(Map<String, Object> bundle, DisplayData output) {
        bundle.forEach(output::putData);
    }

    private void runImports(BaseKernel kernel) {
        List<String> skipped = new ArrayList<>();
        for (String statement : NOTEBOOK_IMPORTS) {
            try {
                // eval(String): the one evaluation call with the same signature in every jjava-jupyter from 1.0-a6 on
                kernel.eval(statement);
            } catch (Exception missingPackage) {
                skipped.add(statement);
            }
        }
        importsSkipped = List.copyOf(skipped);
    }

    @Override
    public String toString() {
        return "BlockdraftExtension[imports skipped: " + importsSkipped + "]";
    }
}
