package dev.merapi.core.internal.http1;

import dev.merapi.http.Headers;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import org.jspecify.annotations.Nullable;

/**
 * Frames the body of one outgoing HTTP/1 message as its head announced it: no body, a Content-Length, chunks, or
 * bytes until the connection closes.
 *
 * <p>A Content-Length is held to: bytes beyond it are cut off (and {@link #write} says so, so that the caller closes
 * the connection rather than let them pass for the next message), and {@link #end} says whether the body fell short.
 * One writer serves one connection and is {@linkplain #start started} again for each message. Call on the channel's
 * event loop; writes do not flush.
 */
public final class BodyWriter {
    /** How the body of the current message is delimited. */
    public enum Framing {
        /** No body may follow the head (a response to HEAD, a 204 or 304, a message that ended with its head). */
        NONE,
        /** A Content-Length; {@link #remaining()} counts down. */
        LENGTH,
        /** Chunked transfer coding. */
        CHUNKED,
        /** The body ends when the connection closes (a response to an HTTP/1.0 client without a length). */
        UNTIL_CLOSE
    }

    private Framing framing = Framing.NONE;
    private long remaining;

    /**
     * Starts the body of a new message.
     *
     * @param length the Content-Length for {@link Framing#LENGTH}; ignored otherwise
     */
    public void start(Framing framing, long length) {
        this.framing = framing;
        this.remaining = framing == Framing.LENGTH ? length : 0;
    }

    /** How the current body is delimited. */
    public Framing framing() {
        return framing;
    }

    /** The bytes a Content-Length body still owes; 0 for other framings. */
    public long remaining() {
        return remaining;
    }

    /**
     * Counts {@code n} bytes of a Content-Length body that go out around this writer (spliced in the kernel).
     *
     * @throws IllegalStateException if the body is not length-delimited or owes fewer bytes
     */
    public void skipped(long n) {
        if (framing != Framing.LENGTH || n > remaining) {
            throw new IllegalStateException("skipped " + n + " bytes of a " + framing + " body with " + remaining + " left");
        }
        remaining -= n;
    }

    /**
     * Writes one piece of the body, framed.
     *
     * @param data the piece; ownership passes to this method, which writes or releases it
     * @return {@code false} if the piece went beyond the Content-Length and was cut to it: the body is complete and
     *     the connection must close after it
     */
    public boolean write(ChannelHandlerContext ctx, ByteBuf data) {
        switch (framing) {
            case NONE -> data.release();
            case CHUNKED -> ChunkWriter.write(ctx, data);
            case UNTIL_CLOSE -> writeRaw(ctx, data);
            case LENGTH -> {
                int n = data.readableBytes();
                if (n > remaining) {
                    data.writerIndex(data.readerIndex() + (int) remaining);
                    remaining = 0;
                    writeRaw(ctx, data);
                    return false;
                }
                remaining -= n;
                writeRaw(ctx, data);
            }
        }
        return true;
    }

    /**
     * Ends the body: the last chunk for a chunked one.
     *
     * @return {@code false} if a Content-Length body fell short of its length, so that the peer must see the
     *     connection close
     */
    public boolean end(ChannelHandlerContext ctx) {
        return end(ctx, null);
    }

    /**
     * Ends the body as {@link #end(ChannelHandlerContext)} does, with {@code trailers} in the last chunk of a chunked
     * body; any other framing cannot carry them, and they are dropped.
     *
     * @return as {@link #end(ChannelHandlerContext)}
     */
    public boolean end(ChannelHandlerContext ctx, @Nullable Headers trailers) {
        if (framing == Framing.CHUNKED) {
            if (trailers == null) {
                ChunkWriter.end(ctx);
            } else {
                ChunkWriter.end(ctx, trailers);
            }
        }
        boolean whole = framing != Framing.LENGTH || remaining == 0;
        framing = Framing.NONE;
        remaining = 0;
        return whole;
    }

    private static void writeRaw(ChannelHandlerContext ctx, ByteBuf data) {
        if (data.isReadable()) {
            ctx.write(data, ctx.voidPromise());
        } else {
            data.release();
        }
    }
}
