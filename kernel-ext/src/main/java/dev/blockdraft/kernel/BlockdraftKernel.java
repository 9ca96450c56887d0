package dev.blockdraft.kernel;

import jdk.jshell.DeclarationSnippet;
import jdk.jshell.Diag;
import jdk.jshell.EvalException;
import jdk.jshell.JShell;
import jdk.jshell.JShellException;
import jdk.jshell.Snippet;
import jdk.jshell.SnippetEvent;
import jdk.jshell.SourceCodeAnalysis;
import jdk.jshell.UnresolvedReferenceException;
import org.dflib.jjava.jupyter.channels.JupyterConnection;
import org.dflib.jjava.jupyter.kernel.BaseKernel;
import org.dflib.jjava.jupyter.kernel.BaseKernelBuilder;
import org.dflib.jjava.jupyter.kernel.KernelConnectionProperties;
import org.dflib.jjava.jupyter.kernel.LanguageInfo;
import org.dflib.jjava.jupyter.kernel.ReplacementOptions;
import org.dflib.jjava.jupyter.kernel.display.DisplayData;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * A Jupyter kernel for Java notebooks on the blockdraft classpath: jjava-jupyter's protocol and
 * rendering, JShell as the evaluator, executing in this JVM so rendered values are live objects.
 * Extensions (ours included) are loaded with {@link java.util.ServiceLoader}, as JJava does.
 *
 * <p>Started by Jupyter as {@code java -cp <classpath> dev.blockdraft.kernel.BlockdraftKernel <connection file>}
 * (see {@link KernelInstaller}).
 */
public final class BlockdraftKernel extends BaseKernel {

    private final JShell shell;
    private final CapturingExecutionControl control;
    private final SourceCodeAnalysis analysis;

    private BlockdraftKernel(Builder builder, JShell shell, CapturingExecutionControl control) {
        super(builder.buildName(), builder.buildVersion(),
                new LanguageInfo("java", Runtime.version().toString(), "text/x-java-source", ".jshell",
                        "java", "java", "script"),
                List.of(), null, builder.buildJupyterIO(builder.buildJupyterIOEncoding()), builder.buildCommManager(),
                builder.buildRenderer(), null, builder.buildMagicsRegistry(), builder.buildExtensionsEnabled(),
                builder.buildErrorStyler());
        this.shell = shell;
        this.control = control;
        this.analysis = shell.sourceCodeAnalysis();
    }

