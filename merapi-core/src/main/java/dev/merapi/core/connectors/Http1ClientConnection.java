package dev.merapi.core.connectors;

import dev.merapi.core.internal.Deadline;
import dev.merapi.core.internal.http1.BodyReader;
import dev.merapi.core.internal.http1.BodyWriter;
import dev.merapi.core.internal.http1.KeepAlive;
import dev.merapi.core.protocols.ServerSession;
import dev.merapi.core.tunnels.TunnelEnd;
import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.error.ErrorSource;
import dev.merapi.error.ErrorType;
import dev.merapi.error.ProxyError;
import dev.merapi.error.Retry;
import dev.merapi.http.BodyLength;
import dev.merapi.http.HeaderNames;
import dev.merapi.http.Headers;
import dev.merapi.http.Http1Encoder;
import dev.merapi.http.Http1Limits;
import dev.merapi.http.Http1Parser;
import dev.merapi.http.RequestHeader;
import dev.merapi.http.ResponseHeader;
import dev.merapi.pool.ConnectionPool;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.epoll.AbstractEpollStreamChannel;
import io.netty.channel.epoll.EpollMode;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.unix.FileDescriptor;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One upstream HTTP/1.1 connection. It writes requests (the body framed by a
 * {@link dev.merapi.core.internal.http1.BodyWriter}), parses responses strictly, hands the body out on demand (through a
 * {@link dev.merapi.core.internal.http1.BodyReader}, as the downstream side does), and knows whether it can go back to
 * the pool: only after a cleanly framed, complete exchange with no stray bytes. While idle in the pool it keeps a read
 * pending, so that an origin closing it (or sending bytes nobody asked for) is noticed at once and the connection
 * leaves the pool.
 *
 * <p>Runs on its channel's event loop only.
 */
final class Http1ClientConnection extends ChannelInboundHandlerAdapter implements ClientSession {
    private static final Logger log = LoggerFactory.getLogger(Http1ClientConnection.class);
    private static final int MAX_INTERIM = 32;
    /** Where the check for bytes after a spliced body reads to; what lands there is never looked at. */
    private static final ByteBuffer STRAY_PROBE = ByteBuffer.allocateDirect(1);
    /** The most one splice round asks for; the kernel's pipe (64 KiB unless raised) bounds it first. */
    private static final int SPLICE_READ_BYTES = 1 << 20;

    private enum State { ACTIVE, IDLE, CLOSED, TUNNEL }

    private final HttpPeer peer;
    private final Connector connector;
    private final ConnectionPool<HttpPeer.ReuseKey, Http1ClientConnection> pool;
    private final Http1Limits limits;
    private final Http1Parser.HeadScan scan = new Http1Parser.HeadScan();
    private ChannelHandlerContext ctx;
    private Channel channel;
    private Deadline readTimer;
    private Deadline writeTimer;
    private BodyReader reader;
    private final BodyWriter writer = new BodyWriter(); // the request body of the current exchange
    private State state = State.ACTIVE;
    private @Nullable ByteBuf cumulation;
    private boolean readPending;
    private boolean autoReadSwitch; // since this connection first spliced, reads are asked for with autoRead: see requestRead
    private int uses;

