package dev.merapi.core.protocols.http1;

import dev.merapi.core.internal.ConnectionTracker;
import dev.merapi.core.internal.Deadline;
import dev.merapi.core.internal.TrackedConnection;
import dev.merapi.core.internal.http1.BodyReader;
import dev.merapi.core.internal.http1.BodyWriter;
import dev.merapi.core.internal.http1.KeepAlive;
import dev.merapi.core.internal.tls.TlsAttributes;
import dev.merapi.core.protocols.ErrorResponses;
import dev.merapi.core.protocols.ServerSession;
import dev.merapi.core.tls.TlsInfo;
import dev.merapi.core.tunnels.TunnelEnd;
import dev.merapi.core.security.LogLimit;
import dev.merapi.core.security.SecurityEvents;
import dev.merapi.core.apps.HttpServerApp;
import dev.merapi.error.ErrorSource;
import dev.merapi.error.ErrorType;
import dev.merapi.error.ProxyError;
import dev.merapi.http.BodyLength;
import dev.merapi.http.HeaderNames;
import dev.merapi.http.Headers;
import dev.merapi.http.Http1Encoder;
import dev.merapi.http.Http1Parser;
import dev.merapi.http.HttpVersion;
import dev.merapi.http.RequestHeader;
import dev.merapi.http.ResponseHeader;
import dev.merapi.http.Tokens;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.EventLoop;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One downstream HTTP/1.1 connection: it parses request heads strictly and runs their exchanges one at a time, each
 * handed to the {@link HttpServerApp} as a {@link ServerSession}, with keep-alive, pipelining (responses in order),
 * 100-continue, timeouts and graceful shutdown. The request body is read by a
 * {@link dev.merapi.core.internal.http1.BodyReader} and the response body framed by a
 * {@link dev.merapi.core.internal.http1.BodyWriter}, the same pieces the upstream side uses.
 *
 * <p>AUTO_READ is off: the connection reads only while it needs bytes (a head, or body the application
 * asked for), which is the backpressure of the request side. Bytes a client sends ahead (pipelined requests) are
 * held up to {@link Http1Options#maxUnprocessedBytes()}; then reading stops until they are processed, and the next
 * pipelined request starts only once the responses before it have gone out (the channel is writable again), so
 * neither side of a connection can buffer without bound whatever the client does.
 *
 * <p>Runs on the channel's event loop only.
 */
public final class Http1ServerConnection extends ChannelInboundHandlerAdapter implements TrackedConnection {
    private static final Logger log = LoggerFactory.getLogger(Http1ServerConnection.class);
    private static final ByteBuf CONTINUE = Unpooled.unreleasableBuffer(
            Unpooled.directBuffer(25).writeBytes("HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.US_ASCII))).asReadOnly();
    private static final long LINGER_NANOS = TimeUnit.SECONDS.toNanos(2);
    private static final int LINGER_MAX_BYTES = 256 * 1024;
    // a client can cause these over and over (an allocation failing under memory pressure, an application bug that one
    // request triggers): a few lines with their trace, then a summary, never a trace per connection
    private static final LogLimit UNEXPECTED = new LogLimit(log, "downstream-errors-suppressed", 10, 1);

    private enum State { IDLE, HEAD, ACTIVE, CLOSING, CLOSED, TUNNEL }

    private enum ReadWait { FIRST_BYTE, KEEP_ALIVE, HEADER, BODY, LINGER }

    /** How far the response of an exchange got. */
    private enum Response { NOT_STARTED, STARTED, DONE }

    private final HttpServerApp app;
    private final Http1Options options;
    private final ConnectionTracker tracker;
    private final @Nullable PriorKnowledge priorKnowledge; // another protocol this port speaks (h2c), if any
    private final Http1Parser.HeadScan scan = new Http1Parser.HeadScan();
    private final BodyWriter writer = new BodyWriter(); // the current exchange's response body
    private final int hash = ThreadLocalRandom.current().nextInt();

    private ChannelHandlerContext ctx;
    private Channel channel;
    private Deadline readTimer;
    private @Nullable Deadline writeTimer; // made when first needed: most connections never wait on a write
    private ReadWait readWait = ReadWait.FIRST_BYTE; // what the read timer waits for, once armed
    private State state = State.IDLE;
    private @Nullable ByteBuf cumulation;
    private boolean readPending;
    private boolean inputClosed;
    private boolean shuttingDown;
    private int requests;
    private long lingered;
    private @Nullable Exchange current;

    /**
     * @param app the application that gets each request
     * @param options limits and timeouts
     * @param tracker the service's open connections, for graceful shutdown
     */
    public Http1ServerConnection(HttpServerApp app, Http1Options options, ConnectionTracker tracker) {
        this(app, options, tracker, null);
    }

    /**
     * @param app the application that gets each request
     * @param options limits and timeouts
     * @param tracker the service's open connections, for graceful shutdown
     * @param priorKnowledge the protocol that takes the connection over when it starts with that protocol's preface,
     *     or {@code null} for HTTP/1.1 only
     */
    public Http1ServerConnection(HttpServerApp app, Http1Options options, ConnectionTracker tracker,
            @Nullable PriorKnowledge priorKnowledge) {
        this.app = app;
        this.options = options;
        this.tracker = tracker;
        this.priorKnowledge = priorKnowledge;
    }

    @Override
    public Channel channel() {
        return channel;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        this.channel = ctx.channel();
        this.readTimer = new Deadline(ctx.executor(), this::onReadTimeout);
    }

    /**
     * Identity, as for any handler, with a hash that costs less than the identity hash: the
     * {@link ConnectionTracker} hashes every connection once when it opens and once when it closes.
     */
    @Override
    public int hashCode() {
        return hash;
    }

    @Override
    public boolean equals(Object o) {
        return this == o;
    }

    /** Not sharable, said without the per-class cache lookup that Netty's default makes when the handler is added. */
    @Override
    public boolean isSharable() {
        return false;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        if (!tracker.add(this)) {
            state = State.CLOSED;
            ctx.close();
            return;
        }
        armRead(ReadWait.FIRST_BYTE, options.firstByteTimeout().toNanos());
        requestRead();
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (state == State.TUNNEL) {
            readPending = false;
            ctx.fireChannelRead(msg); // HTTP is over on this connection: the tunnel after this handler takes it
            return;
        }
        if (!(msg instanceof ByteBuf in)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        readPending = false;
        switch (state) {
            case CLOSING, CLOSED, TUNNEL -> {
                lingered += in.readableBytes();
                in.release();
                if (state == State.CLOSING && lingered < LINGER_MAX_BYTES) {
                    ctx.read();
                } else {
                    ctx.close();
                }
            }
            case IDLE, HEAD -> {
                cumulate(in);
                if (priorKnowledge != null && requests == 0 && state == State.IDLE && handedOver(priorKnowledge)) {
                    return;
                }
                processHead();
            }
            case ACTIVE -> {
                cumulate(in);
                Exchange ex = current;
                if (ex != null && ex.body.hasDemand()) {
                    ex.body.deliver();
                }
            }
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (state == State.TUNNEL) {
            ctx.fireChannelWritabilityChanged(); // the tunnel's own backpressure and idle timeout rule now
            return;
        }
        if (channel.isWritable()) {
            if (writeTimer != null && (current == null || !current.splicing)) { // a splice keeps its watch
                writeTimer.disarm();
            }
            Exchange ex = current;
            if (ex != null && ex.handler != null && ex.response != Response.DONE) {
                ex.handler.onWritable();
            } else if (state == State.IDLE && cumulation != null && cumulation.isReadable()) {
                processNextOnFreshStack(); // a pipelined request waited for the responses before it to go out
            }
        } else {
            armWrite();
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof io.netty.channel.socket.ChannelInputShutdownEvent) {
            inputClosed = true;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        State was = state;
        state = State.CLOSED;
        readTimer.cancel();
        if (writeTimer != null) {
            writeTimer.cancel();
        }
        releaseCumulation();
        tracker.remove(this);
        Exchange ex = current;
        current = null;
        if (ex != null && was != State.CLOSED && ex.response != Response.DONE && ex.handler != null) {
            ex.handler.onError(ProxyError.explain(ErrorType.Kind.CONNECTION_CLOSED, ErrorSource.DOWNSTREAM,
                    "client closed the connection"));
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof IOException) {
            log.debug("downstream I/O error from {}: {}", channel.remoteAddress(), cause.toString());
        } else if (cause instanceof OutOfMemoryError) {
            // the trace says nothing the message does not; the connection goes, which frees what it held
            UNEXPECTED.warn("out of memory on the downstream connection from {}; closing it: {}", channel.remoteAddress(),
                    cause.toString());
        } else {
            UNEXPECTED.warn("unexpected error on downstream connection from {}", channel.remoteAddress(), cause);
        }
        ctx.close();
    }

    @Override
    public void startShutdown() {
        shuttingDown = true;
        if (state == State.IDLE && (cumulation == null || !cumulation.isReadable())) {
            ctx.close();
        }
    }

    // ---- reading heads

    /**
     * Compares the first bytes of the connection with the other protocol's preface: a request line differs at its
     * first or second byte, and then nothing changes. A prefix of the preface waits for more bytes (the first-byte
     * timeout still runs); the whole preface hands the connection and every byte read so far over.
     *
     * @return whether the bytes are (the start of) the preface, so HTTP/1.1 must not parse them
     */
    private boolean handedOver(PriorKnowledge other) {
        ByteBuf preface = other.preface();
        ByteBuf in = Objects.requireNonNull(cumulation);
        int n = Math.min(in.readableBytes(), preface.readableBytes());
        if (!ByteBufUtil.equals(in, in.readerIndex(), preface, preface.readerIndex(), n)) {
            return false;
        }
        if (n < preface.readableBytes()) {
            requestRead();
            return true;
        }
        cumulation = null;
        state = State.CLOSED;
        readTimer.cancel();
        if (writeTimer != null) {
            writeTimer.cancel();
        }
        tracker.remove(this);
        ctx.pipeline().remove(this);
        other.takeOver(channel, in);
        return true;
    }

    private void processHead() {
        while (state == State.IDLE || state == State.HEAD) {
            if (cumulation == null || !cumulation.isReadable()) {
                releaseCumulation(); // an idle connection holds no buffer
                requestRead();
                return;
            }
            if (state == State.IDLE) {
                if (!channel.isWritable()) {
                    // the responses before this request are still going out: channelWritabilityChanged resumes, and
                    // the write timeout closes a client that reads nothing
                    return;
                }
                state = State.HEAD;
                armRead(ReadWait.HEADER, options.headerReadTimeout().toNanos());
            }
            RequestHeader request;
            int headStart = -1;
            try {
                int end = Http1Parser.findHeadEnd(cumulation, scan, options.limits(), true);
                if (end < 0) {
                    checkRequestLineStart(cumulation);
                    requestRead();
                    return;
                }
                headStart = cumulation.readerIndex();
                request = Http1Parser.parseRequest(cumulation, end, options.limits());
            } catch (ProxyError e) {
                if (headStart >= 0) {
                    cumulation.readerIndex(headStart); // the parser may have moved past the head: quote it from its start
                }
                reject(e, null);
                return;
            }
            scan.reset();
            readTimer.disarm();
            requests++;
            startExchange(request);
        }
    }

    /**
     * Fails at once, rather than after the header read timeout, when the bytes so far cannot begin a request line: it
     * starts with a method (token characters) and a space, after at most a lone CR of an empty line. A TLS handshake
     * on a plain-text port is the usual case. Reads only the method, so a head that comes in many pieces costs little.
     *
     * @throws ProxyError 400 with the rule {@code not-http}
     */
    private static void checkRequestLineStart(ByteBuf buf) {
        int start = buf.readerIndex();
        int end = buf.writerIndex();
        if (end - start == 1 && buf.getByte(start) == '\r') {
            return; // may be the first half of an empty line, which the parser skips
        }
        for (int i = start; i < end; i++) {
            byte b = buf.getByte(i);
            if (b == ' ' && i > start) {
                return;
            }
            if (!Tokens.isTchar(b)) {
                boolean tls = b == 0x16 && i == start && end - start >= 2 && buf.getByte(start + 1) == 0x03;
                throw ProxyError.rejected(new ErrorType.HttpStatus(400), ErrorSource.DOWNSTREAM, "not-http", tls
                        ? "a TLS handshake on a plain-text HTTP listener"
                        : "bytes that cannot start an HTTP request line");
            }
        }
    }

    private void startExchange(RequestHeader request) {
        state = State.ACTIVE;
        if ("CONNECT".equals(request.method()) && !options.allowConnect()) {
            reject(ProxyError.rejected(new ErrorType.HttpStatus(405), ErrorSource.DOWNSTREAM, "connect-disabled", "CONNECT is not enabled on this listener"), request);
            return;
        }
        if ("TRACE".equals(request.method()) && !options.allowTrace()) {
            reject(ProxyError.rejected(new ErrorType.HttpStatus(405), ErrorSource.DOWNSTREAM, "trace-disabled", "TRACE is not enabled on this listener"), request);
            return;
        }
        boolean expectContinue = false;
        int expectAt = request.headers().indexOf(HeaderNames.EXPECT, 0);
        if (expectAt >= 0) {
            if (!request.headers().value(expectAt).equalsIgnoreCase("100-continue") || request.headers().count(HeaderNames.EXPECT) > 1) {
                reject(ProxyError.rejected(new ErrorType.HttpStatus(417), ErrorSource.DOWNSTREAM, "bad-expect", "unsupported expectation"), request);
                return;
            }
            request.headers().remove(HeaderNames.EXPECT);
            expectContinue = request.version() == HttpVersion.HTTP_1_1 && request.bodyLength() != BodyLength.NONE;
        }
        Exchange ex = new Exchange(request, expectContinue, requests > 1);
        current = ex;
        try {
            app.onRequest(ex);
        } catch (RuntimeException e) {
            UNEXPECTED.warn("application failed on {} {}", request.method(), request.path(), e);
            if (current == ex && ex.response == Response.NOT_STARTED && isOpen()) {
                writeErrorAndClose(500);
            } else {
                ctx.close();
            }
            return;
        }
        if (current == ex && ex.body.isDone() && ex.response != Response.DONE) {
            ex.watchForClose();
        }
    }

    /**
     * Answers a request that broke a rule with its status, then closes: the framing is in doubt. Records a security
     * event quoting {@code request}, or the unparsed head in the cumulation when it is {@code null}.
     */
    private void reject(ProxyError e, @Nullable RequestHeader request) {
        log.debug("rejected request from {}: {}", channel.remoteAddress(), e.getMessage());
        String rule = SecurityEvents.ruleOf(e, "bad-request");
        if (request != null) {
            SecurityEvents.record(rule, channel.remoteAddress(), channel.localAddress(), e.responseStatus(), request);
        } else {
            SecurityEvents.record(rule, channel.remoteAddress(), channel.localAddress(), e.responseStatus(), cumulation);
        }
        releaseCumulation();
        writeErrorAndClose(e.responseStatus());
    }

    private void writeErrorAndClose(int status) {
        ResponseHeader h = ErrorResponses.header(status);
        h.headers().add(HeaderNames.CONNECTION, "close");
        if (status == 405) {
            h.headers().add("Allow", "GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS");
        }
        ctx.write(Http1Encoder.encodeResponse(ctx.alloc(), h, HttpVersion.HTTP_1_1), ctx.voidPromise());
        ctx.write(ErrorResponses.content(ctx.alloc(), status), ctx.voidPromise());
        current = null;
        closeGracefully();
    }

    /**
     * Closes after what was written is flushed: the write side is shut first, then what the client still
     * sends is read and dropped for a short while, so that it sees the response rather than a reset.
     */
    private void closeGracefully() {
        if (state == State.CLOSING || state == State.CLOSED) {
            return;
        }
        state = State.CLOSING;
        armWrite();
        ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener((ChannelFutureListener) f -> {
            if (!f.isSuccess() || !channel.isActive() || !(channel instanceof DuplexChannel duplex)) {
                channel.close();
                return;
            }
            duplex.shutdownOutput().addListener((ChannelFutureListener) s -> {
                if (!s.isSuccess()) {
                    channel.close();
                    return;
                }
                armRead(ReadWait.LINGER, LINGER_NANOS);
                ctx.read();
            });
        });
    }

    // ---- timers

    private void armRead(ReadWait wait, long nanos) {
        readWait = wait;
        readTimer.arm(nanos);
    }

    private void armWrite() {
        if (writeTimer == null) {
            writeTimer = new Deadline(ctx.executor(), this::onWriteTimeout);
        }
        writeTimer.arm(options.writeTimeout().toNanos());
    }

    private void onReadTimeout() {
        switch (readWait) {
            case KEEP_ALIVE, LINGER -> ctx.close();
            case FIRST_BYTE -> {
                SecurityEvents.record("first-byte-timeout", channel.remoteAddress(), channel.localAddress(), 0);
                ctx.close();
            }
            case HEADER -> {
                log.debug("header read timeout from {}", channel.remoteAddress());
                SecurityEvents.record("header-read-timeout", channel.remoteAddress(), channel.localAddress(), 408, cumulation);
                releaseCumulation();
                writeErrorAndClose(408);
            }
            case BODY -> {
                Exchange ex = current;
                if (ex != null && ex.handler != null) {
                    SecurityEvents.record("body-read-timeout", channel.remoteAddress(), channel.localAddress(),
                            ex.isResponseStarted() ? 0 : 408, ex.request);
                    ex.body.cancelDemand();
                    ex.handler.onError(ProxyError.explain(ErrorType.Kind.READ_TIMEOUT, ErrorSource.DOWNSTREAM,
                            "request body read timeout"));
                } else {
                    ctx.close();
                }
            }
        }
    }

    private void onWriteTimeout() {
        Exchange ex = current;
        if (ex != null && ex.splicing && ex.splicedOutputMoved()) {
            armWrite(); // the kernel took spliced bytes within the timeout: look again one timeout later
            return;
        }
        log.debug("write timeout to {}", channel.remoteAddress());
        current = null;
        state = State.CLOSED;
        ctx.close();
        if (ex != null && ex.handler != null && ex.response != Response.DONE) {
            ex.handler.onError(ProxyError.explain(ErrorType.Kind.WRITE_TIMEOUT, ErrorSource.DOWNSTREAM, "response write timeout"));
        }
    }

    // ---- buffers

    private void requestRead() {
        if (!readPending && !inputClosed && channel.isActive()) {
            readPending = true;
            ctx.read();
        }
    }

    /**
     * Asks for one more read to notice a client that leaves while a response is awaited, unless the client is already
     * {@link Http1Options#maxUnprocessedBytes()} ahead: each read brings at most one buffer, so what is held stays
     * below that bound plus one read. Reading resumes when the connection gets to those bytes.
     */
    private void requestReadAhead() {
        if (cumulation == null || cumulation.readableBytes() < options.maxUnprocessedBytes()) {
            requestRead();
        }
    }

    private void cumulate(ByteBuf in) {
        if (cumulation == null) {
            cumulation = in;
        } else if (!cumulation.isReadable()) {
            cumulation.release();
            cumulation = in;
        } else {
            if (cumulation.refCnt() == 1) {
                // drops what was processed (pipelined heads), so the buffer does not grow with every request; with
                // a body slice still out the merge below copies the unread bytes into a new buffer instead
                cumulation.discardSomeReadBytes();
            }
            cumulation = ByteToMessageDecoder.MERGE_CUMULATOR.cumulate(ctx.alloc(), cumulation, in);
        }
    }

    private void processNextOnFreshStack() {
        ctx.executor().execute(() -> {
            if (state == State.IDLE) {
                processHead();
            }
        });
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

    private boolean isOpen() {
        return state != State.CLOSED && state != State.CLOSING && channel.isActive();
    }

    /** One request and its response on this connection. */
    private final class Exchange implements ServerSession, BodyReader.Connection {
        private final RequestHeader request;
        private final boolean reused;
        private final BodyReader body;
        private boolean expectContinue;
        private @Nullable Handler handler;

        private Response response = Response.NOT_STARTED;
        private boolean splicing;
        private @Nullable Object splicedHead; // what was first in line to go out at the last look, while splicing
        private boolean closeAfter;

        Exchange(RequestHeader request, boolean expectContinue, boolean reused) {
            this.request = request;
            this.expectContinue = expectContinue;
            this.reused = reused;
            this.body = new BodyReader(this, options.limits(), true, ctx.alloc());
            body.start(request.bodyLength());
            closeAfter = !KeepAlive.of(request);
        }

        @Override
        public RequestHeader request() {
            return request;
        }

        @Override
        public EventLoop eventLoop() {
            return channel.eventLoop();
        }

        @Override
        public SocketAddress clientAddress() {
            return channel.remoteAddress();
        }

        @Override
        public SocketAddress serverAddress() {
            return channel.localAddress();
        }

        @Override
        public boolean isConnectionReused() {
            return reused;
        }

        @Override
        public Optional<TlsInfo> tls() {
            return TlsAttributes.of(channel);
        }

        @Override
        public void setHandler(Handler handler) {
            this.handler = handler;
        }

        @Override
        public boolean hasRequestBody() {
            return request.bodyLength() != BodyLength.NONE && request.bodyLength() != 0;
        }

        @Override
        public boolean isRequestBodyDone() {
            return body.isDone();
        }

        @Override
        public void readBody() {
            if (current != this || handler == null) {
                return;
            }
            if (expectContinue && response == Response.NOT_STARTED) {
                expectContinue = false;
                ctx.writeAndFlush(CONTINUE.duplicate(), ctx.voidPromise());
            }
            body.demand();
        }

        @Override
        public @Nullable ByteBuf received() {
            return cumulation;
        }

        @Override
        public boolean wantsBody() {
            return current == this;
        }

        @Override
        public boolean inputEnded() {
            return inputClosed;
        }

        @Override
        public void awaitBytes() {
            armRead(ReadWait.BODY, options.bodyReadTimeout().toNanos());
            requestRead();
        }

        @Override
        public void onPiece(ByteBuf piece, boolean end) {
            if (end) {
                watchForClose();
            }
            if (readWait == ReadWait.BODY) {
                readTimer.disarm(); // armed again only while waiting for bytes
            }
            releaseCumulationIfEmpty();
            Objects.requireNonNull(handler, "handler").onBody(piece, end);
        }

        @Override
        public void onBodyError(ProxyError e) {
            if (e.type() instanceof ErrorType.HttpStatus) {
                // a broken chunked encoding; the excerpt is the request line, never body bytes
                SecurityEvents.record(SecurityEvents.ruleOf(e, "bad-chunk"), channel.remoteAddress(),
                        channel.localAddress(), isResponseStarted() ? 0 : e.responseStatus(), request);
            }
            failBody(e);
        }

        /**
         * Once the request body is in, keeps one read pending while the response is awaited, so that a client
         * that leaves is noticed (and the upstream work stopped) without waiting for the response. The epoll
         * transport reports the close anyway; NIO needs the read. Bytes it brings (a pipelined request) wait in
         * the cumulation, and no further read is asked for until the response is done.
         */
        void watchForClose() {
            requestReadAhead();
        }

        private void failBody(ProxyError e) {
            closeAfter = true;
            releaseCumulation();
            Objects.requireNonNull(handler, "handler").onError(e);
        }

        @Override
        public void writeInterim(ResponseHeader header) {
            if (current != this || response != Response.NOT_STARTED || request.version() != HttpVersion.HTTP_1_1
                    || !isOpen()) {
                return;
            }
            if (header.status() == 100) {
                if (!expectContinue) {
                    return;
                }
                expectContinue = false;
            }
            if (header.status() == 101 || header.status() >= 200) {
                throw new IllegalArgumentException("not an interim response: " + header.status());
            }
            ctx.writeAndFlush(Http1Encoder.encodeResponse(ctx.alloc(), header, HttpVersion.HTTP_1_1), ctx.voidPromise());
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
            if (current != this || !isOpen()) {
                return;
            }
            response = Response.STARTED; // finishResponse below ends it
            Headers h = header.headers();
            h.remove(HeaderNames.TRANSFER_ENCODING);
            h.remove(HeaderNames.CONNECTION);
            h.remove(HeaderNames.KEEP_ALIVE);
            int status = header.status();
            boolean noBody = "HEAD".equals(request.method()) || status == 204 || status == 304;
            if (status == 204) {
                h.remove(HeaderNames.CONTENT_LENGTH);
            }
            int clAt = h.indexOf(HeaderNames.CONTENT_LENGTH, 0);
            if (noBody) {
                writer.start(BodyWriter.Framing.NONE, 0);
            } else if (clAt >= 0) {
                long length = parseLength(h.value(clAt));
                if (length < 0 || h.count(HeaderNames.CONTENT_LENGTH) > 1) {
                    throw new IllegalArgumentException("invalid Content-Length in response: " + h.value(clAt));
                }
                writer.start(BodyWriter.Framing.LENGTH, length);
            } else if (endOfStream) {
                h.add(HeaderNames.CONTENT_LENGTH, "0");
                writer.start(BodyWriter.Framing.LENGTH, 0);
            } else if (request.version() == HttpVersion.HTTP_1_1) {
                h.add(HeaderNames.TRANSFER_ENCODING, "chunked");
                writer.start(BodyWriter.Framing.CHUNKED, 0);
            } else {
                writer.start(BodyWriter.Framing.UNTIL_CLOSE, 0);
                closeAfter = true; // the body ends when the connection closes
            }
            if (!body.isDone() && !endOfStream) {
                // the response started before the request body was read: keep reading it, but not the connection
                closeAfter = true;
            }
            if (shuttingDown || tracker.isShuttingDown() || requests >= options.maxRequestsPerConnection()) {
                closeAfter = true;
            }
            if (closeAfter) {
                h.add(HeaderNames.CONNECTION, "close");
            } else if (request.version() == HttpVersion.HTTP_1_0) {
                h.add(HeaderNames.CONNECTION, "keep-alive");
            }
            ctx.write(Http1Encoder.encodeResponse(ctx.alloc(), header, request.version()), ctx.voidPromise());
            if (endOfStream) {
                finishResponse();
            }
        }

        @Override
        public void writeBody(ByteBuf data, boolean endOfStream) {
            if (response == Response.NOT_STARTED) {
                data.release();
                throw new IllegalStateException("response head not written");
            }
            if (response == Response.DONE || current != this || !isOpen()) {
                data.release();
                if (endOfStream) {
                    response = Response.DONE;
                }
                return;
            }
            if (!writer.write(ctx, data)) {
                // more than the declared length: send what fits and close, never let it bleed into the next response
                log.warn("response body longer than its Content-Length to {}; truncating and closing", channel.remoteAddress());
                closeAfter = true;
                endOfStream = true;
            }
            if (endOfStream) {
                finishResponse();
            }
        }

        @Override
        public void writeTrailers(Headers trailers) {
            if (response == Response.NOT_STARTED) {
                throw new IllegalStateException("response head not written");
            }
            if (response == Response.DONE || current != this || !isOpen()) {
                response = Response.DONE;
                return;
            }
            finishResponse(trailers); // only a chunked body carries them; the forbidden fields are dropped there
        }

        @Override
        public Optional<Headers> requestTrailers() {
            return body.trailers();
        }

        @Override
        public Optional<Channel> spliceTarget(long length, Predicate<Channel> admit) {
            // only a bare TCP connection on epoll: nothing (such as TLS) may sit between this handler and the socket
            if (current != this || !isOpen() || response != Response.STARTED
                    || writer.framing() != BodyWriter.Framing.LENGTH || length <= 0 || writer.remaining() != length
                    || !(channel instanceof EpollSocketChannel) || ctx.pipeline().first() != Http1ServerConnection.this
                    || !admit.test(channel)) {
                return Optional.empty();
            }
            writer.skipped(length);
            // spliced bytes bypass the channel's writability, so the write timeout watches the outbound line itself
            splicing = true;
            splicedHead = null;
            armWrite();
            return Optional.of(channel);
        }

        /**
         * Whether the spliced output moved since the last look: nothing waits to go out, or what is first in line
         * changed. The kernel moves each spliced piece as one entry, so one that stays first for a whole write
         * timeout means the client took nothing.
         */
        private boolean splicedOutputMoved() {
            ChannelOutboundBuffer out = channel.unsafe().outboundBuffer();
            Object head = out == null ? null : out.current();
            boolean moved = head == null || head != splicedHead;
            splicedHead = head;
            return moved;
        }

        private void finishResponse() {
            finishResponse(null);
        }

        private void finishResponse(@Nullable Headers trailers) {
            response = Response.DONE;
            if (splicing) {
                splicing = false;
                splicedHead = null;
                if (writeTimer != null && channel.isWritable()) {
                    writeTimer.disarm();
                }
            }
            if (!writer.end(ctx, trailers)) {
                // shorter than its Content-Length: the client must see the connection close
                log.debug("response body shorter than its Content-Length to {}; closing", channel.remoteAddress());
                current = null;
                ctx.flush();
                ctx.close();
                return;
            }
            if (!body.isDone() || shuttingDown) {
                closeAfter = true;
            }
            current = null;
            if (closeAfter) {
                if (body.isDone() && (cumulation == null || !cumulation.isReadable())) {
                    // nothing unread: close right after the last byte, as a client that asked for close expects
                    state = State.CLOSING;
                    ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
                } else {
                    closeGracefully();
                }
                return;
            }
            ctx.flush();
            state = State.IDLE;
            body.cancelDemand();
            if (cumulation != null && cumulation.isReadable()) {
                processNextOnFreshStack(); // a pipelined request is waiting
            } else {
                armRead(ReadWait.KEEP_ALIVE, options.keepAliveTimeout().toNanos());
                requestRead();
            }
        }

        @Override
        public void flush() {
            if (current == this && isOpen()) {
                ctx.flush();
            }
        }

        @Override
        public Optional<TunnelEnd> openTunnel(ResponseHeader header) {
            int status = header.status();
            if (status != 101 && (status < 200 || status > 299)) {
                throw new IllegalArgumentException("a tunnel opens on a 101 or a 2xx, not " + status);
            }
            if (current != this || response != Response.NOT_STARTED || !Http1ServerConnection.this.isOpen()
                    || request.version() != HttpVersion.HTTP_1_1 || !body.isDone() || splicing) {
                return Optional.empty();
            }
            Headers h = header.headers();
            h.remove(HeaderNames.CONTENT_LENGTH);
            h.remove(HeaderNames.TRANSFER_ENCODING);
            h.remove(HeaderNames.KEEP_ALIVE);
            if (status != 101) {
                h.remove(HeaderNames.CONNECTION);
            }
            response = Response.DONE;
            current = null;
            state = State.TUNNEL;
            readTimer.cancel();
            if (writeTimer != null) {
                writeTimer.cancel();
            }
            body.cancelDemand();
            ctx.writeAndFlush(Http1Encoder.encodeResponse(ctx.alloc(), header, HttpVersion.HTTP_1_1), ctx.voidPromise());
            // bytes the client sent after the head were held here, never handed on: they are the new protocol's now
            ByteBuf leftover = cumulation == null ? Unpooled.EMPTY_BUFFER : cumulation;
            cumulation = null;
            return Optional.of(new TunnelEnd(channel, leftover));
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
            return channel.isWritable();
        }

        @Override
        public boolean isOpen() {
            return Http1ServerConnection.this.isOpen() || (state == State.CLOSING && channel.isActive());
        }

        @Override
        public void abort() {
            if (current == this) {
                current = null;
            }
            response = Response.DONE;
            state = State.CLOSED;
            // what was written (a head, part of a body) goes out before the close, so the client sees a
            // response cut short rather than no response at all (which a client may take as safe to retry)
            ctx.flush();
            ctx.close();
        }

        @Override
        public String toString() {
            return request + " from " + channel.remoteAddress();
        }
    }

    private static long parseLength(String v) {
        if (v.isEmpty() || v.length() > 17) {
            return -1;
        }
        long n = 0;
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            n = n * 10 + (c - '0');
        }
        return n;
    }
}
