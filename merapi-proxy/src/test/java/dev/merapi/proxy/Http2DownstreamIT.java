package dev.merapi.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.core.listeners.ListenerConfig;
import dev.merapi.core.services.ListeningService;
import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.testkit.MockOrigin;
import dev.merapi.testkit.MockResponse;
import dev.merapi.testkit.OriginFault;
import dev.merapi.testkit.RecordedRequest;
import dev.merapi.proxy.TlsListenerIT.Run;
import dev.merapi.testkit.TestServer;
import dev.merapi.http.Headers;
import dev.merapi.http.ResponseHeader;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CopyOnWriteArrayList;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * HTTP/2 with prior knowledge (h2c) on the HTTP/1.1 port, driven by curl: every stream goes through the proxy's phases
 * as its own HTTP/1.1 request to the origin, and HTTP/1.1 clients on the same port see no difference.
 */
class Http2DownstreamIT {
    @RegisterExtension
    final ProxyFixture fixture = new ProxyFixture();

    @TempDir
    Path tmp;

    /** Runs a client process, bounded in time; what it printed, stdout and stderr together. */
    static Run run(List<String> command) throws IOException, InterruptedException {
        return TlsListenerIT.run(command, "");
    }

    /** curl with prior knowledge; {@code -w} prints the HTTP version, status and new connections of each transfer. */
    static Run curlH2(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "--max-time", "30", "--http2-prior-knowledge",
                "-w", "\n%{http_version} %{http_code} %{num_connects}\n"));
        cmd.addAll(List.of(args));
        return run(cmd);
    }

    private TestServer serve(RecordingProxy proxy) {
        return fixture.serve(HttpProxy.of(proxy, ProxyOptions.DEFAULT));
    }

    private HttpPeer peer() {
        return fixture.peer();
    }

    private static long crc(byte[] b) {
        CRC32 c = new CRC32();
        c.update(b);
        return c.getValue();
    }

    @Test
    void priorKnowledgeGetReachesTheOriginAsHttp11() throws Exception {
        MockOrigin origin = fixture.origin();
        origin.setDispatcher(req -> MockResponse.builder().body("hello h2").header("X-Origin", "yes")
                .header("Connection", "X-Hop").header("X-Hop", "dropped").build());
        RecordingProxy proxy = new RecordingProxy(peer());
        TestServer server = serve(proxy);
        Run r = curlH2("-i", "-H", "Cookie: a=1", "-H", "Cookie: b=2", server.uri("/hello?x=1").toString());
        assertThat(r.exit()).as(r.output()).isZero();
        assertThat(r.output()).contains("HTTP/2 200").contains("x-origin: yes").contains("hello h2").endsWith("2 200 1\n");
        assertThat(r.output()).doesNotContain("x-hop").doesNotContainIgnoringCase("connection:");
        RecordedRequest req = origin.takeRequest();
        assertThat(req.method()).isEqualTo("GET");
        assertThat(req.target()).isEqualTo("/hello?x=1");
        assertThat(req.header("Host")).contains("127.0.0.1:" + server.port());
        assertThat(req.headerValues("Cookie")).containsExactly("a=1; b=2");
        assertThat(req.header("Transfer-Encoding")).isEmpty();
        proxy.awaitLogged(1);
        assertThat(proxy.loggedErrors()).allMatch(Optional::isEmpty);
    }

    @Test
    void priorKnowledgePostBodyArrivesIntactWithItsLength() throws Exception {
        byte[] body = MockResponse.patternBytes(7, 300_000); // several stream windows: flow control must replenish
        Path file = Files.write(tmp.resolve("body"), body);
        MockOrigin origin = fixture.origin();
        origin.setDispatcher(req -> MockResponse.ok(req.bodySize() + " " + req.bodyCrc32()));
        RecordingProxy proxy = new RecordingProxy(peer());
        TestServer server = serve(proxy);
        Run r = curlH2("--data-binary", "@" + file, server.uri("/up").toString());
        assertThat(r.exit()).as(r.output()).isZero();
        assertThat(r.output()).startsWith(body.length + " " + crc(body)).endsWith("2 200 1\n");
        RecordedRequest req = origin.takeRequest();
        assertThat(req.method()).isEqualTo("POST");
        assertThat(req.header("Content-Length")).contains(Integer.toString(body.length));
        proxy.awaitLogged(1);
    }

    @Test
    void manyConcurrentStreamsShareOneConnectionAndEachReachesTheOrigin() throws Exception {
        MockOrigin origin = fixture.origin();
        origin.setDispatcher(req -> MockResponse.builder().body("r" + req.target()).headersDelay(Duration.ofMillis(50)).build());
        RecordingProxy proxy = new RecordingProxy(peer());
        TestServer server = serve(proxy);
        int n = 40;
        List<String> paths = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            paths.add("/s" + i);
        }
        List<String> lines = h2Streams(server, paths);
        assertThat(lines).hasSize(n);
        for (int i = 0; i < n; i++) {
            assertThat(lines.get(i)).isEqualTo("response " + (1 + 2 * i) + " 200 r/s" + i);
        }
        assertThat(origin.requestCount()).isEqualTo(n);
        assertThat(origin.requests()).allMatch(r -> r.version().equals("HTTP/1.1"));
        proxy.awaitLogged(n);
        assertThat(proxy.loggedErrors()).allMatch(Optional::isEmpty);
    }

    @Test
    void anOriginThatClosesFailsOnlyItsOwnStreamWith502() throws Exception {
        MockOrigin origin = fixture.origin();
        origin.setDispatcher(req -> req.target().equals("/bad")
                ? MockResponse.builder().fault(new OriginFault.CloseAfterRequest()).body("never").build()
                : MockResponse.ok("fine"));
        RecordingProxy proxy = new RecordingProxy(peer());
        TestServer server = serve(proxy);
        List<String> lines = h2Streams(server, List.of("/bad", "/ok"));
        assertThat(lines).hasSize(2);
        assertThat(lines.get(0)).startsWith("response 1 502 ");
        assertThat(lines.get(1)).isEqualTo("response 3 200 fine");
        proxy.awaitLogged(2);
        assertThat(proxy.loggedErrors()).filteredOn(Optional::isPresent).hasSize(1);
    }

    /** One stream per path, all at once on one connection (python3-h2); the lines "response STREAM STATUS BODY". */
    static List<String> h2Streams(TestServer server, List<String> paths) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("/usr/bin/python3", script(), Integer.toString(server.port()), "streams"));
        cmd.addAll(paths);
        Run r = run(cmd);
        assertThat(r.exit()).as(r.output()).isZero();
        return r.output().lines().filter(l -> l.startsWith("response ")).map(String::strip).toList();
    }

    /** The misbehaving (and the well-behaved) HTTP/2 client script, from the test resources. */
    static String script() throws Exception {
        return Path.of(Http2DownstreamIT.class.getResource("/h2-misbehave.py").toURI()).toString();
    }

    @Test
    void gracefulShutdownSendsGoAwayAndTheOpenStreamFinishes() throws Exception {
        MockOrigin origin = fixture.origin();
        origin.setDispatcher(req -> MockResponse.builder().body("slow").headersDelay(Duration.ofMillis(1500)).build());
        RecordingProxy proxy = new RecordingProxy(peer());
        TestServer server = serve(proxy);
        CompletableFuture<Run> client = CompletableFuture.supplyAsync(() -> {
            try {
                return run(List.of("/usr/bin/python3", script(), Integer.toString(server.port()), "get"));
            } catch (Exception e) {
                throw new CompletionException(e);
            }
        });
        assertThat(origin.takeRequest(Duration.ofSeconds(20)).target()).isEqualTo("/slow"); // the stream is in flight
        server.server().stopListening(server.service(), Duration.ofSeconds(20)).get(30, TimeUnit.SECONDS);
        Run r = client.get(60, TimeUnit.SECONDS);
        // GOAWAY (NO_ERROR, last stream 1) first, then the stream's response in full, then the close
        assertThat(r.output().lines().toList()).as(r.output()).containsSubsequence("goaway 1 0", "status 1 200", "end 1", "closed");
        assertThat(server.service().openConnections()).isZero();
        proxy.awaitLogged(1);
        assertThat(proxy.loggedErrors()).allMatch(Optional::isEmpty);
    }

    @Test
    void requestTrailersFromAnH2ClientReachThePhasesWithTheBody() throws Exception {
        MockOrigin origin = fixture.origin();
        origin.setDispatcher(req -> MockResponse.ok("got " + req.bodyUtf8()));
        List<Optional<Headers>> seen = new CopyOnWriteArrayList<>();
        RecordingProxy proxy = new RecordingProxy(peer()) {
            @Override
            public void requestBodyFilter(Session session, BodyChunk chunk, boolean endOfStream, Ctx ctx) {
                if (endOfStream) {
                    seen.add(session.downstream().requestTrailers());
                }
            }
        };
        TestServer server = serve(proxy);
        Run r = run(List.of("/usr/bin/python3", script(), Integer.toString(server.port()), "post-trailers"));
        assertThat(r.output().lines().toList()).as(r.output()).contains("status 1 200");
        assertThat(seen).hasSize(1);
        assertThat(seen.getFirst()).hasValueSatisfying(t -> assertThat(t.get("x-checksum")).contains("abc"));
        RecordedRequest req = origin.takeRequest();
        assertThat(req.bodyUtf8()).isEqualTo("hello");
        // the trailers reach an HTTP/1.1 origin once its connection writes chunked trailers (ClientSession.writeTrailers)
        proxy.awaitLogged(1);
        assertThat(proxy.loggedErrors()).allMatch(Optional::isEmpty);
    }

    @Test
    void responseTrailersEndTheStreamAsATrailingHeadersFrame() throws Exception {
        ListeningService service = ListeningService.http("t", session -> {
            session.writeResponseHeader(ResponseHeader.of(200), false);
            session.writeBody(Unpooled.copiedBuffer("body", StandardCharsets.US_ASCII), false);
            Headers trailers = new Headers();
            trailers.add("Grpc-Status", "0");
            trailers.add("Connection", "dropped");
            session.writeTrailers(trailers);
        });
        TestServer server = fixture.closeAfter(TestServer.start(service));
        Run r = run(List.of("/usr/bin/python3", script(), Integer.toString(server.port()), "get"));
        assertThat(r.output().lines().toList()).as(r.output()).containsSubsequence("status 1 200", "trailers 1 grpc-status=0");
    }

    @Test
    void upgradeH2cIsIgnoredAndTheRequestServedAsHttp11() throws Exception {
        MockOrigin origin = fixture.origin();
        origin.setDispatcher(req -> MockResponse.ok("one-one"));
        RecordingProxy proxy = new RecordingProxy(peer());
        TestServer server = serve(proxy);
        // plain-text --http2 asks for "Upgrade: h2c" with HTTP2-Settings
        Run r = run(List.of("curl", "-sS", "--max-time", "30", "--http2", "-w", "\n%{http_version} %{http_code}\n",
                server.uri("/u").toString()));
        assertThat(r.exit()).as(r.output()).isZero();
        assertThat(r.output()).contains("one-one").endsWith("1.1 200\n");
        RecordedRequest req = origin.takeRequest();
        assertThat(req.header("Upgrade")).isEmpty();
        assertThat(req.header("HTTP2-Settings")).isEmpty();
        proxy.awaitLogged(1);
    }

    @Test
    void http11AndPriorKnowledgeClientsShareThePort() throws Exception {
        MockOrigin origin = fixture.origin();
        origin.setDispatcher(req -> MockResponse.ok("v"));
        RecordingProxy proxy = new RecordingProxy(peer());
        TestServer server = serve(proxy);
        assertThat(ProxyFixture.get(server, "/one").body()).isEqualTo("v");
        assertThat(curlH2(server.uri("/two").toString()).output()).endsWith("2 200 1\n");
        assertThat(run(List.of("curl", "-sS", "--max-time", "30", "--http1.1", "-w", " %{http_version}",
                server.uri("/three").toString())).output()).isEqualTo("v 1.1");
        proxy.awaitLogged(3);
    }

    @Test
    void aListenerWithHttp2OffAnswersThePrefaceAsHttp11() throws Exception {
        MockOrigin origin = fixture.origin();
        origin.setDispatcher(req -> MockResponse.ok("v"));
        RecordingProxy proxy = new RecordingProxy(peer());
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy, ProxyOptions.DEFAULT);
        ListeningService service = ListeningService.http("t", engine)
                .addListener(ListenerConfig.tcp("127.0.0.1:0").toBuilder().http2(false).build());
        TestServer server = fixture.closeAfter(TestServer.start(service).checkClosedOnStop(engine.connector()::openConnections));
        Run r = curlH2(server.uri("/x").toString());
        assertThat(r.output()).doesNotContain("2 200");
        assertThat(origin.requestCount()).isZero();
        assertThat(ProxyFixture.get(server, "/y").body()).isEqualTo("v");
    }

    @Test
    void loggingRunsOnceWithAnErrorWhenTheClientLeavesMidResponse() throws Exception {
        MockOrigin origin = fixture.origin();
        origin.setDispatcher(req -> MockResponse.builder().streamedBody(50_000_000).throttle(64 * 1024, Duration.ofMillis(5)).build());
        RecordingProxy proxy = new RecordingProxy(peer());
        TestServer server = serve(proxy);
        Run r = run(List.of("curl", "-sS", "--http2-prior-knowledge", "--max-time", "1", "-o", "/dev/null",
                server.uri("/big").toString()));
        assertThat(r.exit()).as("curl gave up after its max time").isNotZero();
        proxy.awaitLogged(1);
        assertThat(proxy.loggedErrors().getFirst()).isPresent();
    }
}
