package dev.merapi.proxy;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.util.ReferenceCountUtil;
import java.io.File;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real HTTP/2 origin for tests, built on Netty's own HTTP/2 server codec: h2c with prior knowledge, or h2 over TLS
 * (ALPN {@code h2}). It counts connections and records every request's header list, and answers by path:
 * {@code /hello} (a short body with content-length), {@code /echo} (the request body, with its trailers echoed as
 * response trailers), {@code /trailers} (a body, then {@code grpc-status} trailers), {@code /large?n=BYTES},
 * {@code /reset} (RST_STREAM INTERNAL_ERROR), {@code /slow} (after 300 ms). With {@link #goAwayAtStream(int)} the
 * first connection that sees that many streams sends GOAWAY whose last stream id is its first stream: the others were
 * never processed.
 */
final class H2Origin implements AutoCloseable {
    private final MultiThreadIoEventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final Channel server;
    final AtomicInteger connections = new AtomicInteger();
    final AtomicInteger openConnections = new AtomicInteger();
    final List<Http2Headers> requests = new CopyOnWriteArrayList<>();
    final Map<String, AtomicInteger> byPath = new ConcurrentHashMap<>();
    private volatile int goAwayAt;
    private final AtomicBoolean goneAway = new AtomicBoolean();

    private H2Origin(SslContext tls, int maxConcurrentStreams) throws InterruptedException {
        server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        connections.incrementAndGet();
                        openConnections.incrementAndGet();
                        ch.closeFuture().addListener(f -> openConnections.decrementAndGet());
                        if (tls != null) {
                            ch.pipeline().addLast(tls.newHandler(ch.alloc()));
                        }
                        Http2Settings settings = Http2Settings.defaultSettings().initialWindowSize(1 << 20);
                        if (maxConcurrentStreams > 0) {
                            settings.maxConcurrentStreams(maxConcurrentStreams);
                        }
                        Http2FrameCodec codec = Http2FrameCodecBuilder.forServer().initialSettings(settings).build();
                        ch.pipeline().addLast(codec, new Http2MultiplexHandler(new StreamHandler(codec)));
                    }
                })
                .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).sync().channel();
    }

    /** An h2c origin (prior knowledge); {@code maxConcurrentStreams} 0 for no limit. */
    static H2Origin h2c(int maxConcurrentStreams) throws InterruptedException {
        return new H2Origin(null, maxConcurrentStreams);
    }

    /** An h2 over TLS origin offering only {@code h2} by ALPN. */
    static H2Origin tls(File chain, File key) throws Exception {
        SslContext ctx = SslContextBuilder.forServer(chain, key)
                .applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                        ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                        ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, "h2"))
                .build();
        return new H2Origin(ctx, 0);
    }

    int port() {
        return ((InetSocketAddress) server.localAddress()).getPort();
    }

    /** The first connection to see {@code n} streams sends GOAWAY naming its first stream as the last processed. */
    H2Origin goAwayAtStream(int n) {
        goAwayAt = n;
        return this;
    }

    int requestsTo(String path) {
        return byPath.getOrDefault(path, new AtomicInteger()).get();
    }

    @Override
    public void close() throws InterruptedException {
        server.close().sync();
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).sync();
    }

    private final class StreamHandler extends ChannelInboundHandlerAdapter {
        private final Http2FrameCodec codec;
        private final AtomicInteger streams = new AtomicInteger();
        /** The last stream id this connection's GOAWAY named, or -1 before any. */
        private volatile int goAwayLast = -1;

        StreamHandler(Http2FrameCodec codec) {
            this.codec = codec;
        }

        @Override
        public boolean isSharable() {
            return true;
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            ctx.pipeline().addLast(new Exchange(this));
            ctx.pipeline().remove(this);
            int n = streams.incrementAndGet();
            if (n == goAwayAt && goneAway.compareAndSet(false, true)) {
                Channel parent = ctx.channel().parent();
                ChannelHandlerContext codecCtx = parent.pipeline().context(codec);
                goAwayLast = 1;
                codec.goAway(codecCtx, 1, Http2Error.NO_ERROR.code(), Unpooled.EMPTY_BUFFER, codecCtx.newPromise());
                codecCtx.flush();
            }
        }
    }

    /** One stream: the request is read whole, then answered by its path. */
    private final class Exchange extends ChannelInboundHandlerAdapter {
        private final StreamHandler connection;
        private Http2Headers request;
        private final ByteBuf body = Unpooled.buffer();
        private Http2Headers trailers;

        Exchange(StreamHandler connection) {
            this.connection = connection;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                boolean end;
                if (msg instanceof Http2HeadersFrame h) {
                    if (request == null) {
                        request = h.headers();
                        requests.add(request);
                    } else {
                        trailers = h.headers();
                    }
                    end = h.isEndStream();
                } else if (msg instanceof Http2DataFrame d) {
                    body.writeBytes(d.content());
                    end = d.isEndStream();
                } else {
                    return;
                }
                if (end) {
                    answer(ctx);
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            body.release();
        }

        private void answer(ChannelHandlerContext ctx) {
            String path = request.path().toString();
            String bare = path.contains("?") ? path.substring(0, path.indexOf('?')) : path;
            Http2StreamChannel ch = (Http2StreamChannel) ctx.channel();
            if (refused(ch)) {
                return;
            }
            switch (bare) {
                case "/reset" -> {
                    byPath.computeIfAbsent(bare, k -> new AtomicInteger()).incrementAndGet();
                    ch.writeAndFlush(new DefaultHttp2ResetFrame(Http2Error.INTERNAL_ERROR));
                }
                case "/slow" -> ch.eventLoop().schedule(() -> respond(ch, "slow", null), 300, TimeUnit.MILLISECONDS);
                case "/trailers" -> respond(ch, "ok", new DefaultHttp2Headers().add("grpc-status", "0").add("grpc-message", "fine"));
                case "/echo" -> respond(ch, body.retainedDuplicate(), trailers);
                case "/large" -> respond(ch, Unpooled.wrappedBuffer(new byte[Integer.parseInt(path.substring(path.indexOf("n=") + 2))]), null);
                default -> respond(ch, "hello", null);
            }
        }

        private void respond(Http2StreamChannel ch, String text, Http2Headers trailers) {
            respond(ch, Unpooled.copiedBuffer(text, StandardCharsets.US_ASCII), trailers);
        }

        /** Whether the stream is above the last stream id of a GOAWAY this connection sent: never processed. */
        private boolean refused(Http2StreamChannel ch) {
            int last = connection.goAwayLast;
            return last >= 0 && ch.stream().id() > last;
        }

        private void respond(Http2StreamChannel ch, ByteBuf content, Http2Headers trailers) {
            if (!ch.isActive() || refused(ch)) {
                content.release();
                return;
            }
            String path = request.path().toString();
            byPath.computeIfAbsent(path.contains("?") ? path.substring(0, path.indexOf('?')) : path,
                    k -> new AtomicInteger()).incrementAndGet();
            Http2Headers head = new DefaultHttp2Headers().status("200").add("content-type", "text/plain");
            if (trailers == null) {
                head.add("content-length", Integer.toString(content.readableBytes()));
            }
            ch.write(new DefaultHttp2HeadersFrame(head));
            int chunk = 16 * 1024;
            while (content.readableBytes() > chunk) {
                ch.write(new DefaultHttp2DataFrame(content.readRetainedSlice(chunk)));
            }
            ch.write(new DefaultHttp2DataFrame(content, trailers == null));
            if (trailers != null) {
                ch.write(new DefaultHttp2HeadersFrame(trailers, true));
            }
            ch.flush();
        }
    }
}
