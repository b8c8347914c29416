package dev.merapi.proxy;

import dev.merapi.error.Bounds;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * How an {@link HttpProxy} handles requests that leave HTTP: Upgrade (WebSocket and others) and CONNECT. Immutable;
 * start from {@link #DEFAULT}, {@link #builder()} or {@link #toBuilder()}.
 *
 * <pre>{@code
 * TunnelOptions tunnels = TunnelOptions.builder()
 *         .upgradeProtocols(Set.of("websocket"))
 *         .connectAllow(ConnectTarget.listOf("db.internal:5432,*:443"))
 *         .build();
 * }</pre>
 *
 * <p>An upgrade is forwarded only as a genuine one (an HTTP/1.1 GET without a body, {@code Connection: upgrade} and
 * one {@code Upgrade} header), and the tunnel opens only once the origin answers {@code 101}: until then the bytes the
 * client sends after the request head are held, never forwarded, and a non-101 answer leaves HTTP in force. CONNECT
 * must also be let through by the listener ({@link dev.merapi.core.protocols.http1.Http1Options#allowConnect()}),
 * else it is answered 405; a target the allow-list does not name is answered 403.
 *
 * @param upgrades whether upgrade requests are passed on as upgrades (default on); off, an upgrade request is
 *     forwarded as a plain request without its {@code Upgrade} header
 * @param upgradeProtocols the protocols (the first token of {@code Upgrade}, compared without case) that may be
 *     upgraded to; empty, the default, for any but {@code h2c}, which is never passed on
 * @param idleTimeout how long a tunnel may carry no byte either way before both sides are closed (default 1 hour;
 *     positive)
 * @param connectAllow the hosts and ports a CONNECT tunnel may go to (default none: every CONNECT is answered 403)
 */
public record TunnelOptions(boolean upgrades, Set<String> upgradeProtocols, Duration idleTimeout,
        List<ConnectTarget> connectAllow) {
    /** Upgrades on for any protocol, a 1-hour idle timeout, no CONNECT target. */
    public static final TunnelOptions DEFAULT = new TunnelOptions(true, Set.of(), Duration.ofHours(1), List.of());

    /**
     * Checks and copies every setting.
     *
     * @throws IllegalArgumentException naming the first setting out of its range
     */
    public TunnelOptions {
        upgradeProtocols = checkProtocols(upgradeProtocols);
        checkIdleTimeout(idleTimeout);
        connectAllow = List.copyOf(Objects.requireNonNull(connectAllow, "connectAllow"));
    }

    /** A builder starting from {@link #DEFAULT}. */
    public static Builder builder() {
        return new Builder(DEFAULT);
    }

    /** A builder starting from these options. */
    public Builder toBuilder() {
        return new Builder(this);
    }

    /** Whether an upgrade to {@code protocol} (the first token of {@code Upgrade}) may be passed on. */
    public boolean upgradeAllowed(String protocol) {
        String p = protocol.toLowerCase(Locale.ROOT);
        return upgrades && !p.equals("h2c") && (upgradeProtocols.isEmpty() || upgradeProtocols.contains(p));
    }

    /** Whether a CONNECT tunnel to {@code host} (lower case) and {@code port} is allowed. */
    public boolean connectAllowed(String host, int port) {
        for (ConnectTarget t : connectAllow) {
            if (t.matches(host, port)) {
                return true;
            }
        }
        return false;
    }

    private static Set<String> checkProtocols(Set<String> v) {
        Objects.requireNonNull(v, "upgradeProtocols");
        for (String p : v) {
            if (p.isEmpty() || !dev.merapi.http.Tokens.isToken(p)) {
                throw new IllegalArgumentException("upgradeProtocols must hold tokens such as websocket: '" + p + "'");
            }
        }
        return v.stream().map(p -> p.toLowerCase(Locale.ROOT)).collect(Collectors.toUnmodifiableSet());
    }

    private static Duration checkIdleTimeout(Duration v) {
        return Bounds.positive("idleTimeout", v);
    }

    /**
     * Builds {@link TunnelOptions}. Each setter checks its value at once and throws an {@link IllegalArgumentException}
     * naming the setting; the record's components document each setting. Not thread-safe.
     */
    public static final class Builder {
        private boolean upgrades;
        private Set<String> upgradeProtocols;
        private Duration idleTimeout;
        private List<ConnectTarget> connectAllow;

        private Builder(TunnelOptions from) {
            upgrades = from.upgrades;
            upgradeProtocols = from.upgradeProtocols;
            idleTimeout = from.idleTimeout;
            connectAllow = from.connectAllow;
        }

        public Builder upgrades(boolean value) {
            upgrades = value;
            return this;
        }

        public Builder upgradeProtocols(Set<String> value) {
            upgradeProtocols = checkProtocols(value);
            return this;
        }

        public Builder idleTimeout(Duration value) {
            idleTimeout = checkIdleTimeout(value);
            return this;
        }

        public Builder connectAllow(List<ConnectTarget> value) {
            connectAllow = List.copyOf(Objects.requireNonNull(value, "connectAllow"));
            return this;
        }

        public TunnelOptions build() {
            return new TunnelOptions(upgrades, upgradeProtocols, idleTimeout, connectAllow);
        }
    }
}
