package dev.merapi.loadbalancing;

import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.core.upstreams.UpstreamTls;
import dev.merapi.error.Bounds;
import java.net.InetSocketAddress;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * One server a {@link LoadBalancer} may send requests to: its address, its weight and any data the user attaches
 * to it (extensions, keyed by type). Immutable and thread-safe.
 *
 * <p>A backend is known by its {@link #name()}, {@code host:port} as written (such as {@code 10.0.0.7:8080} or
 * {@code [::1]:443}). The name is what the hashing algorithms hash, as nginx hashes the name of each
 * {@code server} line, and what the load balancer keys health state by, so a backend keeps its state when a
 * new set with a changed weight replaces the old one. Two backends are equal when name, weight, TLS, SNI, TLS
 * settings and extensions are equal.
 */
public final class Backend {
    /** The largest weight: a backend with it counts as this many backends of weight 1. */
    public static final int MAX_WEIGHT = 10_000;

    private final String name;
    private final int weight;
    private final boolean tls;
    private final String sni;
    private final UpstreamTls upstreamTls;
    private final Map<Class<?>, Object> extensions;
    private final HttpPeer peer;

    private Backend(Builder b) {
        this.name = b.name;
        this.weight = b.weight;
        this.tls = b.tls;
        this.sni = b.sni;
        this.upstreamTls = b.upstreamTls;
        this.extensions = Map.copyOf(b.extensions);
        this.peer = tls ? HttpPeer.of(name, true, sni).withTls(upstreamTls) : HttpPeer.of(name, false, sni);
    }

    /**
     * A plain-text backend of weight 1.
     *
     * @param hostPort such as {@code 127.0.0.1:8080}, {@code [::1]:8080} or {@code app.internal:80}
     * @throws IllegalArgumentException if it is not {@code host:port}
     */
    public static Backend of(String hostPort) {
        return builder(hostPort).build();
    }

    /** A plain-text backend of the given weight, 1 to {@value #MAX_WEIGHT}. */
    public static Backend of(String hostPort, int weight) {
        return builder(hostPort).weight(weight).build();
    }

    /** A backend at {@code address} ({@code host:port} from its host string). */
    public static Backend of(InetSocketAddress address, int weight) {
        String host = address.getHostString();
        return of((host.indexOf(':') >= 0 ? '[' + host + ']' : host) + ':' + address.getPort(), weight);
    }

    /** Starts a backend at {@code host:port}: weight 1, plain text, no extension. */
    public static Builder builder(String hostPort) {
        return new Builder(hostPort);
    }

    /** A builder holding this backend's settings. */
    public Builder toBuilder() {
        Builder b = new Builder(name).weight(weight).tls(tls).sni(sni).upstreamTls(upstreamTls);
        b.extensions.putAll(extensions);
        return b;
    }

    /** {@code host:port} as given; what hashing and health state use. */
    public String name() {
        return name;
    }

    /** The address: resolved for an IP literal, unresolved for a host name (resolved when connecting). */
    public InetSocketAddress address() {
        return (InetSocketAddress) peer.address();
    }

    /** The weight, 1 to {@value #MAX_WEIGHT}. */
    public int weight() {
        return weight;
    }

    /** Whether requests to it use TLS. */
    public boolean tls() {
        return tls;
    }

    /** The TLS server name, empty for none. */
    public String sni() {
        return sni;
    }

    /** The TLS settings used when {@link #tls()}: {@link UpstreamTls#DEFAULT} unless others were set. */
    public UpstreamTls upstreamTls() {
        return upstreamTls;
    }

    /** The peer to return from {@code upstreamPeer} for this backend; made once. */
    public HttpPeer peer() {
        return peer;
    }

    /** The extension of this type, if one was attached. */
    public <T> Optional<T> extension(Class<T> type) {
        return Optional.ofNullable(type.cast(extensions.get(type)));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Backend b && b.name.equals(name) && b.weight == weight && b.tls == tls && b.sni.equals(sni)
                && b.upstreamTls.equals(upstreamTls) && b.extensions.equals(extensions);
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, weight, tls, sni);
    }

    @Override
    public String toString() {
        return (tls ? "https://" : "") + name + (weight == 1 ? "" : ",weight=" + weight);
    }

    /** Settings of a {@link Backend}; not thread-safe. */
    public static final class Builder {
        private final String name;
        private int weight = 1;
        private boolean tls;
        private String sni = "";
        private UpstreamTls upstreamTls = UpstreamTls.DEFAULT;
        private final Map<Class<?>, Object> extensions = new LinkedHashMap<>();

        private Builder(String hostPort) {
            this.name = Objects.requireNonNull(hostPort, "hostPort").strip();
        }

        /** The weight, 1 to {@value #MAX_WEIGHT}; default 1. */
        public Builder weight(int weight) {
            this.weight = Bounds.count("weight", weight, 1, MAX_WEIGHT);
            return this;
        }

        /** Whether to speak TLS to it; default no. */
        public Builder tls(boolean tls) {
            this.tls = tls;
            return this;
        }

        /** The TLS server name (and default {@code Host}); default none. */
        public Builder sni(String sni) {
            this.sni = Objects.requireNonNull(sni, "sni");
            return this;
        }

        /** The TLS settings (trusted CA, client certificate…) used when it speaks TLS; default {@link UpstreamTls#DEFAULT}. */
        public Builder upstreamTls(UpstreamTls upstreamTls) {
            this.upstreamTls = Objects.requireNonNull(upstreamTls, "upstreamTls");
            return this;
        }

        /** Attaches {@code value} under its type, replacing any earlier one of that type. */
        public <T> Builder extension(Class<T> type, T value) {
            extensions.put(type, type.cast(Objects.requireNonNull(value, "value")));
            return this;
        }

        /**
         * The backend.
         *
         * @throws IllegalArgumentException if the address is not {@code host:port}
         */
        public Backend build() {
            return new Backend(this);
        }
    }
}
