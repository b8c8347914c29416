package dev.merapi.core.services;

import java.time.Duration;

/**
 * A periodic task run by the server, such as a health check or a discovery refresh.
 *
 * <p>{@link #runOnce()} runs on a virtual thread, never on an event loop, so it may block; runs never overlap.
 * At shutdown the server stops scheduling it and calls {@link #stop()}.
 */
public non-sealed interface BackgroundService extends Service {
    /** The time between the end of one run and the start of the next. */
    Duration period();

    /** One run of the task. An exception is logged and the next run still happens. */
    void runOnce() throws Exception;

    /**
     * Called once at shutdown, after the last run has finished or been interrupted.
     *
     * @implSpec does nothing
     */
    default void stop() {
    }
}
