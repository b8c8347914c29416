package dev.merapi.core.protocols.http2;

import dev.merapi.core.apps.HttpServerApp;
import dev.merapi.core.internal.ConnectionTracker;
import dev.merapi.core.internal.tls.TlsAttributes;
import dev.merapi.core.listeners.ConnectionStage;
import dev.merapi.core.protocols.http1.Http1Options;
import dev.merapi.core.protocols.http1.Http1Protocol;
import dev.merapi.core.protocols.http1.PriorKnowledge;
import dev.merapi.core.security.SecurityEvents;
import dev.merapi.core.tls.TlsInfo;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.DefaultHttp2WindowUpdateFrame;
import io.netty.handler.codec.http2.Http2ConnectionDecoder;
import io.netty.handler.codec.http2.Http2ConnectionEncoder;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2Settings;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Objects;

/**
 * HTTP/2 on the server side: turns a connection into an HTTP/2 connection whose streams are each handed to the
 * {@link HttpServerApp} as a {@link dev.merapi.core.protocols.ServerSession}, as HTTP/1.1 hands each request. On a
 * plain HTTP/1.1 port it takes over connections that start with the HTTP/2 preface (h2c with prior knowledge, RFC
 * 9113 §3.3), see {@link PriorKnowledge}; on a TLS port, those that negotiate {@code h2} by ALPN ({@link #byAlpn}).
 *
 * <p>The connection is Netty's {@link Http2FrameCodec} and {@link Http2MultiplexHandler}, with the bounds of
 * {@link Http2Options}; timeouts, header-list and CONNECT/TRACE rules are those of the listener's
 * {@link Http1Options}. A bound broken by a client ends the connection with GOAWAY and is recorded as a security event.
 *
 * <p>Thread-safe: it holds only settings and is shared by every connection of a listener; {@link #takeOver} runs on the
 * connection's event loop.
 */
