package dev.merapi.examples.websocket;

import dev.merapi.core.server.Server;
import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.error.ProxyError;
import dev.merapi.http.ResponseHeader;
import dev.merapi.proxy.FilterResult;
import dev.merapi.proxy.HttpProxy;
import dev.merapi.proxy.ProxyHttp;
import dev.merapi.proxy.ProxyOptions;
import dev.merapi.proxy.Session;
import dev.merapi.proxy.Stages;
import dev.merapi.proxy.TunnelOptions;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A WebSocket front for one upstream. Requests under {@code /ws} must be WebSocket upgrades (anything else gets
 * {@code 426 Upgrade Required}) from a browser page of an allowed origin (a foreign {@code Origin} gets 403, which
 * stops cross-site WebSocket hijacking); they reach the upstream, and once it answers 101 the connection is a tunnel
 * until either side closes or it sits idle for ten minutes. Other paths are proxied as plain HTTP. {@code logging}
 * runs once per tunnel, when it ends, with the bytes it carried.
 */
public final class WebSocketProxy implements ProxyHttp<Void> {
    private static final Logger log = LoggerFactory.getLogger(WebSocketProxy.class);

    private final HttpPeer upstream;
    private final Set<String> allowedOrigins;
    private final AtomicLong tunnels = new AtomicLong(); // shared by every event loop

    /**
     * @param upstream the origin, {@code host:port}
     * @param allowedOrigins the {@code Origin} values (such as {@code https://app.example}) whose pages may open a
     *     WebSocket; a client that sends no {@code Origin} (not a browser) is let through
     */
    public WebSocketProxy(String upstream, Set<String> allowedOrigins) {
        this.upstream = HttpPeer.of(upstream);
        this.allowedOrigins = Set.copyOf(allowedOrigins);
    }

    /** WebSocket is the only protocol passed on, and a tunnel closes after ten idle minutes. */
    public static ProxyOptions options() {
        return ProxyOptions.builder().tunnels(TunnelOptions.builder().upgradeProtocols(Set.of("websocket"))
                .idleTimeout(Duration.ofMinutes(10)).build()).build();
    }

    @Override
    public Void newCtx() {
        return null;
    }

    @Override
    public CompletionStage<FilterResult> requestFilter(Session session, Void ctx) {
        if (!session.requestHeader().path().startsWith("/ws")) {
            return FilterResult.CONTINUE_STAGE;
        }
        if (!session.isUpgrade()) {
            ResponseHeader h = ResponseHeader.of(426);
            h.headers().add("Upgrade", "websocket");
            session.respond(h, "this path speaks WebSocket only\n".getBytes(StandardCharsets.UTF_8));
            return FilterResult.RESPONDED_STAGE;
        }
        Optional<String> origin = session.requestHeader().header("Origin");
        if (origin.isPresent() && !allowedOrigins.contains(origin.get())) {
            session.respond(403, "text/plain; charset=utf-8", "origin not allowed\n");
            return FilterResult.RESPONDED_STAGE;
        }
        return FilterResult.CONTINUE_STAGE;
    }

    @Override
    public CompletionStage<HttpPeer> upstreamPeer(Session session, Void ctx) {
        return Stages.completed(upstream);
    }

    @Override
    public void logging(Session session, Optional<ProxyError> error, Void ctx) {
        session.tunnelStats().ifPresentOrElse(t -> {
            tunnels.incrementAndGet();
            log.info("websocket {} from {}: {} bytes up, {} bytes down, ended by {}", session.requestHeader().path(),
                    session.clientAddress(), t.bytesUpstream(), t.bytesDownstream(), t.end());
        }, () -> log.info("{} {} -> {}", session.requestHeader().method(), session.requestHeader().path(),
                session.responseStatus()));
    }

    /** How many WebSocket tunnels have ended. */
    public long tunnels() {
        return tunnels.get();
    }

    /**
     * Usage: {@code WebSocketProxy [LISTEN [UPSTREAM [ORIGIN...]]]}; by default 127.0.0.1:6190 in front of
     * 127.0.0.1:8000, allowing pages of http://localhost:6190.
     */
    public static void main(String[] args) {
        String listen = args.length > 0 ? args[0] : "127.0.0.1:6190";
        String upstream = args.length > 1 ? args[1] : "127.0.0.1:8000";
        Set<String> origins = args.length > 2 ? Set.of(java.util.Arrays.copyOfRange(args, 2, args.length))
                : Set.of("http://localhost:6190");
        Server server = new Server();
        server.addService(HttpProxy.service("websocket", new WebSocketProxy(upstream, origins), options()).addTcp(listen));
        server.run();
    }
}
