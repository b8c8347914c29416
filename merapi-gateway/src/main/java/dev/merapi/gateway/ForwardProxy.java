package dev.merapi.gateway;

import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.proxy.ProxyHttp;
import dev.merapi.proxy.Session;
import dev.merapi.proxy.Stages;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * The plain reverse proxy of {@code merapi proxy}: every request goes to one upstream, unchanged but for what
 * {@link dev.merapi.proxy.HttpProxy} does to every request (hop-by-hop headers, {@code Via}, forwarding headers).
 */
final class ForwardProxy implements ProxyHttp<Void> {
    private final Supplier<HttpPeer> peerSupplier;
    private @Nullable CompletionStage<HttpPeer> peer;

    ForwardProxy(HttpPeer peer) {
        this(() -> peer);
    }

    /** A proxy whose peer is known only once the server has started; it is asked for it at the first request. */
    ForwardProxy(Supplier<HttpPeer> peer) {
        this.peerSupplier = peer;
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
}