public final class Http2Protocol implements PriorKnowledge {
    /** The client connection preface of RFC 9113 §3.4. */
    private static final ByteBuf PREFACE = Unpooled.unreleasableBuffer(Unpooled.directBuffer(24)
            .writeBytes("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII))).asReadOnly();

    private final HttpServerApp app;
    private final Http1Options http1;
    private final Http2Options options;
    private final ConnectionTracker tracker;

    private Http2Protocol(HttpServerApp app, Http1Options http1, Http2Options options, ConnectionTracker tracker) {
        this.app = Objects.requireNonNull(app, "app");
        this.http1 = Objects.requireNonNull(http1, "http1");
        this.options = Objects.requireNonNull(options, "options");
        this.tracker = Objects.requireNonNull(tracker, "tracker");
    }

    /**
     * HTTP/2 serving {@code app} within {@code options}, with the timeouts, header limits and method rules of
     * {@code http1}; its connections registered with {@code tracker} for graceful shutdown.
     */
    public static Http2Protocol of(HttpServerApp app, Http1Options http1, Http2Options options, ConnectionTracker tracker) {
        return new Http2Protocol(app, http1, options, tracker);
    }

    /** The HTTP/2 bounds. */
    public Http2Options options() {
        return options;
    }

    /**
     * The last stage of a TLS listener: HTTP/2 when the handshake negotiated {@code h2} by ALPN, else {@code http1}.
     * It runs once the handshake is done, on the connection's event loop.
     */
    public ConnectionStage byAlpn(Http1Protocol http1) {
        Objects.requireNonNull(http1, "http1");
        return (channel, next) -> {
            boolean h2 = TlsAttributes.of(channel).flatMap(TlsInfo::applicationProtocol).filter("h2"::equals).isPresent();
            if (!h2) {
                return http1.install(channel, next);
            }
            takeOver(channel, Unpooled.EMPTY_BUFFER);
            return true;
        };
    }

    @Override
    public ByteBuf preface() {
        return PREFACE.duplicate();
    }

    @Override
    public void takeOver(Channel channel, ByteBuf received) {
        Http2ServerConnection connection = new Http2ServerConnection(app, http1, options, tracker);
        if (!tracker.add(connection)) {
            received.release();
            channel.close();
            return;
        }
        channel.pipeline().addLast("h2-read-gate", connection.readGate());
        channel.pipeline().addLast("h2", newCodec(connection));
        channel.pipeline().addLast("h2-stream-errors", connection.streamErrors());
        channel.pipeline().addLast("h2-streams", new Http2MultiplexHandler(connection.streamInitializer()));
        channel.pipeline().addLast("h2-connection", connection);
        int more = options.connectionWindow() - Http2CodecDefaults.CONNECTION_WINDOW;
        if (more > 0) {
            channel.write(new DefaultHttp2WindowUpdateFrame(more), channel.voidPromise());
        }
        if (received.isReadable()) {
            channel.pipeline().fireChannelRead(received); // the preface, and whatever came with it
            channel.pipeline().fireChannelReadComplete();
        } else {
            // after a TLS handshake (ALPN h2): nothing was read for HTTP/2 yet, and the TLS handler may be in the middle
            // of a read, which must not be entered again; what it decrypts next reaches the codec by itself
            received.release();
            channel.read();
        }
    }

    private Http2FrameCodec newCodec(Http2ServerConnection connection) {
        int rstWindowSeconds = (int) options.rstFramesWindow().toSeconds();
        Http2Settings settings = Http2Settings.defaultSettings()
                .maxConcurrentStreams(options.maxConcurrentStreams())
                .initialWindowSize(options.initialStreamWindow())
                .maxHeaderListSize(http1.limits().maxHeaderBytes())
                // RFC 8441: WebSocket (and other upgrades) over a stream, as extended CONNECT; the application decides
                .connectProtocolEnabled(true);
        StreamStateCheck check = new StreamStateCheck();
        return new CodecBuilder(connection, check)
                .frameLogger(check)
                .initialSettings(settings)
                .validateHeaders(true)
                .decoderEnforceMaxRstFramesPerWindow(options.maxRstFramesPerWindow(), rstWindowSeconds)
                .encoderEnforceMaxRstFramesPerWindow(options.maxRstFramesPerWindow(), rstWindowSeconds)
                .encoderEnforceMaxQueuedControlFrames(options.maxQueuedControlFrames())
                .decoderEnforceMaxConsecutiveEmptyDataFrames(options.maxConsecutiveEmptyDataFrames())
                .decoderEnforceMaxSmallContinuationFrames(options.maxSmallContinuationFrames())
                // open streams may finish for as long as the server's grace period, which then closes what is left
                .gracefulShutdownTimeoutMillis(-1)
                .build();
    }

    /** Netty's defaults this class builds on. */
    static final class Http2CodecDefaults {
        /** The connection window every HTTP/2 connection starts with (RFC 9113 §6.9.2). */
        static final int CONNECTION_WINDOW = 65_535;

        private Http2CodecDefaults() {
        }
    }

    /**
     * Builds the server codec with {@link EventfulCodec}, which records the connection errors a client causes, and with
     * a {@link StreamStateCheck} as its frame logger, which applies the closed-stream rules the codec cannot.
     */
    private static final class CodecBuilder extends Http2FrameCodecBuilder {
        private final Http2ServerConnection connection;
        private final StreamStateCheck check;

        CodecBuilder(Http2ServerConnection connection, StreamStateCheck check) {
            this.connection = connection;
            this.check = check;
            server(true);
        }

        @Override
        protected Http2FrameCodec build(Http2ConnectionDecoder decoder, Http2ConnectionEncoder encoder,
                Http2Settings initialSettings) {
            check.connection(decoder.connection());
            EventfulCodec codec = new EventfulCodec(encoder, decoder, initialSettings, connection);
            codec.gracefulShutdownTimeoutMillis(gracefulShutdownTimeoutMillis());
            return codec;
        }
    }

    /** The frame codec, recording each connection error as a security event before Netty sends its GOAWAY. */
    private static final class EventfulCodec extends Http2FrameCodec {
        private final Http2ServerConnection connection;

        EventfulCodec(Http2ConnectionEncoder encoder, Http2ConnectionDecoder decoder, Http2Settings settings,
                Http2ServerConnection connection) {
            super(encoder, decoder, settings, false, true);
            this.connection = connection;
        }

        @Override
        protected void onConnectionError(ChannelHandlerContext ctx, boolean outbound, Throwable cause,
                Http2Exception http2Ex) {
            if (http2Ex != null) {
                SecurityEvents.record(ruleOf(http2Ex), ctx.channel().remoteAddress(), ctx.channel().localAddress(), 0);
                connection.connectionError(http2Ex);
            }
            super.onConnectionError(ctx, outbound, cause, http2Ex);
        }
    }

    /** The security-event rule of a connection error: which flood defence it was, or a protocol error. */
    static String ruleOf(Http2Exception e) {
        String message = String.valueOf(e.getMessage()).toLowerCase(Locale.ROOT);
        if (e.error() == Http2Error.ENHANCE_YOUR_CALM) {
            if (message.contains("headers timeout")) {
                return "h2-headers-timeout";
            }
            if (message.contains("rst")) {
                return "h2-rapid-reset";
            }
            if (message.contains("control frames")) {
                return "h2-control-flood";
            }
            if (message.contains("empty data")) {
                return "h2-empty-data-flood";
            }
            if (message.contains("continuation")) {
                return "h2-continuation-flood";
            }
            return "h2-enhance-your-calm";
        }
        if (message.contains("header") && message.contains("size")) {
            return "h2-header-list-too-large";
        }
        return "h2-protocol-error";
    }
}
