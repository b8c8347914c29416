package dev.merapi.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.core.upstreams.PeerOptions;
import dev.merapi.core.upstreams.UpstreamProtocol;
import dev.merapi.testkit.MockResponse;
import dev.merapi.testkit.RecordedRequest;
import dev.merapi.testkit.TestServer;
import io.netty.handler.codec.http2.Http2Headers;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Trailers on Merapi's HTTP/1.1 side: a client's chunked request trailers reach the origin, an origin's chunked
 * response trailers reach the client, the trailer section is bounded, and {@code TE: trailers} goes on to an HTTP/2
 * origin only. Raw sockets on both sides, so that the exact bytes are seen.
 */
class Http1TrailersIT {
    @RegisterExtension
    final ProxyFixture fixture = new ProxyFixture();

    /** Sends {@code raw} on a fresh connection and reads until the proxy closes it (every request asks for close). */
    private static String exchange(TestServer server, String raw) throws IOException {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), server.port())) {
            s.setSoTimeout(30_000);
            s.getOutputStream().write(raw.getBytes(StandardCharsets.ISO_8859_1));
            InputStream in = s.getInputStream();
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            byte[] buf = new byte[8192];
            int n;
            while ((n = in.read(buf)) >= 0) {
                all.write(buf, 0, n);
            }
            return all.toString(StandardCharsets.ISO_8859_1);
        }
    }

    private RecordingProxy proxy;

    /** A proxy in front of the fixture's origin, which answers with {@code dispatcher}. */
    private TestServer proxyTo(Function<RecordedRequest, MockResponse> dispatcher) {
        fixture.origin().setDispatcher(dispatcher);
        proxy = new RecordingProxy(fixture.peer());
        return fixture.serve(HttpProxy.of(proxy));
    }

    @Test
    void chunkedRequestTrailersReachAnHttp1Origin() throws Exception {
        TestServer server = proxyTo(req -> MockResponse.ok("got " + req.bodySize()));

        String text = exchange(server, "POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n"
                + "Trailer: X-Checksum\r\n\r\n5\r\nhello\r\n0\r\nX-Checksum: 5d41402a\r\nContent-Length: 99\r\n\r\n");

        assertThat(text).startsWith("HTTP/1.1 200").endsWith("got 5");
        RecordedRequest seen = fixture.origin().takeRequest();
        assertThat(seen.chunked()).isTrue();
        assertThat(seen.bodyUtf8()).isEqualTo("hello");
        assertThat(seen.trailer("X-Checksum")).contains("5d41402a");
        assertThat(seen.trailer("Content-Length")).as("a framing field is never forwarded as a trailer").isEmpty();
        proxy.awaitLogged(1);
        assertThat(proxy.loggedErrors()).allMatch(Optional::isEmpty);
    }

    @Test
    void chunkedResponseTrailersReachAnHttp1Client() throws Exception {
        TestServer server = proxyTo(req -> MockResponse.builder().chunkedBody(MockResponse.patternBytes(1, 3000), 1000)
                .trailer("Grpc-Status", "0").trailer("X-Sum", "abc").build());

        String text = exchange(server, "GET /down HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");

        assertThat(text).startsWith("HTTP/1.1 200").containsIgnoringCase("Transfer-Encoding: chunked\r\n");
        assertThat(text).endsWith("\r\n0\r\nGrpc-Status: 0\r\nX-Sum: abc\r\n\r\n");
        proxy.awaitLogged(1);
        assertThat(proxy.loggedErrors()).allMatch(Optional::isEmpty);
    }

    @Test
    void anHttp10ClientGetsTheBodyWithoutTrailers() throws Exception {
        TestServer server = proxyTo(req -> MockResponse.builder().chunkedBody("abcdef".getBytes(StandardCharsets.US_ASCII), 2)
                .trailer("X-Sum", "abc").build());

        String text = exchange(server, "GET /down HTTP/1.0\r\nHost: t\r\n\r\n");

        assertThat(text).startsWith("HTTP/1.0 200").endsWith("\r\n\r\nabcdef").doesNotContain("X-Sum");
        proxy.awaitLogged(1);
    }

    @Test
    void aRequestTrailerSectionOverTheLimitIsRejectedAndTheConnectionClosed() throws Exception {
        TestServer server = proxyTo(req -> MockResponse.ok("got " + req.bodySize()));
        String big = "X-Big: " + "a".repeat(20 * 1024) + "\r\n"; // over the default 16 KiB trailer section

        String text = exchange(server, "POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "5\r\nhello\r\n0\r\n" + big + "\r\n");

        assertThat(text).startsWith("HTTP/1.1 400");
        proxy.awaitLogged(1);
        assertThat(proxy.loggedErrors()).anyMatch(Optional::isPresent);
    }

    @Test
    void teTrailersGoesToAnH2OriginAndRequestTrailersComeBackAsResponseTrailers() throws Exception {
        try (H2Origin o = H2Origin.h2c(0)) {
            HttpPeer peer = HttpPeer.of("127.0.0.1:" + o.port())
                    .withOptions(PeerOptions.builder().protocol(UpstreamProtocol.HTTP2).build());
            RecordingProxy h2proxy = new RecordingProxy(peer);
            try (TestServer server = RecordingProxy.serve(HttpProxy.of(h2proxy))) {
                String text = exchange(server, "POST /echo HTTP/1.1\r\nHost: t\r\nTE: trailers, deflate\r\n"
                        + "Connection: TE, close\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nGrpc-Status: 5\r\n\r\n");

                assertThat(text).startsWith("HTTP/1.1 200").endsWith("\r\n0\r\ngrpc-status: 5\r\n\r\n");
                Http2Headers seen = o.requests.getFirst();
                assertThat(seen.getAll("te").stream().map(CharSequence::toString)).containsExactly("trailers");
                h2proxy.awaitLogged(1);
                assertThat(h2proxy.loggedErrors()).allMatch(Optional::isEmpty);
            }
        }
    }

    @Test
    void teIsNeverSentToAnHttp1Origin() throws Exception {
        TestServer server = proxyTo(req -> MockResponse.ok("ok"));

        String text = exchange(server, "GET / HTTP/1.1\r\nHost: t\r\nTE: trailers\r\nConnection: TE, close\r\n\r\n");

        assertThat(text).startsWith("HTTP/1.1 200");
        RecordedRequest seen = fixture.origin().takeRequest();
        assertThat(seen.header("TE")).isEmpty();
        assertThat(seen.header("Connection").orElse("")).doesNotContainIgnoringCase("te");
        proxy.awaitLogged(1);
    }
}
