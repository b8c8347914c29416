package dev.merapi.examples.loadbalancer;

import dev.merapi.core.server.Server;
import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.http.HeaderNames;
import dev.merapi.http.RequestHeader;
import dev.merapi.proxy.HttpProxy;
import dev.merapi.proxy.ProxyHttp;
import dev.merapi.proxy.Session;
import dev.merapi.proxy.Stages;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;

/** A load balancer: each request goes to the next upstream in turn (Pingora's quick start, in Java). */
public final class LoadBalancer implements ProxyHttp<Void> {
    private final List<HttpPeer> upstreams;
    private final AtomicInteger next = new AtomicInteger();

    /** @param upstreams {@code host:port} of each upstream, at least one */
    public LoadBalancer(List<String> upstreams) {
        if (upstreams.isEmpty()) {
            throw new IllegalArgumentException("no upstreams");
        }
        this.upstreams = upstreams.stream().map(HttpPeer::of).toList();
    }

    @Override
    public Void newCtx() {
        return null; // no per-request state
    }

    @Override
    public CompletionStage<HttpPeer> upstreamPeer(Session session, Void ctx) {
        return Stages.completed(upstreams.get(Math.floorMod(next.getAndIncrement(), upstreams.size())));
    }

    @Override
    public CompletionStage<Void> upstreamRequestFilter(Session session, RequestHeader upstreamRequest, Void ctx) {
        upstreamRequest.headers().set(HeaderNames.HOST, session.upstreamPeer().orElseThrow().defaultHost());
        return Stages.DONE;
    }

    /** Usage: {@code LoadBalancer [LISTEN [UPSTREAM...]]}; by default 127.0.0.1:6188 in front of :8000 and :8001. */
    public static void main(String[] args) {
        String listen = args.length > 0 ? args[0] : "127.0.0.1:6188";
        List<String> upstreams = args.length > 1 ? List.of(args).subList(1, args.length)
                : List.of("127.0.0.1:8000", "127.0.0.1:8001");
        Server server = new Server();
        server.addService(HttpProxy.service("load-balancer", new LoadBalancer(upstreams)).addTcp(listen));
        server.run(); // SIGTERM: graceful shutdown; Ctrl-C: fast
    }
}
