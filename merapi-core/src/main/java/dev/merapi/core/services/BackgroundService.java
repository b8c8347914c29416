package dev.merapi.core.services;

import java.time.Duration;
import java.util.Objects;

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

    /**
     * A background service that runs {@code task} every {@code period} (from the end of one run to the start of the
     * next), with nothing to do at stop.
     *
     * <pre>{@code
     * server.addService(BackgroundService.every("config-watch", Duration.ofSeconds(1), this::reloadIfChanged));
     * }</pre>
     *
     * @param name a name for logs
     * @param period the time between runs; positive
     * @param task one run; it may block (it runs on a virtual thread), and an exception it throws is logged
     * @throws IllegalArgumentException if {@code period} is zero or negative
     */
    static BackgroundService every(String name, Duration period, Task task) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(task, "task");
        if (period.isNegative() || period.isZero()) {
            throw new IllegalArgumentException("the period of " + name + " must be positive: " + period);
        }
        return new BackgroundService() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public Duration period() {
                return period;
            }

            @Override
            public void runOnce() throws Exception {
                task.run();
            }

            @Override
            public String toString() {
                return name + " every " + period;
            }
        };
    }

    /** One run of a task made with {@link #every}; it may throw. */
    @FunctionalInterface
    interface Task {
        /** Runs the task once. */
        void run() throws Exception;
    }
}
