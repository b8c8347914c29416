package dev.merapi.proxy;

import dev.merapi.core.SystemSettings;
import dev.merapi.core.connectors.Connector;
import dev.merapi.error.Bounds;
import dev.merapi.http.Tokens;
import java.util.Objects;

/**
 * Settings of an {@link HttpProxy}. Immutable; start from {@link #DEFAULT}, {@link #builder()} or {@link #toBuilder()}.
 *
 * <pre>{@code
 * ProxyOptions options = ProxyOptions.builder().maxRetries(1).via("edge-1").build();
 * }</pre>
 *
 * <p>The transport is not set here: the proxy's upstream connections use the transport of the event loops the proxy
 * runs on, which is {@link dev.merapi.core.server.ServerConfig#transport()} of its server.
 *
 * @param maxRetries how many times a retryable failure may be retried (default 3; 0 to {@value #MAX_RETRIES})
 * @param replayBufferBytes the largest request body kept for replay on retry (default 64 KiB; at least 0, where 0
 *     keeps none); a larger body is not retried
 * @param maxIdleUpstreamPerLoop the most idle upstream connections each event loop keeps (default 128; at least 0,
 *     where 0 pools none)
 * @param splice whether large response bodies go from the upstream socket to the client's with the kernel's
 *     {@code splice}, never copied through the JVM (default on; the {@code merapi.splice} system property, read by
 *     {@link SystemSettings}, sets the default). It applies on epoll, over plain HTTP/1.1, to Content-Length bodies
 *     of at least {@link #SPLICE_MIN_BYTES} bytes, when the {@link ProxyHttp} filters no response body.
 * @param via the pseudonym this proxy writes in {@code Via} (RFC 9110 §7.6.3) on every request it forwards and every
 *     response it relays, as {@code Via: 1.1 merapi}; a request whose {@code Via} already names it has come round
 *     a loop and is answered 508 Loop Detected. Default {@value #DEFAULT_VIA}; give each proxy of a chain its own.
 *     Empty: no Via and no loop detection. Otherwise a token of at most 64 characters.
 * @param forwardedHeaders what the origin is told about the client (default {@link ForwardedHeaders#DEFAULT}:
 *     X-Forwarded-For and its kin set afresh, none trusted from the client)
 * @param maxSplicePipesPerLoop the most client connections of each event loop that may hold a splice pipe (default
 *     {@value dev.merapi.core.connectors.Connector#DEFAULT_SPLICE_PIPES_PER_LOOP}; at least 0). The kernel splices
 *     through a pipe of two file descriptors that a client connection keeps, and reuses, until it closes; above the
 *     cap a body is copied through the JVM instead, so splicing never costs more than twice this many descriptors per
 *     loop. 0 turns splicing off.
 * @param tunnels how Upgrade (WebSocket) and CONNECT requests become tunnels (default {@link TunnelOptions#DEFAULT}:
 *     upgrades passed on after the origin's 101, tunnels closed after 1 hour idle, no CONNECT target allowed)
 * @param grpcWeb whether gRPC-web calls are bridged to gRPC (default off). On, a POST with
 *     {@code Content-Type: application/grpc-web[+FORMAT]} goes to its peer as gRPC over HTTP/2 (a peer left at
 *     HTTP/1.1 is spoken to in HTTP/2 for the call), and the response comes back as gRPC-web, its trailers turned into
 *     the trailer frame at the end of the body ({@link GrpcWeb}); {@code application/grpc-web-text} is answered 415.
 *     Off, gRPC-web requests pass as they are, like any other.
 */
