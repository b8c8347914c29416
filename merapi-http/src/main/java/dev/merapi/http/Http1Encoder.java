package dev.merapi.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;

/**
 * Writes HTTP/1.1 heads and chunk framing into buffers, one allocation per head, names in the case they were given.
 * Callers own the buffers they get back.
 *
 * <p>Every character is written as one byte: US-ASCII as it is, U+0080 to U+00FF as its ISO-8859-1 byte. It does
 * not check what it writes; the heads do, where each part is set ({@link Headers}, {@link RequestHeader},
 * {@link ResponseHeader}) or parsed, so a head never holds a CR, LF, NUL or a character above U+00FF here.
 */
public final class Http1Encoder {
    private static final byte[] CRLF = {'\r', '\n'};
    private static final byte[] LAST_CHUNK = {'0', '\r', '\n', '\r', '\n'};

    private Http1Encoder() {
    }

    /** Encodes a request head as HTTP/1.1. */
    public static ByteBuf encodeRequest(ByteBufAllocator alloc, RequestHeader req) {
        Headers h = req.headers();
        int size = req.method().length() + req.target().length() + 12 + headersSize(h);
        ByteBuf buf = alloc.buffer(size);
        ByteBufUtil.writeAscii(buf, req.method());
        buf.writeByte(' ');
        ByteBufUtil.writeAscii(buf, req.target());
        buf.writeByte(' ');
        ByteBufUtil.writeAscii(buf, HttpVersion.HTTP_1_1.text());
        buf.writeBytes(CRLF);
        writeHeaders(buf, h);
        return buf;
    }

    /** Encodes a response head; {@code version} is what the client spoke (HTTP/1.0 or HTTP/1.1). */
    public static ByteBuf encodeResponse(ByteBufAllocator alloc, ResponseHeader res, HttpVersion version) {
        Headers h = res.headers();
        String reason = res.reason();
        int size = reason.length() + 16 + headersSize(h);
        ByteBuf buf = alloc.buffer(size);
        ByteBufUtil.writeAscii(buf, version == HttpVersion.HTTP_1_0 ? "HTTP/1.0 " : "HTTP/1.1 ");
        int status = res.status();
        buf.writeByte('0' + status / 100).writeByte('0' + status / 10 % 10).writeByte('0' + status % 10);
        buf.writeByte(' ');
        ByteBufUtil.writeAscii(buf, reason);
        buf.writeBytes(CRLF);
        writeHeaders(buf, h);
        return buf;
    }

    /** Writes the header of one chunk of {@code size} bytes ({@code size} in hex, CRLF). */
    public static ByteBuf chunkHeader(ByteBufAllocator alloc, int size) {
        ByteBuf buf = alloc.buffer(10);
        ByteBufUtil.writeAscii(buf, Integer.toHexString(size));
        buf.writeBytes(CRLF);
        return buf;
    }

    /** Writes {@code CRLF}, which ends a chunk's data, into {@code buf}. */
    public static void chunkEnd(ByteBuf buf) {
        buf.writeBytes(CRLF);
    }

    /** The last chunk with no trailers: {@code 0 CRLF CRLF}. */
    public static ByteBuf lastChunk(ByteBufAllocator alloc) {
        return alloc.buffer(5).writeBytes(LAST_CHUNK);
    }

    /** The last chunk followed by {@code trailers} and the empty line that ends the body; the trailers as given. */
    public static ByteBuf lastChunk(ByteBufAllocator alloc, Headers trailers) {
        ByteBuf buf = alloc.buffer(3 + headersSize(trailers));
        buf.writeByte('0').writeBytes(CRLF);
        writeHeaders(buf, trailers);
        return buf;
    }

    private static int headersSize(Headers h) {
        int size = 2;
        for (int i = 0; i < h.size(); i++) {
            size += h.name(i).length() + h.value(i).length() + 4;
        }
        return size;
    }

    private static void writeHeaders(ByteBuf buf, Headers h) {
        for (int i = 0, n = h.size(); i < n; i++) {
            ByteBufUtil.writeAscii(buf, h.name(i));
            buf.writeByte(':').writeByte(' ');
            ByteBufUtil.writeAscii(buf, h.value(i));
            buf.writeBytes(CRLF);
        }
        buf.writeBytes(CRLF);
    }
}
