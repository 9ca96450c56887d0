package dev.blockdraft.data;

/** A data file or folder that cannot be used; the message is one line naming the file and the problem. */
public class DataException extends RuntimeException {

    public DataException(String message) {
        super(message);
    }

    public DataException(String message, Throwable cause) {
        super(message, cause);
    }
}
