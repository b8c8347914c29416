package dev.merapi.loadbalancing.internal;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;

/**
 * The live state of one backend in one load balancer, kept across backend-set swaps by the backend's name.
 *
 * <p>Threading: the selection path only reads ({@link #available}, {@link #inflight()}, {@link #latencyNanos});
 * every field it reads is volatile or atomic. In-flight counts change from any event loop (atomic). The latency
 * and the passive-failure streak change under this object's lock, from any thread. The active-check streaks are
 * written only by the health-check round, which runs one probe per backend at a time.
 */
public final class BackendState {
    /** Peak EWMA's decay time: a sample's weight halves in about 7 s. */
    static final double DECAY_NANOS = 10e9;

    private final AtomicInteger inflight = new AtomicInteger();
    private volatile boolean enabled = true;
    private volatile boolean draining;
    private volatile boolean healthy = true;
    private volatile long ejectedUntil;
    private volatile boolean ejected;
    private volatile long ewmaNanos;
    private volatile long ewmaStamp;
    private volatile String lastReason = "";
    private @Nullable CompletableFuture<Void> drained;
    private int failureStreak;
    private int ejections;
    private long lastUnejected;
    private int riseStreak;
    private int fallStreak;
    private long healthChanges;
    private long totalEjections;

    /** Whether new requests may go to the backend at {@code nowNanos}. */
    public boolean available(long nowNanos) {
        return enabled && !draining && healthy && (!ejected || nowNanos - ejectedUntil >= 0);
    }

    /** As {@link #available(long)}, reading the clock only for an ejected backend (a scan of 1,000 stays cheap). */
    public boolean available(java.util.function.LongSupplier clock) {
        return enabled && !draining && healthy && (!ejected || clock.getAsLong() - ejectedUntil >= 0);
    }

    public int inflight() {
        return inflight.get();
    }

    public void started() {
        inflight.incrementAndGet();
    }

    /** Ends one request; completes a drain when it was the last. */
    public void finished() {
        if (inflight.decrementAndGet() == 0 && draining) {
            completeDrainIfIdle();
        }
    }

    /** The peak-EWMA latency decayed to {@code nowNanos}; 0 before any sample. */
    public long latencyNanos(long nowNanos) {
        long e = ewmaNanos;
        if (e == 0) {
            return 0;
        }
        long age = nowNanos - ewmaStamp;
        return age <= 0 ? e : Math.max(1, (long) (e * Math.exp(-age / DECAY_NANOS)));
    }

    /** Adds a latency sample: a slower one is taken at once (the peak), a faster one is blended in. */
    public synchronized void sample(long latencyNanos, long nowNanos) {
        long current = latencyNanos(nowNanos);
        long sample = Math.max(1, latencyNanos);
        if (current == 0 || sample > current) {
            ewmaNanos = sample;
        } else {
            double w = Math.exp(-Math.max(0, nowNanos - ewmaStamp) / DECAY_NANOS);
            ewmaNanos = Math.max(1, (long) (current * w + sample * (1 - w)));
        }
        ewmaStamp = nowNanos;
    }

    // ---- administration

    public boolean enabled() {
        return enabled;
    }

    public boolean draining() {
        return draining;
    }

    public void enable() {
        CompletableFuture<Void> d;
        synchronized (this) {
            enabled = true;
            draining = false;
            d = drained;
            drained = null;
        }
        if (d != null) {
            d.complete(null); // the drain is called off: whoever waited need not wait any more
        }
    }

    public void disable() {
        enabled = false;
    }

    /** Stops new requests; the future completes once none is in flight. */
    public CompletableFuture<Void> drain() {
        CompletableFuture<Void> d;
        synchronized (this) {
            draining = true;
            if (drained == null) {
                drained = new CompletableFuture<>();
            }
            d = drained;
        }
        completeDrainIfIdle();
        return d;
    }

    private void completeDrainIfIdle() {
        CompletableFuture<Void> d;
        synchronized (this) {
            d = inflight.get() == 0 ? drained : null;
        }
        if (d != null) {
            d.complete(null);
        }
    }

    // ---- active checks (health-check round only)

    public boolean healthy() {
        return healthy;
    }

    /**
     * Records one probe result.
     *
     * @return whether the backend's health changed
     */
    public synchronized boolean probed(boolean ok, int rise, int fall, String reason) {
        lastReason = reason;
        if (ok) {
            fallStreak = 0;
            if (!healthy && ++riseStreak >= rise) {
                riseStreak = 0;
                healthy = true;
                healthChanges++;
                return true;
            }
        } else {
            riseStreak = 0;
            if (healthy && ++fallStreak >= fall) {
                fallStreak = 0;
                healthy = false;
                healthChanges++;
                return true;
            }
        }
        return false;
    }

    public String lastReason() {
        return lastReason;
    }

    public synchronized long healthChanges() {
        return healthChanges;
    }

    // ---- passive outlier detection

    /** Whether it is ejected at {@code nowNanos}. */
    public boolean ejected(long nowNanos) {
        return ejected && nowNanos - ejectedUntil < 0;
    }

    /** Clears an ejection that has run out; returns whether there was one. */
    public synchronized boolean expireEjection(long nowNanos) {
        if (ejected && nowNanos - ejectedUntil >= 0) {
            ejected = false;
            lastUnejected = nowNanos;
            return true;
        }
        return false;
    }

    /** A success: ends the failure streak. */
    public synchronized void succeeded() {
        failureStreak = 0;
    }

    /** A failure: returns the streak it makes. */
    public synchronized int failed() {
        return ++failureStreak;
    }

    /**
     * Ejects the backend for {@code base × (times ejected recently)}, at most {@code max}. The count of recent
     * ejections starts again when the backend has stayed in for {@code max} since its last ejection ended.
     *
     * @return the ejection time
     */
    public synchronized long eject(long nowNanos, long baseNanos, long maxNanos) {
        if (ejections > 0 && !ejected && nowNanos - lastUnejected > maxNanos) {
            ejections = 0;
        }
        ejections++;
        totalEjections++;
        long time = Math.min(maxNanos, baseNanos * ejections);
        ejectedUntil = nowNanos + time;
        ejected = true;
        failureStreak = 0;
        return time;
    }

    public synchronized long totalEjections() {
        return totalEjections;
    }
}
