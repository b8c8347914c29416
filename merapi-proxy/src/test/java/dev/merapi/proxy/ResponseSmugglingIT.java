package dev.merapi.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.testkit.MockOrigin;
import dev.merapi.testkit.MockResponse;
import dev.merapi.testkit.OriginFault;
import dev.merapi.testkit.RawClient;
import dev.merapi.testkit.RecordedRequest;
import dev.merapi.testkit.TestServer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Response-side smuggling: an origin whose response is badly framed, or followed by bytes that look like another
 * response, must neither desynchronise the client connection nor poison the upstream pool. After each bad
 * response, a second request on the same client connection (when the proxy kept it) and a request on a fresh
 * connection get their own, correct responses, and an upstream connection whose framing was in doubt is never
 * used again. The origin keeps every bad connection open, so a proxy that pooled it would be caught reading the
 * leftover bytes as the next response.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ResponseSmugglingIT {
    @RegisterExtension
    final ProxyFixture fixture = new ProxyFixture();

    private static final String SPLIT = "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nsmuggled!";

    /**
     * @param name     what the origin does
     * @param method   the method of the first request
     * @param raw      the exact bytes the origin answers it with
     * @param statuses the statuses the client may get for it
     * @param doubt    whether the framing was in doubt, so that the upstream connection must not be reused
     */
    record Fault(String name, String method, String raw, Set<Integer> statuses, boolean doubt) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Arguments> faults() {
        String interim = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n";
        return Stream.of(
                new Fault("non-numeric Content-Length", "GET", "HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\nhello", Set.of(502), true),
                new Fault("negative Content-Length", "GET", "HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\nhello", Set.of(502), true),
                new Fault("two different Content-Length", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 2\r\n\r\nhello", Set.of(502), true),
                new Fault("two equal Content-Length", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello", Set.of(502), true),
                new Fault("Content-Length shorter than the body", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhello", Set.of(200), true),
                new Fault("Transfer-Encoding plus Content-Length", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n5\r\nhello\r\n0\r\n\r\n", Set.of(502), true),
                new Fault("Content-Length plus Transfer-Encoding hiding a response", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n" + SPLIT, Set.of(502), true),
                new Fault("a whole second response after the body", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello" + SPLIT, Set.of(200), true),
                new Fault("a second response after a chunked body", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n" + SPLIT, Set.of(200), true),
                new Fault("chunked, with an empty list element, then a second response", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked,\r\n\r\n5\r\nhello\r\n0\r\n\r\n" + SPLIT, Set.of(200), true),
                new Fault("a body after a HEAD response", "HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n" + "smuggled!", Set.of(200), true),
                new Fault("a body after 204", "GET", "HTTP/1.1 204 No Content\r\n\r\n" + SPLIT, Set.of(204), true),
                new Fault("a body after 304", "GET", "HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\nsmuggled!", Set.of(304), true),
                new Fault("a few 1xx before the final response", "GET", interim.repeat(3) + "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal", Set.of(200), false),
                new Fault("a 1xx storm before the final response", "GET", interim.repeat(100) + "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal", Set.of(502), true),
                new Fault("a chunk size that is not hex", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nhello\r\n0\r\n\r\n", Set.of(200, 502), true),
                new Fault("a chunk size that overflows", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000005\r\nhello\r\n0\r\n\r\n", Set.of(200, 502), true),
                new Fault("chunk data longer than its size", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhello\r\n0\r\n\r\n", Set.of(200, 502), true),
                new Fault("a final coding other than chunked", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n5\r\nhello\r\n0\r\n\r\n", Set.of(502), true),
                new Fault("obs-fold hiding Content-Length", "GET", "HTTP/1.1 200 OK\r\nX-A: 1\r\n Content-Length: 5\r\nContent-Length: 0\r\n\r\nhello", Set.of(502), true),
                new Fault("a bare LF in the head", "GET", "HTTP/1.1 200 OK\nContent-Length: 0\n\nHTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nsmuggled!", Set.of(200, 502), true))
                .map(Arguments::of);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("faults")
    void aBadResponseNeitherDesynchronisesTheClientNorPoisonsThePool(Fault fault) throws Exception {
        MockOrigin origin = fixture.origin();
        origin.enqueue(MockResponse.builder()
                .fault(new OriginFault.Raw(fault.raw().getBytes(StandardCharsets.ISO_8859_1), false)).build());
        origin.setDispatcher(SmugglingCorpusIT::answer);
        HttpProxy<Void> engine = HttpProxy.of(Http1StrictIT.Fixture.plainProxy(HttpPeer.of(origin.address(), false, "")));
        TestServer server = fixture.serve(engine);
        try (RawClient client = RawClient.connect(server.port())) {
            client.send(fault.method() + " /1 HTTP/1.1\r\nHost: t\r\n\r\n");
            boolean kept = readFirst(client, fault);
            if (kept) {
                client.send("GET /2 HTTP/1.1\r\nHost: t\r\n\r\n");
                assertAnswered(client.readResponse(), "GET /2 0\n", fault);
            }
        }
        try (RawClient fresh = RawClient.connect(server.port())) {
            fresh.send("GET /3 HTTP/1.1\r\nHost: t\r\n\r\n");
            assertAnswered(fresh.readResponse(), "GET /3 0\n", fault);
        }
        List<RecordedRequest> seen = origin.requests();
        assertThat(seen.getFirst().target()).isEqualTo("/1");
        List<String> targets = seen.stream().map(RecordedRequest::target).toList();
        assertThat(List.of(List.of("/1", "/2", "/3"), List.of("/1", "/3"))).as("requests at the origin after %s", fault)
                .contains(targets);
        if (fault.doubt()) {
            int bad = seen.getFirst().connectionIndex();
            assertThat(seen.subList(1, seen.size())).as("requests sent on the connection of %s", fault)
                    .allMatch(r -> r.connectionIndex() != bad);
        }
    }

    /**
     * Reads the response to the first request, 1xx included; returns whether the connection is still usable,
     * that is neither closed nor announced to close.
     */
    private static boolean readFirst(RawClient client, Fault fault) throws IOException {
        RawClient.Response r;
        try {
            do {
                r = client.readResponse(fault.method().equals("HEAD"));
            } while (r.status() < 200);
        } catch (IOException e) {
            return false; // a response cut short, which is how a proxy signals a bad body after the head went out
        }
        assertThat(r.status()).as("status for %s", fault).isIn(fault.statuses());
        assertThat(r.bodyText()).as("body for %s", fault).doesNotContain("smuggled");
        return !"close".equalsIgnoreCase(r.header("Connection").orElse("")) && !client.isClosedByPeer(Duration.ofMillis(100));
    }

    private static void assertAnswered(RawClient.Response r, String body, Fault fault) {
        assertThat(r.status()).as("status of the next request after %s", fault).isEqualTo(200);
        assertThat(r.bodyText()).as("the next request gets its own response after %s", fault).isEqualTo(body);
    }
}
