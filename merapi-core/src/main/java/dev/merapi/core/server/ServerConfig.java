package dev.merapi.core.server;

import dev.merapi.core.SystemSettings;
import dev.merapi.core.listeners.Transport;
import dev.merapi.error.Bounds;
import java.time.Duration;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Process-wide settings of a {@link Server}. Immutable; start from {@link #DEFAULT}, {@link #builder()} or
 * {@link #toBuilder()}.
 *
 * <pre>{@code
 * Server server = new Server(ServerConfig.builder().threads(4).gracePeriod(Duration.ofSeconds(10)).build());
 * }</pre>
 *
 * <p>The transport is set here only: every service of the server, and the upstream connections a proxy opens from
 * its event loops, use it.
 *
 * @param threads the number of event loops (default: the number of cores; 1 to {@value #MAX_THREADS})
 * @param transport the I/O transport (default {@link SystemSettings#transport()}: the {@code merapi.transport} system
 *     property, else epoll, else NIO where epoll is unavailable); it must be available on this machine
 * @param gracePeriod how long graceful shutdown lets in-flight requests finish (default 30 s; more than 0)
 * @param name a name for logs and thread names (default {@code merapi}; 1 to 64 characters, no control characters)
 */
public record ServerConfig(int threads, Transport transport, Duration gracePeriod, String name) {
    /** The most event loops a server may run. */
    public static final int MAX_THREADS = 4096;

    /**
     * The defaults: one event loop per core, the transport of {@link SystemSettings#current()}, a 30 s grace period,
     * the name {@code merapi}.
     */
    public static final ServerConfig DEFAULT = new ServerConfig(Math.min(Runtime.getRuntime().availableProcessors(), MAX_THREADS),
            SystemSettings.current().transport(), Duration.ofSeconds(30), "merapi");

    /**
     * Checks every setting.
     *
     * @throws IllegalArgumentException naming the first setting out of its range
     */
    public ServerConfig {
        checkThreads(threads);
        checkTransport(transport);
        checkGracePeriod(gracePeriod);
        checkName(name);
    }

    /** A builder starting from {@link #DEFAULT}. */
    public static Builder builder() {
        return new Builder(DEFAULT);
    }

    /** A builder starting from these settings. */
    public Builder toBuilder() {
        return new Builder(this);
    }

    private static int checkThreads(int threads) {
        return Bounds.count("threads", threads, 1, MAX_THREADS);
    }

    private static Transport checkTransport(Transport transport) {
        Objects.requireNonNull(transport, "transport");
        if (!transport.isAvailable()) {
            throw new IllegalArgumentException("transport " + transport + " is not available here: " + transport.unavailabilityCause().orElse(null));
        }
        return transport;
    }

    private static Duration checkGracePeriod(Duration gracePeriod) {
        return Bounds.positive("gracePeriod", gracePeriod);
    }

    private static String checkName(String name) {
        Objects.requireNonNull(name, "name");
        if (name.isEmpty() || name.length() > 64 || name.chars().anyMatch(Character::isISOControl)) {
            throw new IllegalArgumentException("name must be 1 to 64 characters without control characters: '" + name + "'");
        }
        return name;
    }

    /**
     * Builds a {@link ServerConfig}. Each setter checks its value at once and throws an {@link IllegalArgumentException}
     * naming the setting and its range; the record's components document each setting. Not thread-safe.
     */
    public static final class Builder {
        private int threads;
        private Transport transport;
        private Duration gracePeriod;
        private String name;

        private Builder(ServerConfig from) {
            threads = from.threads;
            transport = from.transport;
            gracePeriod = from.gracePeriod;
            name = from.name;
        }

        public Builder threads(int v) {
            threads = checkThreads(v);
            return this;
        }

        public Builder transport(Transport v) {
            transport = checkTransport(v);
            return this;
        }

        public Builder gracePeriod(Duration v) {
            gracePeriod = checkGracePeriod(v);
            return this;
        }

        public Builder name(String v) {
            name = checkName(v);
            return this;
        }

        public ServerConfig build() {
            return new ServerConfig(threads, transport, gracePeriod, name);
        }
    }
}
