package dev.merapi.core.tunnels;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import java.util.Objects;

/**
 * One side of a tunnel: a connection whose HTTP handler has stepped aside, and the bytes it had already read past the
 * last HTTP message (the first bytes of the new protocol, which must reach the other side first).
 *
 * <p>Ownership: {@code leftover} belongs to whoever holds this end; {@link Tunnel#relay} takes it, and so does
 * {@link #close()}. The channel's HTTP handler stays in its pipeline and passes every read on to the tunnel.
 *
 * @param channel the connection, with AUTO_READ off, on the event loop that will relay it
 * @param leftover bytes read ahead, possibly empty; never forwarded by the HTTP handler
 */
public record TunnelEnd(Channel channel, ByteBuf leftover) {
    public TunnelEnd {
        Objects.requireNonNull(channel, "channel");
        Objects.requireNonNull(leftover, "leftover");
    }

    /** Drops this end unused: releases the leftover bytes and closes the connection. */
    public void close() {
        if (leftover.refCnt() > 0) {
            leftover.release();
        }
        channel.close();
    }
}
