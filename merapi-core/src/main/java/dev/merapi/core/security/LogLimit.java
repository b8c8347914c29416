package dev.merapi.core.security;

import org.slf4j.Logger;

/**
 * A token bucket for log lines that traffic can trigger, so that a flood of them cannot fill the disk: {@code burst}
 * lines at once, then {@code perSecond}. Lines over the limit are counted; a summary line with their number is
 * logged as soon as the limit lifts (before the next line let through, or by itself once a token is free).
 *
 * <p>Use: {@code limit.warn(...)}, or {@code long before = limit.take(); if (before >= 0) { limit.logSuppressed(before); log.warn(...); }}
 * when the line is built only once it is known to be let through.
 *
 * <p>Thread-safe: called from every event loop. Costs one short lock per line that traffic triggers.
 */
public final class LogLimit {
    private final Logger log;
    private final String summary;
    private final Object lock = new Object();
    private double burst;
    private double perNano;
    private double tokens;
    private long refilledAt;
    private long suppressed;
    private long suppressedTotal;
    private boolean flushPending;

    /**
     * @param log the logger the lines and the summary go to, at WARN
     * @param summary the name of the summary line, such as {@code security-events-suppressed}; it is logged as
     *     {@code <summary> count=N}
     * @param burstLines lines let through at once, at least 1
     * @param linesPerSecond lines let through per second after that, more than 0
     */
    public LogLimit(Logger log, String summary, int burstLines, double linesPerSecond) {
        this.log = log;
        this.summary = summary;
        rate(burstLines, linesPerSecond);
    }

    /**
     * Sets the rate and refills the bucket; the counters are kept.
     *
     * @param burstLines lines let through at once, at least 1
     * @param linesPerSecond lines let through per second after that, more than 0
     */
    public void rate(int burstLines, double linesPerSecond) {
        if (burstLines < 1 || !(linesPerSecond > 0)) {
            throw new IllegalArgumentException("burst must be >= 1 and the rate > 0: " + burstLines + ", " + linesPerSecond);
        }
        synchronized (lock) {
            burst = burstLines;
            perNano = linesPerSecond / 1e9;
            tokens = burstLines;
            refilledAt = System.nanoTime();
        }
    }

    /**
     * Takes a token for one line.
     *
     * @return -1 if the line must not be logged (no token, or WARN is off), else how many lines were suppressed
     *     before it, for {@link #logSuppressed}
     */
    public long take() {
        long before;
        synchronized (lock) {
            if (!takeToken()) {
                suppressed++;
                suppressedTotal++;
                if (!flushPending) {
                    flushPending = true;
                    scheduleFlush();
                }
                return -1;
            }
            before = suppressed;
            suppressed = 0;
        }
        return log.isWarnEnabled() ? before : -1;
    }

    /**
     * Logs one line at WARN unless the limit is reached, preceded by the summary of the lines suppressed before it;
     * a {@link Throwable} as the last argument is logged with its trace.
     */
    public void warn(String format, Object... args) {
        long before = take();
        if (before >= 0) {
            logSuppressed(before);
            log.warn(format, args);
        }
    }

    /** Logs the summary line for {@code count} suppressed lines, if there were any. */
    public void logSuppressed(long count) {
        if (count > 0) {
            log.warn("{} count={}", summary, count);
        }
    }

    /** How many lines were suppressed since the start. */
    public long suppressedTotal() {
        synchronized (lock) {
            return suppressedTotal;
        }
    }

    /**
     * Logs the suppression summary once a token is free, so that it appears when the limit lifts even if no further
     * line comes. One sleeping virtual thread per flood, none otherwise; holds {@link #lock}.
     */
    private void scheduleFlush() {
        long waitNanos = (long) Math.ceil(Math.max(1 - tokens, 0) / perNano) + 1_000_000;
        Thread.ofVirtual().name("merapi-log-limit").start(() -> {
            try {
                Thread.sleep(java.time.Duration.ofNanos(waitNanos));
            } catch (InterruptedException e) {
                return;
            }
            long n = 0;
            synchronized (lock) {
                flushPending = false;
                if (suppressed > 0) {
                    if (takeToken()) {
                        n = suppressed;
                        suppressed = 0;
                    } else {
                        flushPending = true;
                        scheduleFlush();
                    }
                }
            }
            logSuppressed(n);
        });
    }

    /** Takes a token if there is one; holds {@link #lock}. */
    private boolean takeToken() {
        long now = System.nanoTime();
        tokens = Math.min(burst, tokens + (now - refilledAt) * perNano);
        refilledAt = now;
        if (tokens >= 1) {
            tokens -= 1;
            return true;
        }
        return false;
    }
}
