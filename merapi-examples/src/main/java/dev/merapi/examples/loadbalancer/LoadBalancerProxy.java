package dev.merapi.examples.loadbalancer;

import dev.merapi.core.server.Server;
import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.error.ErrorSource;
import dev.merapi.error.ErrorType;
import dev.merapi.error.ProxyError;
import dev.merapi.error.Retry;
import dev.merapi.http.HeaderNames;
import dev.merapi.http.RequestHeader;
import dev.merapi.http.ResponseHeader;
import dev.merapi.loadbalancing.Backend;
import dev.merapi.loadbalancing.Lease;
import dev.merapi.loadbalancing.LoadBalancer;
import dev.merapi.loadbalancing.health.HealthCheck;
import dev.merapi.loadbalancing.selection.SelectionAlgorithm;
import dev.merapi.proxy.HttpProxy;
import dev.merapi.proxy.ProxyHttp;
import dev.merapi.proxy.Session;
import dev.merapi.proxy.Stages;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.jspecify.annotations.Nullable;

/**
 * A load balancer with health checks (Pingora's quick start, in Java): round robin over healthy backends; a failed
 * idempotent request is retried on another backend; failures and latency feed back into the balancer.
 */
public final class LoadBalancerProxy implements ProxyHttp<LoadBalancerProxy.Ctx> {
    private final LoadBalancer balancer;

    /** Per request: the backend of the current attempt, counted in flight until released. */
    public static final class Ctx {
        @Nullable Lease lease; // none before upstreamPeer

        /** The lease of the current attempt; the phases after upstreamPeer always have one. */
        Lease lease() {
            return Objects.requireNonNull(lease, "upstreamPeer leases a backend first");
        }
    }

    public LoadBalancerProxy(LoadBalancer balancer) {
        this.balancer = balancer;
    }

    @Override
    public Ctx newCtx() {
        return new Ctx();
    }

    @Override
    public CompletionStage<HttpPeer> upstreamPeer(Session session, Ctx ctx) {
        Backend failed = ctx.lease == null ? null : ctx.lease.backend(); // a retry avoids the backend that failed
        if (ctx.lease != null) {
            ctx.lease.close();
        }
        Optional<Backend> backend = balancer.select(new byte[0], b -> failed == null || !b.equals(failed));
        if (backend.isEmpty()) {
            return Stages.failed(ProxyError.explain(ErrorType.Kind.NO_UPSTREAM, ErrorSource.UPSTREAM, "no healthy backend"));
        }
        ctx.lease = balancer.begin(backend.get());
        return Stages.completed(backend.get().peer());
    }

    @Override
    public CompletionStage<Void> upstreamRequestFilter(Session session, RequestHeader upstreamRequest, Ctx ctx) {
        upstreamRequest.headers().set(HeaderNames.HOST, session.upstreamPeer().orElseThrow().defaultHost());
        return Stages.DONE;
    }

    @Override
    public ProxyError failToConnect(Session session, HttpPeer peer, ProxyError e, Ctx ctx) {
        ctx.lease().failed();
        return e; // connect failures are retryable: nothing was sent
    }

    @Override
    public ProxyError errorWhileProxy(Session session, HttpPeer peer, ProxyError e, boolean reused, Ctx ctx) {
        ctx.lease().failed();
        boolean again = session.isRequestIdempotent() && !session.isResponseStarted();
        return again ? e.withRetry(Retry.YES) : ProxyHttp.super.errorWhileProxy(session, peer, e, reused, ctx);
    }

    @Override
    public void upstreamResponseFilter(Session session, ResponseHeader upstreamResponse, Ctx ctx) {
        ctx.lease().responded(upstreamResponse.status()); // latency, and 5xx for outlier ejection
    }

    @Override
    public void logging(Session session, Optional<ProxyError> error, Ctx ctx) {
        if (ctx.lease != null) {
            ctx.lease.close();
        }
    }

    /** Usage: {@code LoadBalancerProxy [LISTEN [UPSTREAM...]]}; by default 127.0.0.1:6188 in front of :8000 and :8001. */
    public static void main(String[] args) {
        String listen = args.length > 0 ? args[0] : "127.0.0.1:6188";
        List<String> upstreams = args.length > 1 ? List.of(args).subList(1, args.length) : List.of("127.0.0.1:8000", "127.0.0.1:8001");
        LoadBalancer balancer = LoadBalancer.builder(SelectionAlgorithm.roundRobin())
                .backends(upstreams.stream().map(Backend::of).toList()).healthCheck(HealthCheck.http("/")).build();
        Server server = new Server();
        server.addService(balancer.backgroundService()); // health checks, off the request path
        server.addService(HttpProxy.service("load-balancer", new LoadBalancerProxy(balancer)).addTcp(listen));
        server.run(); // SIGTERM: graceful shutdown; Ctrl-C: fast
    }
}
