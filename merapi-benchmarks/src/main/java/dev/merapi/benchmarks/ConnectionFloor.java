package dev.merapi.benchmarks;

import dev.merapi.core.listeners.Transport;
import dev.merapi.core.protocols.ServerSession;
import dev.merapi.core.server.Server;
import dev.merapi.core.server.ServerConfig;
import dev.merapi.core.apps.HttpServerApp;
import dev.merapi.core.services.ListeningService;
import dev.merapi.http.HeaderNames;
import dev.merapi.http.ResponseHeader;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;

/**
 * A server that answers every request with the same short response and closes, without any upstream, in two
 * kinds: {@code netty} is the least an HTTP server on one of Netty's native transports can do per connection
 * (accept, read once, write a canned response, close: no parsing, no timers), and {@code merapi} is Merapi's own
 * server runtime and HTTP/1 connection with an application that answers at once. {@code FLOOR=1 bench/syscalls.sh}
 * sets both beside nginx answering from its configuration ({@code return 200}), so that what a connection costs
 * in the transport, in Merapi's HTTP/1 server and in the proxying itself can be told apart. It is a measuring
 * instrument for loopback benchmarks, not a server: the {@code netty} kind answers whatever its first read holds.
 *
 * <pre>java -cp merapi-benchmarks.jar:lib/* dev.merapi.benchmarks.ConnectionFloor netty|merapi 127.0.0.1:18198 [epoll|io_uring]</pre>
 */
public final class ConnectionFloor {
    private static final ByteBuf RESPONSE = direct(
            "HTTP/1.1 200 OK\r\nContent-Length: 13\r\nConnection: close\r\n\r\nhello, world\n");
    /** The body alone, in direct memory as a proxied body would be. */
    private static final ByteBuf BODY = direct("hello, world\n");

    private ConnectionFloor() {
    }

    private static ByteBuf direct(String text) {
        return Unpooled.unreleasableBuffer(Unpooled.directBuffer().writeBytes(text.getBytes(StandardCharsets.US_ASCII)));
    }

    /** Answers the first read with the canned response, then closes. */
    @ChannelHandler.Sharable
    static final class Answer extends ChannelInboundHandlerAdapter {
        static final Answer INSTANCE = new Answer();

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            ctx.read();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
            ctx.writeAndFlush(RESPONSE.duplicate()).addListener(ChannelFutureListener.CLOSE);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    /** Merapi's answer: the same bytes, through {@link ServerSession}. */
    static final class MerapiAnswer implements HttpServerApp {
        @Override
        public void onRequest(ServerSession session) {
            ResponseHeader h = ResponseHeader.of(200);
            h.headers().add(HeaderNames.CONTENT_LENGTH, "13");
            session.writeResponseHeader(h, false);
            session.writeBody(BODY.duplicate(), true);
        }
    }

    public static void main(String[] args) throws InterruptedException {
        String kind = args.length > 0 ? args[0] : "netty";
        String listen = args.length > 1 ? args[1] : "127.0.0.1:18198";
        Transport transport = args.length > 2 ? Transport.parse(args[2]) : Transport.EPOLL;
        switch (kind) {
            case "netty" -> netty(listen, transport);
            case "merapi" -> merapi(listen, transport);
            default -> throw new IllegalArgumentException("expected netty or merapi, got " + kind);
        }
    }

    private static void merapi(String listen, Transport transport) throws InterruptedException {
        Server server = new Server(ServerConfig.builder().threads(1).transport(transport).build());
        server.addService(ListeningService.http("floor", new MerapiAnswer()).addTcp(listen));
        server.start();
        System.out.println("connection floor (merapi, " + transport + ") listening on " + listen);
        server.awaitTermination();
    }

    private static void netty(String listen, Transport transport) throws InterruptedException {
        int colon = listen.lastIndexOf(':');
        String host = listen.substring(0, colon);
        int port = Integer.parseInt(listen.substring(colon + 1));
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, transport.ioHandlerFactory());
        new ServerBootstrap().group(group)
                .channel(transport.serverChannel(false))
                .option(ChannelOption.SO_BACKLOG, 4096)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.AUTO_READ, false)
                .childOption(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
                .childHandler(Answer.INSTANCE)
                .bind(host, port).sync();
        System.out.println("connection floor (netty, " + transport + ") listening on " + listen);
        group.terminationFuture().sync();
    }
}
