package dev.merapi.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.merapi.core.connectors.ClientSession;
import dev.merapi.core.connectors.Connector;
import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.core.upstreams.PeerOptions;
import dev.merapi.core.upstreams.UpstreamProtocol;
import dev.merapi.core.upstreams.UpstreamTls;
import dev.merapi.error.ErrorType;
import dev.merapi.error.ProxyError;
import dev.merapi.http.BodyLength;
import dev.merapi.http.Headers;
import dev.merapi.http.Http1Limits;
import dev.merapi.http.RequestHeader;
import dev.merapi.http.ResponseHeader;
import dev.merapi.testkit.ExternalServer;
import dev.merapi.testkit.RawClient;
import dev.merapi.testkit.TestPki;
import dev.merapi.testkit.TestServer;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.EventLoop;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.handler.codec.http2.Http2Headers;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Merapi speaking HTTP/2 to real h2 origins: Netty's own HTTP/2 server (h2c and h2 over TLS), which the test can make
 * misbehave (stream limits, GOAWAY, RST_STREAM), and nginx with {@code http2} on a TLS listener. Clients speak
 * HTTP/1.1 to Merapi, so every test also bridges h1 to h2. Each test checks that no connection is left open.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class UpstreamH2IT {
    @TempDir
    static Path dir;
    private static TestPki pki;
    private static TestPki.Issued origin;

    @BeforeAll
    static void pki() {
        pki = TestPki.create(dir.resolve("pki"), "H2 Upstream CA");
        origin = pki.certificate("origin").dns("origin.test").ip("127.0.0.1").issue();
    }

    private static HttpPeer h2c(H2Origin o) {
        return HttpPeer.of("127.0.0.1:" + o.port()).withOptions(PeerOptions.builder().protocol(UpstreamProtocol.HTTP2).build());
    }

    private static UpstreamTls trusting() {
        return UpstreamTls.builder().trustedCa(pki.caPem()).build();
    }

    /** Sends {@code count} requests at once, each on its own client connection, and returns the responses in order. */
    private static List<RawClient.Response> concurrently(TestServer server, int count, String request) throws Exception {
        ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
        try {
            List<Future<RawClient.Response>> futures = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                futures.add(pool.submit(() -> {
                    try (RawClient c = RawClient.connect(server.port())) {
                        c.send(request);
                        return c.readResponse();
                    }
                }));
            }
            List<RawClient.Response> out = new ArrayList<>();
            for (Future<RawClient.Response> f : futures) {
                out.add(f.get(60, TimeUnit.SECONDS));
            }
            return out;
        } finally {
            pool.shutdownNow();
        }
    }

    private static RawClient.Response get(TestServer server, String path) throws IOException {
        try (RawClient c = RawClient.connect(server.port())) {
            c.send("GET " + path + " HTTP/1.1\r\nHost: client.test\r\n\r\n");
            return c.readResponse();
        }
    }

    @Test
    void concurrentRequestsShareOneH2cConnection() throws Exception {
        try (H2Origin o = H2Origin.h2c(0)) {
            RecordingProxy proxy = new RecordingProxy(h2c(o));
            HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy);
            try (TestServer server = RecordingProxy.serve(engine)) {
                List<RawClient.Response> rs = concurrently(server, 20, "GET /slow HTTP/1.1\r\nHost: client.test\r\n\r\n");

                assertThat(rs).allSatisfy(r -> {
                    assertThat(r.status()).isEqualTo(200);
                    assertThat(r.bodyText()).isEqualTo("slow");
                });
                assertThat(o.connections.get()).as("h2 connections at the origin").isEqualTo(1);
                assertThat(o.requestsTo("/slow")).isEqualTo(20);
                assertThat(engine.connector().newConnections()).isEqualTo(1);
                assertThat(engine.connector().reusedConnections()).isEqualTo(19);
                proxy.awaitLogged(20);
                assertThat(proxy.loggedErrors()).allSatisfy(e -> assertThat(e).isEmpty());
            }
            assertThat(RecordingProxy.eventually(() -> o.openConnections.get() == 0)).as("origin connections closed").isTrue();
        }
    }

    @Test
    void requestHeadersAreTranslatedAsRfc9113Says() throws Exception {
        try (H2Origin o = H2Origin.h2c(0)) {
            HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(new RecordingProxy(h2c(o)));
            try (TestServer server = RecordingProxy.serve(engine); RawClient c = RawClient.connect(server.port())) {
                c.send("GET /hello?q=1 HTTP/1.1\r\nHost: client.test:8080\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\n"
                        + "Keep-Alive: timeout=5\r\nCookie: a=1; b=2\r\nX-End: kept\r\n\r\n");
                RawClient.Response r = c.readResponse();

                assertThat(r.status()).isEqualTo(200);
                assertThat(r.bodyText()).isEqualTo("hello");
                Http2Headers seen = o.requests.getFirst();
                assertThat(seen.method().toString()).isEqualTo("GET");
                assertThat(seen.scheme().toString()).isEqualTo("http");
                assertThat(seen.authority().toString()).isEqualTo("client.test:8080");
                assertThat(seen.path().toString()).isEqualTo("/hello?q=1");
                assertThat(seen.contains("host")).isFalse();
                assertThat(seen.contains("connection")).isFalse();
                assertThat(seen.contains("keep-alive")).isFalse();
                assertThat(seen.contains("x-hop")).isFalse();
                assertThat(seen.getAll("cookie").stream().map(CharSequence::toString)).containsExactly("a=1", "b=2");
                assertThat(seen.get("x-end").toString()).isEqualTo("kept");
            }
        }
    }

    @Test
    void theOriginsStreamLimitOpensASecondConnection() throws Exception {
        try (H2Origin o = H2Origin.h2c(2)) {
            assertConcurrentSlowRequestsNeedConnections(o, h2c(o), 4, 2);
        }
    }

    @Test
    void thePeersStreamLimitOpensMoreConnections() throws Exception {
        try (H2Origin o = H2Origin.h2c(0)) {
            HttpPeer peer = HttpPeer.of("127.0.0.1:" + o.port()).withOptions(PeerOptions.builder()
                    .protocol(UpstreamProtocol.HTTP2).maxStreamsPerConnection(1).build());
            assertConcurrentSlowRequestsNeedConnections(o, peer, 3, 3);
        }
    }

    /** Sends {@code requests} slow requests at once through a proxy to {@code peer}: all 200, on {@code connections}. */
    private static void assertConcurrentSlowRequestsNeedConnections(H2Origin o, HttpPeer peer, int requests, int connections)
            throws Exception {
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(new RecordingProxy(peer));
        try (TestServer server = RecordingProxy.serve(engine)) {
            List<RawClient.Response> rs = concurrently(server, requests, "GET /slow HTTP/1.1\r\nHost: client.test\r\n\r\n");

            assertThat(rs).allSatisfy(r -> assertThat(r.status()).isEqualTo(200));
            assertThat(o.connections.get()).as("h2 connections at the origin").isEqualTo(connections);
        }
    }

    @Test
    void goAwayMidTrafficRetriesTheUnprocessedStreamsOnANewConnection() throws Exception {
        try (H2Origin o = H2Origin.h2c(0).goAwayAtStream(5)) {
            RecordingProxy proxy = new RecordingProxy(h2c(o));
            HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy);
            try (TestServer server = RecordingProxy.serve(engine)) {
                // POST: not idempotent, yet safe to send again since the origin said it never processed those streams
                List<RawClient.Response> rs = concurrently(server, 5,
                        "POST /slow HTTP/1.1\r\nHost: client.test\r\nContent-Length: 4\r\n\r\nbody");

                assertThat(rs).allSatisfy(r -> assertThat(r.status()).as(r.bodyText()).isEqualTo(200));
                assertThat(o.connections.get()).as("h2 connections at the origin").isEqualTo(2);
                assertThat(o.requestsTo("/slow")).as("requests the origin answered").isEqualTo(5);
                proxy.awaitLogged(5);
                assertThat(proxy.loggedErrors()).allSatisfy(e -> assertThat(e).isEmpty());
                assertThat(proxy.proxyErrors).isNotEmpty()
                        .allSatisfy(e -> assertThat(e.type()).isEqualTo(ErrorType.Kind.STREAM_REFUSED));
            }
        }
    }

    @Test
    void anOriginResetIs502ForThatRequestOnly() throws Exception {
        try (H2Origin o = H2Origin.h2c(0)) {
            RecordingProxy proxy = new RecordingProxy(h2c(o));
            HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy);
            try (TestServer server = RecordingProxy.serve(engine)) {
                ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
                Future<RawClient.Response> slow = pool.submit(() -> get(server, "/slow"));
                RecordingProxy.sleep(50);
                RawClient.Response reset = get(server, "/reset");
                RawClient.Response ok = slow.get(30, TimeUnit.SECONDS);
                pool.shutdownNow();

                assertThat(reset.status()).isEqualTo(502);
                assertThat(ok.status()).isEqualTo(200);
                assertThat(o.connections.get()).isEqualTo(1);
                assertThat(get(server, "/hello").status()).as("the connection still serves").isEqualTo(200);
                assertThat(o.connections.get()).isEqualTo(1);
                assertThat(proxy.proxyErrors).singleElement().satisfies(e -> assertThat(e.type()).isEqualTo(ErrorType.Kind.H2_ERROR));
            }
        }
    }

    @Test
    void largeBodiesGoBothWaysUnderFlowControl() throws Exception {
        int size = 8 * 1024 * 1024;
        byte[] body = new byte[size];
        new SplittableRandom(7).nextBytes(body);
        try (H2Origin o = H2Origin.h2c(0)) {
            HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(new RecordingProxy(h2c(o)));
            try (TestServer server = RecordingProxy.serve(engine); RawClient c = RawClient.connect(server.port())) {
                c.send(("POST /echo HTTP/1.1\r\nHost: client.test\r\nContent-Length: " + size + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                c.send(body);
                RawClient.Response echoed = c.readResponse();
                assertThat(echoed.status()).isEqualTo(200);
                assertThat(Arrays.equals(echoed.body(), body)).as("the echoed body is the one sent").isTrue();

                c.send("GET /large?n=" + size + " HTTP/1.1\r\nHost: client.test\r\n\r\n");
                RawClient.Response large = c.readResponse();
                assertThat(large.status()).isEqualTo(200);
                assertThat(large.body()).hasSize(size);
                assertThat(o.connections.get()).isEqualTo(1);
            }
        }
    }

    @Test
    void requestTrailersReachAnH2OriginAndItsResponseTrailersAreHandedOut() throws Exception {
        MultiThreadIoEventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        try (H2Origin o = H2Origin.h2c(0)) {
            Connector connector = new Connector(8, Http1Limits.DEFAULT, false, 0);
            EventLoop loop = group.next();
            CompletableFuture<String> body = new CompletableFuture<>();
            CompletableFuture<Optional<Headers>> trailers = new CompletableFuture<>();
            loop.execute(() -> connector.connect(h2c(o), loop).addListener(f -> {
                ClientSession s = (ClientSession) f.getNow();
                StringBuilder got = new StringBuilder();
                s.setHandler(new ClientSession.Handler() {
                    @Override
                    public void onInformational(ResponseHeader header) {
                    }

                    @Override
                    public void onResponseHeader(ResponseHeader header) {
                        s.readBody();
                    }

                    @Override
                    public void onBody(ByteBuf data, boolean end) {
                        got.append(data.toString(StandardCharsets.US_ASCII));
                        data.release();
                        if (end) {
                            trailers.complete(s.responseTrailers());
                            s.release();
                            body.complete(got.toString());
                        } else {
                            s.readBody();
                        }
                    }

                    @Override
                    public void onWritable() {
                    }

                    @Override
                    public void onError(ProxyError error) {
                        body.completeExceptionally(error);
                        s.release();
                    }
                });
                RequestHeader req = RequestHeader.of("POST", "/echo");
                req.headers().add("Host", "client.test");
                req.setBodyLength(BodyLength.CHUNKED);
                s.writeRequestHeader(req, false);
                s.writeBody(Unpooled.copiedBuffer("abc", StandardCharsets.US_ASCII), false);
                s.writeTrailers(new Headers().add("X-Checksum", "900150983cd24fb0").add("Content-Length", "3"));
            }));

            assertThat(body.get(20, TimeUnit.SECONDS)).isEqualTo("abc");
            Headers t = trailers.get().orElseThrow();
            assertThat(t.get("x-checksum")).contains("900150983cd24fb0");
            assertThat(t.contains("content-length")).as("a framing field is never a trailer").isFalse();
            assertThat(RecordingProxy.eventually(() -> connector.openConnections() == 1)).isTrue();
        } finally {
            group.shutdownGracefully(0, 2, TimeUnit.SECONDS).sync();
        }
    }

    @Test
    void h2OverTlsIsChosenByAlpn() throws Exception {
        try (H2Origin o = H2Origin.tls(origin.chainPem().toFile(), origin.keyPem().toFile())) {
            HttpPeer peer = HttpPeer.of("127.0.0.1:" + o.port(), true, "origin.test").withTls(trusting())
                    .withOptions(PeerOptions.builder().protocol(UpstreamProtocol.HTTP2).build());
            HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(new RecordingProxy(peer));
            try (TestServer server = RecordingProxy.serve(engine)) {
                List<RawClient.Response> rs = concurrently(server, 5, "GET /trailers HTTP/1.1\r\nHost: client.test\r\n\r\n");

                assertThat(rs).allSatisfy(r -> {
                    assertThat(r.status()).isEqualTo(200);
                    assertThat(r.bodyText()).isEqualTo("ok");
                });
                assertThat(o.connections.get()).isEqualTo(1);
                assertThat(o.requests.getFirst().scheme().toString()).isEqualTo("https");
            }
        }
    }

    @Test
    void nginxWithHttp2OnTlsIsSpokenToInH2() throws Exception {
        assumeTrue(Files.isExecutable(ExternalProxy.NGINX), "nginx is not installed (apt-get install nginx-light)");
        try (ExternalServer nginx = ExternalServer.nginx(ExternalProxy.NGINX, dir.resolve("nginx-h2"), port -> """
                    server { listen 127.0.0.1:%d ssl http2; server_name origin.test;
                        ssl_certificate %s; ssl_certificate_key %s;
                        location / { default_type text/plain; return 200 "proto=$server_protocol alpn=$ssl_alpn_protocol host=$host conn=$connection\\n"; } }
                """.formatted(port, origin.chainPem(), origin.keyPem()))) {
            HttpPeer peer = HttpPeer.of("127.0.0.1:" + nginx.port(), true, "origin.test").withTls(trusting())
                    .withOptions(PeerOptions.builder().protocol(UpstreamProtocol.HTTP2_PREFERRED).build());
            HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(new RecordingProxy(peer));
            try (TestServer server = RecordingProxy.serve(engine)) {
                List<RawClient.Response> rs = concurrently(server, 6, "GET /x HTTP/1.1\r\nHost: client.test\r\n\r\n");

                assertThat(rs).allSatisfy(r -> {
                    assertThat(r.status()).isEqualTo(200);
                    assertThat(r.bodyText()).contains("proto=HTTP/2.0", "alpn=h2", "host=client.test");
                });
                assertThat(rs.stream().map(r -> r.bodyText().replaceAll("(?s).*conn=(\\d+).*", "$1")).distinct())
                        .as("nginx's connection numbers").hasSize(1);
                assertThat(engine.connector().newConnections()).isEqualTo(1);
            }
        }
    }

    @Test
    void h2PreferredFallsBackToHttp11AndRemembersThePeer() throws Exception {
        try (Http11TlsOrigin o = new Http11TlsOrigin()) {
            HttpPeer peer = HttpPeer.of("127.0.0.1:" + o.port(), true, "origin.test").withTls(trusting())
                    .withOptions(PeerOptions.builder().protocol(UpstreamProtocol.HTTP2_PREFERRED).build());
            HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(new RecordingProxy(peer));
            try (TestServer server = RecordingProxy.serve(engine)) {
                for (int i = 0; i < 3; i++) {
                    RawClient.Response r = get(server, "/x");
                    assertThat(r.status()).isEqualTo(200);
                    assertThat(r.bodyText()).isEqualTo("h1");
                }
                // the origin closes each connection: every request made a new one, and only the first offered h2
                assertThat(o.offers).hasSize(3);
                assertThat(o.offers.get(0)).containsExactly("h2", "http/1.1");
                assertThat(o.offers.subList(1, 3)).allSatisfy(offer -> assertThat(offer).containsExactly("http/1.1"));
            }
        }
    }

    /**
     * A TLS origin that speaks only HTTP/1.1, built on the JDK's TLS: it records the ALPN protocols each client offered,
     * picks {@code http/1.1}, answers one request and closes the connection.
     */
    private static final class Http11TlsOrigin implements AutoCloseable {
        final List<List<String>> offers = new CopyOnWriteArrayList<>();
        private final SSLServerSocket socket;
        private final Thread acceptor;

        Http11TlsOrigin() throws Exception {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setKeyEntry("origin", origin.key(), new char[0], new Certificate[] {origin.certificate(), pki.caCertificate()});
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(ks, new char[0]);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(kmf.getKeyManagers(), null, null);
            socket = (SSLServerSocket) ctx.getServerSocketFactory().createServerSocket(0, 16, InetAddress.getLoopbackAddress());
            acceptor = Thread.ofVirtual().start(this::serve);
        }

        int port() {
            return socket.getLocalPort();
        }

        private void serve() {
            while (!socket.isClosed()) {
                try (SSLSocket s = (SSLSocket) socket.accept()) {
                    s.setSoTimeout(10_000);
                    s.setHandshakeApplicationProtocolSelector((engine, offered) -> {
                        offers.add(List.copyOf(offered));
                        return offered.contains("http/1.1") ? "http/1.1" : null;
                    });
                    SSLParameters p = s.getSSLParameters();
                    s.setSSLParameters(p);
                    InputStream in = s.getInputStream();
                    ByteArrayOutputStream head = new ByteArrayOutputStream();
                    while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
                        int b = in.read();
                        if (b < 0) {
                            break;
                        }
                        head.write(b);
                    }
                    OutputStream out = s.getOutputStream();
                    out.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nh1".getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                } catch (IOException e) {
                    // closed, or a client that went away: the next accept decides
                }
            }
        }

        @Override
        public void close() throws Exception {
            socket.close();
            acceptor.join(5_000);
        }
    }
}
