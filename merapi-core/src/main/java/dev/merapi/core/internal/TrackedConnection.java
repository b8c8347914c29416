package dev.merapi.core.internal;

import io.netty.channel.Channel;

/** A downstream connection as the shutdown logic sees it. */
public interface TrackedConnection {
    /** The connection's channel. */
    Channel channel();

    /**
     * Starts a graceful close: an idle connection closes now, an active one after its current response.
     * Must run on the channel's event loop.
     */
    void startShutdown();
}
