package dev.merapi.gateway.observability;

import ch.qos.logback.classic.AsyncAppender;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.JsonEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.FileAppender;
import ch.qos.logback.core.OutputStreamAppender;
import dev.merapi.gateway.config.GatewayConfig;
import dev.merapi.http.RequestHeader;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import org.slf4j.LoggerFactory;
import org.slf4j.spi.LoggingEventBuilder;

/**
 * The access log: one JSON object per request, one a line, on the {@code merapi.access} logger, encoded by Logback's
 * {@link JsonEncoder} (the fields are the event's key-value pairs) and written by an {@link AsyncAppender}, so the
 * event loop only queues an event. If the queue (8192 events) is full, events are dropped rather than stall the
 * loop ({@link #dropped()} counts them). Written to standard output (for containers and systemd) or to a file.
 *
 * <p>Redaction: the values of {@code Authorization}, {@code Cookie}, {@code Set-Cookie}, {@code Proxy-Authorization}
 * and of the configured headers are written as {@code [redacted]}, as are the values of configured query parameters.
 *
 * <p>Thread-safe. {@link #close()} flushes and stops the appenders.
 */
public final class AccessLog implements AutoCloseable {
    /** What a redacted value is written as. */
    public static final String REDACTED = "[redacted]";
    private static final List<String> ALWAYS_REDACTED = List.of("authorization", "cookie", "set-cookie", "proxy-authorization");
    private final Logger logger;
    private final AsyncAppender async;
    private final List<String> headers;
    private final Set<String> redactedHeaders = new TreeSet<>(String.CASE_INSENSITIVE_ORDER);
    private final Set<String> redactedQuery;
    private final java.util.concurrent.atomic.LongAdder dropped = new java.util.concurrent.atomic.LongAdder();

    private AccessLog(GatewayConfig.AccessLog config, LoggerContext context) {
        this.headers = config.headers();
        redactedHeaders.addAll(ALWAYS_REDACTED);
        redactedHeaders.addAll(config.redactHeaders());
        this.redactedQuery = Set.copyOf(config.redactQuery());
        JsonEncoder encoder = new JsonEncoder();
        encoder.setContext(context);
        encoder.setWithContext(false);
        encoder.setWithSequenceNumber(false);
        encoder.setWithNanoseconds(false);
        encoder.setWithArguments(false);
        encoder.setWithMDC(false);
        encoder.setWithThreadName(false);
        encoder.setWithFormattedMessage(false);
        encoder.start();
        OutputStreamAppender<ILoggingEvent> out;
        if (config.output().equals("stdout")) {
            ConsoleAppender<ILoggingEvent> console = new ConsoleAppender<>();
            console.setTarget("System.out");
            out = console;
        } else {
            FileAppender<ILoggingEvent> file = new FileAppender<>();
            file.setFile(config.output());
            file.setAppend(true);
            out = file;
        }
        out.setContext(context);
        out.setName("merapi-access-out");
        out.setEncoder(encoder);
        out.setImmediateFlush(true);
        out.start();
        async = new AsyncAppender();
        async.setContext(context);
        async.setName("merapi-access");
        async.setQueueSize(8192);
        async.setDiscardingThreshold(0); // access events are INFO: keep them all while there is room
        async.setNeverBlock(true);
        async.addAppender(out);
        async.start();
        logger = context.getLogger("merapi.access");
        logger.setAdditive(false);
        logger.setLevel(ch.qos.logback.classic.Level.INFO);
        logger.detachAndStopAllAppenders();
        logger.addAppender(async);
    }

