package dev.merapi.loadbalancing.health;

import dev.merapi.loadbalancing.Backend;

/**
 * A change of a backend's state.
 *
 * @param backend the backend
 * @param kind what changed
 * @param reason why, for logs: the failed probe's message, the failure streak, or the operator's call
 */
public record HealthEvent(Backend backend, Kind kind, String reason) {
    /** What changed. */
    public enum Kind {
        /** Active checks turned it healthy. */
        HEALTHY,
        /** Active checks turned it unhealthy. */
        UNHEALTHY,
        /** Passive outlier detection took it out for a while. */
        EJECTED,
        /** Its ejection time ran out. */
        RETURNED,
        /** Enabled at run time. */
        ENABLED,
        /** Disabled at run time. */
        DISABLED,
        /** Draining: no new requests, in-flight ones finish. */
        DRAINING
    }
}
