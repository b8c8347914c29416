package dev.merapi.core.internal;

import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.FastThreadLocal;
import io.netty.util.concurrent.Ticker;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One re-armable timer per connection, cheap to arm and disarm on every request and on every new connection.
 *
 * <p>Deadlines armed for the same duration on one event loop expire in the order they were armed, so they wait in
 * one first-in-first-out lane per duration, with one scheduled check for the whole lane, at its oldest deadline.
 * Arming appends to a lane and disarming unlinks, both in constant time; neither schedules anything except when
 * the lane was empty. A check that finds its oldest deadline moved on schedules the next one for the new oldest.
 *
 * <p>Time is the event loop's {@link EventExecutor#ticker() ticker}, which its scheduled tasks follow too: on an
 * {@link io.netty.channel.embedded.EmbeddedChannel} built with a {@link io.netty.util.concurrent.MockTicker}, a test moves
 * time forward with {@code MockTicker.advance} and runs what expired with {@code runScheduledPendingTasks}, and no
 * timeout test has to sleep.
 *
 * <p>Belongs to one event loop; every method must be called on it.
 */
public final class Deadline {
    private static final Logger log = LoggerFactory.getLogger(Deadline.class);
    private static final FastThreadLocal<List<Lane>> LANES = new FastThreadLocal<>() {
        @Override
        protected List<Lane> initialValue() {
            return new ArrayList<>(4);
        }
    };

    private final EventExecutor executor;
    private final Ticker ticker;
    private final Runnable onExpiry;
    private @Nullable Lane lane;
    private @Nullable Deadline prev;
    private @Nullable Deadline next;
    private long deadline;

    /**
     * @param executor the event loop, whose ticker is the clock
     * @param onExpiry what to run when an armed deadline passes
     */
    public Deadline(EventExecutor executor, Runnable onExpiry) {
        this.executor = executor;
        this.ticker = executor.ticker();
        this.onExpiry = onExpiry;
    }

    /** Arms the timer to fire {@code timeoutNanos} from now, replacing any earlier arming. */
    public void arm(long timeoutNanos) {
        assert executor.inEventLoop();
        Lane l = lane;
        if (l != null) {
            l.unlink(this);
        }
        if (l == null || l.timeout != timeoutNanos) {
            l = laneFor(timeoutNanos);
        }
        deadline = ticker.nanoTime() + timeoutNanos;
        l.append(this);
    }

    /** Disarms the timer. */
    public void disarm() {
        Lane l = lane;
        if (l != null) {
            l.unlink(this);
        }
    }

    /** Whether the timer is armed. */
    public boolean isArmed() {
        return lane != null;
    }

    /** Cancels everything, when the connection closes. */
    public void cancel() {
        disarm();
    }

    private Lane laneFor(long timeoutNanos) {
        List<Lane> lanes = LANES.get();
        for (int i = 0, n = lanes.size(); i < n; i++) {
            Lane l = lanes.get(i);
            if (l.timeout == timeoutNanos && l.executor == executor) {
                return l;
            }
        }
        Lane l = new Lane(executor, ticker, timeoutNanos, lanes);
        lanes.add(l);
        return l;
    }

    /** The deadlines of one duration on one event loop, oldest first, and the one check scheduled for them. */
    private static final class Lane implements Runnable {
        private final EventExecutor executor;
        private final Ticker ticker;
        private final long timeout;
        private final List<Lane> lanes;
        private @Nullable Deadline head;
        private @Nullable Deadline tail;
        private boolean scheduled;

        Lane(EventExecutor executor, Ticker ticker, long timeout, List<Lane> lanes) {
            this.executor = executor;
            this.ticker = ticker;
            this.timeout = timeout;
            this.lanes = lanes;
        }

        void append(Deadline d) {
            d.lane = this;
            d.prev = tail;
            if (tail == null) {
                head = d;
            } else {
                tail.next = d;
            }
            tail = d;
            if (!scheduled) {
                schedule(d.deadline);
            }
        }

        void unlink(Deadline d) {
            if (d.prev == null) {
                head = d.next;
            } else {
                d.prev.next = d.next;
            }
            if (d.next == null) {
                tail = d.prev;
            } else {
                d.next.prev = d.prev;
            }
            d.lane = null;
            d.prev = null;
            d.next = null;
        }

        private void schedule(long at) {
            scheduled = true;
            executor.schedule(this, Math.max(0, at - ticker.nanoTime()), TimeUnit.NANOSECONDS);
        }

        @Override
        public void run() {
            scheduled = false;
            try {
                long now = ticker.nanoTime();
                Deadline d;
                while ((d = head) != null && d.deadline - now <= 0) {
                    unlink(d);
                    try {
                        d.onExpiry.run();
                    } catch (RuntimeException e) {
                        log.warn("a timeout handler failed", e);
                    }
                }
            } finally {
                if (head == null) {
                    if (!scheduled) {
                        lanes.remove(this); // a duration no longer in use costs nothing; a new arming makes a new lane
                    }
                } else if (!scheduled) {
                    schedule(head.deadline);
                }
            }
        }
    }
}
