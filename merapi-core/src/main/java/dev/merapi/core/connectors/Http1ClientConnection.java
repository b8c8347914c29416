package dev.merapi.core.connectors;

import dev.merapi.core.internal.Deadline;
import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.error.ErrorSource;
import dev.merapi.error.ErrorType;
import dev.merapi.error.ProxyError;
import dev.merapi.error.Retry;
import dev.merapi.http.BodyLength;
import dev.merapi.http.ChunkedDecoder;
import dev.merapi.http.HeaderNames;
import dev.merapi.http.Headers;
import dev.merapi.http.Http1Encoder;
import dev.merapi.http.Http1Limits;
import dev.merapi.http.Http1Parser;
import dev.merapi.http.HttpVersion;
import dev.merapi.http.RequestHeader;
import dev.merapi.http.ResponseHeader;
import dev.merapi.pool.ConnectionPool;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One upstream HTTP/1.1 connection. It writes requests, parses responses strictly, hands the body out on
 * demand, and knows whether it can go back to the pool: only after a cleanly framed, complete exchange with
 * no stray bytes. While idle in the pool it keeps a read pending, so that an origin closing it (or sending
 * bytes nobody asked for) is noticed at once and the connection leaves the pool.
 *
 * <p>Runs on its channel's event loop only.
 */
final class Http1ClientConnection extends ChannelInboundHandlerAdapter implements ClientSession {
    private static final Logger log = LoggerFactory.getLogger(Http1ClientConnection.class);
    private static final ByteBuf CRLF = Unpooled.unreleasableBuffer(
            Unpooled.directBuffer(2).writeByte('\r').writeByte('\n')).asReadOnly();
    private static final int MAX_INTERIM = 32;

    private enum State { ACTIVE, IDLE, CLOSED }

    private final HttpPeer peer;
    private final Connector connector;
    private final ConnectionPool<HttpPeer.ReuseKey, Http1ClientConnection> pool;
    private final Http1Limits limits;
    private final Http1Parser.HeadScan scan = new Http1Parser.HeadScan();
    private ChannelHandlerContext ctx;
    private Channel channel;
    private Deadline readTimer;
    private Deadline writeTimer;
    private State state = State.ACTIVE;
    private ByteBuf cumulation;
    private boolean readPending;
    private int uses;

    // per exchange
    private Handler handler;
    private String method;
    private boolean requestChunked;
    private boolean requestDone;
    private boolean requestWantsClose;
    private boolean responseStarted;
    private ResponseHeader response;
    private boolean responseKeepAlive; // decided on the head as received: the proxy strips and rewrites Connection later
    private int interim;
    private ChunkedDecoder decoder;
    private long bodyRemaining;
    private boolean untilClose;
    private boolean bodyDone;
    private boolean bodyEndDelivered;
    private boolean demand;
    private boolean delivering;
    private boolean released;

    Http1ClientConnection(HttpPeer peer, Connector connector, ConnectionPool<HttpPeer.ReuseKey, Http1ClientConnection> pool,
            Http1Limits limits) {
        this.peer = peer;
        this.connector = connector;
        this.pool = pool;
        this.limits = limits;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        this.channel = ctx.channel();
        this.readTimer = new Deadline(ctx.executor(), this::onReadTimeout);
        this.writeTimer = new Deadline(ctx.executor(), this::onWriteTimeout);
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        connector.opened(channel);
        ctx.fireChannelActive();
    }

    /** Prepares for the next exchange; called when the connection is handed out. */
    void begin(boolean reused) {
        uses++;
        state = State.ACTIVE;
        handler = null;
        method = null;
        requestChunked = false;
        requestDone = false;
        requestWantsClose = false;
        responseStarted = false;
        response = null;
        responseKeepAlive = false;
        interim = 0;
        decoder = null;
        bodyRemaining = 0;
        untilClose = false;
        bodyDone = false;
        bodyEndDelivered = false;
        demand = false;
        released = false;
        scan.reset();
        if (reused && cumulation != null) {
            // bytes that arrived while idle make the connection unusable; the idle handler closes it first
            releaseCumulation();
        }
    }

