package dev.merapi.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.core.upstreams.PeerOptions;
import dev.merapi.error.ProxyError;
import dev.merapi.error.Retry;
import dev.merapi.testkit.MockOrigin;
import dev.merapi.testkit.MockResponse;
import dev.merapi.testkit.OriginFault;
import dev.merapi.testkit.RawClient;
import dev.merapi.testkit.RecordedRequest;
import dev.merapi.testkit.TestServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Retries never make the origin act twice: an origin that reads a request, acts on it, then closes the connection
 * without answering, in front of a proxy whose pool holds several idle connections to it. Every request is counted
 * at the origin. The server runs one event loop, so every pooled connection is there for every request.
 */
class RetrySafetyIT {
    @RegisterExtension
    final ProxyFixture fixture = new ProxyFixture();

    private static final int POOLED = 4;

    /** The requests that reach the origin under test, by method and target: {@code "POST /transfer"}. */
    private static long seen(MockOrigin origin, String methodAndTarget) {
        return origin.requests().stream().filter(r -> (r.method() + ' ' + r.target()).equals(methodAndTarget)).count();
    }

    /** An origin that answers {@code /warm} once {@value #POOLED} of them are in, and acts-then-closes on {@code /act*}. */
    private static MockOrigin actingOrigin(AtomicInteger okAfter) {
        MockOrigin origin = MockOrigin.start();
        CountDownLatch warm = new CountDownLatch(POOLED);
        AtomicInteger acts = new AtomicInteger();
        origin.setDispatcher(r -> {
            if (r.target().equals("/warm")) {
                warm.countDown();
                try {
                    warm.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return MockResponse.ok("warm");
            }
            if (acts.incrementAndGet() > okAfter.get()) {
                return MockResponse.ok("done");
            }
            return MockResponse.builder().fault(new OriginFault.CloseAfterRequest()).build(); // acted, then gone
        });
        return origin;
    }

    /** Fills the proxy's pool with {@value #POOLED} idle connections to the origin. */
    private static void warmPool(TestServer server, HttpProxy<?> engine) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(POOLED);
        try {
            List<Future<Integer>> results = new ArrayList<>();
            for (int i = 0; i < POOLED; i++) {
                results.add(pool.submit(() -> {
                    try (RawClient c = RawClient.connect(server.port())) {
                        c.send("GET /warm HTTP/1.1\r\nHost: t\r\n\r\n");
                        return c.readResponse().status();
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                }));
            }
            for (Future<Integer> r : results) {
                assertThat(r.get(20, TimeUnit.SECONDS)).isEqualTo(200);
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(RecordingProxy.eventually(() -> engine.connector().openConnections() == POOLED)).isTrue();
    }

    private static String request(String kind) {
        return switch (kind) {
            case "POST" -> "POST /act HTTP/1.1\r\nHost: t\r\nContent-Length: 21\r\n\r\ntransfer $1000 to bob";
            case "PATCH" -> "PATCH /act HTTP/1.1\r\nHost: t\r\nContent-Length: 13\r\n\r\nbalance=-1000";
            case "GET with a body" -> "GET /act HTTP/1.1\r\nHost: t\r\nContent-Length: 13\r\n\r\n{\"delete\":42}";
            case "DELETE with a body" -> "DELETE /act HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nall!\r\n0\r\n\r\n";
            default -> throw new IllegalArgumentException(kind);
        };
    }

    private static int send(TestServer server, String raw) throws IOException {
        try (RawClient c = RawClient.connect(server.port())) {
            c.send(raw);
            return c.readResponse().status();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"POST", "PATCH", "GET with a body", "DELETE with a body"})
    void aRequestThatIsNotIdempotentReachesAnOriginThatActsAndClosesOnlyOnce(String kind) throws Exception {
        AtomicInteger okAfter = new AtomicInteger(Integer.MAX_VALUE); // every /act acts, then closes
        MockOrigin origin = fixture.closeAfter(actingOrigin(okAfter));
        RecordingProxy proxy = new RecordingProxy(HttpPeer.of("127.0.0.1:" + origin.port()));
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy);
        TestServer server = fixture.serve(engine);
        warmPool(server, engine);
        assertThat(send(server, request(kind))).isEqualTo(502);
        proxy.awaitLogged(POOLED + 1);
        String method = kind.split(" ")[0];
        assertThat(seen(origin, method + " /act")).as("times the origin acted on the %s", kind).isEqualTo(1);
        assertThat(proxy.peerCalls.get()).as("upstreamPeer calls: no retry").isEqualTo(POOLED + 1);
        assertThat(proxy.proxyErrors).singleElement().satisfies(e -> assertThat(e.retry()).isEqualTo(Retry.NO));
    }

    @Test
    void anIdempotentGetIsRetriedOnANewConnectionAndBurnsOnePooledConnectionAtMost() throws Exception {
        AtomicInteger okAfter = new AtomicInteger(Integer.MAX_VALUE);
        MockOrigin origin = fixture.closeAfter(actingOrigin(okAfter));
        RecordingProxy proxy = new RecordingProxy(HttpPeer.of("127.0.0.1:" + origin.port()));
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy);
        TestServer server = fixture.serve(engine);
        warmPool(server, engine);
        assertThat(send(server, "GET /act HTTP/1.1\r\nHost: t\r\n\r\n")).isEqualTo(502);
        proxy.awaitLogged(POOLED + 1);
        List<RecordedRequest> acts = origin.requests().stream().filter(r -> r.target().equals("/act")).toList();
        assertThat(acts).as("one pooled connection, then one new one").hasSize(2);
        assertThat(acts.get(0).connectionIndex()).isLessThanOrEqualTo(POOLED);
        assertThat(acts.get(1).connectionIndex()).isEqualTo(POOLED + 1);
    }

    @Test
    void anIdempotentGetSucceedsOnTheRetryAfterAPooledConnectionFails() throws Exception {
        AtomicInteger okAfter = new AtomicInteger(1); // the first /act closes, the second is answered
        MockOrigin origin = fixture.closeAfter(actingOrigin(okAfter));
        RecordingProxy proxy = new RecordingProxy(HttpPeer.of("127.0.0.1:" + origin.port()));
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy);
        TestServer server = fixture.serve(engine);
        warmPool(server, engine);
        assertThat(send(server, "GET /act HTTP/1.1\r\nHost: t\r\n\r\n")).isEqualTo(200);
        proxy.awaitLogged(POOLED + 1);
        assertThat(seen(origin, "GET /act")).isEqualTo(2);
        assertThat(proxy.loggedErrors()).allMatch(java.util.Optional::isEmpty);
    }

