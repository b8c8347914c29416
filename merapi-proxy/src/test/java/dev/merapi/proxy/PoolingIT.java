package dev.merapi.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.core.server.ServerConfig;
import dev.merapi.core.services.ListeningService;
import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.core.upstreams.PeerOptions;
import dev.merapi.testkit.MockOrigin;
import dev.merapi.testkit.MockResponse;
import dev.merapi.testkit.OriginFault;
import dev.merapi.testkit.RawClient;
import dev.merapi.testkit.RecordedRequest;
import dev.merapi.testkit.TestServer;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.Test;

/** Upstream connection pooling through real sockets: reuse, reuse keys, idle timeout, and what must not be pooled. */
class PoolingIT {
    @RegisterExtension
    final ProxyFixture fixture = new ProxyFixture();


    private static HttpPeer peer(MockOrigin origin) {
        return HttpPeer.of("127.0.0.1:" + origin.port());
    }

    @Test
    void aKeepAliveRunOf1000RequestsUsesOneUpstreamConnection() throws Exception {
        int n = 1000;
        MockOrigin origin = fixture.origin();
        origin.setDispatcher(req -> MockResponse.ok(req.target()));
        RecordingProxy proxy = new RecordingProxy(peer(origin));
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy, ProxyOptions.DEFAULT);
        TestServer server = fixture.serve(engine);
        try (RawClient client = RawClient.connect(server.port())) {
            for (int i = 0; i < n; i++) {
                client.send("GET /r" + i + " HTTP/1.1\r\nHost: t\r\n\r\n");
                RawClient.Response r = client.readResponse();
                assertThat(r.status()).isEqualTo(200);
                assertThat(r.bodyText()).isEqualTo("/r" + i);
            }
            proxy.awaitLogged(n);
            assertThat(engine.connector().reuseRatio()).isGreaterThanOrEqualTo(0.999);
            assertThat(engine.connector().newConnections()).isEqualTo(1);
            assertThat(engine.connector().reusedConnections()).isEqualTo(n - 1);
            assertThat(engine.connector().openConnections()).isEqualTo(1);
        }
        assertThat(origin.connectionCount()).isEqualTo(1);
        assertThat(origin.requestCount()).isEqualTo(n);
        assertThat(proxy.loggedErrors()).hasSize(n).allMatch(Optional::isEmpty);
    }

    @Test
    void pooledConnectionsArePerReuseKey() throws Exception {
        try (MockOrigin a = MockOrigin.start(); MockOrigin b = MockOrigin.start()) {
            a.setDispatcher(req -> MockResponse.ok("a"));
            b.setDispatcher(req -> MockResponse.ok("b"));
            RecordingProxy proxy = new RecordingProxy(peer(a)) {
                @Override
                public CompletionStage<HttpPeer> upstreamPeer(Session session, Ctx ctx) {
                    super.upstreamPeer(session, ctx);
                    return Stages.completed(session.requestHeader().path().startsWith("/a") ? peer(a) : peer(b));
                }
            };
            HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy, ProxyOptions.DEFAULT);
            TestServer server = fixture.serve(engine);
            try (RawClient client = RawClient.connect(server.port())) {
                for (int i = 0; i < 20; i++) {
                    String which = i % 2 == 0 ? "a" : "b";
                    client.send("GET /" + which + " HTTP/1.1\r\nHost: t\r\n\r\n");
                    assertThat(client.readResponse().bodyText()).isEqualTo(which);
                }
                proxy.awaitLogged(20);
                assertThat(engine.connector().newConnections()).isEqualTo(2);
                assertThat(engine.connector().openConnections()).isEqualTo(2);
            }
            assertThat(a.connectionCount()).isEqualTo(1);
            assertThat(b.connectionCount()).isEqualTo(1);
            assertThat(a.requestCount()).isEqualTo(10);
            assertThat(b.requestCount()).isEqualTo(10);
        }
    }

    @Test
    void peersThatDifferOnlyInSniDoNotShareConnections() throws Exception {
        MockOrigin origin = fixture.origin();
        InetSocketAddress address = new InetSocketAddress("127.0.0.1", origin.port());
        HttpPeer one = HttpPeer.of(address, false, "one.test");
        HttpPeer two = HttpPeer.of(address, false, "two.test");
        RecordingProxy proxy = new RecordingProxy(one) {
            @Override
            public CompletionStage<HttpPeer> upstreamPeer(Session session, Ctx ctx) {
                super.upstreamPeer(session, ctx);
                return Stages.completed(session.requestHeader().path().equals("/one") ? one : two);
            }
        };
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy, ProxyOptions.DEFAULT);
        TestServer server = fixture.serve(engine);
        try (RawClient client = RawClient.connect(server.port())) {
            for (String path : new String[] {"/one", "/two", "/one", "/two"}) {
                client.send("GET " + path + " HTTP/1.1\r\nHost: t\r\n\r\n");
                assertThat(client.readResponse().status()).isEqualTo(200);
            }
            proxy.awaitLogged(4);
        }
        assertThat(origin.connectionCount()).isEqualTo(2);
        assertThat(origin.requests()).extracting(RecordedRequest::connectionIndex).containsExactly(1, 2, 1, 2);
    }

    @Test
    void theIdleTimeoutClosesPooledConnections() throws Exception {
        MockOrigin origin = fixture.origin();
        PeerOptions options = PeerOptions.builder().idleTimeout(Duration.ofMillis(300)).build();
        RecordingProxy proxy = new RecordingProxy(peer(origin).withOptions(options));
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy, ProxyOptions.DEFAULT);
        TestServer server = fixture.serve(engine);
        try (RawClient client = RawClient.connect(server.port())) {
            client.send("GET /1 HTTP/1.1\r\nHost: t\r\n\r\n");
            assertThat(client.readResponse().status()).isEqualTo(200);
            proxy.awaitLogged(1);
            assertThat(origin.openConnections()).isEqualTo(1);
            assertThat(origin.awaitNoOpenConnections(Duration.ofSeconds(5))).as("closed by the idle timeout").isTrue();
            assertThat(RecordingProxy.eventually(() -> engine.connector().openConnections() == 0)).isTrue();
            // and the next request simply opens a new one
            client.send("GET /2 HTTP/1.1\r\nHost: t\r\n\r\n");
            assertThat(client.readResponse().status()).isEqualTo(200);
            proxy.awaitLogged(2);
        }
        assertThat(origin.connectionCount()).isEqualTo(2);
        assertThat(proxy.loggedErrors()).allMatch(Optional::isEmpty);
    }

    @Test
    void aZeroIdleCapPoolsNothing() throws Exception {
        MockOrigin origin = fixture.origin();
        RecordingProxy proxy = new RecordingProxy(peer(origin));
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy, ProxyOptions.builder().maxIdleUpstreamPerLoop(0).build());
        TestServer server = fixture.serve(engine);
        try (RawClient client = RawClient.connect(server.port())) {
            for (int i = 0; i < 3; i++) {
                client.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
                assertThat(client.readResponse().status()).isEqualTo(200);
            }
            proxy.awaitLogged(3);
            assertThat(origin.awaitNoOpenConnections(Duration.ofSeconds(5))).isTrue();
        }
        assertThat(origin.connectionCount()).isEqualTo(3);
        assertThat(engine.connector().reusedConnections()).isZero();
    }

    /** A response written as these bytes, after which the origin keeps the connection open. */
    private static MockResponse raw(String bytes) {
        return MockResponse.builder().fault(new OriginFault.Raw(bytes.getBytes(StandardCharsets.ISO_8859_1), false)).build();
    }

    @Test
    void aResponseWithConnectionCloseIsNotPooled() throws Exception {
        MockOrigin origin = fixture.origin();
        // the origin says close but leaves the connection open: only the header can tell the proxy
        origin.setDispatcher(req -> raw("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\nbye"));
        RecordingProxy proxy = new RecordingProxy(peer(origin));
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy, ProxyOptions.DEFAULT);
        TestServer server = fixture.serve(engine);
        try (RawClient client = RawClient.connect(server.port())) {
            for (int i = 0; i < 2; i++) {
                client.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
                RawClient.Response r = client.readResponse();
                assertThat(r.bodyText()).isEqualTo("bye");
                assertThat(r.header("Connection")).as("hop-by-hop: the downstream keeps its own").isEmpty();
            }
            proxy.awaitLogged(2);
        }
        assertThat(origin.connectionCount()).isEqualTo(2);
        assertThat(engine.connector().reusedConnections()).isZero();
        assertThat(proxy.loggedErrors()).allMatch(Optional::isEmpty);
    }

    @Test
    void anHttp10ResponseIsNotPooled() throws Exception {
        MockOrigin origin = fixture.origin();
        origin.setDispatcher(req -> raw("HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nold"));
        RecordingProxy proxy = new RecordingProxy(peer(origin));
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy, ProxyOptions.DEFAULT);
        TestServer server = fixture.serve(engine);
        try (RawClient client = RawClient.connect(server.port())) {
            for (int i = 0; i < 2; i++) {
                client.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
                assertThat(client.readResponse().bodyText()).isEqualTo("old");
            }
            proxy.awaitLogged(2);
        }
        assertThat(origin.connectionCount()).isEqualTo(2);
        assertThat(proxy.loggedErrors()).allMatch(Optional::isEmpty);
    }

    @Test
    void aRequestWithConnectionCloseStillReusesTheUpstream() throws Exception {
        MockOrigin origin = fixture.origin();
        RecordingProxy proxy = new RecordingProxy(peer(origin));
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy, ProxyOptions.DEFAULT);
        TestServer server = fixture.serve(engine);
        for (int i = 0; i < 3; i++) {
            try (RawClient client = RawClient.connect(server.port())) {
                // Connection is hop-by-hop: the client's close is about its own connection only
                client.send("GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
                assertThat(client.readResponse().status()).isEqualTo(200);
                assertThat(client.isClosedByPeer()).isTrue();
            }
        }
        proxy.awaitLogged(3);
        assertThat(origin.connectionCount()).isEqualTo(1);
        assertThat(origin.requests()).allSatisfy(r -> assertThat(r.header("Connection")).isEmpty());
    }

    @Test
    void pipelinedRequestsAreAnsweredInOrderOverThePool() throws Exception {
        MockOrigin origin = fixture.origin();
        origin.setDispatcher(req -> MockResponse.ok(req.target()));
        RecordingProxy proxy = new RecordingProxy(peer(origin));
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy, ProxyOptions.DEFAULT);
        TestServer server = fixture.serve(engine);
        try (RawClient client = RawClient.connect(server.port())) {
            client.send("GET /1 HTTP/1.1\r\nHost: t\r\n\r\nPOST /2 HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc"
                    + "GET /3 HTTP/1.1\r\nHost: t\r\n\r\n");
            for (String path : new String[] {"/1", "/2", "/3"}) {
                assertThat(client.readResponse().bodyText()).isEqualTo(path);
            }
            proxy.awaitLogged(3);
        }
        assertThat(origin.connectionCount()).isEqualTo(1);
        assertThat(origin.requests().get(1).bodyUtf8()).isEqualTo("abc");
    }

    @Test
    void concurrentClientsOnTwoEventLoopsEachUseTheirLoopsPool() throws Exception {
        int clients = 16;
        int perClient = 25;
        MockOrigin origin = fixture.origin();
        origin.setDispatcher(req -> MockResponse.ok(req.target()));
        RecordingProxy proxy = new RecordingProxy(peer(origin));
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy, ProxyOptions.DEFAULT);
        ServerConfig config = ServerConfig.builder().threads(2).gracePeriod(Duration.ofSeconds(5)).name("pool2").build();
        try (TestServer server = TestServer.start(ListeningService.http("t", engine), config)
                .checkClosedOnStop(engine.connector()::openConnections)) {
            List<Future<?>> done = new ArrayList<>();
            try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
                for (int c = 0; c < clients; c++) {
                    int id = c;
                    done.add(pool.submit(() -> {
                        try (RawClient client = RawClient.connect(server.port())) {
                            for (int i = 0; i < perClient; i++) {
                                String path = "/c" + id + "/r" + i;
                                client.send("GET " + path + " HTTP/1.1\r\nHost: t\r\n\r\n");
                                assertThat(client.readResponse().bodyText()).isEqualTo(path);
                            }
                        }
                        return null;
                    }));
                }
                for (Future<?> f : done) {
                    f.get(60, TimeUnit.SECONDS);
                }
            }
            proxy.awaitLogged(clients * perClient);
            // never more upstream connections than requests in flight at once
            assertThat(origin.connectionCount()).isLessThanOrEqualTo(clients);
            assertThat(engine.connector().reusedConnections()).isGreaterThan(0);
        }
        assertThat(origin.requestCount()).isEqualTo(clients * perClient);
        assertThat(proxy.loggedErrors()).allMatch(Optional::isEmpty);
    }
}
