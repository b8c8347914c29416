package dev.merapi.gateway;

import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.error.ErrorSource;
import dev.merapi.error.ErrorType;
import dev.merapi.error.ProxyError;
import dev.merapi.error.Retry;
import dev.merapi.http.ResponseHeader;
import dev.merapi.loadbalancing.Backend;
import dev.merapi.loadbalancing.LoadBalancer;
import dev.merapi.proxy.ProxyHttp;
import dev.merapi.proxy.Session;
import dev.merapi.proxy.Stages;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import java.util.function.UnaryOperator;

/**
 * The reverse proxy of {@code merapi proxy} over several upstreams: each request goes to the backend the
 * {@link LoadBalancer} chooses for its hash key; a failure before any response byte of an idempotent request is
 * retried on another backend; failures, 5xx and latency go back to the balancer. Requests go unchanged but for
 * hop-by-hop headers (the {@code Host} the client sent is kept, as with one upstream).
 */
final class BalancingProxy implements ProxyHttp<BalancingProxy.Ctx> {
    private final LoadBalancer balancer;
    private final Function<Session, byte[]> hashKey;
    private final UnaryOperator<HttpPeer> peers;

    /** One request's lease on the backend of its current attempt. */
    static final class Ctx extends LeaseHolder {
    }

    BalancingProxy(LoadBalancer balancer, Function<Session, byte[]> hashKey) {
        this(balancer, hashKey, UnaryOperator.identity());
    }

    /** @param peers turns a chosen backend's peer into the one connected to (its protocol, for example) */
    BalancingProxy(LoadBalancer balancer, Function<Session, byte[]> hashKey, UnaryOperator<HttpPeer> peers) {
        this.balancer = balancer;
        this.hashKey = hashKey;
        this.peers = peers;
    }

    @Override
    public Ctx newCtx() {
        return new Ctx();
    }

    @Override
    public CompletionStage<HttpPeer> upstreamPeer(Session session, Ctx ctx) {
        Optional<Backend> backend = ctx.leaseNext(balancer, hashKey, session);
        if (backend.isEmpty()) {
            return Stages.failed(ProxyError.explain(ErrorType.Kind.NO_UPSTREAM, ErrorSource.UPSTREAM, "no healthy upstream"));
        }
        return Stages.completed(peers.apply(backend.get().peer()));
    }

    @Override
    public ProxyError failToConnect(Session session, HttpPeer peer, ProxyError e, Ctx ctx) {
        ctx.failed();
        return e;
    }

    @Override
    public ProxyError errorWhileProxy(Session session, HttpPeer peer, ProxyError e, boolean reused, Ctx ctx) {
        ctx.failed();
        if (session.isRequestIdempotent() && !session.isResponseStarted()) {
            return e.withRetry(Retry.YES);
        }
        return ProxyHttp.super.errorWhileProxy(session, peer, e, reused, ctx);
    }

    @Override
    public void upstreamResponseFilter(Session session, ResponseHeader upstreamResponse, Ctx ctx) {
        ctx.responded(upstreamResponse.status());
    }

    @Override
    public void logging(Session session, Optional<ProxyError> error, Ctx ctx) {
        ctx.release();
    }
}
