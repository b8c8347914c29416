package dev.merapi.proxy;

import dev.merapi.core.tunnels.TunnelStats;
import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.error.ProxyError;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;

/** A {@link RecordingProxy} that also records, per {@code logging} call, the upgrade flag, the status and the tunnel. */
final class TunnelRecordingProxy extends RecordingProxy {
    final List<Optional<TunnelStats>> tunnels = new CopyOnWriteArrayList<>();
    final List<Integer> statuses = new CopyOnWriteArrayList<>();
    final List<Boolean> upgrades = new CopyOnWriteArrayList<>();

    TunnelRecordingProxy(HttpPeer peer) {
        super(peer);
    }

    TunnelRecordingProxy(Supplier<HttpPeer> peers) {
        super(peers);
    }

    @Override
    public void logging(Session session, Optional<ProxyError> error, Ctx ctx) {
        tunnels.add(session.tunnelStats());
        statuses.add(session.responseStatus());
        upgrades.add(session.isUpgrade());
        super.logging(session, error, ctx);
    }
}
