package dev.merapi.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.nio.charset.Charset;
import java.util.Objects;

/**
 * One piece of a body as a body filter sees it. The content is borrowed: it is valid during the filter
 * call only. To keep it, take a {@link #copy()}; to change it, {@link #replace} it.
 *
 * <p>A piece is what one read brought, not a chunk as the sender framed it: the data of all the chunks of a
 * chunked body that one read holds comes as one piece, so a body of many tiny chunks costs a filter a call per read,
 * not per chunk. Chunk boundaries and extensions are not kept.
 *
 * <p>One holder is reused for every chunk of a request, so filters cost no allocation per chunk.
 */
public final class BodyChunk {
    private ByteBuf content;

    /** Creates an empty holder; used by the proxy. */
    public BodyChunk() {
        content = Unpooled.EMPTY_BUFFER;
    }

    /** The bytes of this chunk, borrowed for the duration of the call. Never retain or release it. */
    public ByteBuf content() {
        return content;
    }

    /** How many bytes the chunk holds. */
    public int readableBytes() {
        return content.readableBytes();
    }

    /** Whether the chunk is empty (as the last chunk often is). */
    public boolean isEmpty() {
        return !content.isReadable();
    }

    /** A copy of the bytes on the heap, which the caller may keep. */
    public byte[] copy() {
        return ByteBufUtil.getBytes(content);
    }

    /** The bytes decoded with {@code charset}. */
    public String toString(Charset charset) {
        return content.toString(charset);
    }

    /**
     * Replaces the chunk's bytes. The framework takes ownership of {@code replacement} and releases the
     * old content; pass an empty buffer to drop the chunk.
     */
    public void replace(ByteBuf replacement) {
        Objects.requireNonNull(replacement, "replacement");
        if (replacement != content) {
            content.release();
            content = replacement;
        }
    }

    /** Replaces the chunk's bytes with a copy of {@code bytes}. */
    public void replace(byte[] bytes) {
        replace(Unpooled.wrappedBuffer(bytes));
    }

    /** Sets the content before a filter runs; the holder owns it. Used by the proxy. */
    void set(ByteBuf data) {
        content = data;
    }

    /** Takes the content back after a filter ran; the caller owns it. Used by the proxy. */
    ByteBuf take() {
        ByteBuf c = content;
        content = Unpooled.EMPTY_BUFFER;
        return c;
    }
}