    boolean isOpen() {
        return state != State.CLOSED && channel.isActive();
    }

    @Override
    public HttpPeer peer() {
        return peer;
    }

    @Override
    public boolean isReused() {
        return uses > 1;
    }

    @Override
    public EventLoop eventLoop() {
        return channel.eventLoop();
    }

    @Override
    public void setHandler(Handler handler) {
        this.handler = handler;
    }

    @Override
    public void writeRequestHeader(RequestHeader request, boolean endOfStream) {
        method = request.method();
        Headers h = request.headers();
        long len = request.bodyLength();
        h.remove(HeaderNames.TRANSFER_ENCODING);
        if (len == BodyLength.CHUNKED) {
            h.remove(HeaderNames.CONTENT_LENGTH);
            h.add(HeaderNames.TRANSFER_ENCODING, "chunked");
            requestChunked = true;
        } else if (len >= 0) {
            h.set(HeaderNames.CONTENT_LENGTH, Long.toString(len));
        } else {
            h.remove(HeaderNames.CONTENT_LENGTH);
        }
        requestWantsClose = h.containsToken(HeaderNames.CONNECTION, "close");
        ByteBuf head = Http1Encoder.encodeRequest(ctx.alloc(), request);
        if (endOfStream) {
            requestDone = true;
            ctx.writeAndFlush(head, ctx.voidPromise());
            armReadTimer();
        } else {
            ctx.write(head, ctx.voidPromise());
        }
        requestRead();
    }

    @Override
    public void writeBody(ByteBuf data, boolean endOfStream) {
        if (state != State.ACTIVE || requestDone) {
            data.release();
            return;
        }
        int n = data.readableBytes();
        if (requestChunked) {
            if (n > 0) {
                ctx.write(Http1Encoder.chunkHeader(ctx.alloc(), n), ctx.voidPromise());
                ctx.write(data, ctx.voidPromise());
                ctx.write(CRLF.duplicate(), ctx.voidPromise());
            } else {
                data.release();
            }
            if (endOfStream) {
                ctx.write(Http1Encoder.lastChunk(ctx.alloc()), ctx.voidPromise());
            }
        } else if (n > 0) {
            ctx.write(data, ctx.voidPromise());
        } else {
            data.release();
        }
        if (endOfStream) {
            requestDone = true;
            ctx.flush();
            if (!responseStarted || demand) {
                armReadTimer();
            }
        }
        if (!channel.isWritable()) {
            writeTimer.arm(peer.options().writeTimeout().toNanos());
        }
    }

    @Override
    public void flush() {
        if (state == State.ACTIVE) {
            ctx.flush();
        }
    }

    @Override
    public boolean isWritable() {
        return channel.isWritable();
    }

    @Override
    public boolean isResponseStarted() {
        return responseStarted;
    }

    @Override
    public void readBody() {
        if (released || response == null || handler == null) {
            return;
        }
        demand = true;
        if (!delivering) {
            deliver();
        }
    }

    @Override
    public void release() {
        if (released) {
            return;
        }
        released = true;
        handler = null;
        boolean reusable = state == State.ACTIVE && channel.isActive() && requestDone && bodyDone && !untilClose
                && !requestWantsClose && response != null && responseKeepAlive
                && (cumulation == null || !cumulation.isReadable());
        readTimer.disarm();
        writeTimer.disarm();
        if (!reusable) {
            close();
            return;
        }
        releaseCumulation();
        state = State.IDLE;
        pool.release(peer.reuseKey(), this, peer.options().idleTimeout().toNanos());
        if (state == State.IDLE) {
            requestRead(); // to notice the origin closing it while idle
        }
    }

    @Override
    public void abort() {
        released = true;
        handler = null;
        close();
    }

    /** Closes the connection; used by the pool too. */
    void close() {
        if (state == State.IDLE) {
            pool.remove(this);
        }
        state = State.CLOSED;
        readTimer.cancel();
        writeTimer.cancel();
        releaseCumulation();
        channel.close();
    }

