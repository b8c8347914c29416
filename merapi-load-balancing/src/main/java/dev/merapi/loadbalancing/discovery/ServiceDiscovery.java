package dev.merapi.loadbalancing.discovery;

import dev.merapi.loadbalancing.Backend;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A source of backends. The load balancer calls {@link #discover()} on a schedule, from a virtual thread of its
 * background service (never from an event loop), and swaps the set it returns in atomically. When it throws, or
 * returns no backend, the load balancer keeps the last good set and tries again sooner.
 *
 * <p>To plug in a registry (Consul's health API, Kubernetes EndpointSlices, a file), implement this one method;
 * it may block. docs/load-balancing.md shows one.
 */
@FunctionalInterface
public interface ServiceDiscovery {
    /**
     * The current backends.
     *
     * @return the set and, if the source knows it, how long it stays valid (a DNS TTL)
     * @throws Exception when the source cannot be read; the last good set stays
     */
    Discovered discover() throws Exception;

    /** A source that always returns these backends. */
    static ServiceDiscovery fixed(List<Backend> backends) {
        Discovered d = new Discovered(backends, Optional.empty());
        return () -> d;
    }

    /**
     * What one discovery found.
     *
     * @param backends the backends, in a stable order
     * @param validFor how long the answer stays valid, if known; the next discovery runs then (bounded by the
     *     load balancer's minimum and maximum refresh intervals)
     */
    record Discovered(List<Backend> backends, Optional<Duration> validFor) {
        /** Copies the list. */
        public Discovered {
            backends = List.copyOf(backends);
            Objects.requireNonNull(validFor, "validFor");
        }
    }
}
