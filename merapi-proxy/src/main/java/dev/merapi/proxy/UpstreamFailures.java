package dev.merapi.proxy;

import dev.merapi.core.security.LogLimit;
import dev.merapi.core.security.SecurityEvents;
import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.error.ProxyError;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One WARN line on the {@value #LOGGER_NAME} logger per request that an upstream failure ended (refused, reset,
 * timed out, a bad response), rate-limited like security events so that a dead origin under load cannot flood the
 * disk ({@link SecurityEvents#DEFAULT_BURST} lines at once, then {@link SecurityEvents#DEFAULT_PER_SECOND} per
 * second, then {@code upstream-failures-suppressed count=N}). A line reads, on one line:
 * <pre>{@code
 * upstream-failure peer=127.0.0.1:9 error=CONNECT_REFUSED retries=3 request="GET /, Host: example.com" detail="cannot connect to 127.0.0.1:9" cause=AnnotatedConnectException
 * }</pre>
 * The request is its {@code requestSummary} (by default the method, the path without the query, and Host).
 * Thread-safe.
 */
final class UpstreamFailures {
    /** The name of the logger the lines go to. */
    static final String LOGGER_NAME = "merapi.upstream";

    private static final Logger log = LoggerFactory.getLogger(LOGGER_NAME);
    private static final LogLimit LIMIT = new LogLimit(log, "upstream-failures-suppressed", SecurityEvents.DEFAULT_BURST,
            SecurityEvents.DEFAULT_PER_SECOND);

    private UpstreamFailures() {
    }

    /** Sets the rate limit of the lines and refills it; for tests. */
    static void rateLimitForTest(int burstLines, double linesPerSecond) {
        LIMIT.rate(burstLines, linesPerSecond);
    }

    /**
     * Logs {@code e}, which ended a request, unless the limit is reached.
     *
     * @param request the one-line summary of the request ({@code requestSummary})
     */
    static void record(ProxyError e, Optional<HttpPeer> peer, int retries, String request) {
        long before = LIMIT.take();
        if (before < 0) {
            return;
        }
        LIMIT.logSuppressed(before);
        Throwable cause = e.getCause();
        log.warn("upstream-failure peer={} error={} retries={} request=\"{}\" detail=\"{}\" cause={}",
                peer.map(HttpPeer::toString).orElse("-"), e.type().name(), retries, request, e.context(),
                cause == null ? "-" : cause.getClass().getSimpleName());
    }
}
