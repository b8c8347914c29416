package dev.merapi.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.testkit.MockOrigin;
import dev.merapi.testkit.MockResponse;
import dev.merapi.testkit.OriginFault;
import dev.merapi.testkit.RawClient;
import dev.merapi.testkit.RecordedRequest;
import dev.merapi.testkit.TestServer;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;
import java.util.zip.CRC32;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.Test;

/**
 * Body framing through the proxy: chunked request bodies are decoded and re-chunked, chunked responses are
 * re-framed, and a close-delimited origin body becomes chunked for an HTTP/1.1 client (which keeps its connection).
 */
class ChunkedIT {
    @RegisterExtension
    final ProxyFixture fixture = new ProxyFixture();


    private static HttpPeer peer(MockOrigin origin) {
        return HttpPeer.of("127.0.0.1:" + origin.port());
    }

    private static long crc(byte[] b) {
        CRC32 c = new CRC32();
        c.update(b);
        return c.getValue();
    }

    @Test
    void aChunkedUploadIsDecodedAndSentChunkedUpstream() throws Exception {
        MockOrigin origin = fixture.origin();
        origin.setDispatcher(req -> MockResponse.ok("got " + req.bodySize()));
        RecordingProxy proxy = new RecordingProxy(peer(origin));
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy, ProxyOptions.DEFAULT);
        TestServer server = fixture.serve(engine);
        try (RawClient client = RawClient.connect(server.port())) {
            client.send("POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + "5;name=value\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n");
            RawClient.Response r = client.readResponse();
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.bodyText()).isEqualTo("got 16");
            // and the connection is still in step for a second chunked request
            client.send("POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
            assertThat(client.readResponse().bodyText()).isEqualTo("got 3");
            proxy.awaitLogged(2);
        }
        RecordedRequest first = origin.takeRequest();
        assertThat(first.chunked()).isTrue();
        assertThat(first.bodyUtf8()).isEqualTo("hello 0123456789");
        assertThat(first.header("Content-Length")).isEmpty();
        assertThat(first.headerValues("Transfer-Encoding")).containsExactly("chunked");
        assertThat(origin.takeRequest().bodyUtf8()).isEqualTo("abc");
        assertThat(proxy.loggedErrors()).allMatch(Optional::isEmpty);
    }