    // per exchange
    private @Nullable Handler handler;
    private @Nullable String method;
    private boolean requestDone;
    private boolean requestWantsClose;
    private boolean responseStarted;
    private @Nullable ResponseHeader response;
    private boolean responseKeepAlive; // decided on the head as received: the proxy strips and rewrites Connection later
    private int interim;
    private boolean notReusable; // the body ends with the connection, or the origin sent bytes after it
    private boolean released;
    private boolean splicing;
    private boolean upgradeRequested; // the request asked to switch protocols: a 101 may answer it

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
        this.reader = new BodyReader(new ResponseBody(), limits, false, ctx.alloc());
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
        requestDone = false;
        requestWantsClose = false;
        responseStarted = false;
        response = null;
        responseKeepAlive = false;
        interim = 0;
        notReusable = false;
        reader.cancelDemand();
        released = false;
        splicing = false;
        upgradeRequested = false;
        scan.reset();
        if (reused && cumulation != null) {
            // bytes that arrived while idle make the connection unusable; the idle handler closes it first
            releaseCumulation();
        }
    }

    /**
     * How much the next read may take, given Netty's adaptive guess: while a body is spliced, as much as the
     * pipe holds (each splice call moves what is there); while a head is awaited (or the connection is idle),
     * a small piece, so that a body to splice stays in the socket.
     */
    int readSize(int guess) {
        if (state == State.TUNNEL) {
            return guess;
        }
        if (splicing) {
            return SPLICE_READ_BYTES;
        }
        return response == null ? Math.min(guess, Connector.HEAD_READ_BYTES) : guess;
    }

    boolean isOpen() {
        return state != State.CLOSED && channel.isActive();
    }

    @Override
    public boolean isReused() {
        return uses > 1;
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
        h.remove(HeaderNames.TE); // hop-by-hop: a caller's TE: trailers is meant for an HTTP/2 origin
        if (len == BodyLength.CHUNKED) {
            h.remove(HeaderNames.CONTENT_LENGTH);
            h.add(HeaderNames.TRANSFER_ENCODING, "chunked");
            writer.start(BodyWriter.Framing.CHUNKED, 0);
        } else if (len >= 0) {
            h.set(HeaderNames.CONTENT_LENGTH, Long.toString(len));
            writer.start(BodyWriter.Framing.LENGTH, len);
        } else {
            h.remove(HeaderNames.CONTENT_LENGTH);
            writer.start(BodyWriter.Framing.NONE, 0); // the head announces no body: none may follow it
        }
        requestWantsClose = h.containsToken(HeaderNames.CONNECTION, "close");
        upgradeRequested = h.containsToken(HeaderNames.CONNECTION, "upgrade") && h.contains(HeaderNames.UPGRADE);
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
    public void writeTrailers(Headers trailers) {
        writeBody(Unpooled.EMPTY_BUFFER, true, trailers);
    }

    @Override
    public Optional<Headers> responseTrailers() {
        return response != null ? reader.trailers() : Optional.empty();
    }

    @Override
    public void writeBody(ByteBuf data, boolean endOfStream) {
        writeBody(data, endOfStream, null);
    }

    /** Writes a piece of the request body; at its end, {@code trailers} go in the last chunk when it is chunked. */
    private void writeBody(ByteBuf data, boolean endOfStream, @Nullable Headers trailers) {
        if (state != State.ACTIVE || requestDone) {
            data.release();
            return;
        }
        if (!writer.write(ctx, data)) {
            // more than the head announced: the origin gets what fits, and the connection is not trusted again
            log.debug("request body to {} longer than its Content-Length; cut to it", peer);
            notReusable = true;
        }
        if (endOfStream) {
            if (!writer.end(ctx, trailers)) {
                log.debug("request body to {} shorter than its Content-Length", peer);
                notReusable = true;
            }
            requestDone = true;
            ctx.flush();
            if (!responseStarted || reader.hasDemand()) {
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
    public void readBody() {
        if (released || response == null || handler == null || splicing) {
            return;
        }
        reader.demand();
    }

    @Override
    public long spliceBody(ServerSession downstream, long minimum) {
        if (!connector.splices() || released || handler == null || response == null
                || reader.state() != BodyReader.State.LENGTH || notReusable || !responseKeepAlive || state != State.ACTIVE || !requestDone
                || !(channel instanceof EpollSocketChannel source) || ctx.pipeline().first() != this) {
            return -1; // only a bare TCP connection on epoll: nothing (such as TLS) may sit between this handler and the socket
        }
        long total = reader.remaining();
        long buffered = cumulation == null ? 0 : Math.min(cumulation.readableBytes(), total);
        long rest = total - buffered;
        if (rest < Math.max(1, minimum) || rest > Integer.MAX_VALUE) {
            return -1;
        }
        // a client connection holds its pipe until it closes: the loop's budget bounds them, and copies above it
        if (!(downstream.spliceTarget(total, connector.splicePipes(channel.eventLoop())).orElse(null)
                instanceof AbstractEpollStreamChannel target)) {
            return -1;
        }
        if (target.eventLoop() != source.eventLoop()) {
            throw new IllegalStateException("a spliced body needs both connections on one event loop");
        }
        // Netty splices only between level-triggered channels: switched once per connection, at its first splice,
        // so that connections that never splice keep the edge-triggered default
        if (target.config().getEpollMode() != EpollMode.LEVEL_TRIGGERED) {
            target.config().setEpollMode(EpollMode.LEVEL_TRIGGERED);
        }
        if (!autoReadSwitch) {
            source.config().setEpollMode(EpollMode.LEVEL_TRIGGERED);
            autoReadSwitch = true;
        }
        if (buffered > 0) {
            target.write(Objects.requireNonNull(cumulation, "cumulation").readRetainedSlice((int) buffered), target.voidPromise());
            reader.skipped(buffered);
            releaseCumulationIfEmpty();
        }
        target.flush();
        splicing = true;
        connector.spliced();
        // autoRead while splicing lets Netty pause this side whenever the client cannot take more, and resume it
        requestRead();
        source.spliceTo(target, (int) rest).addListener((ChannelFutureListener) f -> spliceEnded(f, target));
        armReadTimer();
        return total;
    }

    private void spliceEnded(ChannelFuture f, AbstractEpollStreamChannel target) {
        // runs inside Netty's read loop of this channel: finish on a fresh stack
        channel.eventLoop().execute(() -> {
            if (!splicing) {
                return;
            }
            splicing = false;
            readTimer.disarm();
            if (state != State.ACTIVE || handler == null || released) {
                return; // aborted or failed meanwhile: already answered
            }
            if (f.isSuccess()) {
                reader.skipped(reader.remaining());
                if (strayBytes()) {
                    strayBytesSeen();
                }
                reader.demand(); // the end of the body, as after one read through the JVM
            } else if (target.isActive()) {
                // this side ended first (the origin closed early, perhaps right after the last byte): what
                // reached the pipe still goes to the client before the error cuts the response
                ProxyError e = ProxyError.because(ErrorType.Kind.CONNECTION_CLOSED, ErrorSource.UPSTREAM,
                        "upstream closed the connection in the middle of the response body", f.cause());
                Handler h = handler;
                handler = null;
                close();
                Future<?> limit = channel.eventLoop().schedule(() -> h.onError(e),
                        peer.options().readTimeout().toNanos(), TimeUnit.NANOSECONDS);
                target.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(done -> {
                    if (limit.cancel(false)) {
                        h.onError(e);
                    }
                });
            } else {
                fail(ProxyError.because(ErrorType.Kind.WRITE_ERROR, ErrorSource.DOWNSTREAM,
                        "the client went away during the response body", f.cause()));
            }
        });
    }

    /** The origin sent bytes after the end of a response: this connection is out of step and is not reused. */
    private void strayBytesSeen() {
        log.debug("upstream {} sent bytes after the end of a response; the connection will not be reused", peer);
        notReusable = true;
    }

    /** Whether the origin sent anything after a spliced body: one non-blocking read, which consumes it. */
    private boolean strayBytes() {
        FileDescriptor fd = ((EpollSocketChannel) channel).fd();
        try {
            return fd.read(STRAY_PROBE, 0, 1) != 0; // a byte, or the end of the stream (-1)
        } catch (IOException e) {
            return true;
        }
    }

    @Override
    public void release() {
        if (released) {
            return;
        }
        released = true;
        handler = null;
        boolean reusable = state == State.ACTIVE && channel.isActive() && requestDone && reader.isDone() && !notReusable
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

    @Override
    public java.util.Optional<TunnelEnd> takeOver() {
        boolean switched = response != null && response.status() == 101;
        boolean untouched = method == null && response == null;
        if (state != State.ACTIVE || released || splicing || !channel.isActive() || !(switched || untouched)) {
            return java.util.Optional.empty();
        }
        state = State.TUNNEL; // from here every read goes on down the pipeline, to the tunnel
        released = true;
        handler = null;
        readTimer.cancel();
        writeTimer.cancel();
        ByteBuf leftover = cumulation == null ? Unpooled.EMPTY_BUFFER : cumulation;
        cumulation = null;
        return java.util.Optional.of(new TunnelEnd(channel, leftover));
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
        if (state == State.TUNNEL) {
            ctx.fireChannelRead(msg);
            return;
        }
        if (!(msg instanceof ByteBuf in)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        readPending = false;
        read(in);
        if (autoReadSwitch && !readPending && !splicing && channel.config().isAutoRead()) {
            channel.config().setAutoRead(false); // nothing asked for more: backpressure
        }
    }

    private void read(ByteBuf in) {
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
        if (response != null && response.status() == 101) {
            return; // the new protocol's first bytes: held for takeOver
        }
        if (response == null) {
            parseHeads();
        } else if (reader.hasDemand()) {
            reader.deliver();
        } else if (reader.isDone()) {
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
            if (head.status() == 101 && upgradeRequested && handler != null) {
                switchedProtocols(head);
                return;
            }
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
            responseKeepAlive = KeepAlive.of(head);
            long len = head.bodyLength();
            reader.start(len);
            if (len == BodyLength.UNTIL_CLOSE) {
                notReusable = true;
            }
            readTimer.disarm();
            releaseCumulationIfEmpty();
            if (handler != null) {
                handler.onResponseHeader(head);
            }
        }
    }

    /**
     * The origin switched protocols: HTTP ends here. What follows the 101 head stays in the cumulation for
     * {@link #takeOver()}; nothing more is read until the tunnel asks. The read timeout stays armed until then, so a
     * handler that neither takes the connection nor aborts it does not hold it for ever.
     */
    private void switchedProtocols(ResponseHeader head) {
        scan.reset();
        response = head;
        responseStarted = true;
        notReusable = true;
        Objects.requireNonNull(handler, "handler").onUpgrade(head);
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
            } else if (reader.hasDemand()) {
                reader.deliver(); // what is buffered still goes out; then the end or the error
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
        if (splicing && state == State.ACTIVE) {
            // the kernel moves the body: judge progress by when the origin last sent data
            long limit = peer.options().readTimeout().toMillis();
            long idle = ((EpollSocketChannel) channel).tcpInfo().lastDataRecv();
            if (idle < limit) {
                // progress within the timeout: look again one timeout later (a stall is caught within two)
                armReadTimer();
                return;
            }
            splicing = false;
            boolean clientStalled = !channel.config().isAutoRead(); // Netty pauses this side while the client is full
            fail(clientStalled
                    ? ProxyError.explain(ErrorType.Kind.WRITE_TIMEOUT, ErrorSource.DOWNSTREAM,
                            "the client took no response body bytes within " + limit + " ms")
                    : ProxyError.explain(ErrorType.Kind.READ_TIMEOUT, ErrorSource.UPSTREAM,
                            "no response body bytes from upstream within " + limit + " ms"));
            return;
        }
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
        if (autoReadSwitch) {
            // once a channel has spliced, Netty drops read requests made while it reads, so autoRead is the
            // switch here: on while a read is wanted, off again when one arrives that nobody asked for
            readPending = true;
            if (!channel.config().isAutoRead() && channel.isActive()) {
                channel.config().setAutoRead(true);
            }
            return;
        }
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

    @Override
    public String toString() {
        return "upstream " + peer + " " + channel;
    }

    /** The response body's way in and out: the cumulation, the read timer, and the exchange's handler. */
    private final class ResponseBody implements BodyReader.Connection {
        @Override
        public @Nullable ByteBuf received() {
            return cumulation;
        }

        @Override
        public boolean wantsBody() {
            return handler != null;
        }

        @Override
        public boolean inputEnded() {
            return state == State.CLOSED;
        }

        @Override
        public void awaitBytes() {
            armReadTimer();
            requestRead();
        }

        @Override
        public void onPiece(ByteBuf piece, boolean end) {
            readTimer.disarm();
            if (end && cumulation != null && cumulation.isReadable()) {
                strayBytesSeen();
            }
            releaseCumulationIfEmpty();
            Objects.requireNonNull(handler, "handler").onBody(piece, end);
        }

        @Override
        public void onBodyError(ProxyError e) {
            fail(e);
        }
    }
}