    // ---- events

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof ByteBuf in)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        readPending = false;
        if (state != State.ACTIVE) {
            if (state == State.IDLE) {
                log.debug("upstream {} sent {} bytes on an idle connection; closing it", peer, in.readableBytes());
            }
            in.release();
            close();
            return;
        }
        if (in.isReadable()) {
            responseStarted = true;
        }
        cumulation = cumulation == null ? in : ByteToMessageDecoder.MERGE_CUMULATOR.cumulate(ctx.alloc(), cumulation, in);
        if (response == null) {
            parseHeads();
        } else if (demand) {
            deliver();
        } else if (bodyDone) {
            // bytes after a complete response: this connection is out of step with its origin
            releaseCumulation();
        }
    }

    private void parseHeads() {
        while (state == State.ACTIVE && response == null) {
            if (cumulation == null || !cumulation.isReadable()) {
                requestRead();
                return;
            }
            ResponseHeader head;
            try {
                int end = Http1Parser.findHeadEnd(cumulation, scan, limits, false);
                if (end < 0) {
                    requestRead();
                    return;
                }
                head = Http1Parser.parseResponse(cumulation, end, method);
            } catch (ProxyError e) {
                fail(e);
                return;
            }
            scan.reset();
            if (head.isInformational()) {
                if (head.status() == 101 || ++interim > MAX_INTERIM) {
                    fail(ProxyError.explain(ErrorType.Kind.INVALID_HTTP_HEADER, ErrorSource.UPSTREAM,
                            head.status() == 101 ? "unexpected 101 Switching Protocols" : "too many interim responses"));
                    return;
                }
                if (handler != null) {
                    handler.onInformational(head);
                }
                continue;
            }
            response = head;
            responseKeepAlive = keepAlive(head);
            long len = head.bodyLength();
            if (len == BodyLength.CHUNKED) {
                decoder = new ChunkedDecoder(limits, false);
            } else if (len == BodyLength.UNTIL_CLOSE) {
                untilClose = true;
            } else {
                bodyRemaining = Math.max(len, 0);
                bodyDone = len <= 0;
            }
            readTimer.disarm();
            releaseCumulationIfEmpty();
            if (handler != null) {
                handler.onResponseHeader(head);
            }
        }
    }

    private void deliver() {
        delivering = true;
        try {
            while (demand && handler != null) {
                ByteBuf piece;
                boolean end;
                if (bodyDone) {
                    if (bodyEndDelivered) {
                        demand = false;
                        return;
                    }
                    piece = Unpooled.EMPTY_BUFFER;
                    end = true;
                } else if (decoder != null) {
                    try {
                        piece = decoder.decode(cumulation != null ? cumulation : Unpooled.EMPTY_BUFFER);
                    } catch (ProxyError e) {
                        fail(e);
                        return;
                    }
                    end = decoder.isDone();
                } else if (untilClose) {
                    if (cumulation != null && cumulation.isReadable()) {
                        piece = cumulation.readRetainedSlice(cumulation.readableBytes());
                    } else {
                        piece = null;
                    }
                    end = false;
                } else {
                    int n = cumulation == null ? 0 : (int) Math.min(cumulation.readableBytes(), bodyRemaining);
                    if (n == 0) {
                        piece = null;
                        end = false;
                    } else {
                        piece = cumulation.readRetainedSlice(n);
                        bodyRemaining -= n;
                        end = bodyRemaining == 0;
                    }
                }
                if (piece == null) {
                    if (state == State.CLOSED) {
                        if (untilClose) {
                            bodyDone = true; // a close-delimited body ends with the connection
                            continue;
                        }
                        fail(closedError("upstream closed the connection in the middle of the response body"));
                        return;
                    }
                    armReadTimer();
                    requestRead();
                    return;
                }
                readTimer.disarm();
                if (end) {
                    bodyDone = true;
                    bodyEndDelivered = true;
                    if (cumulation != null && cumulation.isReadable()) {
                        log.debug("upstream {} sent bytes after the end of a response; the connection will not be reused", peer);
                        untilClose = true; // marks it unusable
                    }
                }
                demand = false;
                releaseCumulationIfEmpty();
                handler.onBody(piece, end);
            }
        } finally {
            delivering = false;
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (channel.isWritable()) {
            writeTimer.disarm();
            if (state == State.ACTIVE && handler != null) {
                handler.onWritable();
            }
        } else if (state == State.ACTIVE) {
            writeTimer.arm(peer.options().writeTimeout().toNanos());
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        State was = state;
        if (was == State.IDLE) {
            pool.remove(this);
        }
        state = State.CLOSED;
        readTimer.cancel();
        writeTimer.cancel();
        if (was == State.ACTIVE && handler != null && !released) {
            if (response == null) {
                releaseCumulation();
                notifyError(closedError("upstream closed the connection before a response"));
            } else if (demand && !delivering) {
                deliver(); // what is buffered still goes out; then the end or the error
            }
        } else {
            releaseCumulation();
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (state == State.ACTIVE && handler != null) {
            ProxyError e = cause instanceof IOException
                    ? withReuseRetry(ProxyError.because(ErrorType.Kind.READ_ERROR, ErrorSource.UPSTREAM, "upstream I/O error", cause))
                    : ProxyError.because(ErrorType.Kind.INTERNAL_ERROR, ErrorSource.INTERNAL, "upstream connection failed", cause);
            Handler h = handler;
            handler = null;
            close();
            h.onError(e);
        } else {
            log.debug("upstream {} error while idle: {}", peer, cause.toString());
            close();
        }
    }

    private ProxyError closedError(String context) {
        return withReuseRetry(ProxyError.explain(ErrorType.Kind.CONNECTION_CLOSED, ErrorSource.UPSTREAM, context));
    }

    /** A failure before any response byte on a reused connection may be the origin's idle close: retry-safe. */
    private ProxyError withReuseRetry(ProxyError e) {
        return responseStarted ? e : e.withRetry(Retry.REUSED_ONLY);
    }

    private void notifyError(ProxyError e) {
        Handler h = handler;
        handler = null;
        if (h != null) {
            h.onError(e);
        }
    }

    private void fail(ProxyError e) {
        Handler h = handler;
        handler = null;
        close();
        if (h != null) {
            h.onError(e);
        }
    }

    private void armReadTimer() {
        if (state == State.ACTIVE && requestDone) {
            readTimer.arm(peer.options().readTimeout().toNanos());
        }
    }

    private void onReadTimeout() {
        if (state == State.ACTIVE) {
            fail(ProxyError.explain(ErrorType.Kind.READ_TIMEOUT, ErrorSource.UPSTREAM,
                    "no response from upstream within " + peer.options().readTimeout().toMillis() + " ms"));
        }
    }

    private void onWriteTimeout() {
        if (state == State.ACTIVE) {
            fail(ProxyError.explain(ErrorType.Kind.WRITE_TIMEOUT, ErrorSource.UPSTREAM,
                    "upstream did not accept the request within " + peer.options().writeTimeout().toMillis() + " ms"));
        }
    }

    private void requestRead() {
        if (!readPending && channel.isActive()) {
            readPending = true;
            ctx.read();
        }
    }

    private void releaseCumulationIfEmpty() {
        if (cumulation != null && !cumulation.isReadable()) {
            cumulation.release();
            cumulation = null;
        }
    }

    private void releaseCumulation() {
        if (cumulation != null) {
            cumulation.release();
            cumulation = null;
        }
    }

    private static boolean keepAlive(ResponseHeader r) {
        Headers h = r.headers();
        if (h.containsToken(HeaderNames.CONNECTION, "close")) {
            return false;
        }
        return r.version() == HttpVersion.HTTP_1_1 || h.containsToken(HeaderNames.CONNECTION, "keep-alive");
    }

    @Override
    public String toString() {
        return "upstream " + peer + " " + channel;
    }
}
