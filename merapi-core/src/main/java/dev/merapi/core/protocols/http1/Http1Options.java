package dev.merapi.core.protocols.http1;

import dev.merapi.http.Http1Limits;
import java.time.Duration;
import java.util.Objects;

/**
 * How a listener speaks HTTP/1.1 to clients: parser limits, timeouts, keep-alive and CONNECT.
 * None of the timeouts can be infinite.
 *
 * @param limits request-line, header and chunk limits
 * @param firstByteTimeout from accept to the first byte of the first request (default 30 s)
 * @param headerReadTimeout from the first byte of a request to the end of its head (default 30 s); slow heads get 408
 * @param keepAliveTimeout how long an idle keep-alive connection waits for its next request (default 60 s)
 * @param bodyReadTimeout longest silence while a request body is being read (default 60 s)
 * @param writeTimeout longest time a response write may stay blocked by a slow client (default 60 s)
 * @param maxRequestsPerConnection after this many requests a connection is closed (default 10000)
 * @param allowConnect whether CONNECT requests reach the application; otherwise they get 405 (default off)
 */
public record Http1Options(Http1Limits limits, Duration firstByteTimeout, Duration headerReadTimeout,
        Duration keepAliveTimeout, Duration bodyReadTimeout, Duration writeTimeout, int maxRequestsPerConnection,
        boolean allowConnect) {

    /** The defaults. */
    public static final Http1Options DEFAULT = new Http1Options(Http1Limits.DEFAULT, Duration.ofSeconds(30),
            Duration.ofSeconds(30), Duration.ofSeconds(60), Duration.ofSeconds(60), Duration.ofSeconds(60), 10_000, false);

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

        private Builder(Http1Options o) {
            limits = o.limits;
            firstByteTimeout = o.firstByteTimeout;
            headerReadTimeout = o.headerReadTimeout;
            keepAliveTimeout = o.keepAliveTimeout;
            bodyReadTimeout = o.bodyReadTimeout;
            writeTimeout = o.writeTimeout;
            maxRequestsPerConnection = o.maxRequestsPerConnection;
            allowConnect = o.allowConnect;
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

        public Http1Options build() {
            return new Http1Options(limits, firstByteTimeout, headerReadTimeout, keepAliveTimeout, bodyReadTimeout,
                    writeTimeout, maxRequestsPerConnection, allowConnect);
        }
    }
}
