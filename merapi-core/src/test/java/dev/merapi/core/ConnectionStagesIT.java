package dev.merapi.core;

import static dev.merapi.core.ServerIT.OK;
import static dev.merapi.core.ServerIT.closedAtOnce;
import static dev.merapi.core.ServerIT.exchange;
import static dev.merapi.core.ServerIT.hold;
import static dev.merapi.core.ServerIT.start;
import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.core.listeners.ConnectionStage;
import dev.merapi.core.listeners.ListenerConfig;
import dev.merapi.core.listeners.Transport;
import dev.merapi.core.server.Server;
import dev.merapi.core.services.ListeningService;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** An accepted connection's walk through a listening service's stages, over real sockets on every transport. */
class ConnectionStagesIT {

    static Stream<Transport> availableTransports() {
        return Arrays.stream(Transport.values()).filter(Transport::isAvailable);
    }

    @ParameterizedTest
    @MethodSource("availableTransports")
    void addedStageSeesEachConnectionAndItsBytesBeforeTheProtocol(Transport transport) throws Exception {
        AtomicInteger installed = new AtomicInteger();
        AtomicLong bytesSeen = new AtomicLong();
        ListeningService service = ListeningService.http("t", OK).addStage((channel, next) -> {
            installed.incrementAndGet();
            channel.pipeline().addLast("count", new ChannelInboundHandlerAdapter() {
                @Override
                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                    bytesSeen.addAndGet(((ByteBuf) msg).readableBytes());
                    ctx.fireChannelRead(msg);
                }
            });
            return next.install(channel);
        }).addTcp("127.0.0.1:0");
        Server server = start(service, transport);
        try {
            for (int i = 0; i < 2; i++) {
                try (Socket s = new Socket()) {
                    s.connect(service.boundAddresses().getFirst());
                    assertThat(exchange(s)).startsWith("HTTP/1.1 200 OK\r\n").endsWith("\r\n\r\nok");
                }
            }
        } finally {
            server.shutdownFast();
        }
        assertThat(installed.get()).isEqualTo(2);
        assertThat(bytesSeen.get()).as("the stage's handler sits in front of the protocol").isPositive();
    }

    @ParameterizedTest
    @MethodSource("availableTransports")
    void stageRefusalClosesUnreadAndGivesTheListenerSlotBack(Transport transport) throws Exception {
        AtomicInteger asked = new AtomicInteger();
        AtomicInteger served = new AtomicInteger();
        ListeningService service = ListeningService.http("t", s -> {
            served.incrementAndGet();
            OK.onRequest(s);
        }).addStage((channel, next) -> asked.incrementAndGet() > 1 && next.install(channel))
                .addListener(ListenerConfig.tcp("127.0.0.1:0").toBuilder().maxConnections(1).build());
        Server server = start(service, transport);
        try {
            InetSocketAddress address = (InetSocketAddress) service.boundAddresses().getFirst();
            try (Socket refused = hold(address, "127.0.0.1")) {
                assertThat(closedAtOnce(refused)).as("the refused connection is closed without an answer").isTrue();
            }
            assertThat(served.get()).isZero();
            // with one slot on the listener, this is served only if the refused connection gave its slot back
            try (Socket next = hold(address, "127.0.0.1")) {
                assertThat(exchange(next)).startsWith("HTTP/1.1 200 OK\r\n");
            }
        } finally {
            server.shutdownFast();
        }
        assertThat(asked.get()).isEqualTo(2);
        assertThat(served.get()).isEqualTo(1);
    }

    @ParameterizedTest
    @MethodSource("availableTransports")
    void connectionFilterRunsBeforeAddedStagesAndTheirOrderHolds(Transport transport) throws Exception {
        List<String> walk = new CopyOnWriteArrayList<>();
        ListeningService service = ListeningService.http("t", OK)
                .connectionFilter((remote, local) -> walk.add("filter"))
                .addStage(named("first", walk))
                .addStage(named("second", walk))
                .addTcp("127.0.0.1:0");
        assertThat(service.connectionStages()).as("filter, two stages, the protocol").hasSize(4);
        Server server = start(service, transport);
        try (Socket s = new Socket()) {
            s.connect(service.boundAddresses().getFirst());
            assertThat(exchange(s)).startsWith("HTTP/1.1 200 OK\r\n");
        } finally {
            server.shutdownFast();
        }
        assertThat(walk).containsExactly("filter", "first", "second");
    }

    @ParameterizedTest
    @MethodSource("availableTransports")
    void stageThatHandsOnLaterStartsTheProtocolOnAnActiveConnection(Transport transport) throws Exception {
        CountDownLatch handedOn = new CountDownLatch(1);
        ListeningService service = ListeningService.http("t", OK).addStage((channel, next) -> {
            // decides once the connection is active, as a TLS handshake would, then leaves the pipeline
            channel.pipeline().addLast("later", new ChannelInboundHandlerAdapter() {
                @Override
                public void channelActive(ChannelHandlerContext ctx) {
                    ctx.executor().execute(() -> {
                        ctx.pipeline().remove(this);
                        next.install(ctx.channel());
                        handedOn.countDown();
                    });
                }
            });
            return true;
        }).addTcp("127.0.0.1:0");
        Server server = start(service, transport);
        try (Socket s = new Socket()) {
            s.connect(service.boundAddresses().getFirst());
            assertThat(handedOn.await(10, TimeUnit.SECONDS)).isTrue();
            assertThat(exchange(s)).startsWith("HTTP/1.1 200 OK\r\n").endsWith("\r\n\r\nok");
        } finally {
            server.shutdownFast();
        }
        assertThat(service.openConnections()).isZero();
    }

    private static ConnectionStage named(String name, List<String> walk) {
        return (channel, next) -> walk.add(name) && next.install(channel);
    }
}
