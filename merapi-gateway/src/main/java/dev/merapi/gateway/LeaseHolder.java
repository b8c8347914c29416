package dev.merapi.gateway;

import dev.merapi.loadbalancing.Backend;
import dev.merapi.loadbalancing.Lease;

/** The part of a request context that holds the lease on the backend of the current attempt. One request, one loop. */
class LeaseHolder {
    Lease lease;

    /** Ends the current lease, if any; returns its backend, or null if there was none. */
    final Backend release() {
        Lease l = lease;
        lease = null;
        if (l == null) {
            return null;
        }
        l.close();
        return l.backend();
    }
}
