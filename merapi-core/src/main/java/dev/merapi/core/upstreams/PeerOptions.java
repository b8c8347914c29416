package dev.merapi.core.upstreams;

import java.time.Duration;
import java.util.Objects;

/**
 * How Merapi talks to one upstream peer: its timeouts (none of them can be infinite) and whether requests that are
 * not idempotent may be sent to it again after a failure.
 *
 * @param connectTimeout limit on a TCP or Unix-socket connect (default 5 s)
 * @param readTimeout longest wait for the next bytes of a response once the request is sent (default 60 s)
 * @param writeTimeout longest time a write to the peer may stay blocked (default 60 s)
 * @param idleTimeout how long a pooled connection may stay idle before it is closed (default 60 s)
 * @param retryNonIdempotent whether a request that is not idempotent (POST, PATCH, or a GET, HEAD, OPTIONS, TRACE or
 *     DELETE with a body) may be retried after some of it may have reached this peer (default off: such a request
 *     is retried only when no byte of it was written, since the peer may have acted on it and then failed; turn
 *     it on only for a peer that deduplicates requests, for example by an idempotency key)
 */
public record PeerOptions(Duration connectTimeout, Duration readTimeout, Duration writeTimeout, Duration idleTimeout,
        boolean retryNonIdempotent) {
    /** The defaults. */
    public static final PeerOptions DEFAULT = new PeerOptions(
            Duration.ofSeconds(5), Duration.ofSeconds(60), Duration.ofSeconds(60), Duration.ofSeconds(60), false);

    public PeerOptions {
        positive(connectTimeout, "connectTimeout");
        positive(readTimeout, "readTimeout");
        positive(writeTimeout, "writeTimeout");
        positive(idleTimeout, "idleTimeout");
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

    /** Builds {@link PeerOptions}. */
    public static final class Builder {
        private Duration connectTimeout;
        private Duration readTimeout;
        private Duration writeTimeout;
        private Duration idleTimeout;
        private boolean retryNonIdempotent;

        private Builder(PeerOptions from) {
            connectTimeout = from.connectTimeout;
            readTimeout = from.readTimeout;
            writeTimeout = from.writeTimeout;
            idleTimeout = from.idleTimeout;
            retryNonIdempotent = from.retryNonIdempotent;
        }

        public Builder connectTimeout(Duration d) {
            connectTimeout = d;
            return this;
        }

        public Builder readTimeout(Duration d) {
            readTimeout = d;
            return this;
        }

        public Builder writeTimeout(Duration d) {
            writeTimeout = d;
            return this;
        }

        public Builder idleTimeout(Duration d) {
            idleTimeout = d;
            return this;
        }

        /** Lets requests that are not idempotent be retried on this peer after they may have reached it. */
        public Builder retryNonIdempotent(boolean allow) {
            retryNonIdempotent = allow;
            return this;
        }

        public PeerOptions build() {
            return new PeerOptions(connectTimeout, readTimeout, writeTimeout, idleTimeout, retryNonIdempotent);
        }
    }
}
