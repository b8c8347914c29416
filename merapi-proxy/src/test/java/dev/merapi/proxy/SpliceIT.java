package dev.merapi.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.merapi.core.listeners.Transport;
import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.core.upstreams.PeerOptions;
import dev.merapi.error.ErrorSource;
import dev.merapi.error.ErrorType;
import dev.merapi.error.ProxyError;
import dev.merapi.testkit.MockOrigin;
import dev.merapi.testkit.MockResponse;
import dev.merapi.testkit.OriginFault;
import dev.merapi.testkit.RawClient;
import dev.merapi.testkit.TestServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Stream;
import java.util.zip.CRC32;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Response bodies spliced by the kernel from the upstream socket to the client's (ProxyOptions.splice): every
 * byte arrives, framing and pooling stay exact, and every failure (origin closing or stalling, client going
 * away or stalling, bytes after the body) ends as it does without splice.
 */
class SpliceIT {
    private static final int BIG = 256 * 1024;

    @BeforeAll
    static void epoll() {
        assumeTrue(Transport.EPOLL.isAvailable(), "splice needs the epoll transport");
    }

    private static HttpPeer peer(MockOrigin origin) {
        return HttpPeer.of("127.0.0.1:" + origin.port());
    }

    private static HttpPeer peer(MockOrigin origin, Duration readTimeout) {
        return peer(origin).withOptions(PeerOptions.builder().readTimeout(readTimeout).build());
    }

    /** What a client saw of one response: its status, declared length, the body bytes that came, and their CRC. */
    record Seen(int status, long declared, long received, long crc, String head) {}

    /** Sends a GET and reads the response head and up to its Content-Length of body, or until the end of the stream. */
    private static Seen get(Socket s, String path) throws IOException {
        s.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: t\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        return read(s.getInputStream());
    }

