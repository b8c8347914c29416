package dev.merapi.core.upstreams;

import dev.merapi.error.Bounds;
import java.time.Duration;
import java.util.Objects;

/**
 * How Merapi talks to one upstream peer: its timeouts (none of them can be infinite; each is more than 0) and whether
 * requests that are not idempotent may be sent to it again after a failure. Immutable; start from {@link #DEFAULT},
 * {@link #builder()} or {@link #toBuilder()}.
 *
 * <pre>{@code
 * PeerOptions options = PeerOptions.builder().connectTimeout(Duration.ofSeconds(2)).build();
 * }</pre>
 *
 * @param connectTimeout limit on a TCP or Unix-socket connect (default 5 s)
 * @param readTimeout longest wait for the next bytes of a response once the request is sent (default 60 s)
 * @param writeTimeout longest time a write to the peer may stay blocked (default 60 s)
 * @param idleTimeout how long a pooled connection may stay idle before it is closed (default 60 s)
 * @param retryNonIdempotent whether a request that is not idempotent (POST, PATCH, or a GET, HEAD, OPTIONS, TRACE or
 *     DELETE with a body) may be retried after some of it may have reached this peer (default off: such a request
 *     is retried only when no byte of it was written, since the peer may have acted on it and then failed; turn
 *     it on only for a peer that deduplicates requests, for example by an idempotency key)
 * @param protocol the HTTP version spoken to this peer (default {@link UpstreamProtocol#HTTP1}); part of the peer's
 *     reuse key, so connections of one protocol are never handed to a peer that asked for another
 * @param maxStreamsPerConnection the most concurrent requests (streams) one HTTP/2 connection to this peer carries
 *     (default 100, 1 to 10,000); the peer's own SETTINGS_MAX_CONCURRENT_STREAMS lowers it. A connection at its
 *     limit takes no new stream: another connection is opened
 */
public record PeerOptions(Duration connectTimeout, Duration readTimeout, Duration writeTimeout, Duration idleTimeout,
        boolean retryNonIdempotent, UpstreamProtocol protocol, int maxStreamsPerConnection) {
    /** The defaults. */
    public static final PeerOptions DEFAULT = new PeerOptions(
            Duration.ofSeconds(5), Duration.ofSeconds(60), Duration.ofSeconds(60), Duration.ofSeconds(60), false,
            UpstreamProtocol.HTTP1, 100);

    /** The most {@link #maxStreamsPerConnection()} may be. */
    public static final int MAX_STREAMS_PER_CONNECTION = 10_000;

    /** Options speaking HTTP/1.1, with the default stream limit for HTTP/2. */
    public PeerOptions(Duration connectTimeout, Duration readTimeout, Duration writeTimeout, Duration idleTimeout,
            boolean retryNonIdempotent) {
        this(connectTimeout, readTimeout, writeTimeout, idleTimeout, retryNonIdempotent, UpstreamProtocol.HTTP1, 100);
    }

    /**
     * Checks every setting.
     *
     * @throws IllegalArgumentException naming the first timeout that is not positive
     */
    public PeerOptions {
        Bounds.positive("connectTimeout", connectTimeout);
        Bounds.positive("readTimeout", readTimeout);
        Bounds.positive("writeTimeout", writeTimeout);
        Bounds.positive("idleTimeout", idleTimeout);
        Objects.requireNonNull(protocol, "protocol");
        Bounds.atLeast("maxStreamsPerConnection", maxStreamsPerConnection, 1);
        if (maxStreamsPerConnection > MAX_STREAMS_PER_CONNECTION) {
            throw new IllegalArgumentException("maxStreamsPerConnection must be at most " + MAX_STREAMS_PER_CONNECTION
                    + ", got " + maxStreamsPerConnection);
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

    /**
     * Builds {@link PeerOptions}. Each setter checks its value at once and throws an {@link IllegalArgumentException}
     * naming the setting and its range; the record's components document each setting. Not thread-safe.
     */
    public static final class Builder {
        private Duration connectTimeout;
        private Duration readTimeout;
        private Duration writeTimeout;
        private Duration idleTimeout;
        private boolean retryNonIdempotent;
        private UpstreamProtocol protocol;
        private int maxStreamsPerConnection;

        private Builder(PeerOptions from) {
            protocol = from.protocol;
            maxStreamsPerConnection = from.maxStreamsPerConnection;
            connectTimeout = from.connectTimeout;
            readTimeout = from.readTimeout;
            writeTimeout = from.writeTimeout;
            idleTimeout = from.idleTimeout;
            retryNonIdempotent = from.retryNonIdempotent;
        }

        public Builder connectTimeout(Duration d) {
            connectTimeout = Bounds.positive("connectTimeout", d);
            return this;
        }

        public Builder readTimeout(Duration d) {
            readTimeout = Bounds.positive("readTimeout", d);
            return this;
        }

        public Builder writeTimeout(Duration d) {
            writeTimeout = Bounds.positive("writeTimeout", d);
            return this;
        }

        public Builder idleTimeout(Duration d) {
            idleTimeout = Bounds.positive("idleTimeout", d);
            return this;
        }

        /** Lets requests that are not idempotent be retried on this peer after they may have reached it. */
        public Builder retryNonIdempotent(boolean allow) {
            retryNonIdempotent = allow;
            return this;
        }

        /** The HTTP version spoken to this peer. */
        public Builder protocol(UpstreamProtocol p) {
            protocol = Objects.requireNonNull(p, "protocol");
            return this;
        }

        /** The most concurrent streams on one HTTP/2 connection, 1 to {@value PeerOptions#MAX_STREAMS_PER_CONNECTION}. */
        public Builder maxStreamsPerConnection(int n) {
            if (n < 1 || n > MAX_STREAMS_PER_CONNECTION) {
                throw new IllegalArgumentException("maxStreamsPerConnection must be 1 to " + MAX_STREAMS_PER_CONNECTION + ", got " + n);
            }
            maxStreamsPerConnection = n;
            return this;
        }

        public PeerOptions build() {
            return new PeerOptions(connectTimeout, readTimeout, writeTimeout, idleTimeout, retryNonIdempotent, protocol,
                    maxStreamsPerConnection);
        }
    }
}
