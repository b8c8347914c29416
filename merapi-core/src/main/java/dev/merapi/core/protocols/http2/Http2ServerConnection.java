package dev.merapi.core.protocols.http2;

import dev.merapi.core.apps.HttpServerApp;
import dev.merapi.core.internal.ConnectionTracker;
import dev.merapi.core.internal.Deadline;
import dev.merapi.core.internal.TrackedConnection;
import dev.merapi.core.protocols.http1.Http1Options;
import dev.merapi.core.security.LogLimit;
import dev.merapi.core.security.SecurityEvents;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.handler.codec.http2.DefaultHttp2PingFrame;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameStreamException;
import io.netty.handler.codec.http2.Http2PingFrame;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.handler.codec.http2.Http2StreamChannel;
import java.io.IOException;
import java.util.concurrent.ThreadLocalRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One downstream HTTP/2 connection, as its listener and graceful shutdown see it: it sits after Netty's frame codec and
 * stream multiplexer, makes an {@link Http2StreamSession} of each stream the client opens, and owns what belongs to
 * the connection rather than a stream: reading (only while the client takes what is written, so a client that never
 * reads cannot make the connection buffer without bound), the write timeout, the idle timeout between streams (the
 * HTTP/1 keep-alive timeout), the PING keepalive ({@link Http2Options#keepAliveInterval}) and graceful shutdown
 * (GOAWAY, then open streams finish).
 *
 * <p>AUTO_READ stays off: the connection reads again after each read while the channel is writable, and when it
 * becomes writable again. Netty's codec also asks for reads on its own, so a {@link #readGate()} in front of it holds
 * every read back while the channel is not writable. Request bodies are held back per stream by HTTP/2 flow control,
 * not by the reads.
 *
 * <p>Runs on the channel's event loop only.
 */
final class Http2ServerConnection extends ChannelInboundHandlerAdapter implements TrackedConnection {
    private static final Logger log = LoggerFactory.getLogger(Http2ServerConnection.class);
    private static final LogLimit UNEXPECTED = new LogLimit(log, "downstream-h2-errors-suppressed", 10, 1);

    private final HttpServerApp app;
    private final Http1Options http1;
    private final Http2Options options;
    private final ConnectionTracker tracker;
    private final int hash = ThreadLocalRandom.current().nextInt();

    private ChannelHandlerContext ctx;
    private Channel channel;
    private Deadline idleTimer;
    private Deadline writeTimer;
    private Deadline pingTimer;
    private Deadline pingAckTimer;
    /** When something was last read from the client, on the event loop's ticker. */
    private long lastReadNanos;
    /** The payload of the PING waiting for its acknowledgement. */
    private long pingPayload;
    private int openStreams;
    private int streams;
    private boolean readSuspended;
    private boolean shuttingDown;

    Http2ServerConnection(HttpServerApp app, Http1Options http1, Http2Options options, ConnectionTracker tracker) {
        this.app = app;
        this.http1 = http1;
        this.options = options;
        this.tracker = tracker;
    }

    /**
     * The handler that goes in front of the codec (next to the socket): it lets a read through only while the channel
     * is writable, and bounds how long a header block may stay open by the header read timeout; see {@link ReadGate}.
     */
    ChannelHandler readGate() {
        return new ReadGate(http1.headerReadTimeout().toNanos());
    }

    /**
     * The handler that goes between the codec and the stream multiplexer and answers each stream error the client
     * causes with RST_STREAM and its error code (RFC 9113 §5.4.2): Netty's codec leaves that to the stream's channel,
     * and from there no reset reached the client for a stream whose request had ended (a DATA frame on a half-closed
     * stream, say).
     */
    ChannelHandler streamErrors() {
        return new ChannelInboundHandlerAdapter() {
            @Override
            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                if (cause instanceof Http2FrameStreamException e) {
                    ctx.writeAndFlush(new DefaultHttp2ResetFrame(errorOf(e)).stream(e.stream()), ctx.voidPromise());
                }
                ctx.fireExceptionCaught(cause);
            }
        };
    }

    /**
     * The error code of a stream error: Netty's, except for HEADERS on a stream the client has already ended, which RFC
     * 9113 §5.1 makes {@code STREAM_CLOSED} (Netty's decoder finds "too many headers" first and says PROTOCOL_ERROR).
     */
    static Http2Error errorOf(Http2FrameStreamException e) {
        boolean ended = e.stream().state() == Http2Stream.State.HALF_CLOSED_REMOTE
                || e.stream().state() == Http2Stream.State.CLOSED;
        if (ended && e.error() == Http2Error.PROTOCOL_ERROR && e.getCause() != null
                && String.valueOf(e.getCause().getMessage()).contains("too many headers")) {
            return Http2Error.STREAM_CLOSED;
        }
        return e.error();
    }

    /** Makes the handler of each new stream; shared by the streams of this connection. */
    ChannelInitializer<Http2StreamChannel> streamInitializer() {
        return new ChannelInitializer<>() {
            @Override
            protected void initChannel(Http2StreamChannel stream) {
                stream.config().setAutoRead(false);
                streamOpened();
                stream.closeFuture().addListener(f -> streamClosed());
                stream.pipeline().addLast(new Http2StreamSession(Http2ServerConnection.this, stream, streams > 1));
            }
        };
    }

    HttpServerApp app() {
        return app;
    }

    Http1Options http1() {
        return http1;
    }

    /** The connection's channel, whose addresses each stream reports. */
    @Override
    public Channel channel() {
        return channel;
    }

    @Override
    public int hashCode() {
        return hash;
    }

    @Override
    public boolean equals(Object o) {
        return this == o;
    }

    @Override
    public boolean isSharable() {
        return false;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        this.channel = ctx.channel();
        this.idleTimer = new Deadline(ctx.executor(), this::onIdleTimeout);
        this.writeTimer = new Deadline(ctx.executor(), this::onWriteTimeout);
        this.pingTimer = new Deadline(ctx.executor(), this::onPingDue);
        this.pingAckTimer = new Deadline(ctx.executor(), this::onPingAckTimeout);
        idleTimer.arm(http1.keepAliveTimeout().toNanos());
        lastReadNanos = ctx.executor().ticker().nanoTime();
        if (options.keepAlive()) {
            pingTimer.arm(options.keepAliveInterval().toNanos());
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof Http2PingFrame ping && ping.ack() && pingAckTimer.isArmed() && ping.content() == pingPayload) {
            pingAckTimer.disarm();
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        lastReadNanos = ctx.executor().ticker().nanoTime();
        ctx.fireChannelReadComplete();
        readMore();
    }

    /**
     * The keepalive: nothing read for a whole interval sends a PING (unless one is already waiting for its
     * acknowledgement); something read meanwhile puts the next check an interval after it.
     */
    private void onPingDue() {
        if (!channel.isActive()) {
            return;
        }
        long interval = options.keepAliveInterval().toNanos();
        long idle = ctx.executor().ticker().nanoTime() - lastReadNanos;
        if (idle < interval) {
            pingTimer.arm(interval - idle);
            return;
        }
        if (!pingAckTimer.isArmed()) {
            pingPayload = ThreadLocalRandom.current().nextLong();
            ctx.writeAndFlush(new DefaultHttp2PingFrame(pingPayload), ctx.voidPromise());
            pingAckTimer.arm(options.keepAliveTimeout().toNanos());
        }
        pingTimer.arm(interval);
    }

    /** The client did not acknowledge the keepalive PING in time: it is gone, or too slow to keep. */
    private void onPingAckTimeout() {
        log.debug("HTTP/2 keepalive PING not acknowledged by {} within {}", channel.remoteAddress(),
                options.keepAliveTimeout());
        closeNow();
    }

    private void readMore() {
        if (!channel.isActive()) {
            return;
        }
        if (channel.isWritable()) {
            readSuspended = false;
            ctx.read();
        } else {
            readSuspended = true; // what was written is not taken: read again when it is
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (channel.isWritable()) {
            writeTimer.disarm();
            if (readSuspended) {
                readMore();
            }
        } else {
            writeTimer.arm(http1.writeTimeout().toNanos());
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        idleTimer.cancel();
        writeTimer.cancel();
        pingTimer.cancel();
        pingAckTimer.cancel();
        tracker.remove(this);
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // HTTP/2 errors are answered by the codec (GOAWAY or RST_STREAM) and recorded by Http2Protocol
        if (cause instanceof Http2Exception || cause.getCause() instanceof Http2Exception) {
            log.debug("HTTP/2 error from {}: {}", channel.remoteAddress(), cause.toString());
            return;
        }
        if (cause instanceof IOException) {
            log.debug("downstream I/O error from {}: {}", channel.remoteAddress(), cause.toString());
        } else {
            UNEXPECTED.warn("unexpected error on HTTP/2 connection from {}", channel.remoteAddress(), cause);
        }
        ctx.close();
    }

    /** Sends GOAWAY; the streams open now finish, then the connection closes (or when the grace period ends). */
    @Override
    public void startShutdown() {
        if (shuttingDown) {
            return;
        }
        shuttingDown = true;
        ctx.close(); // the codec's graceful close: GOAWAY with the last stream id, close once no stream is open
    }

    /**
     * The codec met a connection error and is sending GOAWAY for it; it closes the connection once that is written,
     * which a client that reads nothing never lets happen: the write timeout then closes it.
     */
    void connectionError(Http2Exception e) {
        log.debug("HTTP/2 connection error from {}: {}", channel.remoteAddress(), e.getMessage());
        if (!writeTimer.isArmed()) {
            writeTimer.arm(http1.writeTimeout().toNanos());
        }
    }

    /**
     * Closes the connection at once, past the codec, whose close is graceful (GOAWAY written, then the open streams
     * awaited): for a client that is gone or takes nothing of what is written.
     */
    private void closeNow() {
        ChannelHandlerContext first = channel.pipeline().firstContext();
        (first != null ? first : ctx).close();
    }

    private void streamOpened() {
        openStreams++;
        streams++;
        idleTimer.disarm();
    }

    private void streamClosed() {
        openStreams--;
        if (openStreams == 0 && channel.isActive()) {
            idleTimer.arm(http1.keepAliveTimeout().toNanos());
        }
    }

    private void onIdleTimeout() {
        if (openStreams == 0) {
            ctx.close(); // GOAWAY, then the close: no stream is open
        }
    }

    /** The client took nothing of what was written (or of the acknowledgements its frames asked for) for a whole write timeout. */
    private void onWriteTimeout() {
        log.debug("HTTP/2 write timeout to {}", channel.remoteAddress());
        SecurityEvents.record("h2-peer-not-reading", channel.remoteAddress(), channel.localAddress(), 0);
        closeNow();
    }
}
