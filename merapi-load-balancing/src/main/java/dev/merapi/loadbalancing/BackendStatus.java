package dev.merapi.loadbalancing;

import java.time.Duration;

/**
 * A snapshot of one backend's state in a load balancer, for status pages and metrics.
 *
 * @param backend the backend
 * @param available whether it may take new requests now
 * @param healthy what active checks last decided (true without active checks)
 * @param enabled false once disabled at run time
 * @param draining whether it is draining
 * @param ejected whether passive outlier detection has it out now
 * @param inflight requests in flight
 * @param latency its peak-EWMA latency, zero before any sample
 * @param healthChanges how many times active checks changed its health
 * @param ejections how many times it was ejected
 * @param lastCheck the last active check's outcome, empty before one ran
 */
public record BackendStatus(Backend backend, boolean available, boolean healthy, boolean enabled, boolean draining,
        boolean ejected, int inflight, Duration latency, long healthChanges, long ejections, String lastCheck) {
}
