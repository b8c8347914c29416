package dev.merapi.core.upstreams;

import java.time.Duration;
import java.util.Objects;

/**
 * How Merapi talks to one upstream peer: its timeouts. None of them can be infinite.
 *
 * @param connectTimeout limit on a TCP or Unix-socket connect (default 5 s)
 * @param readTimeout longest wait for the next bytes of a response once the request is sent (default 60 s)
 * @param writeTimeout longest time a write to the peer may stay blocked (default 60 s)
 * @param idleTimeout how long a pooled connection may stay idle before it is closed (default 60 s)
 */
public record PeerOptions(Duration connectTimeout, Duration readTimeout, Duration writeTimeout, Duration idleTimeout) {
    /** The defaults. */
    public static final PeerOptions DEFAULT = new PeerOptions(
            Duration.ofSeconds(5), Duration.ofSeconds(60), Duration.ofSeconds(60), Duration.ofSeconds(60));

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

        private Builder(PeerOptions from) {
            connectTimeout = from.connectTimeout;
            readTimeout = from.readTimeout;
            writeTimeout = from.writeTimeout;
            idleTimeout = from.idleTimeout;
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

        public PeerOptions build() {
            return new PeerOptions(connectTimeout, readTimeout, writeTimeout, idleTimeout);
        }
    }
}
