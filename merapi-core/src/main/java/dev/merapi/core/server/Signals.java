package dev.merapi.core.server;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;

/** Maps SIGTERM to graceful shutdown and SIGINT to fast shutdown. */
final class Signals {
    private static final Logger log = LoggerFactory.getLogger(Signals.class);

    private Signals() {
    }

    static void install(Runnable onTerm, Runnable onInt) {
        handle("TERM", onTerm);
        handle("INT", onInt);
    }

    private static void handle(String name, Runnable action) {
        try {
            Signal.handle(new Signal(name), sig -> Thread.ofPlatform().name("merapi-shutdown").start(action));
        } catch (IllegalArgumentException e) {
            log.warn("cannot handle SIG{}: {}", name, e.getMessage());
        }
    }
}
