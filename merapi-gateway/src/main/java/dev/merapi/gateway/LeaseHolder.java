package dev.merapi.gateway;

import dev.merapi.loadbalancing.Backend;
import dev.merapi.loadbalancing.Lease;
import dev.merapi.loadbalancing.LoadBalancer;
import dev.merapi.proxy.Session;
import java.util.Optional;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/** The part of a request context that holds the lease on the backend of the current attempt. One request, one loop. */
class LeaseHolder {
    private static final byte[] EMPTY = new byte[0];
    private @Nullable Lease lease;

    /** Ends the current lease, if any; returns its backend, or null if there was none. */
    final @Nullable Backend release() {
        Lease l = lease;
        lease = null;
        if (l == null) {
            return null;
        }
        l.close();
        return l.backend();
    }

    /**
     * Ends the current attempt's lease and leases the backend {@code balancer} chooses for the session's hash key,
     * other than that attempt's; empty, with no lease, if there is none.
     */
    final Optional<Backend> leaseNext(LoadBalancer balancer, Function<Session, byte[]> hashKey, Session session) {
        Backend failed = release();
        byte[] key = balancer.algorithm().usesKey() ? hashKey.apply(session) : EMPTY;
        Optional<Backend> backend = balancer.select(key, b -> failed == null || !b.equals(failed));
        backend.ifPresent(b -> lease = balancer.begin(b));
        return backend;
    }

    /** Reports the current attempt as failed, if there is one. */
    final void failed() {
        if (lease != null) {
            lease.failed();
        }
    }

    /** Reports the current attempt's response status, if there is one. */
    final void responded(int status) {
        if (lease != null) {
            lease.responded(status);
        }
    }
}