    /** The access log a configuration asks for, or none when it is off. */
    public static java.util.Optional<AccessLog> of(GatewayConfig.AccessLog config) {
        if (!config.enabled() || !(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
            return java.util.Optional.empty();
        }
        return java.util.Optional.of(new AccessLog(config, context));
    }

    /**
     * One request's line. Called from the event loop in the logging phase; only builds and queues the event.
     *
     * @param entry what to write
     */
    public void log(Entry entry) {
        if (async.getRemainingCapacity() == 0) {
            dropped.increment(); // the writer is behind: this line would be dropped by the full queue anyway
            return;
        }
        LoggingEventBuilder e = logger.atInfo()
                .addKeyValue("client", address(entry.client()))
                .addKeyValue("method", entry.request().method())
                .addKeyValue("host", entry.request().host().orElse("null"))
                .addKeyValue("path", entry.request().path())
                .addKeyValue("query", entry.request().query().map(this::redactQuery).orElse(""))
                .addKeyValue("status", entry.status())
                .addKeyValue("bytes_in", entry.bytesIn())
                .addKeyValue("bytes_out", entry.bytesOut())
                .addKeyValue("duration_ms", entry.durationNanos() / 1_000_000.0)
                .addKeyValue("upstream_connect_ms", entry.connectNanos() < 0 ? null : entry.connectNanos() / 1_000_000.0)
                .addKeyValue("upstream_first_byte_ms", entry.firstByteNanos() < 0 ? null : entry.firstByteNanos() / 1_000_000.0)
                .addKeyValue("upstream_reused", entry.upstream().isEmpty() ? null : entry.reused())
                .addKeyValue("upstream", entry.upstream())
                .addKeyValue("route", entry.route())
                .addKeyValue("retries", entry.retries())
                .addKeyValue("request_id", entry.requestId())
                .addKeyValue("error", entry.error());
        for (String name : headers) {
            String v = entry.request().header(name).orElse(null);
            if (v != null) {
                e = e.addKeyValue("header_" + name.toLowerCase(Locale.ROOT).replace('-', '_'), redactedHeaders.contains(name) ? REDACTED : v);
            }
        }
        e.log("access");
    }

    /**
     * One request, as the access log writes it.
     *
     * @param request the request as the client sent it
     * @param client its address
     * @param status the status sent, 0 for none
     * @param bytesIn request body bytes
     * @param bytesOut response body bytes
     * @param durationNanos from the request head to the end
     * @param upstream the upstream peer, or empty
     * @param route the route, or {@code none}
     * @param retries retries on another backend
     * @param requestId the request id
     * @param error the error that ended it, or empty
     * @param connectNanos from choosing the backend to the upstream connection being ready (0 for a pooled one that
     *     was ready at once), for the last attempt; -1 if none got a connection
     * @param firstByteNanos from the connection being ready to the upstream response head; -1 if none came
     * @param reused whether the last attempt's upstream connection came from the pool
     */
    public record Entry(RequestHeader request, SocketAddress client, int status, long bytesIn, long bytesOut, long durationNanos,
            String upstream, String route, int retries, String requestId, String error, long connectNanos, long firstByteNanos,
            boolean reused) {
    }

    /** Lines dropped because the writer was behind (the queue was full), since start. */
    public long dropped() {
        return dropped.sum();
    }

    String redactQuery(String query) {
        if (query == null || query.isEmpty()) {
            return "";
        }
        if (redactedQuery.isEmpty()) {
            return query;
        }
        List<String> out = new ArrayList<>();
        for (String pair : query.split("&", -1)) {
            int eq = pair.indexOf('=');
            String name = eq < 0 ? pair : pair.substring(0, eq);
            out.add(eq >= 0 && (redactedQuery.contains(name) || redactedQuery.contains(decoded(name))) ? name + "=" + REDACTED : pair);
        }
        return String.join("&", out);
    }

    private static String decoded(String s) {
        try {
            return java.net.URLDecoder.decode(s, java.nio.charset.StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return s;
        }
    }

    private static String address(SocketAddress a) {
        return a instanceof InetSocketAddress i && i.getAddress() != null ? i.getAddress().getHostAddress() : String.valueOf(a);
    }

    @Override
    public void close() {
        logger.detachAppender(async);
        async.stop();
    }
}
