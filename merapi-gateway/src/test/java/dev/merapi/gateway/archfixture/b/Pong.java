package dev.merapi.gateway.archfixture.b;

import dev.merapi.core.internal.ConnectionTracker;
import dev.merapi.gateway.archfixture.a.Ping;

/**
 * The other half of the deliberate package cycle, which also reaches into another module's internal package;
 * {@code ArchitectureTest} must catch both. Not used elsewhere.
 */
public final class Pong {
    private Pong() {
    }

    /** Calls back across the cycle. */
    public static int pong(int n) {
        return n <= 0 ? new ConnectionTracker().count() : Ping.ping(n - 1);
    }
}