    @Test
    void aPeerThatOptsInHasAPostRetried() throws Exception {
        AtomicInteger okAfter = new AtomicInteger(1);
        MockOrigin origin = fixture.closeAfter(actingOrigin(okAfter));
        HttpPeer peer = HttpPeer.of("127.0.0.1:" + origin.port())
                .withOptions(PeerOptions.builder().retryNonIdempotent(true).build());
        RecordingProxy proxy = new RecordingProxy(peer);
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy);
        TestServer server = fixture.serve(engine);
        warmPool(server, engine);
        assertThat(send(server, request("POST"))).isEqualTo(200);
        proxy.awaitLogged(POOLED + 1);
        assertThat(seen(origin, "POST /act")).isEqualTo(2);
        assertThat(origin.requests().getLast().bodyUtf8()).isEqualTo("transfer $1000 to bob");
    }

    @Test
    void errorWhileProxyCanOptInForOneRequest() throws Exception {
        AtomicInteger okAfter = new AtomicInteger(1);
        MockOrigin origin = fixture.closeAfter(actingOrigin(okAfter));
        RecordingProxy proxy = new RecordingProxy(HttpPeer.of("127.0.0.1:" + origin.port())) {
            @Override
            public ProxyError errorWhileProxy(Session session, HttpPeer peer, ProxyError e, boolean reused, Ctx ctx) {
                super.errorWhileProxy(session, peer, e, reused, ctx);
                boolean keyed = session.requestHeader().headers().contains("Idempotency-Key");
                return keyed && reused ? e.withRetry(Retry.YES) : e;
            }
        };
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy);
        TestServer server = fixture.serve(engine);
        warmPool(server, engine);
        assertThat(send(server, "POST /act HTTP/1.1\r\nHost: t\r\nIdempotency-Key: 7f3a\r\nContent-Length: 2\r\n\r\nok"))
                .isEqualTo(200);
        proxy.awaitLogged(POOLED + 1);
        assertThat(seen(origin, "POST /act")).isEqualTo(2);
    }

    @Test
    void aPostThatNeverLeftIsRetriedOnTheNextPeer() throws Exception {
        int refused;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            refused = s.getLocalPort();
        }
        MockOrigin origin = fixture.origin();
        AtomicInteger calls = new AtomicInteger();
        RecordingProxy proxy = new RecordingProxy(() -> HttpPeer.of("127.0.0.1:"
                + (calls.getAndIncrement() == 0 ? refused : origin.port())));
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy);
        TestServer server = fixture.serve(engine);
        assertThat(send(server, request("POST"))).isEqualTo(200);
        proxy.awaitLogged(1);
        assertThat(seen(origin, "POST /act")).isEqualTo(1);
        assertThat(proxy.connectFailures).hasSize(1);
    }
}
