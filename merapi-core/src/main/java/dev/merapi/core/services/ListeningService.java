package dev.merapi.core.services;

import dev.merapi.core.apps.HttpServerApp;
import dev.merapi.core.internal.ConnectionTracker;
import dev.merapi.core.internal.tls.TlsStage;
import dev.merapi.core.listeners.ConnectionFilter;
import dev.merapi.core.listeners.ConnectionStage;
import dev.merapi.core.listeners.ListenerConfig;
import dev.merapi.core.protocols.http1.Http1Options;
import dev.merapi.core.protocols.http1.Http1Protocol;
import dev.merapi.core.protocols.http2.Http2Options;
import dev.merapi.core.protocols.http2.Http2Protocol;
import dev.merapi.core.tls.ServerTls;
import java.net.SocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import org.jspecify.annotations.Nullable;

/**
 * A service that listens on one or more sockets and hands every HTTP request to an {@link HttpServerApp}.
 * Configure it before adding it to a server; the listeners are bound when the server starts. A proxy gets
 * one from {@code HttpProxy.service(name, proxy, options)}; {@link #http} is for other applications.
 *
 * <pre>{@code
 * ListeningService service = ListeningService.http("proxy", app).addTcp("0.0.0.0:8080");
 * server.addService(service);
 * }</pre>
 *
 * <p>Each accepted connection passes through the service's {@link ConnectionStage}s, in this order: the
 * {@link ConnectionFilter} (when one is set), the stages added with {@link #addStage}, then the protocol's
 * connection (HTTP/1.1, with the {@link Http1Options}; on a plain listener also HTTP/2 with prior knowledge, with the
 * {@link Http2Options}, unless {@link ListenerConfig#http2()} is off). A listener with TLS ({@link ListenerConfig#tls()}) adds its
 * handshake right after the filter. The server runs them without knowing what they are.
 *
 * <p>Not thread-safe while it is configured; once the server has started, its settings are only read.
 */
public final class ListeningService implements Service {
    private final String name;
    private final HttpServerApp app;
    private final List<ListenerConfig> listeners = new ArrayList<>();
    private final List<SocketAddress> bound = new CopyOnWriteArrayList<>();
    private final ConnectionTracker connections = new ConnectionTracker();
    private Http1Options http1Options = Http1Options.DEFAULT;
    private Http2Options http2Options = Http2Options.DEFAULT;
    private final List<ConnectionStage> stages = new ArrayList<>();
    private ConnectionFilter connectionFilter = ConnectionFilter.ACCEPT_ALL;

    private ListeningService(String name, HttpServerApp app) {
        this.name = Objects.requireNonNull(name, "name");
        this.app = Objects.requireNonNull(app, "app");
    }

    /** A service that serves HTTP with {@code app}. */
    public static ListeningService http(String name, HttpServerApp app) {
        return new ListeningService(name, app);
    }

    @Override
    public String name() {
        return name;
    }

    /** Adds a TCP listener on {@code host:port} (port 0 for any free port). */
    public ListeningService addTcp(String hostPort) {
        return addListener(ListenerConfig.tcp(hostPort));
    }

    /** Adds a Unix domain socket listener. */
    public ListeningService addUnix(Path path) {
        return addListener(ListenerConfig.unix(path));
    }

    /** Adds a listener with explicit socket options. */
    public ListeningService addListener(ListenerConfig listener) {
        listeners.add(Objects.requireNonNull(listener, "listener"));
        return this;
    }

    /** Sets the HTTP/1 limits and timeouts. */
    public ListeningService http1Options(Http1Options options) {
        this.http1Options = Objects.requireNonNull(options, "options");
        return this;
    }

    /** Sets the HTTP/2 bounds, for listeners that speak HTTP/2 ({@link ListenerConfig#http2()}). */
    public ListeningService http2Options(Http2Options options) {
        this.http2Options = Objects.requireNonNull(options, "options");
        return this;
    }

    /** Sets the filter that decides on each connection before any byte is read. */
    public ListeningService connectionFilter(ConnectionFilter filter) {
        this.connectionFilter = Objects.requireNonNull(filter, "filter");
        return this;
    }

    /**
     * Adds a stage that every accepted connection passes through after the {@link ConnectionFilter} and before the
     * protocol's connection; stages run in the order they were added.
     */
    public ListeningService addStage(ConnectionStage stage) {
        stages.add(Objects.requireNonNull(stage, "stage"));
        return this;
    }

    /**
     * The stages an accepted connection passes through, in order: the connection filter (unless it accepts every
     * connection, when it is left out), the added stages, and last the protocol's connection.
     */
    public List<ConnectionStage> connectionStages() {
        return stages(null, true);
    }

    /**
     * The stages a connection accepted by {@code listener} passes through: as {@link #connectionStages()}, with the
     * listener's TLS handshake right after the connection filter when it has {@link ListenerConfig#tls() TLS}. Builds
     * the TLS contexts, so a TLS listener's bad settings fail here, before it listens.
     *
     * @throws dev.merapi.core.tls.TlsConfigException if the TLS library refuses the listener's TLS settings
     */
    public List<ConnectionStage> connectionStages(ListenerConfig listener) {
        return stages(listener.tls().map(tls -> TlsStage.of(listener.http2() ? tls
                : tls.toBuilder().alpn(ServerTls.Alpn.HTTP1).build(), listener)).orElse(null), listener.http2());
    }

    private List<ConnectionStage> stages(@Nullable ConnectionStage tls, boolean http2) {
        List<ConnectionStage> all = new ArrayList<>(stages.size() + 3);
        if (connectionFilter != ConnectionFilter.ACCEPT_ALL) {
            all.add(new FilterStage(connectionFilter));
        }
        if (tls != null) {
            all.add(tls);
        }
        all.addAll(stages);
        Http1Protocol http1 = Http1Protocol.of(app, http1Options, connections);
        if (!http2) {
            all.add(http1);
        } else if (tls != null) {
            all.add(Http2Protocol.of(app, http1Options, http2Options, connections).byAlpn(http1)); // h2 by ALPN
        } else {
            all.add(http1.withPriorKnowledge(Http2Protocol.of(app, http1Options, http2Options, connections))); // h2c
        }
        return List.copyOf(all);
    }

    /** The configured listeners. */
    public List<ListenerConfig> listeners() {
        return List.copyOf(listeners);
    }

    /** The application. */
    public HttpServerApp app() {
        return app;
    }

    /** The HTTP/1 options. */
    public Http1Options http1Options() {
        return http1Options;
    }

    /** The HTTP/2 bounds. */
    public Http2Options http2Options() {
        return http2Options;
    }

    /** The connection filter. */
    public ConnectionFilter connectionFilter() {
        return connectionFilter;
    }

    /** The addresses actually bound, in listener order, once the server has started (real ports for port 0). */
    public List<SocketAddress> boundAddresses() {
        return List.copyOf(bound);
    }

    /** How many downstream connections are open now. */
    public int openConnections() {
        return connections.count();
    }

    /** The open-connection registry; used by the server for graceful shutdown. */
    public ConnectionTracker connectionTracker() {
        return connections;
    }

    /** Records a bound address; called by the server. */
    public void bound(SocketAddress address) {
        bound.add(address);
    }

    @Override
    public String toString() {
        return "ListeningService[" + name + ", " + listeners.size() + " listeners]";
    }
}
