package dev.merapi.core.security;

import dev.merapi.core.SystemSettings;
import dev.merapi.core.listeners.ListenerConfig;
import dev.merapi.error.ProxyError;
import dev.merapi.http.RequestHeader;
import io.netty.buffer.ByteBuf;
import java.net.SocketAddress;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Records each rejected request or refused connection as a security event: a counter per rule, always exact, and one
 * log line on the {@value #LOGGER_NAME} logger, rate-limited per process so that an attack cannot flood the disk.
 *
 * <p>A line reads, on one line:
 * <pre>{@code
 * security-event rule=te-and-cl status=400 client=127.0.0.1:51234 listener=127.0.0.1:8080 excerpt="POST / HTTP/1.1 ... [line 3] Content-Length: 5"
 * }</pre>
 * {@code status} is {@code -} when no response was sent (a refused connection, a first-byte timeout). The excerpt is
 * short (about {@value Excerpt#MAX_CHARS} characters at most), escaped (CR, LF, control bytes and quotes never reach the log
 * raw) and redacted: the values of {@code Authorization}, {@code Proxy-Authorization}, {@code Cookie} and
 * {@code Set-Cookie} and of every query parameter are replaced by {@code <redacted>}. Headers are never logged whole.
 *
 * <p>The limit is a token bucket ({@link LogLimit}) shared by the whole process: {@link #DEFAULT_BURST} lines at once, then
 * {@link #DEFAULT_PER_SECOND} per second (system properties {@code merapi.security.events.burst} and
 * {@code merapi.security.events.per-second}, read by {@link SystemSettings}, or {@link #rateLimit}). Events over the limit are still counted; the
 * summary {@code security-events-suppressed count=N} is logged as soon as the limit lifts (before the next event's
 * line, or by itself once a token is free if no event comes).
 *
 * <p>Costs nothing until something is rejected. Thread-safe: called from every event loop.
 */
public final class SecurityEvents {
    /** The name of the logger the events go to. */
    public static final String LOGGER_NAME = "merapi.security";
    /** Lines let through at once before the rate applies, unless a system property says otherwise. */
    public static final int DEFAULT_BURST = SystemSettings.DEFAULT_SECURITY_EVENTS_BURST;
    /** Lines let through per second once the burst is spent, unless a system property says otherwise. */
    public static final double DEFAULT_PER_SECOND = SystemSettings.DEFAULT_SECURITY_EVENTS_PER_SECOND;

    private static final Logger log = LoggerFactory.getLogger(LOGGER_NAME);
    // one entry per rule name; the rules are the fixed names of Merapi's checks, so the map stays small
    private static final ConcurrentHashMap<String, LongAdder> COUNTS = new ConcurrentHashMap<>();
    private static final LogLimit LIMIT = new LogLimit(log, "security-events-suppressed", DEFAULT_BURST, DEFAULT_PER_SECOND);

    static {
        // checked already when the server started (a bad value stops the start), so this cannot fail on a rejection path
        SystemSettings settings = SystemSettings.current();
        rateLimit(settings.securityEventsBurst(), settings.securityEventsPerSecond());
    }

    private SecurityEvents() {
    }

    /**
     * Sets the log rate limit and refills the bucket; the counters are kept.
     *
     * @param burstLines lines let through at once, at least 1
     * @param linesPerSecond lines let through per second after that, more than 0
     */
    public static void rateLimit(int burstLines, double linesPerSecond) {
        LIMIT.rate(burstLines, linesPerSecond);
    }

    /**
     * Records one event: counts it under {@code rule} and logs it unless the rate limit is reached.
     *
     * @param rule the stable name of the rule that was broken, such as {@code te-and-cl} or {@code header-read-timeout}
     * @param client the client's address, or {@code null}
     * @param listener the local address the connection came in on, or {@code null}
     * @param status the response status sent, or 0 if none
     * @param head the bytes of the offending request head from its reader index, or {@code null}; only read (never
     *     released), and only if the line is logged
     */
    public static void record(String rule, SocketAddress client, SocketAddress listener, int status, @Nullable ByteBuf head) {
        long before = countAndTake(rule);
        if (before >= 0) {
            log(before, rule, client, listener, status, head == null ? "" : Excerpt.of(head, rule));
        }
    }

    /**
     * Records one event about a request that was parsed but refused, such as a CONNECT on a listener without it.
     *
     * @param request the refused request; its line (query values redacted) is the excerpt
     * @see #record(String, SocketAddress, SocketAddress, int, ByteBuf)
     */
    public static void record(String rule, SocketAddress client, SocketAddress listener, int status, RequestHeader request) {
        long before = countAndTake(rule);
        if (before >= 0) {
            log(before, rule, client, listener, status, Excerpt.of(request, rule));
        }
    }

    /**
     * Records one event that has no request to quote: a refused connection or a client that sent nothing in time.
     *
     * @see #record(String, SocketAddress, SocketAddress, int, ByteBuf)
     */
    public static void record(String rule, SocketAddress client, SocketAddress listener, int status) {
        long before = countAndTake(rule);
        if (before >= 0) {
            log(before, rule, client, listener, status, "");
        }
    }

    /**
     * Counts the event and takes a token for its line.
     *
     * @return -1 if the line is not logged (no token, or the logger is off), else how many lines were suppressed before
     */
    private static long countAndTake(String rule) {
        COUNTS.computeIfAbsent(rule, r -> new LongAdder()).increment();
        return LIMIT.take();
    }

    private static void log(long suppressedBefore, String rule, SocketAddress client, SocketAddress listener, int status,
            String excerpt) {
        LIMIT.logSuppressed(suppressedBefore);
        log.warn("security-event rule={} status={} client={} listener={} excerpt=\"{}\"", rule,
                status > 0 ? Integer.toString(status) : "-", address(client), address(listener), excerpt);
    }

    /** How many events each rule has produced since the start, sorted by rule; a snapshot. */
    public static Map<String, Long> counts() {
        Map<String, Long> out = new TreeMap<>();
        COUNTS.forEach((rule, n) -> out.put(rule, n.sum()));
        return out;
    }

    /** How many events {@code rule} has produced since the start. */
    public static long count(String rule) {
        LongAdder n = COUNTS.get(rule);
        return n == null ? 0 : n.sum();
    }

    /** How many events were counted but not logged because of the rate limit, since the start. */
    public static long suppressedTotal() {
        return LIMIT.suppressedTotal();
    }

    /** The rule {@code e} was made for ({@link ProxyError#rejected}), or {@code fallback} if it names none. */
    public static String ruleOf(ProxyError e, String fallback) {
        return e.rule().orElse(fallback);
    }

    private static String address(SocketAddress a) {
        return a == null ? "-" : Excerpt.escape(ListenerConfig.describe(a), 100);
    }
}