    /** A kernel whose JShell sees this JVM's classpath; not yet started nor connected. */
    public static BlockdraftKernel create() {
        CapturingExecutionControl control = new CapturingExecutionControl();
        JShell shell = JShell.builder()
                .executionEngine(new CapturingExecutionControl.Provider(control), null)
                .build();
        // The compiler must see the kernel's classpath; classes still load through the kernel's
        // class loader (parent first), so values are instances of the kernel's own classes.
        shell.addToClasspath(System.getProperty("java.class.path"));
        return new Builder().extensionsEnabled(true).name("blockdraft").version("0.1").build(shell, control);
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: BlockdraftKernel <connection file>");
            System.exit(2);
        }
        KernelConnectionProperties properties = KernelConnectionProperties.parse(Files.readString(Path.of(args[0])));
        JupyterConnection connection = new JupyterConnection(properties);
        BlockdraftKernel kernel = create();
        kernel.onStartup();
        kernel.becomeHandlerForConnection(connection);
        connection.connect();
        connection.waitUntilClose();
        kernel.shell.close();
        System.exit(0);
    }

    /**
     * Evaluates a cell: complete snippets one by one (JShell takes one at a time), stopping at the
     * first failure; the value of the last snippet, if it is an expression, is the cell's value.
     */
    @Override
    public Object evalRaw(String source) {
        try {
            Object value = null;
            SourceCodeAnalysis.CompletionInfo info = analysis.analyzeCompletion(source);
            while (info.completeness().isComplete()) {
                value = evalSnippet(info.source());
                info = analysis.analyzeCompletion(info.remaining());
            }
            if (info.completeness() != SourceCodeAnalysis.Completeness.EMPTY) {
                throw new CellException("incomplete input", List.of("Incomplete input:", info.remaining().strip()));
            }
            return value;
        } finally {
            control.forgetValues();
            // Send the last state of live displays while this cell's output is still attached.
            LiveDisplay.flushAll();
        }
    }

    private Object evalSnippet(String snippetSource) {
        List<SnippetEvent> events = shell.eval(snippetSource);
        Object value = null;
        for (SnippetEvent event : events) {
            if (event.causeSnippet() != null) {
                continue; // an update of an earlier snippet triggered by this one
            }
            JShellException exception = event.exception();
            if (exception != null) {
                throw describe(exception);
            }
            if (event.status() == Snippet.Status.REJECTED) {
                throw compilationFailure(event.snippet());
            }
            Snippet.SubKind kind = event.snippet().subKind();
            boolean shown = kind == Snippet.SubKind.TEMP_VAR_EXPRESSION_SUBKIND
                    || kind == Snippet.SubKind.OTHER_EXPRESSION_SUBKIND
                    || kind == Snippet.SubKind.VAR_VALUE_SUBKIND;
            String key = event.value();
            value = shown && control.holds(key) ? control.takeValue(key) : null;
        }
        return value;
    }

    private CellException compilationFailure(Snippet snippet) {
        List<String> lines = new ArrayList<>();
        List<Diag> diagnostics = shell.diagnostics(snippet).collect(Collectors.toList());
        String source = snippet.source();
        for (Diag diag : diagnostics) {
            int start = (int) Math.max(0, diag.getStartPosition());
            int lineStart = source.lastIndexOf('\n', Math.max(0, start - 1)) + 1;
            int lineEnd = source.indexOf('\n', start);
            String line = source.substring(lineStart, lineEnd < 0 ? source.length() : lineEnd);
            lines.add(line);
            lines.add(" ".repeat(Math.max(0, start - lineStart)) + "^");
            lines.add(diag.getMessage(Locale.ROOT));
        }
        if (snippet instanceof DeclarationSnippet) {
            shell.unresolvedDependencies((DeclarationSnippet) snippet)
                    .forEach(dependency -> lines.add("unresolved: " + dependency));
        }
        String message = diagnostics.isEmpty() ? "compilation failed" : diagnostics.get(0).getMessage(Locale.ROOT);
        return new CellException("compilation error: " + message.lines().findFirst().orElse(message), lines);
    }

    /** An exception from user code as {@code Class: message} plus its user-relevant frames and causes. */
    private CellException describe(JShellException exception) {
        if (exception instanceof UnresolvedReferenceException) {
            DeclarationSnippet snippet = ((UnresolvedReferenceException) exception).getSnippet();
            List<String> missing = shell.unresolvedDependencies(snippet).collect(Collectors.toList());
            return new CellException("unresolved reference: " + String.join(", ", missing),
                    List.of(snippet.source(), "unresolved: " + String.join(", ", missing)));
        }
        List<String> traceback = new ArrayList<>();
        String headline = null;
        for (Throwable t = exception; t != null; t = t.getCause()) {
            String className = t instanceof EvalException ? ((EvalException) t).getExceptionClassName() : t.getClass().getName();
            String line = (t == exception ? "" : "Caused by: ") + className
                    + (t.getMessage() == null ? "" : ": " + t.getMessage());
            if (headline == null) {
                headline = className + (t.getMessage() == null ? "" : ": " + t.getMessage());
            }
            traceback.add(line);
            for (StackTraceElement frame : t.getStackTrace()) {
                // Below the snippet come reflection and this kernel's worker: noise for the user.
                if (frame.getClassName().startsWith("jdk.internal.reflect.")
                        || frame.getClassName().startsWith("java.lang.reflect.")) {
                    break;
                }
                traceback.add("\tat " + frameText(frame));
            }
        }
        return new CellException(headline, traceback);
    }

    /** JShell rewrites snippet frames to {@code .(#19:1)}; say "snippet 19, line 1" instead. */
    static String frameText(StackTraceElement frame) {
        if (frame.getClassName().isEmpty() && frame.getFileName() != null && frame.getFileName().startsWith("#")) {
            return "snippet " + frame.getFileName().substring(1) + ", line " + frame.getLineNumber();
        }
        return frame.toString();
    }

    @Override
    public List<String> formatError(Throwable e) {
        return e instanceof CellException ? ((CellException) e).traceback() : super.formatError(e);
    }

    @Override
    public DisplayData inspect(String code, int at, boolean extraDetail) {
        List<SourceCodeAnalysis.Documentation> docs = analysis.documentation(code, at, extraDetail);
        if (docs.isEmpty()) {
            return null;
        }
        String text = docs.stream()
                .map(d -> d.signature() + (d.javadoc() == null ? "" : "\n" + d.javadoc()))
                .collect(Collectors.joining("\n\n"));
        return new DisplayData(text);
    }

    @Override
    public ReplacementOptions complete(String code, int at) {
        int[] anchor = new int[1];
        List<String> candidates = analysis.completionSuggestions(code, at, anchor).stream()
                .filter(SourceCodeAnalysis.Suggestion::matchesType)
                .map(SourceCodeAnalysis.Suggestion::continuation)
                .distinct()
                .collect(Collectors.toList());
        if (candidates.isEmpty()) {
            candidates = analysis.completionSuggestions(code, at, anchor).stream()
                    .map(SourceCodeAnalysis.Suggestion::continuation).distinct().collect(Collectors.toList());
        }
        return new ReplacementOptions(candidates, anchor[0], at);
    }

    @Override
    public String isComplete(String code) {
        SourceCodeAnalysis.CompletionInfo info = analysis.analyzeCompletion(code);
        while (info.completeness().isComplete()) {
            info = analysis.analyzeCompletion(info.remaining());
        }
        switch (info.completeness()) {
            case EMPTY:
                return IS_COMPLETE_YES;
            case DEFINITELY_INCOMPLETE:
            case CONSIDERED_INCOMPLETE:
                return "    ";
            case UNKNOWN:
                return IS_COMPLETE_BAD;
            default:
                return IS_COMPLETE_MAYBE;
        }
    }

    /** Abandons the running cell (JShell {@code stop()}): the snippet's thread is interrupted. */
    @Override
    public void interrupt() {
        shell.stop();
    }

    @Override
    public String toString() {
        return "BlockdraftKernel[" + getBanner() + ", " + extensions.keySet() + "]";
    }

    /** Reuses jjava-jupyter's defaults for IO, comms, rendering and error styling. */
    private static final class Builder extends BaseKernelBuilder<Builder, BlockdraftKernel> {
        @Override
        public BlockdraftKernel build() {
            throw new UnsupportedOperationException("use BlockdraftKernel.create()");
        }

        BlockdraftKernel build(JShell shell, CapturingExecutionControl control) {
            return new BlockdraftKernel(this, shell, control);
        }

        // Widen access for the kernel's constructor (the builder's methods are protected).
        @Override protected String buildName() { return super.buildName(); }
        @Override protected String buildVersion() { return super.buildVersion(); }
        @Override protected java.nio.charset.Charset buildJupyterIOEncoding() { return super.buildJupyterIOEncoding(); }
        @Override protected org.dflib.jjava.jupyter.kernel.JupyterIO buildJupyterIO(java.nio.charset.Charset c) { return super.buildJupyterIO(c); }
        @Override protected org.dflib.jjava.jupyter.kernel.comm.CommManager buildCommManager() { return super.buildCommManager(); }
        @Override protected org.dflib.jjava.jupyter.kernel.display.Renderer buildRenderer() { return super.buildRenderer(); }
        @Override protected org.dflib.jjava.jupyter.kernel.magic.MagicsRegistry buildMagicsRegistry() { return super.buildMagicsRegistry(); }
        @Override protected boolean buildExtensionsEnabled() { return super.buildExtensionsEnabled(); }
        @Override protected org.dflib.jjava.jupyter.kernel.util.StringStyler buildErrorStyler() { return super.buildErrorStyler(); }
    }
}
