package dev.merapi.core.protocols.http1;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;

/**
 * Another protocol an HTTP/1.1 port also speaks to clients that start with its preface, as HTTP/2 with prior knowledge
 * (RFC 9113 §3.3) starts with {@code PRI * HTTP/2.0}. The HTTP/1.1 connection compares the first bytes of a
 * connection with {@link #preface()} as they arrive: on the first byte that differs it goes on as HTTP/1.1 with
 * nothing held back or copied; once the whole preface has arrived it removes itself and hands the connection over.
 *
 * <p>Thread-safe: shared by every connection of a listener; {@link #takeOver} runs on the connection's event loop.
 */
public interface PriorKnowledge {
    /** The bytes a connection in this protocol starts with; a read-only buffer that is never released. */
    ByteBuf preface();

    /**
     * Serves {@code channel} from now on. The HTTP/1.1 connection has removed itself and forgotten the channel, which
     * is active, with AUTO_READ off.
     *
     * @param received what was read so far, the preface first; the callee owns it
     */
    void takeOver(Channel channel, ByteBuf received);
}
