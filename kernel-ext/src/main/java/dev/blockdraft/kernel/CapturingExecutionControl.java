package dev.blockdraft.kernel;

import jdk.jshell.execution.DirectExecutionControl;
import jdk.jshell.spi.ExecutionControl;
import jdk.jshell.spi.ExecutionControlProvider;
import jdk.jshell.spi.ExecutionEnv;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Runs JShell snippets in this JVM (so values are real objects the renderer can see, loaded by the
 * kernel's own class loader as parent) and keeps each snippet's value instead of only its
 * {@code toString()}: JShell receives a key, the kernel exchanges it with {@link #takeValue}.
 * Snippets run on a worker thread so that an interrupt can abandon them.
 */
final class CapturingExecutionControl extends DirectExecutionControl {

    static final String KEY_PREFIX = "blockdraft-value-";
    /** Pseudo exception class name JShell reports when a snippet was interrupted. */
    static final String INTERRUPTED = "Interrupted (cell stopped)";

    private static final Object NULL_VALUE = new Object();

    private final Map<String, Object> values = new ConcurrentHashMap<>();
    private final AtomicLong keys = new AtomicLong();
    private final ExecutorService worker = Executors.newCachedThreadPool(r -> {
        Thread thread = new Thread(r, "blockdraft-cell");
        thread.setDaemon(true);
        return thread;
    });
    private volatile Future<Object> running;

    @Override
    protected String invoke(Method doitMethod) throws Exception {
        Future<Object> task = worker.submit(() -> doitMethod.invoke(null));
        running = task;
        try {
            Object value = task.get();
            String key = KEY_PREFIX + keys.incrementAndGet();
            values.put(key, value == null ? NULL_VALUE : value);
            return key;
        } catch (CancellationException e) {
            throw new ExecutionControl.UserException("the cell was interrupted", INTERRUPTED, new StackTraceElement[0]);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause() instanceof InvocationTargetException ? e.getCause().getCause() : e.getCause();
            return throwConvertedInvocationException(cause);
        } finally {
            running = null;
        }
    }

    /** Whether {@code key} is a value key handed to JShell by this control. */
    boolean holds(String key) {
        return key != null && values.containsKey(key);
    }

    /** The value behind {@code key}, forgotten afterwards; null for a null value. */
    Object takeValue(String key) {
        Object value = values.remove(key);
        return value == NULL_VALUE ? null : value;
    }

    /** Drops values never taken (statements whose value is not shown), so they can be collected. */
    void forgetValues() {
        values.clear();
    }

    /** Abandons the running snippet: interrupts its thread, and JShell reports it as interrupted. */
    void interruptRunning() {
        Future<Object> task = running;
        if (task != null) {
            task.cancel(true);
        }
    }

    @Override
    public void stop() {
        interruptRunning();
    }

    @Override
    public void close() {
        worker.shutdownNow();
        super.close();
    }

    /** Hands JShell one already-created control, so the kernel keeps a typed reference to it. */
    static final class Provider implements ExecutionControlProvider {
        private final CapturingExecutionControl control;

        Provider(CapturingExecutionControl control) {
            this.control = control;
        }

        @Override
        public String name() {
            return "blockdraft-local";
        }

        @Override
        public ExecutionControl generate(ExecutionEnv env, Map<String, String> parameters) {
            return control;
        }
    }
}
