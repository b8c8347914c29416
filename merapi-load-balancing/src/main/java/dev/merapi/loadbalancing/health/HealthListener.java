package dev.merapi.loadbalancing.health;

/**
 * Told of every change of a backend's state, after it is logged and counted. Called on the thread that made the
 * change (a health-check thread, or an event loop for passive ejection): it must be quick and must not block.
 * An exception it throws is logged and ignored.
 */
@FunctionalInterface
public interface HealthListener {
    /** One change. */
    void changed(HealthEvent event);
}
