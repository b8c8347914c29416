package dev.merapi.core.listeners;

import java.net.SocketAddress;

/**
 * Decides whether to serve a new downstream connection from its addresses alone, before any byte is read
 * (and, once TLS lands, before the handshake). A refused connection is closed at once.
 *
 * <p>Runs on the connection's event loop, once per accepted connection: it must be fast and must not block.
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
