package dev.blockdraft.report;

/**
 * A displayable value that changes while it is shown (a training run in progress). A front end
 * shows it once, subscribes, and replaces that display when notified.
 */
public interface Updatable extends Displayable {

    /** Registers a listener called after each change; listeners must be cheap and thread-safe. */
    void addChangeListener(Runnable listener);

    void removeChangeListener(Runnable listener);

    /**
     * Whether the value has stopped changing (a training run that finished). A front end sends the state it sees
     * after the change that finished it at once, rather than after its usual delay, so the last update reaches the
     * notebook before the cell ends.
     */
    default boolean finished() {
        return false;
    }
}
