package dev.merapi.core.connectors;

import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.error.ErrorSource;
import dev.merapi.error.ErrorType;
import dev.merapi.error.ProxyError;
import dev.merapi.error.Retry;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2GoAwayFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2SettingsFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One upstream HTTP/2 connection (h2 over TLS, or h2c with prior knowledge), shared by the requests of its event loop
 * to one reuse key, each on a stream of its own ({@link Http2ClientStream}).
 *
 * <p>It takes a new stream only while it is {@linkplain #available() available}: the origin's first SETTINGS arrived,
 * it has not sent GOAWAY, and fewer streams are open than both the peer's {@code maxStreamsPerConnection} and the
 * origin's SETTINGS_MAX_CONCURRENT_STREAMS allow. Requests that arrive while it is being set up wait for those
 * SETTINGS ({@linkplain #enqueue up to the peer's stream limit}). After a GOAWAY it finishes the streams it has and
 * closes; with no stream open it closes after the peer's idle timeout, sending GOAWAY.
 *
 * <p>Flow control: each stream's window ({@value #STREAM_WINDOW} bytes) is given back as its reader takes the data,
 * so one slow client stalls only its own stream; the connection's window is {@value #CONNECTION_WINDOW} bytes.
 *
 * <p>Runs on its channel's event loop only.
 */
final class Http2ClientConnection extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(Http2ClientConnection.class);
    /** The receive window of each stream. */
    static final int STREAM_WINDOW = 256 * 1024;
    /** The receive window of the connection, shared by its streams. */
    static final int CONNECTION_WINDOW = 4 * 1024 * 1024;

    private final HttpPeer peer;
    private final Connector connector;
    private final Http2Pool pool;
    private final EventLoop loop;
    private final List<Promise<ClientSession>> waiters = new ArrayList<>();
    private @Nullable Channel channel;
    private @Nullable Http2FrameCodec codec;
    private @Nullable ScheduledFuture<?> idleClose;
    private @Nullable ScheduledFuture<?> settingsWait;
    private boolean ready;
    private boolean goingAway;
    private boolean closed;
    private int active;
    private long streamsOpened;

    Http2ClientConnection(HttpPeer peer, Connector connector, Http2Pool pool, EventLoop loop) {
        this.peer = peer;
        this.connector = connector;
        this.pool = pool;
        this.loop = loop;
    }

    /**
     * Makes {@code ch} (connected, and through its TLS handshake if any) an HTTP/2 connection: the frame codec, the
     * stream multiplexer and this handler go on its pipeline, the connection preface goes out, and reading starts.
     */
    void install(Channel ch, int maxHeaderListBytes) {
        Http2FrameCodec frameCodec = Http2FrameCodecBuilder.forClient()
                .initialSettings(Http2Settings.defaultSettings()
                        .pushEnabled(false)
                        .initialWindowSize(STREAM_WINDOW)
                        .maxHeaderListSize(maxHeaderListBytes))
                .validateHeaders(true)
                .build();
        this.channel = ch;
        this.codec = frameCodec;
        ch.pipeline().addLast("h2-codec", frameCodec);
        ch.pipeline().addLast("h2-streams", new Http2MultiplexHandler(new RefusePushes()));
        ch.pipeline().addLast("h2-client", this);
        try {
            frameCodec.connection().local().flowController().incrementWindowSize(
                    frameCodec.connection().connectionStream(), CONNECTION_WINDOW - Http2CodecUtil.DEFAULT_WINDOW_SIZE);
        } catch (Http2Exception e) {
            log.debug("cannot widen the h2 connection window to {}: {}", peer, e.toString());
        }
        connector.opened(ch);
        ch.config().setAutoRead(true); // HTTP/2 reads all the time; each stream's window gives the backpressure
        long wait = peer.options().connectTimeout().toNanos();
        settingsWait = ch.eventLoop().schedule(() -> {
            if (!ready && !closed) {
                failWaiters(ProxyError.explain(ErrorType.Kind.CONNECT_TIMEOUT, ErrorSource.UPSTREAM,
                        "no h2 SETTINGS from " + peer + " within the connect timeout").withRetry(Retry.YES));
                ch.close();
            }
        }, wait, TimeUnit.NANOSECONDS);
        ch.closeFuture().addListener(f -> closed());
    }

    /** Whether a new stream may start here now. */
    boolean available() {
        Http2FrameCodec c = codec;
        Channel ch = channel;
        return ready && !goingAway && !closed && c != null && ch != null && ch.isActive()
                && !c.connection().goAwayReceived() && active < limit();
    }

    /** Whether a request may wait here for the connection to be set up. */
    boolean acceptsWaiter() {
        return !ready && !closed && !goingAway && waiters.size() < peer.options().maxStreamsPerConnection();
    }

    /** Whether the connection has ended or is ending: it takes no stream again. */
    boolean isDone() {
        return closed || goingAway;
    }

    private int limit() {
        Http2FrameCodec c = codec;
        int theirs = c == null ? Integer.MAX_VALUE : c.connection().local().maxActiveStreams();
        return Math.min(peer.options().maxStreamsPerConnection(), theirs);
    }

    /** Waits for the connection to be set up, then opens a stream for {@code promise}. */
    void enqueue(Promise<ClientSession> promise) {
        waiters.add(promise);
    }

    /** Opens a stream for {@code promise}; call only when {@link #available()}. */
    void openStream(Promise<ClientSession> promise) {
        Channel ch = channel;
        if (ch == null) {
            throw new IllegalStateException("h2 connection not installed");
        }
        active++;
        streamsOpened++;
        if (idleClose != null) {
            idleClose.cancel(false);
            idleClose = null;
        }
        boolean reused = streamsOpened > 1;
        connector.streamOpened(reused);
        Http2ClientStream stream = new Http2ClientStream(peer, Objects.requireNonNull(codec, "codec").connection(), reused);
        new Http2StreamChannelBootstrap(ch).option(ChannelOption.AUTO_READ, false).handler(stream).open().addListener(f -> {
            if (f.isSuccess()) {
                ((Http2StreamChannel) f.getNow()).closeFuture().addListener(c -> streamClosed());
                if (!promise.trySuccess(stream)) {
                    stream.abort();
                }
            } else {
                streamClosed();
                promise.tryFailure(ProxyError.because(ErrorType.Kind.STREAM_REFUSED, ErrorSource.UPSTREAM,
                        "cannot open an h2 stream to " + peer, f.cause()).withRetry(Retry.YES));
            }
        });
    }

    private void streamClosed() {
        active--;
        if (active > 0 || closed) {
            return;
        }
        Channel ch = channel;
        if (ch == null) {
            return;
        }
        if (goingAway) {
            ch.close();
            return;
        }
        long idle = peer.options().idleTimeout().toNanos();
        idleClose = ch.eventLoop().schedule(() -> {
            if (active == 0 && !closed) {
                log.debug("closing idle h2 connection to {}", peer);
                ch.close();
            }
        }, idle, TimeUnit.NANOSECONDS);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        try {
            if (msg instanceof Http2SettingsFrame) {
                if (!ready) {
                    ready = true;
                    if (settingsWait != null) {
                        settingsWait.cancel(false);
                    }
                    serveWaiters();
                }
            } else if (msg instanceof Http2GoAwayFrame goAway) {
                log.debug("upstream {} sent GOAWAY (last stream {}, error {})", peer, goAway.lastStreamId(), goAway.errorCode());
                goingAway = true;
                pool.remove(peer.reuseKey(), this);
                failWaiters(ProxyError.explain(ErrorType.Kind.STREAM_REFUSED, ErrorSource.UPSTREAM,
                        "upstream sent GOAWAY before the h2 stream opened").withRetry(Retry.YES));
                if (active == 0) {
                    ctx.close();
                }
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    private void serveWaiters() {
        List<Promise<ClientSession>> now = new ArrayList<>(waiters);
        waiters.clear();
        for (Promise<ClientSession> p : now) {
            if (available()) {
                openStream(p);
            } else {
                connector.redispatch(peer, loop, p); // the origin allows fewer streams than were waiting
            }
        }
    }

    private void failWaiters(ProxyError e) {
        List<Promise<ClientSession>> now = new ArrayList<>(waiters);
        waiters.clear();
        for (Promise<ClientSession> p : now) {
            p.tryFailure(e);
        }
    }

    /** Fails the requests waiting for this connection; the connection attempt failed. */
    void connectFailed(ProxyError e) {
        closed = true;
        pool.remove(peer.reuseKey(), this);
        failWaiters(e);
    }

    /**
     * The origin chose HTTP/1.1 after all: the first waiting request gets {@code h1}, made on the same socket, and the
     * others go back to the connector, which now speaks HTTP/1.1 to this peer.
     */
    void fellBack(Http1ClientConnection h1) {
        closed = true;
        pool.remove(peer.reuseKey(), this);
        List<Promise<ClientSession>> now = new ArrayList<>(waiters);
        waiters.clear();
        for (int i = 0; i < now.size(); i++) {
            if (i == 0) {
                connector.connected(h1, now.get(0));
            } else {
                connector.redispatch(peer, loop, now.get(i));
            }
        }
        if (now.isEmpty()) {
            h1.abort();
        }
    }

    private void closed() {
        closed = true;
        pool.remove(peer.reuseKey(), this);
        if (idleClose != null) {
            idleClose.cancel(false);
        }
        if (settingsWait != null) {
            settingsWait.cancel(false);
        }
        failWaiters(ProxyError.explain(ErrorType.Kind.CONNECTION_CLOSED, ErrorSource.UPSTREAM,
                "the h2 connection to " + peer + " closed before the stream opened").withRetry(Retry.YES));
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("h2 connection to {} failed: {}", peer, cause.toString());
        ctx.close();
    }

    /** The number of streams open now. */
    int activeStreams() {
        return active;
    }

    @Override
    public String toString() {
        return "upstream h2 " + peer + " " + channel + " streams=" + active;
    }

    /** Server push is off (SETTINGS_ENABLE_PUSH 0); a pushed stream that comes anyway is closed (RST_STREAM). */
    private static final class RefusePushes extends ChannelInboundHandlerAdapter {
        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            ctx.channel().close();
        }

        @Override
        public boolean isSharable() {
            return true;
        }
    }
}
