package dev.blockdraft.io;

import java.nio.file.Path;

/**
 * A user-facing input problem: a bad file, field or value. The message is one line that names
 * the file (and line or field where known), what was found, and what would be valid.
 */
public class BadInputException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public BadInputException(String message) {
        super(message);
    }

    public BadInputException(String message, Throwable cause) {
        super(message, cause);
    }

    /** {@code "<file>: <problem>"}. */
    public static BadInputException of(Path file, String problem) {
        return new BadInputException(file + ": " + firstLine(problem));
    }

    public static BadInputException of(Path file, String problem, Throwable cause) {
        return new BadInputException(file + ": " + firstLine(problem), cause);
    }

    /** Library messages (Gson's) can run over several lines; a user error stays on one. */
    private static String firstLine(String text) {
        int nl = text.indexOf('\n');
        return nl < 0 ? text : text.substring(0, nl).trim();
    }
}
