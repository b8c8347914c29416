package dev.merapi.core.listeners;

import io.netty.channel.Channel;
import java.util.List;
import java.util.Objects;

/**
 * One step an accepted downstream connection passes through on its way to the protocol that serves it.
 *
 * <p>A listening service lists its stages in order and the server runs them for every connection it accepts,
 * knowing nothing of what they do: the {@link ConnectionFilter} first, then (where configured) TLS, then the choice
 * of protocol, and last a protocol's server connection, which is a stage too: the one that installs its handler and
 * calls no further stage. Adding TLS or a second protocol adds stages; it never changes the server.
 *
 * <p>A stage decides at once or later:
 * <ul>
 *   <li>at once (a filter): it returns {@code false} to refuse the connection, or lets it through with
 *       {@code return next.install(channel)};</li>
 *   <li>later (a TLS handshake, an ALPN or preface choice): it adds its own handler to the pipeline and returns
 *       {@code true}; that handler calls {@code next.install(channel)} once it is done, on the connection's event
 *       loop, or closes the connection.</li>
 * </ul>
 * A stage that holds something for a connection (a slot, a counter) gives it back when the channel's close future
 * completes, or at once if {@code next.install} returns {@code false}: a connection refused while it is accepted
 * is closed without being registered, and its close future never completes.
 *
 * <p>Threading: {@link #install} runs on the listening socket's event loop, once per accepted connection, before the
 * connection is registered with its own loop (its addresses are known; nothing has been read from it and its
 * pipeline holds only what earlier stages added). It must be fast and must not block. A stage object is shared by
 * every connection of its service.
 */
@FunctionalInterface
public interface ConnectionStage {

    /**
     * Takes one accepted connection through this stage.
     *
     * @param channel the accepted connection, not registered yet
     * @param next the stages after this one; call its {@link Next#install} exactly once to let the connection on,
     *     before returning or later from a handler this stage added; never when refusing
     * @return {@code false} to refuse the connection (the server closes it before reading a byte), or what
     *     {@code next.install} returned; {@code true} when a handler of this stage will decide later
     */
    boolean install(Channel channel, Next next);

    /** The rest of a listener's stages, as seen by the stage before them. */
    @FunctionalInterface
    interface Next {
        /**
         * Takes the connection through the following stages, ending in its protocol's connection.
         *
         * @return {@code false} if one of them refused the connection at once, so that it will be closed unregistered
         */
        boolean install(Channel channel);
    }

    /**
     * Composes {@code stages} into one {@link Next} that runs them in order; the last stage is handed a {@code next}
     * that lets every connection through and installs nothing, which is where a protocol's connection stage goes.
     * The composition is built once per service; running it allocates nothing.
     */
    static Next chain(List<? extends ConnectionStage> stages) {
        Next next = channel -> true;
        for (int i = stages.size() - 1; i >= 0; i--) {
            ConnectionStage stage = Objects.requireNonNull(stages.get(i), "stage");
            Next after = next;
            next = channel -> stage.install(channel, after);
        }
        return next;
    }
}
