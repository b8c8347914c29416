package dev.merapi.core.upstreams;

import dev.merapi.error.Bounds;
import java.time.Duration;

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
 */
public record PeerOptions(Duration connectTimeout, Duration readTimeout, Duration writeTimeout, Duration idleTimeout,
        boolean retryNonIdempotent) {
    /** The defaults. */
    public static final PeerOptions DEFAULT = new PeerOptions(
            Duration.ofSeconds(5), Duration.ofSeconds(60), Duration.ofSeconds(60), Duration.ofSeconds(60), false);

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

        private Builder(PeerOptions from) {
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

        public PeerOptions build() {
            return new PeerOptions(connectTimeout, readTimeout, writeTimeout, idleTimeout, retryNonIdempotent);
        }
    }
}
