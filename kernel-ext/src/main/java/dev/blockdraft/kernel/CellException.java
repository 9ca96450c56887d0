package dev.blockdraft.kernel;

import java.util.List;

/**
 * A cell failed: it did not compile, threw, or was interrupted. The message is what Jupyter shows
 * as the error value; {@link #traceback()} the lines shown below it.
 */
final class CellException extends RuntimeException {

    private final List<String> traceback;

    CellException(String message, List<String> traceback) {
        super(message, null, false, false);
        this.traceback = List.copyOf(traceback);
    }

    List<String> traceback() {
        return traceback;
    }
}