public record ProxyOptions(int maxRetries, int replayBufferBytes, int maxIdleUpstreamPerLoop,
        boolean splice, String via, ForwardedHeaders forwardedHeaders, int maxSplicePipesPerLoop, TunnelOptions tunnels,
        boolean grpcWeb) {
    /** The most retries allowed. */
    public static final int MAX_RETRIES = 16;

    /** The smallest body remainder worth splicing: below it, a copy costs less than setting up the splice. */
    public static final int SPLICE_MIN_BYTES = 16 * 1024;

    /** The default pseudonym in {@code Via}. */
    public static final String DEFAULT_VIA = "merapi";

    /** The defaults; {@link #splice()} comes from {@link SystemSettings#current()}. */
    public static final ProxyOptions DEFAULT = new ProxyOptions(3, 64 * 1024, 128, SystemSettings.current().splice(), DEFAULT_VIA,
            ForwardedHeaders.DEFAULT, Connector.DEFAULT_SPLICE_PIPES_PER_LOOP, TunnelOptions.DEFAULT, false);

    /**
     * Checks every setting.
     *
     * @throws IllegalArgumentException naming the first setting out of its range
     */
    public ProxyOptions {
        checkMaxRetries(maxRetries);
        checkReplayBufferBytes(replayBufferBytes);
        checkMaxIdleUpstreamPerLoop(maxIdleUpstreamPerLoop);
        checkVia(via);
        Objects.requireNonNull(forwardedHeaders, "forwardedHeaders");
        checkMaxSplicePipesPerLoop(maxSplicePipesPerLoop);
        Objects.requireNonNull(tunnels, "tunnels");
    }

    /** The options without tunnels or the gRPC-web bridge: {@link TunnelOptions#DEFAULT}, {@code grpcWeb} off. */
    public ProxyOptions(int maxRetries, int replayBufferBytes, int maxIdleUpstreamPerLoop,
            boolean splice, String via, ForwardedHeaders forwardedHeaders, int maxSplicePipesPerLoop) {
        this(maxRetries, replayBufferBytes, maxIdleUpstreamPerLoop, splice, via, forwardedHeaders, maxSplicePipesPerLoop,
                TunnelOptions.DEFAULT, false);
    }

    /** A builder starting from {@link #DEFAULT}. */
    public static Builder builder() {
        return new Builder(DEFAULT);
    }

    /** A builder starting from these options. */
    public Builder toBuilder() {
        return new Builder(this);
    }

    private static int checkMaxRetries(int v) {
        return Bounds.count("maxRetries", v, 0, MAX_RETRIES);
    }

    private static int checkReplayBufferBytes(int v) {
        return Bounds.atLeast("replayBufferBytes", v, 0);
    }

    private static int checkMaxIdleUpstreamPerLoop(int v) {
        return Bounds.atLeast("maxIdleUpstreamPerLoop", v, 0);
    }

    private static int checkMaxSplicePipesPerLoop(int v) {
        return Bounds.atLeast("maxSplicePipesPerLoop", v, 0);
    }

    private static String checkVia(String via) {
        Objects.requireNonNull(via, "via");
        if (!via.isEmpty() && (via.length() > 64 || !Tokens.isToken(via))) {
            throw new IllegalArgumentException("via, the Via pseudonym, must be empty or a token of at most 64 characters"
                    + " (letters, digits and !#$%&'*+-.^_`|~): '" + via + "'");
        }
        return via;
    }

    /**
     * Builds {@link ProxyOptions}. Each setter checks its value at once and throws an {@link IllegalArgumentException}
     * naming the setting and its range; the record's components document each setting. Not thread-safe.
     */
    public static final class Builder {
        private int maxRetries;
        private int replayBufferBytes;
        private int maxIdleUpstreamPerLoop;
        private boolean splice;
        private String via;
        private ForwardedHeaders forwardedHeaders;
        private int maxSplicePipesPerLoop;
        private TunnelOptions tunnels;
        private boolean grpcWeb;

        private Builder(ProxyOptions from) {
            maxRetries = from.maxRetries;
            replayBufferBytes = from.replayBufferBytes;
            maxIdleUpstreamPerLoop = from.maxIdleUpstreamPerLoop;
            splice = from.splice;
            via = from.via;
            forwardedHeaders = from.forwardedHeaders;
            maxSplicePipesPerLoop = from.maxSplicePipesPerLoop;
            tunnels = from.tunnels;
            grpcWeb = from.grpcWeb;
        }

        public Builder maxRetries(int value) {
            maxRetries = checkMaxRetries(value);
            return this;
        }

        public Builder replayBufferBytes(int value) {
            replayBufferBytes = checkReplayBufferBytes(value);
            return this;
        }

        public Builder maxIdleUpstreamPerLoop(int value) {
            maxIdleUpstreamPerLoop = checkMaxIdleUpstreamPerLoop(value);
            return this;
        }

        public Builder splice(boolean value) {
            splice = value;
            return this;
        }

        /** The Via pseudonym; empty for no Via and no loop detection. */
        public Builder via(String pseudonym) {
            via = checkVia(pseudonym);
            return this;
        }

        public Builder forwardedHeaders(ForwardedHeaders value) {
            forwardedHeaders = Objects.requireNonNull(value, "forwardedHeaders");
            return this;
        }

        public Builder maxSplicePipesPerLoop(int value) {
            maxSplicePipesPerLoop = checkMaxSplicePipesPerLoop(value);
            return this;
        }

        public Builder tunnels(TunnelOptions value) {
            tunnels = Objects.requireNonNull(value, "tunnels");
            return this;
        }

        /** Whether gRPC-web calls are bridged to gRPC ({@link ProxyOptions#grpcWeb()}). */
        public Builder grpcWeb(boolean value) {
            grpcWeb = value;
            return this;
        }

        public ProxyOptions build() {
            return new ProxyOptions(maxRetries, replayBufferBytes, maxIdleUpstreamPerLoop, splice, via,
                    forwardedHeaders, maxSplicePipesPerLoop, tunnels, grpcWeb);
        }
    }
}
