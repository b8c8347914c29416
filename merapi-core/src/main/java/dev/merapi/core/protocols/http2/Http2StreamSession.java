package dev.merapi.core.protocols.http2;

import dev.merapi.core.internal.Deadline;
import dev.merapi.core.internal.tls.TlsAttributes;
import dev.merapi.core.protocols.ErrorResponses;
import dev.merapi.core.protocols.ServerSession;
import dev.merapi.core.security.LogLimit;
import dev.merapi.core.security.SecurityEvents;
import dev.merapi.core.tls.TlsInfo;
import dev.merapi.error.ErrorSource;
import dev.merapi.error.ErrorType;
import dev.merapi.error.ProxyError;
import dev.merapi.http.BodyLength;
import dev.merapi.http.Headers;
import dev.merapi.http.RequestHeader;
import dev.merapi.http.ResponseHeader;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.net.SocketAddress;
import java.util.ArrayDeque;
import java.util.Objects;
import java.util.Optional;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One HTTP/2 stream as a {@link ServerSession}: the request arrives as a HEADERS frame, its body as DATA frames and
 * trailers as a last HEADERS frame; the response goes out the same way. The application cannot tell it from an
 * HTTP/1.1 exchange unless it looks at {@link RequestHeader#version()}.
 *
 * <p>Flow control is the backpressure of the request body: the stream channel's AUTO_READ is off and it reads a frame
 * only when the application asks for body ({@link #readBody()}); Netty returns the bytes of a DATA frame to the
 * client's window only when it is read, so a stream holds at most its window and a slow stream holds up no other.
 * The response side follows the stream channel's writability, which counts the client's window for this stream and
 * the connection's socket.
 *
 * <p>Runs on the connection's event loop only (the stream channel's loop is the connection's).
 */
final class Http2StreamSession extends ChannelInboundHandlerAdapter implements ServerSession {
    private static final Logger log = LoggerFactory.getLogger(Http2StreamSession.class);
    private static final LogLimit UNEXPECTED = new LogLimit(log, "downstream-h2-stream-errors-suppressed", 10, 1);

    private enum Response { NOT_STARTED, STARTED, DONE }

    private final Http2ServerConnection connection;
    private final Http2StreamChannel stream;
    private final boolean reused;

    private ChannelHandlerContext ctx;
    private @Nullable RequestHeader request;
    private @Nullable Handler handler;
    private @Nullable Headers requestTrailers;
    private @Nullable ArrayDeque<Object> unread; // frames read before the application asked for them
    private @Nullable Deadline readTimer;
    private @Nullable Deadline writeTimer;
    private Response response = Response.NOT_STARTED;
    private boolean requestDone;
    private boolean demand;
    private boolean expectContinue;
    private boolean failed;
    private boolean resetByCodec;

    Http2StreamSession(Http2ServerConnection connection, Http2StreamChannel stream, boolean reused) {
        this.connection = connection;
        this.stream = stream;
        this.reused = reused;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        ctx.read(); // the request's HEADERS
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (request == null) {
            if (msg instanceof Http2HeadersFrame headers) {
                onRequestHead(headers);
            } else {
                ReferenceCountUtil.release(msg);
                reset(Http2Error.PROTOCOL_ERROR);
            }
            return;
        }
        if (msg instanceof Http2ResetFrame rst) {
            onClientReset(rst);
            return;
        }
        if (!(msg instanceof Http2DataFrame) && !(msg instanceof Http2HeadersFrame)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (demand && (unread == null || unread.isEmpty())) {
            deliver(msg);
        } else {
            if (unread == null) {
                unread = new ArrayDeque<>(2);
            }
            unread.add(msg);
        }
    }

    private void onRequestHead(Http2HeadersFrame frame) {
        RequestHeader head;
        try {
            head = Http2Heads.request(frame.headers(), frame.isEndStream(), connection.http1());
        } catch (ProxyError e) {
            SecurityEvents.record(SecurityEvents.ruleOf(e, "bad-h2-request"), connection.channel().remoteAddress(),
                    connection.channel().localAddress(), e.responseStatus());
            requestDone = true;
            if (e.responseStatus() == 400) {
                // malformed (RFC 9113 §8.1.1): a stream error of type PROTOCOL_ERROR, not a response
                response = Response.DONE;
                reset(Http2Error.PROTOCOL_ERROR);
            } else {
                writeError(e.responseStatus());
            }
            return;
        }
        request = head;
        requestDone = frame.isEndStream();
        expectContinue = Http2Heads.takeExpectContinue(head) && !requestDone;
        try {
            connection.app().onRequest(this);
        } catch (RuntimeException e) {
            UNEXPECTED.warn("application failed on {} {}", head.method(), head.path(), e);
            if (response == Response.NOT_STARTED && isOpen()) {
                writeError(500);
            } else {
                abort();
            }
        }
    }

    private void deliver(Object msg) {
        demand = false;
        if (readTimer != null) {
            readTimer.disarm();
        }
        Handler h = Objects.requireNonNull(handler, "handler");
        if (msg instanceof Http2DataFrame data) {
            if (data.isEndStream()) {
                requestDone = true;
            }
            h.onBody(data.content(), data.isEndStream());
        } else if (msg instanceof Http2HeadersFrame trailers) {
            requestDone = true;
            try {
                requestTrailers = Http2Heads.trailers(trailers.headers());
            } catch (ProxyError e) {
                failOnce(e);
                reset(Http2Error.PROTOCOL_ERROR);
                return;
            }
            h.onBody(Unpooled.EMPTY_BUFFER, true);
        }
    }

    private void onClientReset(Http2ResetFrame rst) {
        failOnce(ProxyError.explain(ErrorType.Kind.CANCELLED, ErrorSource.DOWNSTREAM,
                "client reset the stream (" + rst.errorCode() + ")"));
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (stream.isWritable()) {
            if (writeTimer != null) {
                writeTimer.disarm();
            }
            if (handler != null && response != Response.DONE) {
                handler.onWritable();
            }
        } else if (response == Response.STARTED) {
            if (writeTimer == null) {
                writeTimer = new Deadline(ctx.executor(), this::onWriteTimeout);
            }
            writeTimer.arm(connection.http1().writeTimeout().toNanos());
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (readTimer != null) {
            readTimer.cancel();
        }
        if (writeTimer != null) {
            writeTimer.cancel();
        }
        releaseUnread();
        if (response != Response.DONE) {
            failOnce(ProxyError.explain(ErrorType.Kind.CONNECTION_CLOSED, ErrorSource.DOWNSTREAM, "the stream closed"));
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof IOException || cause instanceof io.netty.handler.codec.http2.Http2Exception) {
            log.debug("HTTP/2 stream error from {}: {}", clientAddress(), cause.toString());
        } else {
            UNEXPECTED.warn("unexpected error on HTTP/2 stream from {}", clientAddress(), cause);
        }
        // the codec resets the stream for a protocol error; nothing more may be written on it
        response = Response.DONE;
        resetByCodec = true;
        failOnce(ProxyError.because(ErrorType.Kind.H2_ERROR, ErrorSource.DOWNSTREAM, "stream error", cause));
        reset(Http2Error.INTERNAL_ERROR);
    }

    private void failOnce(ProxyError e) {
        if (failed) {
            return;
        }
        failed = true;
        demand = false;
        if (handler != null && (response != Response.DONE || resetByCodec)) {
            handler.onError(e);
        }
    }

    // ---- ServerSession

    @Override
    public RequestHeader request() {
        return Objects.requireNonNull(request, "request");
    }

    @Override
    public EventLoop eventLoop() {
        return stream.eventLoop();
    }

    @Override
    public SocketAddress clientAddress() {
        return connection.channel().remoteAddress();
    }

    @Override
    public SocketAddress serverAddress() {
        return connection.channel().localAddress();
    }

    @Override
    public Optional<TlsInfo> tls() {
        return TlsAttributes.of(connection.channel());
    }

    @Override
    public boolean isConnectionReused() {
        return reused;
    }

    @Override
    public void setHandler(Handler handler) {
        this.handler = handler;
    }

    @Override
    public boolean hasRequestBody() {
        long length = request().bodyLength();
        return length != BodyLength.NONE && length != 0;
    }

    @Override
    public boolean isRequestBodyDone() {
        return requestDone && unreadIsEmpty();
    }

    private boolean unreadIsEmpty() {
        return unread == null || unread.isEmpty();
    }

    @Override
    public void readBody() {
        if (handler == null || failed || demand) {
            return;
        }
        if (expectContinue && response == Response.NOT_STARTED) {
            expectContinue = false;
            ctx.writeAndFlush(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("100"), false),
                    ctx.voidPromise());
        }
        demand = true;
        if (unread != null && !unread.isEmpty()) {
            deliver(unread.poll());
            return;
        }
        if (requestDone) {
            deliver(new DefaultHttp2DataFrame(true)); // the end was delivered already; an empty end again
            return;
        }
        if (readTimer == null) {
            readTimer = new Deadline(ctx.executor(), this::onReadTimeout);
        }
        readTimer.arm(connection.http1().bodyReadTimeout().toNanos());
        ctx.read();
    }

    @Override
    public void writeInterim(ResponseHeader header) {
        if (response != Response.NOT_STARTED || !isOpen()) {
            return;
        }
        if (header.status() == 101 || header.status() >= 200) {
            throw new IllegalArgumentException("not an interim response: " + header.status());
        }
        if (header.status() == 100) {
            if (!expectContinue) {
                return;
            }
            expectContinue = false;
        }
        ctx.writeAndFlush(new DefaultHttp2HeadersFrame(Http2Heads.response(header), false), ctx.voidPromise());
    }

    @Override
    public void writeResponseHeader(ResponseHeader header, boolean endOfStream) {
        if (response != Response.NOT_STARTED) {
            throw new IllegalStateException("response head already written");
        }
        if (header.status() < 200) {
            throw new IllegalArgumentException("use writeInterim for " + header.status());
        }
        response = endOfStream ? Response.DONE : Response.STARTED;
        if (!isOpen()) {
            return;
        }
        ctx.write(new DefaultHttp2HeadersFrame(Http2Heads.response(header), endOfStream), ctx.voidPromise());
        if (endOfStream) {
            finish();
        }
    }

    @Override
    public void writeBody(ByteBuf data, boolean endOfStream) {
        if (response == Response.NOT_STARTED) {
            data.release();
            throw new IllegalStateException("response head not written");
        }
        if (response == Response.DONE || !isOpen()) {
            data.release();
            if (endOfStream) {
                response = Response.DONE;
            }
            return;
        }
        ctx.write(new DefaultHttp2DataFrame(data, endOfStream), ctx.voidPromise());
        if (endOfStream) {
            response = Response.DONE;
            finish();
        }
    }

    @Override
    public void writeTrailers(Headers trailers) {
        if (response == Response.NOT_STARTED || response == Response.DONE) {
            throw new IllegalStateException(response == Response.DONE ? "response already done" : "response head not written");
        }
        if (trailers.isEmpty() || !isOpen()) {
            writeBody(Unpooled.EMPTY_BUFFER, true);
            return;
        }
        response = Response.DONE;
        ctx.write(new DefaultHttp2HeadersFrame(Http2Heads.trailers(trailers), true), ctx.voidPromise());
        finish();
    }

    @Override
    public Optional<Headers> requestTrailers() {
        return isRequestBodyDone() ? Optional.ofNullable(requestTrailers) : Optional.empty();
    }

    /** The response is out: flushes it, and resets a request body nobody will read (RFC 9113 §8.1, NO_ERROR). */
    private void finish() {
        response = Response.DONE;
        if (writeTimer != null) {
            writeTimer.cancel();
        }
        ctx.flush();
        if (!requestDone && stream.isActive()) {
            reset(Http2Error.NO_ERROR);
        }
    }

    @Override
    public void flush() {
        if (isOpen()) {
            ctx.flush();
        }
    }

    @Override
    public boolean isResponseStarted() {
        return response != Response.NOT_STARTED;
    }

    @Override
    public boolean isResponseDone() {
        return response == Response.DONE;
    }

    @Override
    public boolean isWritable() {
        return stream.isWritable();
    }

    @Override
    public boolean isOpen() {
        return stream.isActive() && !resetByCodec;
    }

    /** Resets the stream ({@code INTERNAL_ERROR}): the client sees the response cut short; other streams go on. */
    @Override
    public void abort() {
        response = Response.DONE;
        failed = true;
        reset(Http2Error.INTERNAL_ERROR);
    }

    @Override
    public String toString() {
        return request + " on stream " + stream.stream().id() + " from " + clientAddress();
    }

    // ---- helpers

    private void writeError(int status) {
        response = Response.DONE;
        if (!isOpen()) {
            return;
        }
        ResponseHeader h = ErrorResponses.header(status);
        if (status == 405) {
            h.headers().add("Allow", "GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS");
        }
        ctx.write(new DefaultHttp2HeadersFrame(Http2Heads.response(h), false), ctx.voidPromise());
        ctx.write(new DefaultHttp2DataFrame(ErrorResponses.content(ctx.alloc(), status), true), ctx.voidPromise());
        finish();
    }

    private void reset(Http2Error error) {
        if (stream.isActive()) {
            ctx.writeAndFlush(new DefaultHttp2ResetFrame(error), ctx.voidPromise());
        }
        releaseUnread();
    }

    private void releaseUnread() {
        if (unread != null) {
            Object o;
            while ((o = unread.poll()) != null) {
                ReferenceCountUtil.release(o);
            }
        }
    }

    private void onReadTimeout() {
        if (!demand || failed) {
            return;
        }
        SecurityEvents.record("body-read-timeout", clientAddress(), serverAddress(), response == Response.NOT_STARTED ? 408 : 0,
                request());
        failOnce(ProxyError.explain(ErrorType.Kind.READ_TIMEOUT, ErrorSource.DOWNSTREAM, "request body read timeout"));
        if (response == Response.NOT_STARTED && isOpen()) {
            writeError(408); // the handler did not answer it
        } else if (response != Response.DONE) {
            response = Response.DONE;
            reset(Http2Error.CANCEL);
        }
    }

    private void onWriteTimeout() {
        if (response == Response.DONE) {
            return;
        }
        log.debug("HTTP/2 stream write timeout to {}", clientAddress());
        response = Response.DONE;
        failOnce(ProxyError.explain(ErrorType.Kind.WRITE_TIMEOUT, ErrorSource.DOWNSTREAM, "response write timeout"));
        reset(Http2Error.CANCEL);
    }

    /** The stream channel, for tests and logs. */
    Channel streamChannel() {
        return stream;
    }
}
