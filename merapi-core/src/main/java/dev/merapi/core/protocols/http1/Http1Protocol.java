package dev.merapi.core.protocols.http1;

import dev.merapi.core.apps.HttpServerApp;
import dev.merapi.core.internal.ConnectionTracker;
import dev.merapi.core.listeners.ConnectionStage;
import io.netty.channel.Channel;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The last stage of an HTTP/1.1 listener: installs an {@link Http1ServerConnection} that serves the connection with
 * {@code app}. A listening service makes one and puts it at the end of its {@link ConnectionStage}s; it is shared by
 * every connection of that service.
 *
 * <p>Thread-safe: it holds only settings; {@link #install} runs on the listener's event loop, before the connection
 * is registered, and the connection it installs then runs on the connection's own loop.
 */
public final class Http1Protocol implements ConnectionStage {
    private final HttpServerApp app;
    private final Http1Options options;
    private final ConnectionTracker tracker;
    private final @Nullable PriorKnowledge priorKnowledge;

    private Http1Protocol(HttpServerApp app, Http1Options options, ConnectionTracker tracker,
            @Nullable PriorKnowledge priorKnowledge) {
        this.app = Objects.requireNonNull(app, "app");
        this.options = Objects.requireNonNull(options, "options");
        this.tracker = Objects.requireNonNull(tracker, "tracker");
        this.priorKnowledge = priorKnowledge;
    }

    /**
     * HTTP/1.1 serving {@code app} within {@code options}, its connections registered with {@code tracker} for
     * graceful shutdown.
     */
    public static Http1Protocol of(HttpServerApp app, Http1Options options, ConnectionTracker tracker) {
        return new Http1Protocol(app, options, tracker, null);
    }

    /**
     * This HTTP/1.1 stage, also speaking {@code other} to connections that start with its preface (h2c with prior
     * knowledge on an HTTP/1.1 port).
     */
    public Http1Protocol withPriorKnowledge(PriorKnowledge other) {
        return new Http1Protocol(app, options, tracker, Objects.requireNonNull(other, "other"));
    }

    /** The limits and timeouts. */
    public Http1Options options() {
        return options;
    }

    /**
     * Installs the connection; the last stage, so {@code next} is not called. Always {@code true}.
     *
     * <p>Installed at accept, the connection starts when the channel becomes active. Installed later, by an earlier
     * stage's handler once it is done (after a TLS handshake, say; on the connection's event loop), the channel is
     * active already, so the connection is started here.
     */
    @Override
    public boolean install(Channel channel, Next next) {
        Http1ServerConnection connection = new Http1ServerConnection(app, options, tracker, priorKnowledge);
        channel.pipeline().addLast("http1", connection);
        if (channel.isRegistered() && channel.isActive()) {
            connection.channelActive(channel.pipeline().context(connection));
        }
        return true;
    }
}