    private static Seen read(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int matched = 0;
        while (matched < 4) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("closed before the end of the head: " + head);
            }
            head.write(b);
            matched = (b == (matched % 2 == 0 ? '\r' : '\n')) ? matched + 1 : (b == '\r' ? 1 : 0);
        }
        String text = head.toString(StandardCharsets.US_ASCII);
        int status = Integer.parseInt(text.substring(9, 12));
        long declared = -1;
        for (String line : text.split("\r\n")) {
            if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
                declared = Long.parseLong(line.substring(15).trim());
            }
        }
        CRC32 crc = new CRC32();
        byte[] buf = new byte[64 * 1024];
        long received = 0;
        while (received < declared) {
            int n;
            try {
                n = in.read(buf, 0, (int) Math.min(buf.length, declared - received));
            } catch (SocketException e) {
                break; // reset: the response was cut short
            }
            if (n < 0) {
                break;
            }
            crc.update(buf, 0, n);
            received += n;
        }
        return new Seen(status, declared, received, crc.getValue(), text);
    }

    private static Socket connect(TestServer server) throws IOException {
        Socket s = new Socket();
        s.connect(new InetSocketAddress("127.0.0.1", server.port()), 5000);
        s.setSoTimeout(10_000);
        return s;
    }

    private static void assertWhole(Seen seen, long size) {
        assertThat(seen.status()).isEqualTo(200);
        assertThat(seen.declared()).isEqualTo(size);
        assertThat(seen.received()).isEqualTo(size);
        assertThat(seen.crc()).as("body CRC").isEqualTo(MockResponse.patternCrc(size));
    }

    @Test
    void largeBodiesAreSplicedWholeAndTheUpstreamConnectionIsReused() throws Exception {
        long[] sizes = {ProxyOptions.SPLICE_MIN_BYTES + 4096 + 1, 100 * 1024, BIG, 8L << 20, 1000, 3 * BIG};
        try (MockOrigin origin = MockOrigin.start()) {
            origin.setDispatcher(req -> MockResponse.builder().streamedBody(Long.parseLong(req.target().substring(1))).build());
            RecordingProxy proxy = new RecordingProxy(peer(origin));
            HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy, ProxyOptions.DEFAULT);
            try (TestServer server = RecordingProxy.serve(engine); Socket client = connect(server)) {
                for (long size : sizes) {
                    assertWhole(get(client, "/" + size), size);
                }
                proxy.awaitLogged(sizes.length);
                assertThat(engine.connector().splicedBodies()).as("all but the 1000-byte body").isEqualTo(sizes.length - 1);
                assertThat(engine.connector().newConnections()).as("one upstream connection for all").isEqualTo(1);
            }
            assertThat(origin.connectionCount()).isEqualTo(1);
            assertThat(proxy.loggedErrors()).allMatch(Optional::isEmpty);
        }
    }

    @Test
    void pipelinedRequestsAfterASplicedBodyAreAnsweredInOrder() throws Exception {
        try (MockOrigin origin = MockOrigin.start()) {
            origin.setDispatcher(req -> MockResponse.builder().streamedBody(Long.parseLong(req.target().substring(1))).build());
            RecordingProxy proxy = new RecordingProxy(peer(origin));
            HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy, ProxyOptions.DEFAULT);
            try (TestServer server = RecordingProxy.serve(engine); Socket client = connect(server)) {
                String two = "GET /" + BIG + " HTTP/1.1\r\nHost: t\r\n\r\nGET /10 HTTP/1.1\r\nHost: t\r\n\r\nGET /" + BIG
                        + " HTTP/1.1\r\nHost: t\r\n\r\n";
                client.getOutputStream().write(two.getBytes(StandardCharsets.US_ASCII));
                assertWhole(read(client.getInputStream()), BIG);
                assertWhole(read(client.getInputStream()), 10);
                assertWhole(read(client.getInputStream()), BIG);
                proxy.awaitLogged(3);
                assertThat(engine.connector().splicedBodies()).isEqualTo(2);
            }
        }
    }

    @Test
    void aSlowClientGetsEveryByte() throws Exception {
        long size = 4L << 20;
        try (MockOrigin origin = MockOrigin.start()) {
            origin.setDispatcher(req -> MockResponse.builder().streamedBody(size).build());
            RecordingProxy proxy = new RecordingProxy(peer(origin));
            HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy, ProxyOptions.DEFAULT);
            try (TestServer server = RecordingProxy.serve(engine); Socket client = new Socket()) {
                client.setReceiveBufferSize(16 * 1024);
                client.connect(new InetSocketAddress("127.0.0.1", server.port()), 5000);
                client.setSoTimeout(10_000);
                client.getOutputStream().write("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                InputStream slow = new InputStream() { // reads in small pieces with pauses, so the proxy must wait for it
                    private int count;
                    private final InputStream in = client.getInputStream();

                    @Override
                    public int read() throws IOException {
                        return in.read();
                    }

                    @Override
                    public int read(byte[] b, int off, int len) throws IOException {
                        if (++count % 64 == 0) {
                            RecordingProxy.sleep(2);
                        }
                        return in.read(b, off, Math.min(len, 8 * 1024));
                    }
                };
                assertWhole(read(slow), size);
                proxy.awaitLogged(1);
                assertThat(engine.connector().splicedBodies()).isEqualTo(1);
            }
            assertThat(proxy.loggedErrors()).allMatch(Optional::isEmpty);
        }
    }

    @Test
    void bodiesAreNotSplicedWhenAFilterReadsThemOrSpliceIsOff() throws Exception {
        try (MockOrigin origin = MockOrigin.start()) {
            origin.setDispatcher(req -> MockResponse.builder().streamedBody(BIG).build());
            RecordingProxy filtering = new RecordingProxy(peer(origin)) {
                @Override
                public Duration responseBodyFilter(Session session, BodyChunk body, boolean endOfStream, Ctx ctx) {
                    return Duration.ZERO;
                }
            };
            HttpProxy<RecordingProxy.Ctx> filtered = HttpProxy.of(filtering, ProxyOptions.DEFAULT);
            RecordingProxy plain = new RecordingProxy(peer(origin));
            HttpProxy<RecordingProxy.Ctx> off = HttpProxy.of(plain, ProxyOptions.builder().splice(false).build());
            for (HttpProxy<RecordingProxy.Ctx> engine : java.util.List.of(filtered, off)) {
                try (TestServer server = RecordingProxy.serve(engine); RawClient client = RawClient.connect(server.port())) {
                    RawClient.Response r = client.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n").readResponse();
                    assertThat(r.status()).isEqualTo(200);
                    CRC32 crc = new CRC32();
                    crc.update(r.body());
                    assertThat(r.body()).hasSize(BIG);
                    assertThat(crc.getValue()).isEqualTo(MockResponse.patternCrc(BIG));
                }
                assertThat(engine.connector().splicedBodies()).isZero();
            }
        }
    }

    @Test
    void anOriginClosingMidBodyCutsTheResponseAndIsNotPooled() throws Exception {
        try (MockOrigin origin = MockOrigin.start()) {
            origin.enqueue(MockResponse.builder().streamedBody(4L << 20).fault(new OriginFault.ResetMidBody(BIG)).build());
            RecordingProxy proxy = new RecordingProxy(peer(origin));
            HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy, ProxyOptions.DEFAULT);
            try (TestServer server = RecordingProxy.serve(engine); Socket client = connect(server)) {
                Seen seen = get(client, "/");
                assertThat(seen.status()).isEqualTo(200);
                assertThat(seen.received()).as("the client sees the body cut short").isLessThan(4L << 20);
                assertThat(client.getInputStream().read()).as("and the connection closed").isEqualTo(-1);
                ProxyError e = proxy.onlyLoggedError();
                assertThat(e.source()).isEqualTo(ErrorSource.UPSTREAM);
                assertThat(engine.connector().splicedBodies()).isEqualTo(1);
                assertThat(RecordingProxy.eventually(() -> engine.connector().openConnections() == 0)).isTrue();
            }
        }
    }

    @Test
    void anOriginStallingMidBodyTimesOut() throws Exception {
        try (MockOrigin origin = MockOrigin.start()) {
            origin.enqueue(MockResponse.builder().streamedBody(4L << 20).fault(new OriginFault.StallBody(BIG)).build());
            RecordingProxy proxy = new RecordingProxy(peer(origin, Duration.ofMillis(400)));
            HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy, ProxyOptions.DEFAULT);
            try (TestServer server = RecordingProxy.serve(engine); Socket client = connect(server)) {
                Seen seen = get(client, "/");
                assertThat(seen.received()).isEqualTo(BIG);
                assertThat(client.getInputStream().read()).isEqualTo(-1);
                ProxyError e = proxy.onlyLoggedError();
                assertThat(e.type()).isEqualTo(ErrorType.Kind.READ_TIMEOUT);
                assertThat(e.source()).isEqualTo(ErrorSource.UPSTREAM);
                assertThat(origin.awaitNoOpenConnections(Duration.ofSeconds(5))).isTrue();
            }
        }
    }

    @Test
    void aClientThatStopsReadingTimesOutAndFreesTheOrigin() throws Exception {
        try (MockOrigin origin = MockOrigin.start()) {
            origin.enqueue(MockResponse.builder().streamedBody(256L << 20).build());
            RecordingProxy proxy = new RecordingProxy(peer(origin, Duration.ofMillis(400)));
            HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy, ProxyOptions.DEFAULT);
            try (TestServer server = RecordingProxy.serve(engine); Socket client = connect(server)) {
                client.getOutputStream().write("GET / HTTP/1.1\r\nHost: t\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                // read nothing: the proxy must give up within its timeout, not hold both connections forever
                ProxyError e = proxy.onlyLoggedError();
                assertThat(e.type()).isEqualTo(ErrorType.Kind.WRITE_TIMEOUT);
                assertThat(e.source()).isEqualTo(ErrorSource.DOWNSTREAM);
                assertThat(origin.awaitNoOpenConnections(Duration.ofSeconds(5))).isTrue();
                assertThat(engine.connector().splicedBodies()).isEqualTo(1);
            }
        }
    }

    @Test
    void aClientGoingAwayMidBodyClosesTheUpstreamConnection() throws Exception {
        try (MockOrigin origin = MockOrigin.start()) {
            origin.enqueue(MockResponse.builder().streamedBody(256L << 20).build());
            RecordingProxy proxy = new RecordingProxy(peer(origin));
            HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy, ProxyOptions.DEFAULT);
            try (TestServer server = RecordingProxy.serve(engine)) {
                try (Socket client = connect(server)) {
                    client.getOutputStream().write("GET / HTTP/1.1\r\nHost: t\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                    client.getInputStream().readNBytes(BIG);
                }
                ProxyError e = proxy.onlyLoggedError();
                assertThat(e.source()).isEqualTo(ErrorSource.DOWNSTREAM);
                assertThat(origin.awaitNoOpenConnections(Duration.ofSeconds(5))).as("the half-read upstream is not pooled").isTrue();
                assertThat(engine.connector().splicedBodies()).isEqualTo(1);
            }
        }
    }

    @Test
    void bytesAfterASplicedBodyAreNeverTakenForTheNextResponse() throws Exception {
        byte[] body = MockResponse.patternBytes(0, BIG);
        ByteArrayOutputStream raw = new ByteArrayOutputStream();
        raw.writeBytes(("HTTP/1.1 200 OK\r\nContent-Length: " + BIG + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        raw.writeBytes(body);
        raw.writeBytes("HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled".getBytes(StandardCharsets.US_ASCII));
        try (MockOrigin origin = MockOrigin.start()) {
            origin.enqueue(MockResponse.builder().fault(new OriginFault.Raw(raw.toByteArray(), false)).build());
            origin.enqueue(MockResponse.ok("second"));
            RecordingProxy proxy = new RecordingProxy(peer(origin));
            HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy, ProxyOptions.DEFAULT);
            try (TestServer server = RecordingProxy.serve(engine); Socket client = connect(server)) {
                assertWhole(get(client, "/first"), BIG);
                proxy.awaitLogged(1);
                client.getOutputStream().write("GET /second HTTP/1.1\r\nHost: t\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                Seen second = read(client.getInputStream());
                assertThat(second.received()).isEqualTo(6);
                assertThat(second.head()).doesNotContain("Content-Length: 8");
                assertThat(engine.connector().splicedBodies()).isEqualTo(1);
                assertThat(engine.connector().newConnections()).as("the first connection was not reused").isEqualTo(2);
            }
        }
    }

    /** The open file descriptors of this process (the proxy, the origin and the clients all run in it), by kind. */
    record Fds(long all, long pipes, long sockets) {
        static Fds now() throws IOException {
            long all = 0;
            long pipes = 0;
            long sockets = 0;
            try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
                for (Path fd : (Iterable<Path>) fds::iterator) {
                    all++;
                    try {
                        String target = Files.readSymbolicLink(fd).toString();
                        pipes += target.startsWith("pipe:") ? 1 : 0;
                        sockets += target.startsWith("socket:") ? 1 : 0;
                    } catch (IOException e) {
                        // closed since the listing
                    }
                }
            }
            return new Fds(all, pipes, sockets);
        }
    }

    @Test
    void slowReadersHoldNoMoreSplicePipesThanTheCapAndTheRestIsCopied() throws Exception {
        int cap = 4;
        int readers = 32;
        long size = 2L << 20;
        try (MockOrigin origin = MockOrigin.start()) {
            origin.setDispatcher(req -> MockResponse.builder().streamedBody(req.target().equals("/warm") ? 10 : size).build());
            RecordingProxy proxy = new RecordingProxy(peer(origin));
            HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy, ProxyOptions.builder().maxSplicePipesPerLoop(cap).build());
            Fds beforeServer = Fds.now();
            try (TestServer server = RecordingProxy.serve(engine)) {
                try (Socket warm = connect(server)) {
                    assertWhole(get(warm, "/warm"), 10);
                }
                Fds before = Fds.now();
                List<Socket> clients = new ArrayList<>();
                try {
                    for (int i = 0; i < readers; i++) {
                        Socket c = new Socket();
                        c.setReceiveBufferSize(16 * 1024);
                        c.connect(new InetSocketAddress("127.0.0.1", server.port()), 5000);
                        c.setSoTimeout(30_000);
                        c.getOutputStream().write("GET /big HTTP/1.1\r\nHost: t\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                        clients.add(c);
                    }
                    // every response has started and is either spliced or copied; no client has read a byte
                    assertThat(RecordingProxy.eventually(() -> engine.connector().splicedBodies()
                            + engine.connector().copiedOverSplicePipeCap() == readers)).isTrue();
                    RecordingProxy.eventually(() -> {
                        try {
                            return Fds.now().pipes() - before.pipes() >= 2L * cap; // Netty makes them at the first splice
                        } catch (IOException e) {
                            return false;
                        }
                    });
                    long pipes = 0;
                    long others = 0; // neither sockets nor pipes
                    for (int i = 0; i < 10; i++) {
                        Fds now = Fds.now();
                        pipes = Math.max(pipes, now.pipes() - before.pipes());
                        others = Math.max(others, (now.all() - now.sockets() - now.pipes()) - (before.all() - before.sockets() - before.pipes()));
                        RecordingProxy.sleep(50);
                    }
                    assertThat(pipes).as("pipe descriptors of %d slow readers, with %d pipes at most", readers, cap)
                            .isLessThanOrEqualTo(2L * cap);
                    assertThat(others).as("descriptors other than sockets and pipes").isLessThanOrEqualTo(8);
                    assertThat(engine.connector().splicePipes()).isEqualTo(cap);
                    for (Socket c : clients) {
                        assertWhole(read(c.getInputStream()), size);
                    }
                    proxy.awaitLogged(readers + 1);
                    assertThat(engine.connector().splicedBodies()).as("spliced up to the cap").isEqualTo(cap);
                    assertThat(engine.connector().copiedOverSplicePipeCap()).as("copied above it").isEqualTo(readers - cap);
                } finally {
                    for (Socket c : clients) {
                        c.close();
                    }
                }
                // the pipes go with their connections, and the budget with them
                assertThat(RecordingProxy.eventually(() -> engine.connector().splicePipes() == 0)).isTrue();
                try (Socket again = connect(server)) {
                    assertWhole(get(again, "/again"), size);
                }
                assertThat(engine.connector().splicedBodies()).isEqualTo(cap + 1);
            }
            assertThat(proxy.loggedErrors()).allMatch(Optional::isEmpty);
            assertThat(engine.connector().splicePipes()).as("no pipe outlives the server").isZero();
            assertThat(RecordingProxy.eventually(() -> {
                try {
                    Fds after = Fds.now();
                    return after.pipes() <= beforeServer.pipes() && after.all() <= beforeServer.all() + 8;
                } catch (IOException e) {
                    return false;
                }
            })).as("descriptors back to where they were before the server").isTrue();
        }
    }
}
