package dev.merapi.gateway.observability;

import ch.qos.logback.classic.AsyncAppender;
import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.LoggingEvent;
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
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.LongAdder;
import org.jspecify.annotations.Nullable;
import org.slf4j.LoggerFactory;
import org.slf4j.event.KeyValuePair;

/**
 * The access log: one flat JSON object per request, one a line. The event loop only builds a Logback event (logger
 * name {@code merapi.access}) whose key-value pairs are the fields, typed (numbers as numbers), and queues it on this
 * log's own {@link AsyncAppender}; its worker thread encodes it with {@link JsonLinesEncoder} (Jackson's streaming
 * generator) and writes it. If the queue (8192 events) is full, lines are dropped rather than stall the loop ({@link #dropped()}
 * counts them). Written to standard output (for containers and systemd, each line as it comes) or to a file, either
 * line at a time or, with {@code buffer}, gathered and written when the buffer is full, at each {@link #flush()}
 * (every {@code flush-interval}) and at {@link #close()}.
 *
 * <p>The fields, in this order, an absent one left out: {@code time}, {@code client}, {@code method}, {@code host},
 * {@code path}, {@code query}, {@code status}, {@code bytes_in}, {@code bytes_out}, {@code duration_ms},
 * {@code upstream_connect_ms}, {@code upstream_first_byte_ms}, {@code upstream_reused}, {@code upstream},
 * {@code route}, {@code retries}, {@code tls_version}, {@code request_id}, {@code error}, then
 * {@code header_<name>} for each logged header the request has (lower case, {@code -} as {@code _}).
 *
 * <p>Redaction: the values of {@code Authorization}, {@code Cookie}, {@code Set-Cookie}, {@code Proxy-Authorization}
 * and of the configured headers are written as {@code [redacted]}, as are the values of configured query parameters.
 *
 * <p>Thread-safe. {@link #close()} writes what is queued and buffered, then stops the appenders.
 */
public final class AccessLog implements AutoCloseable {
    /** What a redacted value is written as. */
    public static final String REDACTED = "[redacted]";
    private static final List<String> ALWAYS_REDACTED = List.of("authorization", "cookie", "set-cookie", "proxy-authorization");
    private static final String FQCN = AccessLog.class.getName();
    private static final int FIELDS = 18;
    // boxed statuses, so that a line boxes no status (Integer.valueOf caches only up to 127): 4 KiB once
    private static final Integer[] STATUSES = new Integer[1000];
    private final Logger logger;
    private final AsyncAppender async;
    private final OutputStreamAppender<ILoggingEvent> out;
    private final List<String> headers;
    private final List<String> headerKeys;
    private final List<String> headerValues; // the value written: the header's own (null) or REDACTED
    private final Set<String> redactedQuery;
    private final LongAdder dropped = new LongAdder();

    static {
        for (int i = 0; i < STATUSES.length; i++) {
            STATUSES[i] = i;
        }
    }

    private AccessLog(GatewayConfig.AccessLog config, LoggerContext context) {
        Set<String> redactedHeaders = new TreeSet<>(String.CASE_INSENSITIVE_ORDER);
        redactedHeaders.addAll(ALWAYS_REDACTED);
        redactedHeaders.addAll(config.redactHeaders());
        this.headers = config.headers();
        List<String> keys = new ArrayList<>();
        List<String> values = new ArrayList<>();
        for (String name : headers) {
            keys.add("header_" + name.toLowerCase(Locale.ROOT).replace('-', '_'));
            values.add(redactedHeaders.contains(name) ? REDACTED : "");
        }
        this.headerKeys = List.copyOf(keys);
        this.headerValues = List.copyOf(values);
        this.redactedQuery = Set.copyOf(config.redactQuery());
        JsonLinesEncoder encoder = new JsonLinesEncoder();
        encoder.setContext(context);
        encoder.start();
        if (config.output().equals("stdout")) {
            ConsoleAppender<ILoggingEvent> console = new ConsoleAppender<>();
            console.setTarget("System.out");
            console.setImmediateFlush(true);
            out = console;
        } else {
            FileAppender<ILoggingEvent> file = config.buffered() ? new BufferedFileAppender<>(config.buffer()) : new FileAppender<>();
            file.setFile(config.output());
            file.setAppend(true);
            file.setImmediateFlush(!config.buffered());
            out = file;
        }
        out.setContext(context);
        out.setName("merapi-access-out");
        out.setEncoder(encoder);
        out.start();
        async = new AsyncAppender();
        async.setContext(context);
        async.setName("merapi-access");
        async.setQueueSize(8192);
        async.setDiscardingThreshold(0); // access events are INFO: keep them all while there is room
        async.setNeverBlock(true);
        async.setMaxFlushTime(10_000); // at close, the queue is written before the file is closed
        async.addAppender(out);
        async.start();
        logger = context.getLogger("merapi.access"); // names the events; they go to this log's appender only
    }

