package dev.merapi.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.core.listeners.ListenerConfig;
import dev.merapi.core.listeners.Transport;
import dev.merapi.core.protocols.ServerSession;
import dev.merapi.core.server.Server;
import dev.merapi.core.server.ServerConfig;
import dev.merapi.core.services.BackgroundService;
import dev.merapi.core.services.HttpServerApp;
import dev.merapi.core.services.ListeningService;
import dev.merapi.error.ProxyError;
import dev.merapi.http.HeaderNames;
import dev.merapi.http.ResponseHeader;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class ServerIT {
    private static final String REQUEST = "GET /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";

    /** Answers every request with "ok" and reads no body. */
    static final HttpServerApp OK = session -> {
        session.setHandler(new ServerSession.Handler() {
            @Override
            public void onBody(ByteBuf data, boolean endOfStream) {
                data.release();
            }

            @Override
            public void onWritable() {
            }

            @Override
            public void onError(ProxyError error) {
            }
        });
        ResponseHeader h = ResponseHeader.of(200);
        h.headers().add(HeaderNames.CONTENT_LENGTH, "2");
        session.writeResponseHeader(h, false);
        session.writeBody(Unpooled.copiedBuffer("ok", StandardCharsets.US_ASCII), true);
    };

    private static Server start(ListeningService service, Transport transport) {
        Server server = new Server(ServerConfig.builder().threads(1).transport(transport).gracePeriod(Duration.ofSeconds(2)).build());
        server.addService(service);
        server.start();
        return server;
    }

    private static String exchange(Socket s) throws IOException {
        s.setSoTimeout(5000);
        s.getOutputStream().write(REQUEST.getBytes(StandardCharsets.US_ASCII));
        return readAll(s.getInputStream());
    }

    private static String readAll(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        in.transferTo(out);
        return out.toString(StandardCharsets.ISO_8859_1);
    }

    @ParameterizedTest
    @EnumSource(value = Transport.class)
    void servesHttpOnEveryAvailableTransport(Transport transport) throws IOException {
        org.junit.jupiter.api.Assumptions.assumeTrue(transport.isAvailable(), transport + " is not available here");
        ListeningService service = ListeningService.http("t", OK).addTcp("127.0.0.1:0");
        Server server = start(service, transport);
        try (Socket s = new Socket()) {
            s.connect(service.boundAddresses().getFirst());
            assertThat(exchange(s)).startsWith("HTTP/1.1 200 OK\r\n").endsWith("\r\n\r\nok");
        } finally {
            server.shutdownFast();
        }
        assertThat(service.openConnections()).isZero();
    }

    @Test
    void listensOnIpv6AndWithSocketOptions() throws IOException {
        ListeningService service = ListeningService.http("t", OK)
                .addListener(ListenerConfig.tcp("127.0.0.1:0").toBuilder().reusePort(true).fastOpenQueue(16).backlog(128).build());
        boolean v6 = true;
        try (java.net.ServerSocket probe = new java.net.ServerSocket()) {
            probe.bind(new InetSocketAddress("::1", 0));
        } catch (IOException e) {
            v6 = false;
        }
        if (v6) {
            service.addTcp("[::1]:0");
        }
        Server server = start(service, Transport.auto());
        try {
            for (var address : service.boundAddresses()) {
                try (Socket s = new Socket()) {
                    s.connect(address);
                    assertThat(exchange(s)).startsWith("HTTP/1.1 200 OK");
                }
            }
            assertThat(service.boundAddresses()).hasSize(v6 ? 2 : 1);
        } finally {
            server.shutdownFast();
        }
    }

    @ParameterizedTest
    @EnumSource(value = Transport.class)
    void servesHttpOnAUnixDomainSocket(Transport transport, @TempDir Path dir) throws IOException {
        org.junit.jupiter.api.Assumptions.assumeTrue(transport.isAvailable(), transport + " is not available here");
        Path path = dir.resolve("merapi.sock");
        ListeningService service = ListeningService.http("t", OK).addUnix(path);
        Server server = start(service, transport);
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(path));
            ch.write(ByteBuffer.wrap(REQUEST.getBytes(StandardCharsets.US_ASCII)));
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteBuffer buf = ByteBuffer.allocate(4096);
            while (ch.read(buf) >= 0) {
                out.write(buf.array(), 0, buf.position());
                buf.clear();
            }
            assertThat(out.toString(StandardCharsets.ISO_8859_1)).startsWith("HTTP/1.1 200 OK");
        } finally {
            server.shutdownFast();
        }
        assertThat(Files.exists(path)).as("socket file removed at shutdown").isFalse();
    }

    @Test
    void connectionFilterClosesRefusedPeersBeforeReadingAByte() throws IOException {
        AtomicInteger asked = new AtomicInteger();
        AtomicInteger served = new AtomicInteger();
        ListeningService service = ListeningService.http("t", s -> {
            served.incrementAndGet();
            OK.onRequest(s);
        }).connectionFilter((remote, local) -> {
            asked.incrementAndGet();
            return false;
        }).addTcp("127.0.0.1:0");
        Server server = start(service, Transport.auto());
        try (Socket s = new Socket()) {
            s.connect(service.boundAddresses().getFirst());
            s.setSoTimeout(5000);
            try {
                s.getOutputStream().write(REQUEST.getBytes(StandardCharsets.US_ASCII));
            } catch (IOException ignored) {
                // the server may already have closed
            }
            String got;
            try {
                got = readAll(s.getInputStream());
            } catch (java.net.SocketException reset) {
                got = "";
            }
            assertThat(got).isEmpty();
        } finally {
            server.shutdownFast();
        }
        assertThat(asked.get()).isEqualTo(1);
        assertThat(served.get()).isZero();
    }

    @Test
    void backgroundServiceRunsPeriodicallyAndIsStoppedAtShutdown() throws InterruptedException {
        CountDownLatch ran = new CountDownLatch(3);
        CountDownLatch stopped = new CountDownLatch(1);
        Server server = new Server(ServerConfig.builder().threads(1).build());
        server.addService(new BackgroundService() {
            @Override
            public String name() {
                return "ticker";
            }

            @Override
            public Duration period() {
                return Duration.ofMillis(10);
            }

            @Override
            public void runOnce() {
                ran.countDown();
            }

            @Override
            public void stop() {
                stopped.countDown();
            }
        });
        server.start();
        assertThat(ran.await(5, TimeUnit.SECONDS)).isTrue();
        server.shutdownGracefully();
        assertThat(stopped.await(5, TimeUnit.SECONDS)).isTrue();
    }

    @Test
    void bindingAPortInUseFailsWithAClearMessage() throws IOException {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            ListeningService service = ListeningService.http("t", OK).addTcp("127.0.0.1:" + taken.getLocalPort());
            Server server = new Server(ServerConfig.builder().threads(1).build());
            server.addService(service);
            org.assertj.core.api.Assertions.assertThatThrownBy(server::start)
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("cannot listen on");
        }
    }
}
