package dev.merapi.core.connectors;

import dev.merapi.core.internal.Deadline;
import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.error.ErrorSource;
import dev.merapi.error.ErrorType;
import dev.merapi.error.ProxyError;
import dev.merapi.error.Retry;
import dev.merapi.http.Headers;
import dev.merapi.http.RequestHeader;
import dev.merapi.http.ResponseHeader;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2GoAwayFrame;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayDeque;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * One request on a shared upstream HTTP/2 connection: a stream, seen as a {@link ClientSession}. It is the handler of
 * its Netty stream channel, whose reads are made on demand: a DATA frame is taken from the connection (and its bytes
 * given back to the origin's flow-control window) only when a read is asked for, so a slow client holds up its own
 * stream and no other, and what waits here is bounded by the stream's window.
 *
 * <p>{@link #release()} after a complete exchange just lets the finished stream go; before that, and on
 * {@link #abort()}, the stream is reset with CANCEL and the connection stays up for its other streams. A stream the
 * origin refused unprocessed (REFUSED_STREAM, or above the last stream id of a GOAWAY) fails with
 * {@link ErrorType.Kind#STREAM_REFUSED}, which is safe to retry whatever the method.
 *
 * <p>Runs on its connection's event loop only.
 */
final class Http2ClientStream extends ChannelInboundHandlerAdapter implements ClientSession {
    private static final int MAX_INTERIM = 32;

    private final HttpPeer peer;
    private final Http2Connection connection;
    private final boolean reused;
    private @Nullable Http2StreamChannel channel;
    private @Nullable Deadline readTimer;
    private @Nullable Deadline writeTimer;
    private @Nullable Handler handler;
    private String method = "GET";
    private boolean requestDone;
    private @Nullable ResponseHeader response;
    private long expectedLength = -1;
    private long received;
    private boolean responseEnded;
    private boolean endDelivered;
    private @Nullable Headers trailers;
    private final ArrayDeque<ByteBuf> pending = new ArrayDeque<>();
    private boolean demand;
    private boolean delivering;
    private boolean readPending;
    private boolean refusedByGoAway;
    private boolean released;
    private int interim;

    Http2ClientStream(HttpPeer peer, Http2Connection connection, boolean reused) {
        this.peer = peer;
        this.connection = connection;
        this.reused = reused;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        channel = (Http2StreamChannel) ctx.channel();
        readTimer = new Deadline(ctx.executor(), this::onReadTimeout);
        writeTimer = new Deadline(ctx.executor(), this::onWriteTimeout);
    }

    private Http2StreamChannel ch() {
        Http2StreamChannel c = channel;
        if (c == null) {
            throw new IllegalStateException("stream not open");
        }
        return c;
    }

    @Override
    public boolean isReused() {
        return reused;
    }

    @Override
    public void setHandler(Handler handler) {
        this.handler = handler;
    }

    @Override
    public void writeRequestHeader(RequestHeader request, boolean endOfStream) {
        method = request.method();
        Http2Headers headers;
        try {
            headers = Http2Translation.request(request, peer.tls(), peer.defaultHost());
        } catch (RuntimeException e) {
            fail(ProxyError.because(ErrorType.Kind.INVALID_HTTP_HEADER, ErrorSource.INTERNAL, "cannot translate the request to h2", e));
            return;
        }
        requestDone = endOfStream;
        var f = ch().write(new DefaultHttp2HeadersFrame(headers, endOfStream));
        f.addListener((ChannelFutureListener) done -> {
            if (!done.isSuccess() && !released) {
                // the stream could not be created (the connection went away or is at its limit): nothing was sent
                fail(ProxyError.because(ErrorType.Kind.STREAM_REFUSED, ErrorSource.UPSTREAM,
                        "h2 stream to " + peer + " could not be opened", done.cause()).withRetry(Retry.YES));
            }
        });
        if (endOfStream) {
            ch().flush();
            armReadTimer();
        }
        requestRead();
    }

    @Override
    public void writeBody(ByteBuf data, boolean endOfStream) {
        if (released || requestDone || !ch().isActive()) {
            data.release();
            return;
        }
        if (!data.isReadable() && !endOfStream) {
            data.release();
            return;
        }
        ch().write(new DefaultHttp2DataFrame(data, endOfStream), ch().voidPromise());
        if (endOfStream) {
            requestEnded();
        } else if (!ch().isWritable()) {
            armWriteTimer();
        }
    }

    @Override
    public void writeTrailers(Headers trailers) {
        if (released || requestDone || !ch().isActive()) {
            return;
        }
        Http2Headers h2 = Http2Translation.requestTrailers(trailers);
        if (h2.isEmpty()) {
            ch().write(new DefaultHttp2DataFrame(Unpooled.EMPTY_BUFFER, true), ch().voidPromise());
        } else {
            ch().write(new DefaultHttp2HeadersFrame(h2, true), ch().voidPromise());
        }
        requestEnded();
    }

    private void requestEnded() {
        requestDone = true;
        ch().flush();
        if (response == null || demand) {
            armReadTimer();
        }
    }

    @Override
    public Optional<Headers> responseTrailers() {
        return endDelivered ? Optional.ofNullable(trailers) : Optional.empty();
    }

    @Override
    public void flush() {
        if (!released) {
            ch().flush();
        }
    }

    @Override
    public boolean isWritable() {
        return ch().isWritable();
    }

    @Override
    public void readBody() {
        if (released || response == null || handler == null || endDelivered) {
            return;
        }
        demand = true;
        deliver();
    }

    private void deliver() {
        if (delivering) {
            return;
        }
        delivering = true;
        try {
            while (demand && handler != null && !released) {
                ByteBuf piece = pending.poll();
                if (piece == null && !responseEnded) {
                    armReadTimer();
                    requestRead();
                    return;
                }
                boolean end = responseEnded && pending.isEmpty();
                demand = false;
                if (end) {
                    endDelivered = true;
                    disarmReadTimer();
                }
                Handler h = handler;
                h.onBody(piece != null ? piece : Unpooled.EMPTY_BUFFER, end);
            }
        } finally {
            delivering = false;
        }
    }

    @Override
    public void release() {
        if (released) {
            return;
        }
        released = true;
        handler = null;
        closeStream();
    }

    @Override
    public void abort() {
        released = true;
        handler = null;
        closeStream();
    }

    /** Lets the stream go: a stream still open both ways or either way is reset with CANCEL (Netty does that on close). */
    private void closeStream() {
        demand = false;
        cancelTimers();
        releasePending();
        Http2StreamChannel c = channel;
        if (c != null && c.isOpen()) {
            c.close();
        }
    }

    // ---- events of the stream channel

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        try {
            if (released) {
                return;
            }
            if (msg instanceof Http2HeadersFrame headers) {
                onHeaders(headers);
            } else if (msg instanceof Http2DataFrame data) {
                onData(data);
            } else if (msg instanceof Http2ResetFrame reset) {
                onReset(reset);
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    private void onHeaders(Http2HeadersFrame frame) {
        disarmReadTimer();
        if (response != null) {
            if (!frame.isEndStream()) {
                fail(invalid("a second HEADERS frame that does not end the stream"));
                return;
            }
            try {
                trailers = Http2Translation.trailers(frame.headers());
            } catch (ProxyError e) {
                fail(e);
                return;
            }
            ended();
            return;
        }
        ResponseHeader head;
        try {
            head = Http2Translation.response(frame.headers(), method, frame.isEndStream());
        } catch (ProxyError e) {
            fail(e);
            return;
        }
        if (head.isInformational()) {
            if (head.status() == 101 || frame.isEndStream() || ++interim > MAX_INTERIM) {
                fail(invalid(head.status() == 101 ? "101 is not allowed in HTTP/2" : "malformed interim responses"));
                return;
            }
            if (handler != null) {
                handler.onInformational(head);
            }
            return;
        }
        response = head;
        expectedLength = head.header("content-length").map(Long::parseLong).orElse(-1L);
        if ("HEAD".equals(method) || head.status() == 204 || head.status() == 304) {
            expectedLength = -1;
        }
        if (frame.isEndStream()) {
            responseEnded = true;
        }
        if (handler != null) {
            handler.onResponseHeader(head);
        }
    }

    private void onData(Http2DataFrame frame) {
        if (response == null) {
            fail(invalid("DATA before the response head"));
            return;
        }
        ByteBuf content = frame.content();
        received += content.readableBytes();
        if (expectedLength >= 0 && (received > expectedLength || frame.isEndStream() && received != expectedLength)) {
            fail(ProxyError.explain(ErrorType.Kind.INVALID_HTTP_BODY, ErrorSource.UPSTREAM,
                    "h2 response body of " + received + " bytes does not match its content-length " + expectedLength));
            return;
        }
        if (content.isReadable()) {
            pending.add(content.retain());
        }
        disarmReadTimer();
        if (frame.isEndStream()) {
            ended();
        } else if (demand) {
            deliver();
        }
    }

    private void ended() {
        responseEnded = true;
        if (demand) {
            deliver();
        }
    }

    private void onReset(Http2ResetFrame reset) {
        if (responseEnded && requestDone) {
            return;
        }
        if (reset.errorCode() == Http2Error.REFUSED_STREAM.code() && response == null) {
            fail(ProxyError.explain(ErrorType.Kind.STREAM_REFUSED, ErrorSource.UPSTREAM,
                    "upstream refused the h2 stream (REFUSED_STREAM)").withRetry(Retry.YES));
            return;
        }
        Http2Error code = Http2Error.valueOf(reset.errorCode());
        fail(ProxyError.explain(ErrorType.Kind.H2_ERROR, ErrorSource.UPSTREAM,
                "upstream reset the h2 stream (" + (code == null ? Long.toString(reset.errorCode()) : code.name()) + ")"));
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof Http2GoAwayFrame) {
            refusedByGoAway = true; // delivered only to streams above the GOAWAY's last stream id
        } else if (evt instanceof Http2ResetFrame reset && !released) {
            onReset(reset);
        }
        ReferenceCountUtil.release(evt);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        readPending = false;
        if (!released && !responseEnded && (response == null || demand)) {
            requestRead();
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (ch().isWritable()) {
            if (writeTimer != null) {
                writeTimer.disarm();
            }
            if (handler != null && !released) {
                handler.onWritable();
            }
        } else if (!released && !requestDone) {
            armWriteTimer();
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        cancelTimers();
        if (!released && handler != null && !endDelivered) {
            if (response == null && (refusedByGoAway || aboveGoAway())) {
                fail(ProxyError.explain(ErrorType.Kind.STREAM_REFUSED, ErrorSource.UPSTREAM,
                        "upstream sent GOAWAY before processing the h2 stream").withRetry(Retry.YES));
            } else if (responseEnded) {
                deliver();
            } else {
                ProxyError e = ProxyError.explain(ErrorType.Kind.CONNECTION_CLOSED, ErrorSource.UPSTREAM,
                        response == null ? "the h2 stream closed before a response" : "the h2 stream closed in the middle of the response body");
                fail(response == null && reused ? e.withRetry(Retry.REUSED_ONLY) : e);
            }
        }
        releasePending();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (!released && handler != null) {
            fail(ProxyError.because(ErrorType.Kind.H2_ERROR, ErrorSource.UPSTREAM, "h2 stream to " + peer + " failed", cause));
        }
    }

    // ---- helpers

    /** Whether the origin sent GOAWAY naming a last stream below this one (or this stream was never created). */
    private boolean aboveGoAway() {
        if (!connection.goAwayReceived()) {
            return false;
        }
        int id = ch().stream().id();
        return id < 0 || id > connection.local().lastStreamKnownByPeer();
    }

    private void fail(ProxyError e) {
        Handler h = handler;
        handler = null;
        closeStream();
        if (h != null) {
            h.onError(e);
        }
    }

    private static ProxyError invalid(String detail) {
        return ProxyError.explain(ErrorType.Kind.INVALID_HTTP_HEADER, ErrorSource.UPSTREAM, "h2 " + detail);
    }

    private void requestRead() {
        Http2StreamChannel c = channel;
        if (!readPending && c != null && c.isActive()) {
            readPending = true;
            c.read();
        }
    }

    private void armReadTimer() {
        if (requestDone && readTimer != null && !released) {
            readTimer.arm(peer.options().readTimeout().toNanos());
        }
    }

    private void disarmReadTimer() {
        if (readTimer != null) {
            readTimer.disarm();
        }
    }

    private void armWriteTimer() {
        if (writeTimer != null) {
            writeTimer.arm(peer.options().writeTimeout().toNanos());
        }
    }

    private void cancelTimers() {
        if (readTimer != null) {
            readTimer.cancel();
        }
        if (writeTimer != null) {
            writeTimer.cancel();
        }
    }

    private void onReadTimeout() {
        if (!released) {
            fail(ProxyError.explain(ErrorType.Kind.READ_TIMEOUT, ErrorSource.UPSTREAM,
                    "no response from upstream within " + peer.options().readTimeout().toMillis() + " ms (h2)"));
        }
    }

    private void onWriteTimeout() {
        if (!released && !ch().isWritable()) {
            fail(ProxyError.explain(ErrorType.Kind.WRITE_TIMEOUT, ErrorSource.UPSTREAM,
                    "upstream did not accept the request within " + peer.options().writeTimeout().toMillis() + " ms (h2)"));
        }
    }

    private void releasePending() {
        ByteBuf b;
        while ((b = pending.poll()) != null) {
            b.release();
        }
    }

    @Override
    public String toString() {
        return "upstream h2 " + peer + " " + channel;
    }
}