    /** The access log a configuration asks for, or none when it is off. */
    public static Optional<AccessLog> of(GatewayConfig.AccessLog config) {
        if (!config.enabled() || !(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
            return Optional.empty();
        }
        return Optional.of(new AccessLog(config, context));
    }

    /**
     * One request's line. Called from the event loop in the logging phase; only builds and queues the event (one
     * event, one list of fields; encoding happens on the writer's thread).
     *
     * @param entry what to write
     */
    public void log(Entry entry) {
        if (async.getRemainingCapacity() == 0) {
            dropped.increment(); // the writer is behind: this line would be dropped by the full queue anyway
            return;
        }
        RequestHeader request = entry.request();
        List<KeyValuePair> fields = new ArrayList<>(FIELDS + headers.size());
        add(fields, "client", address(entry.client()));
        add(fields, "method", request.method());
        add(fields, "host", request.host().orElse(null));
        add(fields, "path", request.path());
        String query = request.query().orElse("");
        add(fields, "query", query.isEmpty() ? null : redactQuery(query));
        add(fields, "status", status(entry.status()));
        add(fields, "bytes_in", entry.bytesIn());
        add(fields, "bytes_out", entry.bytesOut());
        add(fields, "duration_ms", millis(entry.durationNanos()));
        if (entry.connectNanos() >= 0) {
            add(fields, "upstream_connect_ms", millis(entry.connectNanos()));
        }
        if (entry.firstByteNanos() >= 0) {
            add(fields, "upstream_first_byte_ms", millis(entry.firstByteNanos()));
        }
        if (!entry.upstream().isEmpty()) {
            add(fields, "upstream_reused", entry.reused());
            add(fields, "upstream", entry.upstream());
        }
        add(fields, "route", entry.route());
        add(fields, "retries", entry.retries());
        add(fields, "tls_version", entry.tlsVersion().orElse(null));
        add(fields, "request_id", entry.requestId().isEmpty() ? null : entry.requestId());
        add(fields, "error", entry.error().isEmpty() ? null : entry.error());
        for (int i = 0; i < headers.size(); i++) {
            String v = request.header(headers.get(i)).orElse(null);
            if (v != null) {
                String redacted = headerValues.get(i);
                add(fields, headerKeys.get(i), redacted.isEmpty() ? v : redacted);
            }
        }
        LoggingEvent event = new LoggingEvent(FQCN, logger, Level.INFO, "access", null, null);
        event.setKeyValuePairs(fields);
        async.doAppend(event); // this log's own appender, not the logger's: two gateways in one process keep their own
    }

    private static void add(List<KeyValuePair> fields, String key, @Nullable Object value) {
        if (value != null) {
            fields.add(new KeyValuePair(key, value));
        }
    }

    private static Integer status(int status) {
        return status >= 0 && status < STATUSES.length ? STATUSES[status] : Integer.valueOf(status);
    }

    /** Milliseconds, to the microsecond. */
    private static double millis(long nanos) {
        return Math.floorDiv(nanos, 1_000L) / 1_000.0; // whole microseconds: at most three decimals
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
     * @param tlsVersion the TLS version of the client's connection, such as {@code TLSv1.3}; empty on plain TCP
     */
    public record Entry(RequestHeader request, SocketAddress client, int status, long bytesIn, long bytesOut, long durationNanos,
            String upstream, String route, int retries, String requestId, String error, long connectNanos, long firstByteNanos,
            boolean reused, Optional<String> tlsVersion) {
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

    /**
     * Stops taking lines, writes the queued ones and what the buffer holds, and closes the output. Called once, at
     * shutdown, after the listeners stopped.
     */
    /**
     * Writes what the buffer of a buffered file output holds; does nothing for an unbuffered output. The gateway calls
     * it every {@code flush-interval}, from a background service (a virtual thread: the write may block).
     */
    public void flush() {
        if (out instanceof BufferedFileAppender<ILoggingEvent> buffered) {
            buffered.flushBuffer();
        }
    }

    @Override
    public void close() {
        async.stop(); // its worker writes the queue, then stops the output, which writes the buffer and closes the file
        out.stop(); // in case the worker did not finish within the flush time: the output's lock orders it after any write
    }
}
