package dev.merapi.core.internal.http1;

import dev.merapi.http.Headers;
import dev.merapi.http.Http1Encoder;
import dev.merapi.http.TrailerFields;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;

/**
 * Writes the pieces of a chunked HTTP/1 body to a channel: each piece as one chunk, then the last chunk.
 *
 * <p>Call on the channel's event loop. Writes do not flush; the caller flushes when a message or a burst ends.
 */
public final class ChunkWriter {
    /** The CRLF after a chunk's data: shared and never released, so a chunk costs no buffer for its end. */
    private static final ByteBuf CRLF = Unpooled.unreleasableBuffer(
            Unpooled.directBuffer(2).writeByte('\r').writeByte('\n')).asReadOnly();

    private ChunkWriter() {
    }

    /**
     * Writes {@code data} as one chunk: its size line, the data and CRLF. An empty buffer writes nothing, since a
     * chunk of size zero would end the body.
     *
     * @param data the chunk's data; ownership passes to this method, which writes or releases it
     */
    public static void write(ChannelHandlerContext ctx, ByteBuf data) {
        int n = data.readableBytes();
        if (n == 0) {
            data.release();
            return;
        }
        ctx.write(Http1Encoder.chunkHeader(ctx.alloc(), n), ctx.voidPromise());
        ctx.write(data, ctx.voidPromise());
        ctx.write(CRLF.duplicate(), ctx.voidPromise());
    }

    /** Writes the last chunk, with no trailers, which ends the body. */
    public static void end(ChannelHandlerContext ctx) {
        ctx.write(Http1Encoder.lastChunk(ctx.alloc()), ctx.voidPromise());
    }

    /** Writes the last chunk with {@code trailers} (those that may be forwarded: {@link TrailerFields}), which ends the body. */
    public static void end(ChannelHandlerContext ctx, Headers trailers) {
        Headers kept = TrailerFields.forwardable(trailers);
        ctx.write(kept.isEmpty() ? Http1Encoder.lastChunk(ctx.alloc()) : Http1Encoder.lastChunk(ctx.alloc(), kept),
                ctx.voidPromise());
    }
}
