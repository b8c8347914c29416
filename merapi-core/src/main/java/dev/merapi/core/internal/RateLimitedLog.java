package dev.merapi.core.internal;

import org.slf4j.Logger;

/**
 * Warnings of one kind, let through at a bounded rate so that a client (or many) repeating what causes them cannot
 * flood the log: {@code burst} lines at once, then {@code perSecond}. A line let through after some were dropped is
 * preceded by {@code "N similar lines suppressed: ..."} naming the kind, so nothing goes unnoticed.
 *
 * <p>Thread-safe: one instance is shared by every event loop. Costs one uncontended lock per line asked for.
 */
public final class RateLimitedLog {
    private final Logger log;
    private final String kind;
    private final double burst;
    private final double perNano;
    private double tokens;
    private long refilledAt;
    private long suppressed;

    private RateLimitedLog(Logger log, String kind, int burst, double perSecond) {
        this.log = log;
        this.kind = kind;
        this.burst = burst;
        this.perNano = perSecond / 1e9;
        this.tokens = burst;
        this.refilledAt = System.nanoTime();
    }

    /**
     * A limiter over {@code log}.
     *
     * @param kind what the lines are about, for the suppression summary ({@code "unexpected connection errors"})
     * @param burst lines let through at once, at least 1
     * @param perSecond lines let through per second after that, more than 0
     */
    public static RateLimitedLog of(Logger log, String kind, int burst, double perSecond) {
        if (burst < 1 || !(perSecond > 0)) {
            throw new IllegalArgumentException("burst must be >= 1 and the rate > 0: " + burst + ", " + perSecond);
        }
        return new RateLimitedLog(log, kind, burst, perSecond);
    }

    /** Logs at WARN unless the rate is exceeded; a {@link Throwable} as the last argument is logged with its trace. */
    public void warn(String format, Object... args) {
        long before = take();
        if (before < 0) {
            return;
        }
        if (before > 0) {
            log.warn("{} similar lines suppressed: {}", before, kind);
        }
        log.warn(format, args);
    }

    /** How many lines were dropped since the last one let through; -1 if this one is dropped too. */
    private synchronized long take() {
        long now = System.nanoTime();
        tokens = Math.min(burst, tokens + (now - refilledAt) * perNano);
        refilledAt = now;
        if (tokens < 1) {
            suppressed++;
            return -1;
        }
        tokens -= 1;
        long before = suppressed;
        suppressed = 0;
        return before;
    }
}
