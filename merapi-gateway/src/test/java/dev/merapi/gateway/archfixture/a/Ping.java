package dev.merapi.gateway.archfixture.a;

import dev.merapi.gateway.archfixture.b.Pong;

/** Half of a deliberate package cycle, which {@code ArchitectureTest} must catch; not used elsewhere. */
public final class Ping {
    private Ping() {
    }

    /** Calls across to the other package, which calls back. */
    public static int ping(int n) {
        return n <= 0 ? 0 : Pong.pong(n - 1);
    }
}
