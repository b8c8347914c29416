package dev.merapi.core.internal;

import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * One re-armable timer per connection, cheap to arm and disarm on every request: arming only moves a
 * deadline, and the scheduled task re-checks it when it fires, so the common case schedules nothing.
 *
 * <p>Belongs to one event loop; every method must be called on it.
 */
public final class Deadline implements Runnable {
    private final EventExecutor executor;
    private final Runnable onExpiry;
    private ScheduledFuture<?> task;
    private long deadline;
    private long scheduledFor;
    private boolean armed;

    /**
     * @param executor the event loop
     * @param onExpiry what to run when an armed deadline passes
     */
    public Deadline(EventExecutor executor, Runnable onExpiry) {
        this.executor = executor;
        this.onExpiry = onExpiry;
    }

    /** Arms the timer to fire {@code timeoutNanos} from now, replacing any earlier arming. */
    public void arm(long timeoutNanos) {
        long now = System.nanoTime();
        deadline = now + timeoutNanos;
        armed = true;
        if (task == null || deadline - scheduledFor < 0) {
            if (task != null) {
                task.cancel(false);
            }
            scheduledFor = deadline;
            task = executor.schedule(this, timeoutNanos, TimeUnit.NANOSECONDS);
        }
    }

    /** Disarms the timer; a scheduled check stays but does nothing. */
    public void disarm() {
        armed = false;
    }

    /** Whether the timer is armed. */
    public boolean isArmed() {
        return armed;
    }

    /** Cancels everything, when the connection closes. */
    public void cancel() {
        armed = false;
        if (task != null) {
            task.cancel(false);
            task = null;
        }
    }

    @Override
    public void run() {
        task = null;
        if (!armed) {
            return;
        }
        long remaining = deadline - System.nanoTime();
        if (remaining > 0) {
            scheduledFor = deadline;
            task = executor.schedule(this, remaining, TimeUnit.NANOSECONDS);
            return;
        }
        armed = false;
        onExpiry.run();
    }
}
