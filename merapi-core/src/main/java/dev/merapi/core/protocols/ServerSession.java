package dev.merapi.core.protocols;

import dev.merapi.core.tls.TlsInfo;
import dev.merapi.core.tunnels.TunnelEnd;
import dev.merapi.error.ProxyError;
import dev.merapi.http.Headers;
import dev.merapi.http.RequestHeader;
import dev.merapi.http.ResponseHeader;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import java.net.SocketAddress;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * One downstream request and its response, whatever the protocol: an HTTP/1.1 exchange today, an HTTP/2
 * stream later. The application reads the request body on demand and writes the response.
 *
 * <p>Threading: every method must be called on {@link #eventLoop()}, and every callback of the
 * {@link Handler} runs there. Nothing here blocks.
 *
 * <p>Buffers: {@link #writeBody} takes ownership of the buffer it is given; {@link Handler#onBody} hands
 * ownership of its buffer to the handler.
 */
public interface ServerSession {

    /** The request head; the application may edit it in place. */
    RequestHeader request();

    /** The event loop that runs this session. */
    EventLoop eventLoop();

    /** The client's address. */
    SocketAddress clientAddress();

    /** The local address the request arrived on. */
    SocketAddress serverAddress();

    /**
     * What the downstream connection's TLS handshake established (version, suite, SNI, ALPN, resumption, the verified
     * client certificate), or empty on a plain connection.
     *
     * @implSpec returns empty
     */
    default Optional<TlsInfo> tls() {
        return Optional.empty();
    }

    /** Whether an earlier request was served on the same downstream connection. */
    boolean isConnectionReused();

    /** Sets the handler of body, writability and error events; call it before {@link #readBody()}. */
    void setHandler(Handler handler);

    /** Whether the request has a body at all. */
    boolean hasRequestBody();

    /** Whether the whole request body has been delivered. */
    boolean isRequestBodyDone();

    /**
     * Asks for the next piece of the request body: exactly one {@link Handler#onBody} (or
     * {@link Handler#onError}) follows, now or when bytes arrive. Sends {@code 100 Continue} first when
     * the client asked for it.
     */
    void readBody();

    /** Writes an interim (1xx) response, if the client speaks a version that allows one; ignored otherwise. */
    void writeInterim(ResponseHeader header);

    /**
     * Writes the response head. The session sets the framing and connection headers for its protocol.
     *
     * @param endOfStream whether the response has no body
     * @throws IllegalStateException if a response head was already written
     */
    void writeResponseHeader(ResponseHeader header, boolean endOfStream);

    /**
     * Writes a piece of the response body, taking ownership of {@code data}. Not flushed until
     * {@link #flush()} or the end of the stream.
     */
    void writeBody(ByteBuf data, boolean endOfStream);

    /**
     * Ends the response with {@code trailers} after the body written so far, as {@code writeBody(empty, true)} would
     * end it without them. A protocol that can carry trailers sends them (HTTP/2; HTTP/1.1 when the response is
     * chunked); otherwise they are dropped and the response ends the same way. The default drops them.
     *
     * @throws IllegalStateException if no response head was written, or the response is already done
     */
    default void writeTrailers(Headers trailers) {
        writeBody(Unpooled.EMPTY_BUFFER, true);
    }

    /**
     * The trailers that ended the request body, once {@link Handler#onBody} has delivered its end; empty when there
     * were none, when the body has not ended yet, or when the protocol cannot carry them. The default has none.
     */
    default Optional<Headers> requestTrailers() {
        return Optional.empty();
    }

    /** Flushes what was written. */
    void flush();

    /**
     * Offers the socket for the rest of the response body to be spliced into by the kernel, so that the body
     * never passes through the JVM. It succeeds only on plain HTTP/1.1 over the epoll transport, after a head
     * with a Content-Length, when exactly {@code length} body bytes are still owed, and when {@code admit} accepts
     * the connection's channel (the caller's budget of splice pipes): it then counts those bytes as written and
     * returns that channel. The caller must put exactly {@code length} bytes into that channel, after what was
     * written (which is not flushed yet), and then end the response with {@code writeBody(empty, true)}, or
     * {@link #abort()} it. The session's write timeout keeps watching the spliced output, which the channel's
     * writability does not reflect.
     *
     * @param admit asked last, once every other condition holds, and only then; {@code false} refuses the splice
     * @return the channel to splice into, or empty, changing nothing, when this session cannot take a spliced body
     */
    default Optional<Channel> spliceTarget(long length, Predicate<Channel> admit) {
        return Optional.empty();
    }

    /**
     * Ends HTTP on this connection: writes {@code header} (a {@code 101 Switching Protocols} to an Upgrade request,
     * or a {@code 2xx} to CONNECT) without body or framing headers, flushes it, and hands the connection over as a
     * {@link TunnelEnd} for {@link dev.merapi.core.tunnels.Tunnel#relay}. The bytes the client sent after the request
     * head, which were held and never handed to anyone, become the end's leftover. The session is done from then on,
     * and so is HTTP on the connection. Possible only on an HTTP/1.1 connection, before any response was written, once
     * the request body (if any) has been read whole. The default cannot.
     *
     * @return the client's end of the tunnel, or empty, changing nothing, when this session cannot become one
     * @throws IllegalArgumentException if {@code header} is neither a 101 nor a 2xx
     */
    default Optional<TunnelEnd> openTunnel(ResponseHeader header) {
        return Optional.empty();
    }

    /** Whether a response head has been written. */
    boolean isResponseStarted();

    /** Whether the whole response has been written. */
    boolean isResponseDone();

    /** Whether the client can take more data now; if not, {@link Handler#onWritable()} follows when it can. */
    boolean isWritable();

    /** Whether the connection to the client is still open. */
    boolean isOpen();

    /** Closes the connection at once without finishing the response, so the client sees it was cut short. */
    void abort();

    /** Events of one session. All run on the session's event loop. */
    interface Handler {
        /**
         * A piece of the request body; the handler owns {@code data}.
         *
         * @param endOfStream whether this is the last piece
         */
        void onBody(ByteBuf data, boolean endOfStream);

        /** The client can take more data again. */
        void onWritable();

        /**
         * The downstream side failed: the client went away, a timeout passed, or the request body broke a rule.
         * The response may still be written if {@link #isOpen()} and it has not started.
         */
        void onError(ProxyError error);
    }
}
