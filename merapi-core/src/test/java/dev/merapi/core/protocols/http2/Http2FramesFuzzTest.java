package dev.merapi.core.protocols.http2;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.merapi.core.apps.HttpServerApp;
import dev.merapi.core.internal.ConnectionTracker;
import dev.merapi.core.protocols.ServerSession;
import dev.merapi.core.protocols.http1.Http1Options;
import dev.merapi.http.ResponseHeader;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.local.LocalAddress;
import io.netty.channel.local.LocalChannel;
import io.netty.channel.local.LocalIoHandler;
import io.netty.channel.local.LocalServerChannel;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersEncoder;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Fuzzes a downstream HTTP/2 connection with frame sequences: the real {@link Http2Protocol} pipeline (read gate,
 * codec with its flood bounds and {@link StreamStateCheck}, stream multiplexer, {@link Http2ServerConnection}) on a
 * server channel of Netty's in-VM transport (a real event loop, no socket), behind a valid preface and SETTINGS frame,
 * serving each stream a small response. One connection per input.
 *
 * <p>The input is a list of records {@code type flags stream length payload}, one byte each then {@code length} bytes
 * of payload; a length of 255 stands for a well-formed request header block (valid HPACK), so the fuzzer reaches the
 * streams, not only the frame parser. Stream ids are 0 to 255, so frames meet the streams of earlier ones.
 *
 * <p>Rules: nothing throws out of the pipeline (a broken rule is an HTTP/2 error the codec answers, or an I/O error),
 * no exception other than those reaches the connection, none is an {@code INTERNAL_ERROR} caused by a bug, and every
 * buffer allocated while the connection lived is released once it is closed (counted on the channel's allocator).
 */
class Http2FramesFuzzTest {
    private static final byte[] PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] SETTINGS = {0, 0, 0, 4, 0, 0, 0, 0, 0};
    private static final int CANNED_BLOCK = 255;

    private static final LocalAddress ADDRESS = new LocalAddress("h2-frames-fuzz");
    private static EventLoopGroup group;
    private static Channel server;
    /** What the connection being fuzzed met: exceptions that are not HTTP/2 or I/O errors. */
    private static final List<Throwable> UNEXPECTED = new CopyOnWriteArrayList<>();
    private static final BlockingQueue<Accepted> ACCEPTED = new LinkedBlockingQueue<>();

    /** A connection the server accepted: its channel and the allocator that counts its buffers. */
    private record Accepted(Channel channel, TrackingAllocator alloc) {
    }

    @BeforeAll
    static void start() throws InterruptedException {
        group = new MultiThreadIoEventLoopGroup(1, LocalIoHandler.newFactory());
        server = new ServerBootstrap().group(group).channel(LocalServerChannel.class)
                .childHandler(new ChannelInitializer<LocalChannel>() {
                    @Override
                    protected void initChannel(LocalChannel ch) {
                        TrackingAllocator alloc = new TrackingAllocator();
                        ch.config().setAllocator(alloc);
                        ch.config().setAutoRead(false);
                        Http2Protocol.of(new SmallResponses(alloc), Http1Options.DEFAULT, Http2Options.DEFAULT,
                                new ConnectionTracker()).takeOver(ch, alloc.heapBuffer(0));
                        ch.pipeline().addBefore("h2-connection", "probe", new ChannelInboundHandlerAdapter() {
                            @Override
                            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                if (!expected(cause)) {
                                    UNEXPECTED.add(cause);
                                }
                                ctx.fireExceptionCaught(cause);
                            }
                        });
                        ACCEPTED.add(new Accepted(ch, alloc));
                    }
                }).bind(ADDRESS).sync().channel();
    }

    @AfterAll
    static void stop() {
        server.close().syncUninterruptibly();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @FuzzTest(maxDuration = "30s")
    void frames(byte[] data) throws Exception {
        UNEXPECTED.clear();
        ACCEPTED.clear();
        Channel client = new Bootstrap().group(group).channel(LocalChannel.class).handler(new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ReferenceCountUtil.release(msg); // what the server answers is not looked at
            }
        }).connect(ADDRESS).sync().channel();
        ByteBuf in = Unpooled.buffer(PREFACE.length + SETTINGS.length + data.length * 2);
        in.writeBytes(PREFACE).writeBytes(SETTINGS);
        writeFrames(in, data);
        client.writeAndFlush(in).sync();
        Accepted accepted = ACCEPTED.poll(10, TimeUnit.SECONDS);
        assertThat(accepted).as("the connection was accepted").isNotNull();
        // let the server read and answer what was sent (its tasks run in order on the one loop), then close
        group.next().submit(() -> { }).sync();
        accepted.channel().eventLoop().submit(() -> { }).sync();
        client.close().sync();
        assertThat(accepted.channel().closeFuture().await(10, TimeUnit.SECONDS)).as("the server side closed").isTrue();
        accepted.channel().eventLoop().submit(() -> { }).sync(); // what the close scheduled

        assertThat(UNEXPECTED).as("exceptions other than HTTP/2 or I/O errors").isEmpty();
        assertThat(accepted.alloc().unreleased()).as("buffers not released after the connection closed").isZero();
    }

    /** Writes the input's frame records to {@code out}. */
    private static void writeFrames(ByteBuf out, byte[] data) {
        int i = 0;
        while (i + 4 <= data.length) {
            int type = data[i] & 0xFF;
            int flags = data[i + 1] & 0xFF;
            int stream = data[i + 2] & 0xFF;
            int length = data[i + 3] & 0xFF;
            i += 4;
            byte[] payload;
            if (length == CANNED_BLOCK) {
                payload = requestBlock();
            } else {
                payload = new byte[Math.min(length, data.length - i)];
                System.arraycopy(data, i, payload, 0, payload.length);
                i += payload.length;
            }
            out.writeMedium(payload.length).writeByte(type).writeByte(flags).writeInt(stream).writeBytes(payload);
        }
    }

    /** A request header block from a fresh HPACK encoder: literals only, valid whatever the decoder's table holds. */
    private static byte[] requestBlock() {
        Http2Headers headers = new DefaultHttp2Headers().method("POST").scheme("http").path("/f").authority("fuzz.test");
        ByteBuf buf = UnpooledByteBufAllocator.DEFAULT.heapBuffer();
        try {
            new DefaultHttp2HeadersEncoder().encodeHeaders(1, headers, buf);
            byte[] block = new byte[buf.readableBytes()];
            buf.readBytes(block);
            return block;
        } catch (Http2Exception e) {
            throw new AssertionError(e);
        } finally {
            buf.release();
        }
    }

    /** HTTP/2 errors are the codec's answers and I/O errors the transport's; an INTERNAL_ERROR from a bug is neither. */
    private static boolean expected(Throwable cause) {
        for (Throwable t = cause; t != null; t = t.getCause()) {
            if (t instanceof Http2Exception e) {
                return e.error() != Http2Error.INTERNAL_ERROR || e.getCause() == null
                        || e.getCause() instanceof Http2Exception;
            }
            if (t instanceof IOException) {
                return true;
            }
        }
        return false;
    }

    /**
     * Answers each stream with a small response, in a later task of the event loop as a proxy answers after its
     * upstream did, and reads no body.
     */
    private record SmallResponses(TrackingAllocator alloc) implements HttpServerApp {
        @Override
        public void onRequest(ServerSession session) {
            session.eventLoop().execute(() -> {
                if (!session.isOpen()) {
                    return;
                }
                session.writeResponseHeader(ResponseHeader.of(200), false);
                session.writeBody(alloc.heapBuffer(2).writeBytes("ok".getBytes(StandardCharsets.US_ASCII)), true);
                session.flush();
            });
        }
    }

    /** Heap buffers, each remembered, so that the ones never released can be counted. */
    private static final class TrackingAllocator extends AbstractByteBufAllocator {
        private final List<ByteBuf> allocated = new CopyOnWriteArrayList<>();

        TrackingAllocator() {
            super(false);
        }

        @Override
        protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
            ByteBuf b = UnpooledByteBufAllocator.DEFAULT.heapBuffer(initialCapacity, maxCapacity);
            allocated.add(b);
            return b;
        }

        @Override
        protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
            return newHeapBuffer(initialCapacity, maxCapacity);
        }

        @Override
        public boolean isDirectBufferPooled() {
            return false;
        }

        long unreleased() {
            return allocated.stream().filter(b -> b.refCnt() > 0).count();
        }
    }
}
