package dev.merapi.http;

import dev.merapi.error.ProxyError;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * Decodes a chunked body (RFC 9112 §7.1) strictly: hex sizes without overflow, extensions that follow
 * the grammar, CRLF after every chunk, and trailer fields that follow the header rules. Trailers are
 * validated and kept ({@link #trailers()}), except the fields a sender must not put in a trailer section
 * (RFC 9110 §6.5.1: framing, routing and connection fields such as Content-Length, Transfer-Encoding, Host),
 * which are dropped so that no recipient can take them for framing.
 *
 * <p>{@link #decode(ByteBuf, ByteBufAllocator)} is the one a proxy uses: it turns everything one read brought into
 * one piece, so a body sent as a million one-byte chunks costs a few passes, not a million deliveries.
 *
 * <p>One instance per message; it belongs to one event loop.
 */
public final class ChunkedDecoder {
    private enum State { SIZE, DATA, DATA_CRLF, TRAILERS, DONE }

    private static final int MAX_SIZE_DIGITS = 15; // 2^60: far beyond any body, and no overflow

    private final boolean request;
    private final Http1Limits limits;
    private State state = State.SIZE;
    private long remaining;
    private int trailerBytes;
    private long total;
    private @Nullable Headers trailers;

    /**
     * @param limits the chunk-line and trailer limits
     * @param request whether this decodes a request body (errors are 400s) or a response body (upstream {@code INVALID_HTTP_BODY} errors, 502s)
     */
    public ChunkedDecoder(Http1Limits limits, boolean request) {
        this.limits = limits;
        this.request = request;
    }

    /** Whether the last chunk and the trailers have been read. */
    public boolean isDone() {
        return state == State.DONE;
    }

    /**
     * The trailer fields that followed the last chunk, once {@link #isDone()}; empty when there were none (or none
     * that may be forwarded).
     */
    public Optional<Headers> trailers() {
        return Optional.ofNullable(trailers);
    }

    /** How many body bytes (chunk data only) have been decoded so far. */
    public long decodedBytes() {
        return total;
    }

    /**
     * Decodes as far as {@code in} allows and returns the next piece of body data, which the caller owns.
     *
     * @return a retained slice of chunk data; an empty buffer once the body is done (check {@link #isDone()});
     *     or {@code null} when more input is needed
     * @throws dev.merapi.error.ProxyError if the encoding breaks a rule
     */
    public @Nullable ByteBuf decode(ByteBuf in) {
        int n = advance(in);
        if (n > 0) {
            consumed(n);
            return in.readRetainedSlice(n);
        }
        return state == State.DONE ? Unpooled.EMPTY_BUFFER : null;
    }

    /**
     * Decodes everything {@code in} holds and returns the data of all the chunks in it as one buffer, which the
     * caller owns: however small the sender's chunks, one pass yields at most one piece. The data of a single
     * chunk (or of the part of one that {@code in} holds) is a retained slice of {@code in}, with no copy; the
     * data of several is copied once, in order, into one buffer from {@code alloc}, no larger than what {@code in}
     * held. So the work per pass is bounded by the bytes read, whatever the number of chunks.
     *
     * @param in the received bytes; what is decoded is consumed, what belongs to an incomplete line stays
     * @param alloc where a buffer for the data of several chunks comes from
     * @return the chunk data (empty when the body ended with no data in this pass; check {@link #isDone()}),
     *     or {@code null} when {@code in} held no data and the body is not done
     * @throws dev.merapi.error.ProxyError if the encoding breaks a rule; data decoded in this pass is dropped
     */
    public @Nullable ByteBuf decode(ByteBuf in, ByteBufAllocator alloc) {
        int first = -1;
        int firstLength = 0;
        ByteBuf joined = null;
        try {
            int n;
            while ((n = advance(in)) > 0) {
                if (first < 0) {
                    // the first piece is only marked: it becomes a slice if no other piece follows
                    first = in.readerIndex();
                    firstLength = n;
                } else {
                    if (joined == null) {
                        // what can still come is bounded by what is left in the input
                        joined = alloc.buffer(firstLength + in.readableBytes());
                        joined.writeBytes(in, first, firstLength);
                    }
                    if (n == 1) {
                        joined.writeByte(in.getByte(in.readerIndex()));
                    } else {
                        joined.writeBytes(in, in.readerIndex(), n);
                    }
                }
                in.skipBytes(n);
                consumed(n);
            }
        } catch (RuntimeException e) {
            if (joined != null) {
                joined.release();
            }
            throw e;
        }
        if (joined != null) {
            return joined;
        }
        if (first >= 0) {
            return in.retainedSlice(first, firstLength);
        }
        return state == State.DONE ? Unpooled.EMPTY_BUFFER : null;
    }

    /** Counts {@code n} bytes of chunk data as taken by the caller. */
    private void consumed(int n) {
        remaining -= n;
        total += n;
        if (remaining == 0) {
            state = State.DATA_CRLF;
        }
    }

    /**
     * Reads framing until chunk data is at the reader index of {@code in}, and returns how many bytes of it are
     * there (without consuming them); 0 when more input is needed or the body is done.
     */
    private int advance(ByteBuf in) {
        while (true) {
            switch (state) {
                case SIZE -> {
                    int lf = lineEnd(in, limits.maxChunkLine() + 2, "chunk-size line");
                    if (lf < 0) {
                        return 0;
                    }
                    long size = parseSize(in, in.readerIndex(), lf - 1);
                    in.readerIndex(lf + 1);
                    if (size == 0) {
                        state = State.TRAILERS;
                    } else {
                        remaining = size;
                        state = State.DATA;
                    }
                }
                case DATA -> {
                    return (int) Math.min(in.readableBytes(), remaining);
                }
                case DATA_CRLF -> {
                    if (in.readableBytes() < 2) {
                        if (in.readableBytes() == 1 && in.getByte(in.readerIndex()) != '\r') {
                            throw Http1Parser.failBody(request, 400, "bad-chunk", "chunk data is not followed by CRLF");
                        }
                        return 0;
                    }
                    if (in.getByte(in.readerIndex()) != '\r' || in.getByte(in.readerIndex() + 1) != '\n') {
                        throw Http1Parser.failBody(request, 400, "bad-chunk", "chunk data is not followed by CRLF");
                    }
                    in.skipBytes(2);
                    state = State.SIZE;
                }
                case TRAILERS -> {
                    // the trailer fields with their CRLFs count toward the limit; the final empty line does not
                    int lf = lineEnd(in, Math.max(limits.maxTrailerBytes() - trailerBytes, 2), "trailer section");
                    if (lf < 0) {
                        return 0;
                    }
                    int start = in.readerIndex();
                    trailerBytes += lf + 1 - start;
                    if (lf - 1 == start) {
                        in.readerIndex(lf + 1);
                        state = State.DONE;
                        return 0;
                    }
                    if (trailerBytes > limits.maxTrailerBytes()) {
                        throw Http1Parser.failBody(request, 400, "chunk-line-too-long", "trailer section is too long");
                    }
                    int colon;
                    try {
                        colon = Http1Parser.headerLine(in, start, lf - 1, request);
                    } catch (ProxyError e) {
                        // a trailer line is part of the body: a broken one is a body error, not a head error
                        throw request ? e : Http1Parser.trailerError(e);
                    }
                    keepTrailer(in.toString(start, colon - start, StandardCharsets.ISO_8859_1),
                            Http1Parser.value(in, colon + 1, lf - 1));
                    in.readerIndex(lf + 1);
                }
                case DONE -> {
                    return 0;
                }
            }
        }
    }

    private void keepTrailer(String name, String value) {
        if (TrailerFields.isForbidden(name)) {
            return;
        }
        if (trailers == null) {
            trailers = new Headers(4);
        }
        trailers.add(name, value);
    }

    /**
     * Finds the LF that ends the current line, checking CR before it and that the line, CRLF included, fits in
     * {@code max} bytes; -1 if incomplete.
     */
    private int lineEnd(ByteBuf in, int max, String what) {
        int start = in.readerIndex();
        int lf = in.indexOf(start, start + Math.min(in.readableBytes(), max), (byte) '\n');
        if (lf < 0) {
            if (in.readableBytes() >= max) {
                throw Http1Parser.failBody(request, 400, "chunk-line-too-long", what + " is too long");
            }
            return -1;
        }
        if (lf == start || in.getByte(lf - 1) != '\r') {
            throw Http1Parser.failBody(request, 400, "bare-lf", "a line of the chunked body ends in LF without CR");
        }
        return lf;
    }

    private long parseSize(ByteBuf in, int from, int cr) {
        long size = 0;
        int i = from;
        int digits = 0;
        for (; i < cr; i++) {
            int d = Character.digit(in.getByte(i), 16);
            if (d < 0) {
                break;
            }
            if (size == 0 && d == 0 && digits == 0) {
                // a leading zero is allowed and does not count toward the overflow bound
                size = 0;
            } else {
                digits++;
            }
            size = (size << 4) | d;
            if (digits > MAX_SIZE_DIGITS) {
                throw Http1Parser.failBody(request, 400, "bad-chunk-size", "chunk size overflows");
            }
        }
        if (i == from) {
            throw Http1Parser.failBody(request, 400, "bad-chunk-size", "chunk size is not hexadecimal");
        }
        checkExtensions(in, i, cr);
        return size;
    }

    /** chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ) */
    private void checkExtensions(ByteBuf in, int i, int end) {
        while (i < end) {
            i = skipBws(in, i, end);
            if (i >= end || in.getByte(i) != ';') {
                throw Http1Parser.failBody(request, 400, "bad-chunk-extension", "chunk size followed by something other than an extension");
            }
            i = skipBws(in, i + 1, end);
            int nameStart = i;
            while (i < end && Tokens.isTchar(in.getByte(i))) {
                i++;
            }
            if (i == nameStart) {
                throw Http1Parser.failBody(request, 400, "bad-chunk-extension", "chunk extension without a name");
            }
            int afterName = skipBws(in, i, end);
            if (afterName < end && in.getByte(afterName) == '=') {
                i = skipBws(in, afterName + 1, end);
                if (i < end && in.getByte(i) == '"') {
                    i++;
                    boolean closed = false;
                    while (i < end) {
                        byte b = in.getByte(i);
                        if (b == '"') {
                            closed = true;
                            i++;
                            break;
                        }
                        if (b == '\\') {
                            i++;
                            if (i >= end) {
                                break;
                            }
                            b = in.getByte(i);
                        }
                        if (!Tokens.isFieldValueChar(b)) {
                            throw Http1Parser.failBody(request, 400, "bad-chunk-extension", "control character in a chunk extension");
                        }
                        i++;
                    }
                    if (!closed) {
                        throw Http1Parser.failBody(request, 400, "bad-chunk-extension", "unterminated quoted chunk extension");
                    }
                } else {
                    int valueStart = i;
                    while (i < end && Tokens.isTchar(in.getByte(i))) {
                        i++;
                    }
                    if (i == valueStart) {
                        throw Http1Parser.failBody(request, 400, "bad-chunk-extension", "chunk extension with an empty value");
                    }
                }
            }
            // else i stays after the name: whitespace there must lead to another ';', not to the end of the line
        }
    }

    private static int skipBws(ByteBuf in, int i, int end) {
        while (i < end && (in.getByte(i) == ' ' || in.getByte(i) == '\t')) {
            i++;
        }
        return i;
    }
}
