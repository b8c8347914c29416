package dev.merapi.core.listeners;

import java.net.SocketAddress;

/**
 * Decides whether to serve a new downstream connection from its addresses alone, before any byte is read
 * (and, once TLS lands, before the handshake). A refused connection is closed at once, before it is registered with
 * an event loop, and recorded as the security event {@code connection-filter}.
 *
 * <p>It is the first of a listening service's {@link ConnectionStage}s. Runs on the listening socket's event loop,
 * once per accepted connection: it must be fast, must not block, and must be thread-safe when the server has more
 * than one listener.
 */
@FunctionalInterface
public interface ConnectionFilter {
    /** Accepts every connection. */
    ConnectionFilter ACCEPT_ALL = (remote, local) -> true;

    /**
     * @param remote the client's address
     * @param local the address the connection was accepted on
     * @return {@code true} to serve the connection, {@code false} to close it
     */
    boolean accept(SocketAddress remote, SocketAddress local);
}
