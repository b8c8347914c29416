package dev.merapi.core.connectors;

import dev.merapi.core.protocols.ServerSession;
import dev.merapi.core.tunnels.TunnelEnd;
import dev.merapi.error.ErrorSource;
import dev.merapi.error.ErrorType;
import dev.merapi.error.ProxyError;
import dev.merapi.http.Headers;
import dev.merapi.http.RequestHeader;
import dev.merapi.http.ResponseHeader;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.Optional;

/**
 * One upstream connection while it carries one request: write the request, read the response on demand,
 * then {@link #release()} it to the pool (or close it when it cannot be reused).
 *
 * <p>Threading: every method must be called on the event loop of the downstream session that asked for it, which
 * is the connection's own; every {@link Handler} callback runs there.
 *
 * <p>Buffers: {@link #writeBody} takes ownership; {@link Handler#onBody} hands ownership to the handler.
 */
public interface ClientSession {

    /** Whether this connection came from the pool (it served earlier requests). */
    boolean isReused();

    /** Sets the handler of response, writability and error events; before writing the request. */
    void setHandler(Handler handler);

    /**
     * Writes the request head; framing headers follow {@link RequestHeader#bodyLength()} (Content-Length,
     * chunked, or none). Not flushed unless {@code endOfStream}.
     */
    void writeRequestHeader(RequestHeader request, boolean endOfStream);

    /** Writes a piece of the request body, taking ownership of {@code data}. Not flushed unless {@code endOfStream}. */
    void writeBody(ByteBuf data, boolean endOfStream);

    /**
     * Ends the request with {@code trailers} after the body written so far, as {@code writeBody(empty, true)} would
     * end it without them. A protocol that can carry trailers sends them (HTTP/2; HTTP/1.1 when the request is
     * chunked); otherwise they are dropped and the request ends the same way. Flushed. The default drops them.
     */
    default void writeTrailers(Headers trailers) {
        writeBody(Unpooled.EMPTY_BUFFER, true);
    }

    /**
     * The trailers that ended the response body, once {@link Handler#onBody} has delivered its end; empty when
     * there were none, when the body has not ended yet, or when the protocol cannot carry them. The default has none.
     */
    default Optional<Headers> responseTrailers() {
        return Optional.empty();
    }

    /** Flushes what was written. */
    void flush();

    /** Whether the upstream can take more data now; if not, {@link Handler#onWritable()} follows. */
    boolean isWritable();

    /** Asks for the next piece of the response body: exactly one {@link Handler#onBody} or {@link Handler#onError} follows. */
    void readBody();

    /**
     * Instead of {@link #readBody()}: moves the rest of the response body straight from this connection's
     * socket into the downstream's ({@link ServerSession#spliceTarget}) with the kernel's {@code splice}, so
     * the body is never copied into the JVM. Possible only for a Content-Length body of at least
     * {@code minimum} bytes still to come, on the epoll transport, with both connections on this event loop;
     * bytes already read go out first. When it starts, exactly one {@link Handler#onBody} (empty, end of
     * stream) or {@link Handler#onError} follows, as after a {@link #readBody()} that read everything. The
     * upstream read timeout still applies: to the origin when it stops sending, and to the client when it
     * stops taking the body.
     *
     * @return the number of body bytes this call took over (counted as written downstream), or -1, changing
     *     nothing, when the body cannot be spliced and must be read with {@link #readBody()}
     */
    default long spliceBody(ServerSession downstream, long minimum) {
        return -1;
    }

    /**
     * Ends the use of this connection: back to the pool if the exchange completed cleanly and the
     * connection can be reused, closed otherwise. Call it exactly once.
     */
    void release();

    /** Closes the connection now; it is never reused. */
    void abort();

    /**
     * Takes the connection out of HTTP for a tunnel: after {@link Handler#onUpgrade} (the origin switched protocols),
     * or on a fresh connection that carried no request (a CONNECT tunnel). Bytes the origin sent after the {@code 101}
     * head become the end's leftover. The session is done from then on: the connection is never pooled, and no
     * {@link Handler} event follows. The default cannot.
     *
     * @return the upstream end of the tunnel, or empty, changing nothing, when the connection cannot become one (it
     *     closed, or it is in the middle of an exchange that did not switch protocols)
     */
    default Optional<TunnelEnd> takeOver() {
        return Optional.empty();
    }

    /** Events of one upstream exchange, on the connection's event loop. */
    interface Handler {
        /** A 1xx interim response (never 101: see {@link #onUpgrade}). */
        void onInformational(ResponseHeader header);

        /**
         * The origin answered {@code 101 Switching Protocols} to a request that asked to upgrade ({@code Connection:
         * upgrade} with an {@code Upgrade} header); a 101 to any other request is an error. No more response events
         * follow: the handler either takes the connection with {@link ClientSession#takeOver()} or aborts the session.
         *
         * @implSpec reports an error, as for a response the handler cannot take
         */
        default void onUpgrade(ResponseHeader header) {
            onError(ProxyError.explain(ErrorType.Kind.INVALID_HTTP_HEADER, ErrorSource.UPSTREAM,
                    "unexpected 101 Switching Protocols"));
        }

        /** The final response head. */
        void onResponseHeader(ResponseHeader header);

        /** A piece of the response body, owned by the handler from now on. */
        void onBody(ByteBuf data, boolean endOfStream);

        /** The upstream can take more data again. */
        void onWritable();

        /** The exchange failed; the connection is already closed. */
        void onError(ProxyError error);
    }
}
