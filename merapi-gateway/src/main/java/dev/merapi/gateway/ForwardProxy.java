package dev.merapi.gateway;

import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.http.ResponseHeader;
import dev.merapi.proxy.ProxyHttp;
import dev.merapi.proxy.Session;
import dev.merapi.proxy.Stages;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;

/**
 * The plain reverse proxy of {@code merapi proxy}: every request goes to one upstream, unchanged but for
 * hop-by-hop headers. When {@code via} is set, responses carry a {@code Via} header naming this proxy.
 */
final class ForwardProxy implements ProxyHttp<Void> {
    private final Supplier<HttpPeer> peerSupplier;
    private final String via;
    private CompletionStage<HttpPeer> peer;

    ForwardProxy(HttpPeer peer, String via) {
        this(() -> peer, via);
    }

    /** A proxy whose peer is known only once the server has started; it is asked for it at the first request. */
    ForwardProxy(Supplier<HttpPeer> peer, String via) {
        this.peerSupplier = peer;
        this.via = via;
    }

    @Override
    public Void newCtx() {
        return null;
    }

    @Override
    public CompletionStage<HttpPeer> upstreamPeer(Session session, Void ctx) {
        CompletionStage<HttpPeer> p = peer;
        if (p == null) {
            p = Stages.completed(peerSupplier.get());
            peer = p; // a benign race: every loop computes the same peer
        }
        return p;
    }

    @Override
    public CompletionStage<Void> responseFilter(Session session, ResponseHeader upstreamResponse, Void ctx) {
        if (via != null) {
            upstreamResponse.headers().add("Via", via);
        }
        return Stages.DONE;
    }
}
