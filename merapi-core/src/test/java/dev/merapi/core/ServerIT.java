package dev.merapi.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.core.listeners.ListenerConfig;
import dev.merapi.core.listeners.Transport;
import dev.merapi.core.protocols.ServerSession;
import dev.merapi.core.server.Server;
import dev.merapi.core.server.ServerConfig;
import dev.merapi.core.services.BackgroundService;
import dev.merapi.core.apps.HttpServerApp;
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
    static final HttpServerApp OK = session -> answer(session, Unpooled.copiedBuffer("ok", StandardCharsets.US_ASCII));

    /** Answers 200 with {@code body} (handed over) in one write, reading no request body. */
    private static void answer(ServerSession session, ByteBuf body) {
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
        h.headers().add(HeaderNames.CONTENT_LENGTH, Integer.toString(body.readableBytes()));
        session.writeResponseHeader(h, false);
        session.writeBody(body, true);
    }

    static Server start(ListeningService service, Transport transport) {
        Server server = new Server(ServerConfig.builder().threads(1).transport(transport).gracePeriod(Duration.ofSeconds(2)).build());
        server.addService(service);
        server.start();
        return server;
    }

    static String exchange(Socket s) throws IOException {
        s.setSoTimeout(5000);
        s.getOutputStream().write(REQUEST.getBytes(StandardCharsets.US_ASCII));
        return readAll(s.getInputStream());
    }

    private static String readAll(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        in.transferTo(out);
        return out.toString(StandardCharsets.ISO_8859_1);
    }

    @Test
    void startListeningAddsAServiceToARunningServerAndStopListeningDrainsOnlyIt() throws Exception {
        CountDownLatch arrived = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        // answers once the test says so: a request in flight while its listener is removed
        HttpServerApp held = session -> {
            arrived.countDown();
            Thread.ofVirtual().start(() -> {
                try {
                    release.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                session.eventLoop().execute(() -> answer(session, Unpooled.copiedBuffer("late", StandardCharsets.US_ASCII)));
            });
        };
        ListeningService first = ListeningService.http("first", OK).addTcp("127.0.0.1:0");
        Server server = start(first, Transport.auto());
        try {
            ListeningService added = ListeningService.http("added", held).addTcp("127.0.0.1:0");
            server.startListening(added);
            InetSocketAddress addedAt = (InetSocketAddress) added.boundAddresses().getFirst();

            try (Socket inFlight = new Socket()) {
                inFlight.connect(addedAt);
                inFlight.setSoTimeout(10_000);
                inFlight.getOutputStream().write(REQUEST.getBytes(StandardCharsets.US_ASCII));
                assertThat(arrived.await(10, TimeUnit.SECONDS)).as("the request reached the added service").isTrue();

                java.util.concurrent.CompletableFuture<Void> drained = server.stopListening(added, Duration.ofSeconds(10));

                try (Socket refused = new Socket()) {
                    org.assertj.core.api.Assertions.assertThatThrownBy(() -> refused.connect(addedAt, 2000))
                            .isInstanceOf(java.net.ConnectException.class);
                }
                assertThat(drained).as("still draining the request in flight").isNotDone();
                release.countDown();
                assertThat(readAll(inFlight.getInputStream())).startsWith("HTTP/1.1 200 OK\r\n").endsWith("late");
                drained.get(10, TimeUnit.SECONDS);
            }
            assertThat(added.openConnections()).isZero();
            try (Socket s = new Socket()) {
                s.connect(first.boundAddresses().getFirst());
                assertThat(exchange(s)).as("the other service runs on").startsWith("HTTP/1.1 200 OK\r\n");
            }
        } finally {
            release.countDown();
            server.shutdownFast();
        }
    }

    @Test
    void startListeningOnABusyPortSaysSoAndLeavesTheServerRunning() throws IOException {
        ListeningService first = ListeningService.http("first", OK).addTcp("127.0.0.1:0");
        Server server = start(first, Transport.auto());
        try {
            InetSocketAddress taken = (InetSocketAddress) first.boundAddresses().getFirst();
            ListeningService clash = ListeningService.http("clash", OK).addTcp("127.0.0.1:0").addTcp("127.0.0.1:" + taken.getPort());

            org.assertj.core.api.Assertions.assertThatThrownBy(() -> server.startListening(clash))
                    .isInstanceOf(IllegalStateException.class).hasMessage("127.0.0.1:" + taken.getPort() + " is already in use");
            InetSocketAddress boundThenClosed = (InetSocketAddress) clash.boundAddresses().getFirst();
            try (Socket s = new Socket()) {
                org.assertj.core.api.Assertions.assertThatThrownBy(() -> s.connect(boundThenClosed, 2000))
                        .isInstanceOf(java.net.ConnectException.class);
            }
            try (Socket s = new Socket()) {
                s.connect(taken);
                assertThat(exchange(s)).startsWith("HTTP/1.1 200 OK\r\n");
            }
        } finally {
            server.shutdownFast();
        }
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

    @ParameterizedTest
    @EnumSource(value = Transport.class)
    void bindingAPortInUseSaysSoInPlainWords(Transport transport) throws IOException {
        org.junit.jupiter.api.Assumptions.assumeTrue(transport.isAvailable(), transport + " is not available here");
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            ListeningService service = ListeningService.http("t", OK).addTcp("127.0.0.1:" + taken.getLocalPort());
            Server server = new Server(ServerConfig.builder().threads(1).transport(transport).build());
            server.addService(service);
            org.assertj.core.api.Assertions.assertThatThrownBy(server::start)
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessage("127.0.0.1:" + taken.getLocalPort() + " is already in use");
        }
    }

    @Test
    void aServerWhoseSecondPortIsTakenNeverAcceptsOnItsFirst() throws IOException {
        AtomicInteger served = new AtomicInteger();
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            int first = freePort();
            ListeningService service = ListeningService.http("t", s -> {
                served.incrementAndGet();
                OK.onRequest(s);
            }).addTcp("127.0.0.1:" + first).addTcp("127.0.0.1:" + taken.getLocalPort());
            Server server = new Server(ServerConfig.builder().threads(1).build());
            server.addService(service);
            org.assertj.core.api.Assertions.assertThatThrownBy(server::start).hasMessageContaining("is already in use");
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", first), 2000);
                org.assertj.core.api.Assertions.fail("the first port still listens after the start failed");
            } catch (java.net.ConnectException expected) {
                // closed again
            }
        }
        assertThat(served.get()).isZero();
    }

    // ---- clients that send more than they let the server answer

    @Test
    void pipelinedRequestsOfAClientThatReadsNothingAreNotAnsweredIntoMemory() throws Exception {
        int total = 4000;
        byte[] page = new byte[8192];
        AtomicInteger answered = new AtomicInteger();
        ListeningService service = ListeningService.http("t", session -> {
            answered.incrementAndGet();
            answer(session, Unpooled.wrappedBuffer(page)); // one write: nothing here waits for the client
        }).addTcp("127.0.0.1:0");
        Server server = start(service, Transport.auto());
        Thread writer = null;
        try (Socket s = new Socket()) {
            s.setReceiveBufferSize(16 * 1024); // before connecting: no window scaling up to megabytes
            s.connect(service.boundAddresses().getFirst(), 5000);
            s.setSoTimeout(30_000);
            StringBuilder pipeline = new StringBuilder();
            for (int i = 0; i < total; i++) {
                pipeline.append("GET /").append(i).append(" HTTP/1.1\r\nHost: t\r\n\r\n");
            }
            byte[] requests = pipeline.toString().getBytes(StandardCharsets.US_ASCII);
            writer = Thread.ofPlatform().name("pipelining-writer").start(() -> {
                try {
                    s.getOutputStream().write(requests);
                } catch (IOException e) {
                    // the reads below fail if the server cut the connection
                }
            });
            // 4000 answers of 8 KiB (32 MiB) are more than the socket buffers hold: answering stops when they are full
            int seen = answered.get();
            long stableSince = System.nanoTime();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (System.nanoTime() - stableSince < TimeUnit.SECONDS.toNanos(2) && System.nanoTime() - deadline < 0) {
                Thread.sleep(100);
                int now = answered.get();
                if (now != seen) {
                    seen = now;
                    stableSince = System.nanoTime();
                }
            }
            assertThat(seen).as("requests answered to a client that reads nothing").isLessThan(total / 2);
            // once the client reads, every answer comes, in order
            java.io.DataInputStream in = new java.io.DataInputStream(new java.io.BufferedInputStream(s.getInputStream()));
            byte[] expectedHead = ("HTTP/1.1 200 OK\r\ncontent-length: 8192\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
            byte[] head = new byte[expectedHead.length];
            for (int i = 0; i < total; i++) {
                in.readFully(head);
                assertThat(new String(head, StandardCharsets.US_ASCII)).as("head %d", i).isEqualToIgnoringCase(new String(expectedHead, StandardCharsets.US_ASCII));
                in.readFully(page.clone());
            }
            assertThat(answered.get()).isEqualTo(total);
        } finally {
            if (writer != null) {
                writer.join(Duration.ofSeconds(10));
            }
            server.shutdownFast();
        }
    }

    // ---- connection caps

    /** Connects and sends nothing: the server holds it until its first-byte timeout. */
    static Socket hold(InetSocketAddress server, String fromHost) throws IOException {
        Socket s = new Socket();
        s.bind(new InetSocketAddress(fromHost, 0));
        s.connect(server, 5000);
        return s;
    }

    /** Whether the server closes {@code s} within a few seconds without answering (its timeouts are 30 s). */
    static boolean closedAtOnce(Socket s) throws IOException {
        s.setSoTimeout(5000);
        try {
            s.getOutputStream().write(REQUEST.getBytes(StandardCharsets.US_ASCII));
        } catch (IOException closed) {
            return true;
        }
        try {
            return s.getInputStream().read() < 0;
        } catch (java.net.SocketTimeoutException stillOpen) {
            return false;
        } catch (IOException reset) {
            return true;
        }
    }

    /** Whether a new connection from {@code fromHost} is served, trying for a while: slots come back asynchronously. */
    private static boolean servedWithin(InetSocketAddress server, String fromHost, Duration wait) throws Exception {
        long deadline = System.nanoTime() + wait.toNanos();
        while (true) {
            try (Socket s = hold(server, fromHost)) {
                if (exchange(s).startsWith("HTTP/1.1 200 OK")) {
                    return true;
                }
            } catch (IOException closed) {
                // over the cap still
            }
            if (System.nanoTime() - deadline > 0) {
                return false;
            }
            Thread.sleep(20);
        }
    }

    @Test
    void aConnectionOverTheListenerCapIsClosedAtOnceAndTheCapFreesAsConnectionsClose() throws Exception {
        ListeningService service = ListeningService.http("t", OK)
                .addListener(ListenerConfig.tcp("127.0.0.1:0").toBuilder().maxConnections(3).build());
        Server server = start(service, Transport.auto());
        long before = dev.merapi.core.security.SecurityEvents.count("max-connections");
        try {
            InetSocketAddress at = (InetSocketAddress) service.boundAddresses().getFirst();
            Socket a = hold(at, "127.0.0.1");
            Socket b = hold(at, "127.0.0.1");
            Socket c = hold(at, "127.0.0.1");
            try (Socket over = hold(at, "127.0.0.1")) {
                assertThat(closedAtOnce(over)).as("the fourth connection is closed").isTrue();
            }
            assertThat(dev.merapi.core.security.SecurityEvents.count("max-connections")).isEqualTo(before + 1);
            assertThat(closedAtOnce(a)).as("the first three stay open").isFalse();
            a.close();
            assertThat(servedWithin(at, "127.0.0.1", Duration.ofSeconds(10))).as("a slot is free again").isTrue();
            b.close();
            c.close();
            // no slot leaked: once every connection has closed, three at once are served again
            assertThat(servedWithin(at, "127.0.0.1", Duration.ofSeconds(10))).isTrue();
            Socket[] again = {hold(at, "127.0.0.1"), hold(at, "127.0.0.1"), hold(at, "127.0.0.1")};
            try {
                for (Socket s : again) {
                    assertThat(exchange(s)).startsWith("HTTP/1.1 200 OK");
                }
            } finally {
                for (Socket s : again) {
                    s.close();
                }
            }
        } finally {
            server.shutdownFast();
        }
    }

    @Test
    void aConnectionOverThePerAddressCapIsClosedAtOnceWhileOtherAddressesAreServed() throws Exception {
        ListeningService service = ListeningService.http("t", OK)
                .addListener(ListenerConfig.tcp("127.0.0.1:0").toBuilder().maxConnectionsPerIp(2).build());
        Server server = start(service, Transport.auto());
        long before = dev.merapi.core.security.SecurityEvents.count("max-connections-per-ip");
        try {
            InetSocketAddress at = (InetSocketAddress) service.boundAddresses().getFirst();
            Socket a = hold(at, "127.0.0.1");
            Socket b = hold(at, "127.0.0.1");
            try (Socket over = hold(at, "127.0.0.1")) {
                assertThat(closedAtOnce(over)).as("a third connection from 127.0.0.1 is closed").isTrue();
            }
            assertThat(dev.merapi.core.security.SecurityEvents.count("max-connections-per-ip")).isEqualTo(before + 1);
            // Linux routes all of 127.0.0.0/8 to loopback: another client address on the same machine
            try (Socket other = hold(at, "127.0.0.2")) {
                assertThat(exchange(other)).as("another address is served").startsWith("HTTP/1.1 200 OK");
            }
            assertThat(closedAtOnce(b)).as("the first two stay open").isFalse();
            a.close();
            assertThat(servedWithin(at, "127.0.0.1", Duration.ofSeconds(10))).as("a slot is free again").isTrue();
            b.close();
        } finally {
            server.shutdownFast();
        }
    }

    @Test
    void connectionCapsMustBePositive() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> ListenerConfig.tcp("127.0.0.1:0").toBuilder().maxConnections(0).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxConnections");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> ListenerConfig.tcp("127.0.0.1:0").toBuilder().maxConnectionsPerIp(-1).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxConnectionsPerIp");
        assertThat(ListenerConfig.tcp("127.0.0.1:0").maxConnectionsPerIp()).as("no per-address cap by default").isZero();
        assertThat(ListenerConfig.DEFAULT_MAX_CONNECTIONS).isGreaterThanOrEqualTo(64);
    }

    private static int freePort() throws IOException {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
