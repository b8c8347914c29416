package dev.merapi.core.apps;

import dev.merapi.core.protocols.ServerSession;

/**
 * An application served by a {@link dev.merapi.core.services.ListeningService}: it is handed each well-formed downstream request.
 * Malformed requests never reach it; the session answers them (400, 414, 431, 405 for CONNECT...) itself.
 */
@FunctionalInterface
public interface HttpServerApp {
    /**
     * Handles one request. Runs on the session's event loop and must not block; it usually starts asynchronous
     * work and returns at once.
     */
    void onRequest(ServerSession session);
}
