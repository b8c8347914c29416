package dev.merapi.loadbalancing.selection;

/**
 * What the load-aware algorithms read about the backends of one set, by index: reads of volatile or atomic
 * fields, no lock. The load balancer gives one to {@link Selector#candidates}.
 */
public interface BackendLoad {
    /** How many backends the set has. */
    int size();

    /** The weight of backend {@code i}. */
    int weight(int i);

    /** Requests started on backend {@code i} and not finished yet. */
    int inflight(int i);

    /** Backend {@code i}'s peak-EWMA latency in nanoseconds, decayed to now; 0 before the first sample. */
    long latencyNanos(int i);

    /** Whether backend {@code i} may take new requests now: enabled, not draining, healthy and not ejected. */
    boolean available(int i);
}
