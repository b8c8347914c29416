package dev.merapi.core.internal.http1;

import dev.merapi.error.ErrorSource;
import dev.merapi.error.ErrorType;
import dev.merapi.error.ProxyError;
import dev.merapi.http.BodyLength;
import dev.merapi.http.ChunkedDecoder;
import dev.merapi.http.Headers;
import dev.merapi.http.Http1Limits;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.util.Objects;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * Reads the body of one received HTTP/1 message out of its connection's received bytes and hands it on one piece
 * per demand.
 *
 * <p>The framing is the message's: a Content-Length, chunked (what one read brought goes on as one piece, however
 * many chunks it held: {@link ChunkedDecoder#decode(ByteBuf, ByteBufAllocator)}), or, for a response only, until
 * the connection closes. The connection owns the received bytes and says what happens around the reader through
 * {@link Connection}: where the bytes are, how to wait for more, and who gets the pieces and the errors.
 *
 * <p>Delivery never re-enters itself: a demand made while a piece is being handed on (the usual case, as a handler
 * asks for the next piece from inside {@link Connection#onPiece}) is served by the loop already running, so the
 * caller's stack does not grow with the number of pieces, and the connection's own parse loop is never entered from
 * here. One reader serves one connection and is {@linkplain #start started} again for each message.
 *
 * <p>Belongs to one event loop; every method must be called on it.
 */
public final class BodyReader {
    /** Where the reader is in the current body. */
    public enum State {
        /** Counting down a Content-Length. */
        LENGTH,
        /** Decoding chunks. */
        CHUNKED,
        /** Taking everything until the connection closes (responses only). */
        UNTIL_CLOSE,
        /** Every byte of the body was read; the end is still to be handed on. */
        DONE,
        /** The end was handed on, or the reader failed or was stopped: nothing more comes. */
        ENDED
    }

    /** What the reader needs of the connection it reads from. Called on the connection's event loop. */
    public interface Connection {
        /** The bytes received and not yet consumed, or {@code null}; the reader consumes from its reader index. */
        @Nullable ByteBuf received();

        /** Whether the exchange the body belongs to still wants it; the loop stops as soon as it does not. */
        boolean wantsBody();

        /** Whether the peer's side of the connection is closed, so that no more bytes will come. */
        boolean inputEnded();

        /** The bytes so far hold no more of the body: wait for more (a read, and a timer for it). */
        void awaitBytes();

        /**
         * The next piece of the body, which the receiver owns. The demand that asked for it is used up; the reader's
         * state already says whether the body is done.
         *
         * @param end whether this is the last piece
         */
        void onPiece(ByteBuf piece, boolean end);

        /**
         * The body cannot be read to its end: its framing broke a rule ({@link ChunkedDecoder}'s error), or the
         * peer closed the connection before the end. The reader has ended.
         */
        void onBodyError(ProxyError e);
    }

    private final Connection connection;
    private final Http1Limits limits;
    private final ErrorSource source;
    private final ByteBufAllocator alloc;
    private State state = State.ENDED;
    private @Nullable ChunkedDecoder decoder;
    private long remaining;
    private boolean demand;
    private boolean delivering;

    /**
     * @param connection where the bytes come from and the pieces go
     * @param limits the limits for chunk lines and trailers
     * @param request whether this reads request bodies (from a client) or response bodies (from an origin)
     * @param alloc where a buffer joining the data of several chunks comes from
     */
    public BodyReader(Connection connection, Http1Limits limits, boolean request, ByteBufAllocator alloc) {
        this.connection = connection;
        this.limits = limits;
        this.source = request ? ErrorSource.DOWNSTREAM : ErrorSource.UPSTREAM;
        this.alloc = alloc;
    }

    /**
     * Starts reading a new message's body, dropping any demand left from the one before.
     *
     * @param bodyLength the message's framing, as {@link BodyLength} gives it: a length, {@link BodyLength#CHUNKED},
     *     {@link BodyLength#UNTIL_CLOSE} (responses only) or {@link BodyLength#NONE}
     */
    public void start(long bodyLength) {
        demand = false;
        decoder = null;
        remaining = 0;
        if (bodyLength == BodyLength.CHUNKED) {
            decoder = new ChunkedDecoder(limits, source == ErrorSource.DOWNSTREAM);
            state = State.CHUNKED;
        } else if (bodyLength == BodyLength.UNTIL_CLOSE) {
            state = State.UNTIL_CLOSE;
        } else if (bodyLength > 0) {
            remaining = bodyLength;
            state = State.LENGTH;
        } else {
            state = State.DONE;
        }
    }

    /** Where the reader is in the current body. */
    public State state() {
        return state;
    }

    /** Whether every byte of the body was read (its end may still be waiting for a demand). */
    public boolean isDone() {
        return state == State.DONE || state == State.ENDED;
    }

    /** Whether a demand is waiting for bytes. */
    public boolean hasDemand() {
        return demand;
    }

    /**
     * The trailers of a chunked body, once it was read to its end; empty for other framings, for a body not read to
     * its end, and for a chunked body that had none. {@link #start} forgets them.
     */
    public Optional<Headers> trailers() {
        return decoder != null && decoder.isDone() ? decoder.trailers() : Optional.empty();
    }

    /** The bytes of a Content-Length body not read yet; 0 for other framings. */
    public long remaining() {
        return remaining;
    }

    /**
     * Asks for the next piece: handed on now if the received bytes hold one, else once they do. Within a delivery
     * (from {@link Connection#onPiece}) it is served by the running loop when that call returns.
     */
    public void demand() {
        demand = true;
        if (!delivering) {
            deliver();
        }
    }

    /** Withdraws a waiting demand, when the exchange stops wanting the body. */
    public void cancelDemand() {
        demand = false;
    }

    /**
     * Counts {@code n} bytes of a Content-Length body that went around the reader (spliced in the kernel); the body
     * is done when they were the rest.
     */
    public void skipped(long n) {
        if (state != State.LENGTH || n > remaining) {
            throw new IllegalStateException("skipped " + n + " bytes of a body in state " + state + " with " + remaining + " left");
        }
        remaining -= n;
        if (remaining == 0) {
            state = State.DONE;
        }
    }

    /** Hands on pieces while they are wanted and the received bytes hold them: call when bytes arrive. */
    public void deliver() {
        if (delivering) {
            return;
        }
        delivering = true;
        try {
            while (demand && connection.wantsBody()) {
                ByteBuf piece = switch (state) {
                    case ENDED -> {
                        demand = false;
                        yield null;
                    }
                    case DONE -> Unpooled.EMPTY_BUFFER;
                    case CHUNKED -> decodeChunks(Objects.requireNonNull(decoder, "decoder"));
                    case UNTIL_CLOSE -> untilClose();
                    case LENGTH -> counted();
                };
                if (piece == null) {
                    if (demand) {
                        awaitOrEnd();
                    }
                    if (state != State.DONE) {
                        return;
                    }
                    continue; // a close-delimited body ended with the connection: its end goes on now
                }
                boolean end = state == State.DONE;
                if (end) {
                    state = State.ENDED;
                }
                demand = false;
                connection.onPiece(piece, end);
            }
        } finally {
            delivering = false;
        }
    }

    private @Nullable ByteBuf decodeChunks(ChunkedDecoder decoder) {
        ByteBuf in = connection.received();
        ByteBuf piece;
        try {
            piece = decoder.decode(in != null ? in : Unpooled.EMPTY_BUFFER, alloc);
        } catch (ProxyError e) {
            fail(e);
            return null;
        }
        if (decoder.isDone()) {
            state = State.DONE;
        }
        return piece;
    }

    private @Nullable ByteBuf untilClose() {
        ByteBuf in = connection.received();
        return in != null && in.isReadable() ? in.readRetainedSlice(in.readableBytes()) : null;
    }

    private @Nullable ByteBuf counted() {
        ByteBuf in = connection.received();
        int n = in == null ? 0 : (int) Math.min(in.readableBytes(), remaining);
        if (in == null || n == 0) {
            return null;
        }
        remaining -= n;
        if (remaining == 0) {
            state = State.DONE;
        }
        return in.readRetainedSlice(n);
    }

    /** No piece in the bytes so far: the body ends with the connection, or fails with it, or waits for more. */
    private void awaitOrEnd() {
        if (!connection.inputEnded()) {
            connection.awaitBytes();
            return;
        }
        if (state == State.UNTIL_CLOSE) {
            state = State.DONE;
            return;
        }
        fail(ProxyError.explain(ErrorType.Kind.CONNECTION_CLOSED, source, source == ErrorSource.DOWNSTREAM
                ? "client closed the connection during the request body"
                : "upstream closed the connection in the middle of the response body"));
    }

    private void fail(ProxyError e) {
        state = State.ENDED;
        demand = false;
        connection.onBodyError(e);
    }
}
