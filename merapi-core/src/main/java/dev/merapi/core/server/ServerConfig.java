package dev.merapi.core.server;

import dev.merapi.core.listeners.Transport;
import java.time.Duration;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Process-wide settings of a {@link Server}.
 *
 * @param threads the number of event loops (default: the number of cores)
 * @param transport the I/O transport (default: epoll, or NIO where epoll is unavailable)
 * @param gracePeriod how long graceful shutdown lets in-flight requests finish (default 30 s)
 * @param name a name for logs and thread names
 */
public record ServerConfig(int threads, Transport transport, Duration gracePeriod, String name) {

    public ServerConfig {
        if (threads <= 0) {
            throw new IllegalArgumentException("threads must be positive: " + threads);
        }
        Objects.requireNonNull(transport, "transport");
        Objects.requireNonNull(gracePeriod, "gracePeriod");
        if (gracePeriod.isNegative() || gracePeriod.isZero()) {
            throw new IllegalArgumentException("gracePeriod must be positive: " + gracePeriod);
        }
        Objects.requireNonNull(name, "name");
        if (!transport.isAvailable()) {
            throw new IllegalArgumentException("transport " + transport + " is not available here: " + transport.unavailabilityCause().orElse(null));
        }
    }

    /** The defaults. */
    public static ServerConfig defaults() {
        return builder().build();
    }

    /** A builder starting from the defaults. */
    public static Builder builder() {
        return new Builder();
    }

    /** Builds a {@link ServerConfig}. */
    public static final class Builder {
        private int threads = Runtime.getRuntime().availableProcessors();
        private @Nullable Transport transport;
        private Duration gracePeriod = Duration.ofSeconds(30);
        private String name = "merapi";

        public Builder threads(int v) {
            threads = v;
            return this;
        }

        public Builder transport(Transport v) {
            transport = v;
            return this;
        }

        public Builder gracePeriod(Duration v) {
            gracePeriod = v;
            return this;
        }

        public Builder name(String v) {
            name = v;
            return this;
        }

        public ServerConfig build() {
            return new ServerConfig(threads, transport != null ? transport : Transport.auto(), gracePeriod, name);
        }
    }
}