    @Test
    void aLargeChunkedUploadFromHttpClientArrivesIntact() throws Exception {
        byte[] body = MockResponse.patternBytes(3, 3 * 1024 * 1024 + 17);
        MockOrigin origin = fixture.origin();
        origin.setDispatcher(req -> MockResponse.ok(req.bodySize() + " " + req.bodyCrc32()));
        RecordingProxy proxy = new RecordingProxy(peer(origin));
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy, ProxyOptions.DEFAULT);
        TestServer server = fixture.serve(engine);
        // ofInputStream has no known length, so HttpClient sends it chunked
        HttpResponse<String> r = RecordingProxy.http().send(HttpRequest.newBuilder(server.uri("/up"))
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(body))).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo(body.length + " " + crc(body));
        proxy.awaitLogged(1);
        assertThat(origin.takeRequest().chunked()).isTrue();
    }

    @Test
    void aChunkedDownloadIsReframedForTheClient() throws Exception {
        byte[] body = MockResponse.patternBytes(0, 100_000);
        MockOrigin origin = fixture.origin();
        origin.setDispatcher(req -> MockResponse.builder().chunkedBody(body, 777).trailer("X-Sum", "1").build());
        RecordingProxy proxy = new RecordingProxy(peer(origin));
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy, ProxyOptions.DEFAULT);
        TestServer server = fixture.serve(engine);
        try (RawClient client = RawClient.connect(server.port())) {
            for (int i = 0; i < 2; i++) {
                client.send("GET /down HTTP/1.1\r\nHost: t\r\n\r\n");
                RawClient.Response r = client.readResponse();
                assertThat(r.status()).isEqualTo(200);
                assertThat(r.header("Transfer-Encoding")).contains("chunked");
                assertThat(r.header("Content-Length")).isEmpty();
                assertThat(r.body()).isEqualTo(body);
            }
            assertThat(client.isClosedByPeer(Duration.ofMillis(100))).isFalse();
            proxy.awaitLogged(2);
        }
        assertThat(origin.connectionCount()).as("a cleanly ended chunked body keeps the upstream reusable").isEqualTo(1);
        assertThat(proxy.loggedErrors()).allMatch(Optional::isEmpty);
    }

    @Test
    void aChunkedDownloadReachesAnHttp10ClientCloseDelimited() throws Exception {
        byte[] body = MockResponse.patternBytes(0, 50_000);
        MockOrigin origin = fixture.origin();
        origin.enqueue(MockResponse.builder().chunkedBody(body, 1000).build());
        RecordingProxy proxy = new RecordingProxy(peer(origin));
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy, ProxyOptions.DEFAULT);
        TestServer server = fixture.serve(engine);
        byte[] all = readToClose(server, "GET /down HTTP/1.0\r\nHost: t\r\n\r\n");
        String text = new String(all, StandardCharsets.ISO_8859_1);
        int end = text.indexOf("\r\n\r\n");
        String head = text.substring(0, end);
        assertThat(head).startsWith("HTTP/1.0 200").doesNotContainIgnoringCase("Transfer-Encoding");
        assertThat(Arrays.copyOfRange(all, end + 4, all.length)).isEqualTo(body);
        proxy.awaitLogged(1);
    }

    @Test
    void aCloseDelimitedOriginBodyIsChunkedForAnHttp11Client() throws Exception {
        byte[] body = MockResponse.patternBytes(5, 200_000);
        MockOrigin origin = fixture.origin();
        origin.enqueue(MockResponse.builder().body(body).fault(new OriginFault.CloseDelimitedBody()).build());
        origin.enqueue(MockResponse.ok("after"));
        RecordingProxy proxy = new RecordingProxy(peer(origin));
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy, ProxyOptions.DEFAULT);
        TestServer server = fixture.serve(engine);
        try (RawClient client = RawClient.connect(server.port())) {
            client.send("GET /until-close HTTP/1.1\r\nHost: t\r\n\r\n");
            RawClient.Response r = client.readResponse();
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.header("Transfer-Encoding")).contains("chunked");
            assertThat(r.body()).isEqualTo(body);
            // the client's connection outlives the origin's
            client.send("GET /after HTTP/1.1\r\nHost: t\r\n\r\n");
            assertThat(client.readResponse().bodyText()).isEqualTo("after");
            proxy.awaitLogged(2);
        }
        assertThat(origin.connectionCount()).as("a close-delimited connection is never reused").isEqualTo(2);
        assertThat(proxy.loggedErrors()).allMatch(Optional::isEmpty);
    }

    @Test
    void aCloseDelimitedOriginBodyReachesAnHttp10ClientUntilClose() throws Exception {
        byte[] body = MockResponse.patternBytes(9, 70_000);
        MockOrigin origin = fixture.origin();
        origin.enqueue(MockResponse.builder().body(body).fault(new OriginFault.CloseDelimitedBody()).build());
        RecordingProxy proxy = new RecordingProxy(peer(origin));
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy, ProxyOptions.DEFAULT);
        TestServer server = fixture.serve(engine);
        byte[] all = readToClose(server, "GET /until-close HTTP/1.0\r\nHost: t\r\n\r\n");
        String text = new String(all, StandardCharsets.ISO_8859_1);
        int end = text.indexOf("\r\n\r\n");
        assertThat(text.substring(0, end)).startsWith("HTTP/1.0 200");
        assertThat(Arrays.copyOfRange(all, end + 4, all.length)).isEqualTo(body);
        proxy.awaitLogged(1);
        assertThat(proxy.loggedErrors().getFirst()).isEmpty();
    }

    @Test
    void aContentLengthUploadStaysContentLength() throws Exception {
        MockOrigin origin = fixture.origin();
        RecordingProxy proxy = new RecordingProxy(peer(origin));
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy, ProxyOptions.DEFAULT);
        TestServer server = fixture.serve(engine);
        try (RawClient client = RawClient.connect(server.port())) {
            client.send("PUT /x HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello world");
            assertThat(client.readResponse().status()).isEqualTo(200);
            proxy.awaitLogged(1);
        }
        RecordedRequest seen = origin.takeRequest();
        assertThat(seen.chunked()).isFalse();
        assertThat(seen.header("Content-Length")).contains("11");
        assertThat(seen.bodyUtf8()).isEqualTo("hello world");
    }

    private static byte[] readToClose(TestServer server, String request) throws Exception {
        try (Socket s = new Socket()) {
            s.connect(server.address(), 5000);
            s.setSoTimeout(10_000);
            s.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            InputStream in = s.getInputStream();
            in.transferTo(out);
            return out.toByteArray();
        }
    }

    @Test
    void expectContinueIsAnsweredByTheProxyAndNotForwarded() throws Exception {
        MockOrigin origin = fixture.origin();
        origin.setDispatcher(req -> MockResponse.ok("got " + req.bodyUtf8()));
        RecordingProxy proxy = new RecordingProxy(peer(origin));
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy, ProxyOptions.DEFAULT);
        TestServer server = fixture.serve(engine);
        try (RawClient client = RawClient.connect(server.port())) {
            client.send("POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
            assertThat(client.readResponse().status()).isEqualTo(100);
            client.send("hello");
            RawClient.Response r = client.readResponse();
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.bodyText()).isEqualTo("got hello");
            proxy.awaitLogged(1);
        }
        assertThat(origin.takeRequest().header("Expect")).isEmpty();
    }

    @Test
    void headAnd304ResponsesCarryNoBodyAndKeepBothConnections() throws Exception {
        MockOrigin origin = fixture.origin();
        origin.enqueue(MockResponse.builder().body("twelve bytes").build());
        origin.enqueue(MockResponse.builder().status(304).header("ETag", "\"x\"").build());
        origin.enqueue(MockResponse.builder().status(204).build());
        origin.enqueue(MockResponse.ok("last"));
        RecordingProxy proxy = new RecordingProxy(peer(origin));
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy, ProxyOptions.DEFAULT);
        TestServer server = fixture.serve(engine);
        try (RawClient client = RawClient.connect(server.port())) {
            client.send("HEAD /h HTTP/1.1\r\nHost: t\r\n\r\n");
            RawClient.Response head = client.readResponse(true);
            assertThat(head.status()).isEqualTo(200);
            assertThat(head.header("Content-Length")).contains("12");
            client.send("GET /c HTTP/1.1\r\nHost: t\r\nIf-None-Match: \"x\"\r\n\r\n");
            assertThat(client.readResponse().status()).isEqualTo(304);
            client.send("DELETE /d HTTP/1.1\r\nHost: t\r\n\r\n");
            assertThat(client.readResponse().status()).isEqualTo(204);
            // had any of them sent body bytes, this response would be out of step
            client.send("GET /last HTTP/1.1\r\nHost: t\r\n\r\n");
            assertThat(client.readResponse().bodyText()).isEqualTo("last");
            proxy.awaitLogged(4);
        }
        assertThat(origin.connectionCount()).isEqualTo(1);
        assertThat(proxy.loggedErrors()).allMatch(Optional::isEmpty);
    }
}
