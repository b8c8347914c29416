package dev.merapi.core.protocols.http1;

import dev.merapi.error.Bounds;
import dev.merapi.http.Http1Limits;
import java.time.Duration;
import java.util.Objects;

/**
 * How a listener speaks HTTP/1.1 to clients: parser limits, timeouts, keep-alive, how much a client may send
 * ahead, and CONNECT and TRACE. None of the timeouts can be infinite. Immutable; start from {@link #DEFAULT},
 * {@link #builder()} or {@link #toBuilder()}.
 *
 * <pre>{@code
 * Http1Options options = Http1Options.builder().keepAliveTimeout(Duration.ofSeconds(15)).build();
 * }</pre>
 *
 * <p>Every timeout is more than 0.
 *
 * @param limits request-line, header and chunk limits (default {@link Http1Limits#DEFAULT})
 * @param firstByteTimeout from accept to the first byte of the first request (default 30 s)
 * @param headerReadTimeout from the first byte of a request to the end of its head (default 30 s); slow heads get 408
 * @param keepAliveTimeout how long an idle keep-alive connection waits for its next request (default 60 s)
 * @param bodyReadTimeout longest silence while a request body is being read (default 60 s)
 * @param writeTimeout longest time a response write may stay blocked by a slow client (default 60 s)
 * @param maxRequestsPerConnection after this many requests a connection is closed (default 10000, at least 1)
 * @param allowConnect whether CONNECT requests reach the application; otherwise they get 405 (default off)
 * @param allowTrace whether TRACE requests reach the application; otherwise they get 405 (default off: TRACE echoes
 *        the request, credentials included, back to whoever can make the client send it)
 * @param maxUnprocessedBytes how many bytes a client may send ahead of what the connection has processed, such as
 *        pipelined requests behind the one being answered, before the connection stops reading from it (default
 *        64 KiB, at least 1 KiB). Memory per connection stays bounded whatever the client sends: this, plus one read
 *        (at most 64 KiB), plus one head being parsed (bounded by {@code limits})
 */
public record Http1Options(Http1Limits limits, Duration firstByteTimeout, Duration headerReadTimeout,
        Duration keepAliveTimeout, Duration bodyReadTimeout, Duration writeTimeout, int maxRequestsPerConnection,
        boolean allowConnect, boolean allowTrace, int maxUnprocessedBytes) {

    /** The default of {@link #maxUnprocessedBytes()}: 64 KiB. */
    public static final int DEFAULT_MAX_UNPROCESSED_BYTES = 64 * 1024;

    /** The defaults. */
    public static final Http1Options DEFAULT = new Http1Options(Http1Limits.DEFAULT, Duration.ofSeconds(30),
            Duration.ofSeconds(30), Duration.ofSeconds(60), Duration.ofSeconds(60), Duration.ofSeconds(60), 10_000, false,
            false, DEFAULT_MAX_UNPROCESSED_BYTES);

    /** The smallest {@link #maxUnprocessedBytes()}. */
    public static final int MIN_UNPROCESSED_BYTES = 1024;

    /**
     * Checks every setting.
     *
     * @throws IllegalArgumentException naming the first setting out of its range
     */
    public Http1Options {
        Objects.requireNonNull(limits, "limits");
        Bounds.positive("firstByteTimeout", firstByteTimeout);
        Bounds.positive("headerReadTimeout", headerReadTimeout);
        Bounds.positive("keepAliveTimeout", keepAliveTimeout);
        Bounds.positive("bodyReadTimeout", bodyReadTimeout);
        Bounds.positive("writeTimeout", writeTimeout);
        checkMaxRequestsPerConnection(maxRequestsPerConnection);
        checkMaxUnprocessedBytes(maxUnprocessedBytes);
    }

    private static int checkMaxRequestsPerConnection(int v) {
        return Bounds.atLeast("maxRequestsPerConnection", v, 1);
    }

    private static int checkMaxUnprocessedBytes(int v) {
        return Bounds.atLeast("maxUnprocessedBytes", v, MIN_UNPROCESSED_BYTES);
    }

    /** A builder starting from the defaults. */
    public static Builder builder() {
        return new Builder(DEFAULT);
    }

    /** A builder starting from these options. */
    public Builder toBuilder() {
        return new Builder(this);
    }

    /**
     * Builds {@link Http1Options}. Each setter checks its value at once and throws an {@link IllegalArgumentException}
     * naming the setting and its range; the record's components document each setting. Not thread-safe.
     */
    public static final class Builder {
        private Http1Limits limits;
        private Duration firstByteTimeout;
        private Duration headerReadTimeout;
        private Duration keepAliveTimeout;
        private Duration bodyReadTimeout;
        private Duration writeTimeout;
        private int maxRequestsPerConnection;
        private boolean allowConnect;
        private boolean allowTrace;
        private int maxUnprocessedBytes;

        private Builder(Http1Options o) {
            limits = o.limits;
            firstByteTimeout = o.firstByteTimeout;
            headerReadTimeout = o.headerReadTimeout;
            keepAliveTimeout = o.keepAliveTimeout;
            bodyReadTimeout = o.bodyReadTimeout;
            writeTimeout = o.writeTimeout;
            maxRequestsPerConnection = o.maxRequestsPerConnection;
            allowConnect = o.allowConnect;
            allowTrace = o.allowTrace;
            maxUnprocessedBytes = o.maxUnprocessedBytes;
        }

        public Builder limits(Http1Limits v) {
            limits = Objects.requireNonNull(v, "limits");
            return this;
        }

        public Builder firstByteTimeout(Duration v) {
            firstByteTimeout = Bounds.positive("firstByteTimeout", v);
            return this;
        }

        public Builder headerReadTimeout(Duration v) {
            headerReadTimeout = Bounds.positive("headerReadTimeout", v);
            return this;
        }

        public Builder keepAliveTimeout(Duration v) {
            keepAliveTimeout = Bounds.positive("keepAliveTimeout", v);
            return this;
        }

        public Builder bodyReadTimeout(Duration v) {
            bodyReadTimeout = Bounds.positive("bodyReadTimeout", v);
            return this;
        }

        public Builder writeTimeout(Duration v) {
            writeTimeout = Bounds.positive("writeTimeout", v);
            return this;
        }

        public Builder maxRequestsPerConnection(int v) {
            maxRequestsPerConnection = checkMaxRequestsPerConnection(v);
            return this;
        }

        public Builder allowConnect(boolean v) {
            allowConnect = v;
            return this;
        }

        public Builder allowTrace(boolean v) {
            allowTrace = v;
            return this;
        }

        public Builder maxUnprocessedBytes(int v) {
            maxUnprocessedBytes = checkMaxUnprocessedBytes(v);
            return this;
        }

        public Http1Options build() {
            return new Http1Options(limits, firstByteTimeout, headerReadTimeout, keepAliveTimeout, bodyReadTimeout,
                    writeTimeout, maxRequestsPerConnection, allowConnect, allowTrace, maxUnprocessedBytes);
        }
    }
}
