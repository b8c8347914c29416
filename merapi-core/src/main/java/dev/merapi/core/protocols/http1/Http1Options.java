package dev.merapi.core.protocols.http1;

import dev.merapi.http.Http1Limits;
import java.time.Duration;
import java.util.Objects;

/**
 * How a listener speaks HTTP/1.1 to clients: parser limits, timeouts, keep-alive, how much a client may send
 * ahead, and CONNECT and TRACE. None of the timeouts can be infinite.
 *
 * @param limits request-line, header and chunk limits
 * @param firstByteTimeout from accept to the first byte of the first request (default 30 s)
 * @param headerReadTimeout from the first byte of a request to the end of its head (default 30 s); slow heads get 408
 * @param keepAliveTimeout how long an idle keep-alive connection waits for its next request (default 60 s)
 * @param bodyReadTimeout longest silence while a request body is being read (default 60 s)
 * @param writeTimeout longest time a response write may stay blocked by a slow client (default 60 s)
 * @param maxRequestsPerConnection after this many requests a connection is closed (default 10000)
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

    public Http1Options {
        Objects.requireNonNull(limits, "limits");
        positive(firstByteTimeout, "firstByteTimeout");
        positive(headerReadTimeout, "headerReadTimeout");
        positive(keepAliveTimeout, "keepAliveTimeout");
        positive(bodyReadTimeout, "bodyReadTimeout");
        positive(writeTimeout, "writeTimeout");
        if (maxRequestsPerConnection <= 0) {
            throw new IllegalArgumentException("maxRequestsPerConnection must be positive: " + maxRequestsPerConnection);
        }
        if (maxUnprocessedBytes < 1024) {
            throw new IllegalArgumentException("maxUnprocessedBytes must be at least 1024: " + maxUnprocessedBytes);
        }
    }

    /** A builder starting from the defaults. */
    public static Builder builder() {
        return new Builder(DEFAULT);
    }

    /** A builder starting from these options. */
    public Builder toBuilder() {
        return new Builder(this);
    }

    private static void positive(Duration d, String name) {
        Objects.requireNonNull(d, name);
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(name + " must be positive (there is no infinite timeout): " + d);
        }
    }

    /** Builds {@link Http1Options}. */
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
            limits = v;
            return this;
        }

        public Builder firstByteTimeout(Duration v) {
            firstByteTimeout = v;
            return this;
        }

        public Builder headerReadTimeout(Duration v) {
            headerReadTimeout = v;
            return this;
        }

        public Builder keepAliveTimeout(Duration v) {
            keepAliveTimeout = v;
            return this;
        }

        public Builder bodyReadTimeout(Duration v) {
            bodyReadTimeout = v;
            return this;
        }

        public Builder writeTimeout(Duration v) {
            writeTimeout = v;
            return this;
        }

        public Builder maxRequestsPerConnection(int v) {
            maxRequestsPerConnection = v;
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
            maxUnprocessedBytes = v;
            return this;
        }

        public Http1Options build() {
            return new Http1Options(limits, firstByteTimeout, headerReadTimeout, keepAliveTimeout, bodyReadTimeout,
                    writeTimeout, maxRequestsPerConnection, allowConnect, allowTrace, maxUnprocessedBytes);
        }
    }
}
