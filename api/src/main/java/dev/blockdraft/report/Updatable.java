package dev.blockdraft.report;

/**
 * A displayable value that changes while it is shown (a training run in progress). A front end
 * shows it once, subscribes, and replaces that display when notified.
 */
public interface Updatable extends Displayable {

    /** Registers a listener called after each change; listeners must be cheap and thread-safe. */
    void addChangeListener(Runnable listener);

    void removeChangeListener(Runnable listener);
}
