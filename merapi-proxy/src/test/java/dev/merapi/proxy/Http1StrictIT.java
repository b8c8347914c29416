package dev.merapi.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.merapi.core.protocols.http1.Http1Options;
import dev.merapi.core.services.ListeningService;
import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.http.Http1Limits;
import dev.merapi.testkit.MockOrigin;
import dev.merapi.testkit.MockResponse;
import dev.merapi.testkit.OriginFault;
import dev.merapi.testkit.RawClient;
import dev.merapi.testkit.RecordedRequest;
import dev.merapi.testkit.TestServer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every strict HTTP/1.1 rule of DESIGN.md §5, proved over a real socket with raw bytes against a running proxy in
 * front of a real origin: the client gets the rule's status, the connection is closed (its framing is in doubt),
 * and nothing reaches the origin. Weakening any rule makes one of these fail.
 *
 * <p>In the raw messages a {@code |} stands for CRLF where it keeps a request readable.
 */
class Http1StrictIT {

    /** A proxy in front of one {@link MockOrigin}, both on 127.0.0.1 and port 0. */
    static final class Fixture implements AutoCloseable {
        final MockOrigin origin;
        final HttpProxy<Void> engine;
        final TestServer proxy;

        Fixture(Http1Options options) {
            this(options, Fixture::plainProxy);
        }

        /** A proxy made by {@code proxyFor} from the origin's peer. */
        Fixture(Http1Options options, Function<HttpPeer, ProxyHttp<Void>> proxyFor) {
            origin = MockOrigin.start();
            TestServer server;
            try {
                engine = HttpProxy.of(proxyFor.apply(HttpPeer.of(origin.address(), false, "")));
                server = TestServer.start(ListeningService.http("strict", engine).http1Options(options))
                        .checkClosedOnStop(engine.connector()::openConnections);
            } catch (RuntimeException | Error e) {
                origin.close();
                throw e;
            }
            proxy = server;
        }

        /** Sends everything to {@code peer} and overrides no other phase. */
        static ProxyHttp<Void> plainProxy(HttpPeer peer) {
            return new ProxyHttp<>() {
                @Override
                public Void newCtx() {
                    return null;
                }

                @Override
                public CompletionStage<HttpPeer> upstreamPeer(Session session, Void ctx) {
                    return Stages.completed(peer);
                }
            };
        }

        static Fixture start() {
            return new Fixture(Http1Options.DEFAULT);
        }

        RawClient connect() throws IOException {
            return RawClient.connect(proxy.port());
        }

        @Override
        public void close() {
            try {
                proxy.close();
            } finally {
                origin.close();
            }
        }
    }

    private static String crlf(String s) {
        return s.replace("|", "\r\n");
    }

    /**
     * Sends {@code raw} on a new connection and asserts: the response has {@code status} and {@code Connection:
     * close}, the proxy closes the connection, and the origin was never even connected to.
     */
    static RawClient.Response assertRejectedAndClosed(String raw, int status) throws IOException {
        return assertRejectedAndClosed(Http1Options.DEFAULT, raw, status);
    }

    static RawClient.Response assertRejectedAndClosed(Http1Options options, String raw, int status) throws IOException {
        try (Fixture f = new Fixture(options); RawClient c = f.connect()) {
            c.send(raw);
            RawClient.Response r = c.readResponse();
            assertThat(r.status()).as("status for %s", printable(raw)).isEqualTo(status);
            assertThat(r.header("Connection")).as("Connection header").hasValue("close");
            assertThat(r.header("Content-Length")).contains(Integer.toString(r.body().length));
            assertThat(c.isClosedByPeer()).as("connection closed after %s", printable(raw)).isTrue();
            assertThat(f.origin.connectionCount()).as("connections to the origin").isZero();
            assertThat(f.origin.requestCount()).as("requests at the origin").isZero();
            return r;
        }
    }

    /**
     * For a request whose head is fine but whose chunked body breaks a rule: the head may already have gone
     * upstream, but the client gets 400 (or at least a close), the connection is closed, the upstream connection
     * is dropped rather than reused, and the origin never sees a complete request.
     */
    static void assertBodyRejectedAndClosed(String head, String body) throws IOException {
        try (Fixture f = Fixture.start(); RawClient c = f.connect()) {
            c.send(head + body);
            RawClient.Response r = c.readResponse();
            assertThat(r.status()).as("status for body %s", printable(body)).isEqualTo(400);
            assertThat(r.header("Connection")).contains("close");
            assertThat(c.isClosedByPeer()).as("connection closed after body %s", printable(body)).isTrue();
            assertThat(f.origin.awaitNoOpenConnections(Duration.ofSeconds(5)))
                    .as("upstream connection dropped, not pooled").isTrue();
            assertThat(f.origin.requestCount()).as("complete requests at the origin").isZero();
        }
    }

    private static String printable(String raw) {
        StringBuilder sb = new StringBuilder();
        for (char ch : raw.toCharArray()) {
            if (ch == '\r') {
                sb.append("\\r");
            } else if (ch == '\n') {
                sb.append("\\n");
            } else if (ch < 0x20 || ch >= 0x7f) {
                sb.append(String.format("\\x%02x", (int) ch));
            } else {
                sb.append(ch);
            }
        }
        return sb.length() > 200 ? sb.substring(0, 200) + "..." : sb.toString();
    }

    // ---- Content-Length and Transfer-Encoding

    @ParameterizedTest
    @ValueSource(strings = {
        "Transfer-Encoding: chunked|Content-Length: 5",
        "Content-Length: 5|Transfer-Encoding: chunked",
        "Content-Length: 0|Transfer-Encoding: chunked",
        "Transfer-Encoding: chunked|Content-Length: 0",
    })
    void transferEncodingWithContentLengthIsRejectedAndClosed(String framing) throws IOException {
        // the classic smuggling shape: a proxy and an origin that disagree on where the body ends
        assertRejectedAndClosed(crlf("POST / HTTP/1.1|Host: a|" + framing + "||0||GET /smuggled HTTP/1.1|Host: a||"), 400);
    }

    @Test
    void duplicateContentLengthWithTheSameValueIsRejectedAndClosed() throws IOException {
        assertRejectedAndClosed(crlf("POST / HTTP/1.1|Host: a|Content-Length: 5|Content-Length: 5||hello"), 400);
    }

    @Test
    void duplicateContentLengthWithDifferentValuesIsRejectedAndClosed() throws IOException {
        assertRejectedAndClosed(crlf("POST / HTTP/1.1|Host: a|Content-Length: 5|content-length: 3||hello"), 400);
    }

    @ParameterizedTest
    @ValueSource(strings = {"+5", "-5", "5 5", "5,5", "5, 5", "0x5", "5a", "five", "5.0", "", "\"5\"",
        "99999999999999999", "18446744073709551616", "9223372036854775808"})
    void invalidContentLengthIsRejectedAndClosed(String value) throws IOException {
        assertRejectedAndClosed(crlf("POST / HTTP/1.1|Host: a|Content-Length: " + value + "||hello"), 400);
    }

    @ParameterizedTest
    @ValueSource(strings = {"gzip", "identity", "chunked, identity", "chunked, gzip", "xchunked", "chunked-x", "\"chunked\"",
        "chunked;q=1", "", ","})
    void transferEncodingWhoseFinalCodingIsNotChunkedIsRejectedAndClosed(String value) throws IOException {
        assertRejectedAndClosed(crlf("POST / HTTP/1.1|Host: a|Transfer-Encoding: " + value + "||5|hello|0||"), 400);
    }

    @Test
    void transferCodingsBeforeChunkedAreNotImplementedAndClosed() throws IOException {
        assertRejectedAndClosed(crlf("POST / HTTP/1.1|Host: a|Transfer-Encoding: gzip, chunked||5|hello|0||"), 501);
    }

    @Test
    void transferEncodingOnHttp10IsRejectedAndClosed() throws IOException {
        assertRejectedAndClosed(crlf("POST / HTTP/1.0|Host: a|Transfer-Encoding: chunked||5|hello|0||"), 400);
    }

    @Test
    void transferEncodingWithSpaceBeforeTheColonIsRejectedAndClosed() throws IOException {
        assertRejectedAndClosed(crlf("POST / HTTP/1.1|Host: a|Transfer-Encoding : chunked||5|hello|0||"), 400);
    }

    @Test
    void transferEncodingFoldedOntoTheNextLineIsRejectedAndClosed() throws IOException {
        assertRejectedAndClosed(crlf("POST / HTTP/1.1|Host: a|Transfer-Encoding:| chunked||5|hello|0||"), 400);
    }

    @Test
    void transferEncodingChunkedOnTwoLinesIsRejectedAndClosed() throws IOException {
        assertRejectedAndClosed(crlf("POST / HTTP/1.1|Host: a|Transfer-Encoding: chunked|Transfer-Encoding: chunked||5|hello|0||"), 400);
    }

    @Test
    void transferEncodingChunkedTwiceInOneLineIsRejectedAndClosed() throws IOException {
        assertRejectedAndClosed(crlf("POST / HTTP/1.1|Host: a|Transfer-Encoding: chunked, chunked||5|hello|0||"), 400);
    }

    @Test
    void transferEncodingWithATabBeforeChunkedIsOptionalWhitespaceAndIsProxied() throws IOException {
        // RFC 9110 §5.6.3: OWS is SP or HTAB, so this is plain chunked; the control case for the obfuscations above
        assertProxiedChunked("\tChunked");
    }

    @ParameterizedTest
    @ValueSource(strings = {" chunked,", " , chunked", " chunked , "})
    void emptyListElementsAroundChunkedAreSkippedAndTheRequestIsProxiedChunked(String value) throws IOException {
        // RFC 9110 §5.6.1: empty list elements are ignored; a response with the same value is framed the same way
        // (ResponseSmugglingIT)
        assertProxiedChunked(value);
    }

    /** A chunked request with this Transfer-Encoding value reaches the origin whole, and the connection stays open. */
    private static void assertProxiedChunked(String transferEncoding) throws IOException {
        try (Fixture f = Fixture.start(); RawClient c = f.connect()) {
            c.send(crlf("POST /te HTTP/1.1|Host: a|Transfer-Encoding:" + transferEncoding + "||5|hello|0||"));
            RawClient.Response r = c.readResponse();
            assertThat(r.status()).isEqualTo(200);
            RecordedRequest got = f.origin.takeRequest();
            assertThat(got.chunked()).isTrue();
            assertThat(got.bodyUtf8()).isEqualTo("hello");
            assertThat(c.isClosedByPeer(Duration.ofMillis(100))).isFalse();
        }
    }

    // ---- field syntax

    @ParameterizedTest
    @ValueSource(strings = {" folded", "\tfolded"})
    void obsFoldIsRejectedAndClosed(String continuation) throws IOException {
        assertRejectedAndClosed(crlf("GET / HTTP/1.1|Host: a|X-Long: start|" + continuation + "||"), 400);
    }

    @ParameterizedTest
    @ValueSource(strings = {"Host : a", "Host\t: a"})
    void whitespaceBeforeTheColonIsRejectedAndClosed(String hostLine) throws IOException {
        assertRejectedAndClosed(crlf("GET / HTTP/1.1|" + hostLine + "||"), 400);
    }

    @Test
    void bareLineFeedEndingTheRequestLineIsRejectedAndClosed() throws IOException {
        assertRejectedAndClosed("GET / HTTP/1.1\nHost: a\r\n\r\n", 400);
    }

    @Test
    void bareLineFeedEndingAHeaderIsRejectedAndClosed() throws IOException {
        assertRejectedAndClosed("GET / HTTP/1.1\r\nHost: a\nX-A: b\r\n\r\n", 400);
    }

    @Test
    void bareLineFeedEndingTheHeadIsRejectedAndClosed() throws IOException {
        assertRejectedAndClosed("GET / HTTP/1.1\r\nHost: a\r\n\n", 400);
    }

    @Test
    void headOfBareLineFeedsIsRejectedAndClosed() throws IOException {
        assertRejectedAndClosed("GET / HTTP/1.1\nHost: a\n\n", 400);
    }

    @ParameterizedTest
    @ValueSource(strings = {"X-A: a\rb", "X-A: a\r", "X-A\r: a", "X-A: a\rX-B: b"})
    void bareCarriageReturnInAHeaderIsRejectedAndClosed(String line) throws IOException {
        assertRejectedAndClosed("GET / HTTP/1.1\r\nHost: a\r\n" + line + "\r\n\r\n", 400);
    }

    @Test
    void bareCarriageReturnEndingTheRequestLineIsRejectedAndClosed() throws IOException {
        assertRejectedAndClosed("GET / HTTP/1.1\rHost: a\r\n\r\n", 400);
    }

    @ParameterizedTest
    @ValueSource(strings = {"\u0000", "\u0001", "\u0007", "\u000b", "\u000c", "\u001b", "\u007f"})
    void controlCharacterInAHeaderValueIsRejectedAndClosed(String ctl) throws IOException {
        assertRejectedAndClosed("GET / HTTP/1.1\r\nHost: a\r\nX-A: a" + ctl + "b\r\n\r\n", 400);
    }

    @ParameterizedTest
    @ValueSource(strings = {"X@Y: a", "(X): a", "X\"Y: a", "X/Y: a", "X\u00e9: a", "X\u0000Y: a", "X Y: a", ": a", "NoColon"})
    void invalidHeaderNameIsRejectedAndClosed(String line) throws IOException {
        assertRejectedAndClosed("GET / HTTP/1.1\r\nHost: a\r\n" + line + "\r\n\r\n", 400);
    }

    // ---- Host

    @Test
    void missingHostOnHttp11IsRejectedAndClosed() throws IOException {
        assertRejectedAndClosed(crlf("GET / HTTP/1.1|X-A: b||"), 400);
    }

    @Test
    void missingHostOnHttp10IsProxied() throws IOException {
        try (Fixture f = Fixture.start(); RawClient c = f.connect()) {
            c.send(crlf("GET /old HTTP/1.0||"));
            RawClient.Response r = c.readResponse();
            assertThat(r.status()).isEqualTo(200);
            RecordedRequest got = f.origin.takeRequest();
            assertThat(got.target()).isEqualTo("/old");
            // the proxy supplies the Host an HTTP/1.1 origin needs: the peer's address
            assertThat(got.headerValues("Host")).singleElement().asString().endsWith(":" + f.origin.port());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"a.example", "b.example"})
    void duplicateHostIsRejectedAndClosed(String second) throws IOException {
        assertRejectedAndClosed(crlf("GET / HTTP/1.1|Host: a.example|host: " + second + "||"), 400);
    }

    @ParameterizedTest
    @ValueSource(strings = {"a b", "a/b", "user@a.example", "a.example:port", "a.example:123456", "[::1", "a.example?x", "a\\b"})
    void invalidHostIsRejectedAndClosed(String host) throws IOException {
        assertRejectedAndClosed(crlf("GET / HTTP/1.1|Host: " + host + "||"), 400);
    }

    @ParameterizedTest
    @ValueSource(strings = {"http://b.example/p", "http://a.example:8080/p", "https://a.example:80/p", "http://a.example.evil/p"})
    void absoluteFormTargetThatDisagreesWithHostIsRejectedAndClosed(String target) throws IOException {
        assertRejectedAndClosed(crlf("GET " + target + " HTTP/1.1|Host: a.example||"), 400);
    }

    @Test
    void absoluteFormTargetWithoutHostIsRejectedAndClosed() throws IOException {
        assertRejectedAndClosed(crlf("GET http://a.example/p HTTP/1.1|X-A: b||"), 400);
    }

    @Test
    void absoluteFormTargetThatAgreesWithHostReachesTheOriginInOriginForm() throws IOException {
        try (Fixture f = Fixture.start(); RawClient c = f.connect()) {
            c.send(crlf("GET http://A.example:80/p/q?x=1&y=2 HTTP/1.1|Host: a.example||"));
            assertThat(c.readResponse().status()).isEqualTo(200);
            c.send(crlf("GET http://a.example HTTP/1.1|Host: a.example||"));
            assertThat(c.readResponse().status()).isEqualTo(200);
            RecordedRequest first = f.origin.takeRequest();
            assertThat(first.target()).isEqualTo("/p/q?x=1&y=2");
            assertThat(first.headerValues("Host")).containsExactly("a.example");
            assertThat(f.origin.takeRequest().target()).isEqualTo("/");
        }
    }

    // ---- chunked bodies (detected while the body is read, after the head may have gone upstream)

    private static final String CHUNKED_HEAD = crlf("POST /upload HTTP/1.1|Host: a|Transfer-Encoding: chunked||");

    @ParameterizedTest
    @ValueSource(strings = {"g|hello|0||", "|hello|0||", "FFFFFFFFFFFFFFFFF|hello|0||", "-5|hello|0||", " 5|hello|0||",
        "5|hello|x||"})
    void badChunkSizeIsRejectedAndClosed(String body) throws IOException {
        assertBodyRejectedAndClosed(CHUNKED_HEAD, crlf(body));
    }

    @ParameterizedTest
    @ValueSource(strings = {"5;|hello|0||", "5;a=|hello|0||", "5 x|hello|0||", "5;a=\"b|hello|0||", "5;a=b c|hello|0||",
        "5;a\u0000|hello|0||", "5 |hello|0||"})
    void badChunkExtensionIsRejectedAndClosed(String body) throws IOException {
        assertBodyRejectedAndClosed(CHUNKED_HEAD, crlf(body));
    }

    @ParameterizedTest
    @ValueSource(strings = {"5|helloX|0||", "5|hello0||", "3|hello|0||"})
    void missingCrlfAfterChunkDataIsRejectedAndClosed(String body) throws IOException {
        assertBodyRejectedAndClosed(CHUNKED_HEAD, crlf(body));
    }

    @ParameterizedTest
    @ValueSource(strings = {"5|hello|0|bad line||", "5|hello|0|NoColon||", "5|hello|0| folded: x||", "5|hello|0|X: a\u0000||",
        "5|hello|0|X : a||"})
    void invalidTrailerLineIsRejectedAndClosed(String body) throws IOException {
        assertBodyRejectedAndClosed(CHUNKED_HEAD, crlf(body));
    }

    @ParameterizedTest
    @ValueSource(strings = {"5\nhello|0||", "5|hello\n0||", "5|hello|0\n\n"})
    void bareLineFeedInAChunkedBodyIsRejectedAndClosed(String body) throws IOException {
        assertBodyRejectedAndClosed(CHUNKED_HEAD, crlf(body));
    }

    // ---- size limits

    @Test
    void requestLineLongerThanTheDefaultLimitGets414AndClosed() throws IOException {
        String target = "/" + "a".repeat(Http1Limits.DEFAULT.maxRequestLine());
        assertRejectedAndClosed(crlf("GET " + target + " HTTP/1.1|Host: a||"), 414);
    }

    @Test
    void requestLineLongerThanAConfiguredLimitGets414AndClosed() throws IOException {
        Http1Options options = Http1Options.builder().limits(Http1Limits.DEFAULT.toBuilder().maxRequestLine(64).build()).build();
        assertRejectedAndClosed(options, crlf("GET /" + "a".repeat(64) + " HTTP/1.1|Host: a||"), 414);
    }

    @Test
    void unterminatedRequestLineGets414WithoutWaitingForItsEnd() throws IOException {
        Http1Options options = Http1Options.builder().limits(Http1Limits.DEFAULT.toBuilder().maxRequestLine(64).build()).build();
        assertRejectedAndClosed(options, "GET /" + "a".repeat(200), 414);
    }

    @Test
    void requestLineAtAConfiguredLimitIsProxied() throws IOException {
        Http1Options options = Http1Options.builder().limits(Http1Limits.DEFAULT.toBuilder().maxRequestLine(64).build()).build();
        String line = "GET /" + "a".repeat(64 - 16) + " HTTP/1.1\r\n";
        assertThat(line).hasSize(64);
        try (Fixture f = new Fixture(options); RawClient c = f.connect()) {
            c.send(line + "Host: a\r\n\r\n");
            assertThat(c.readResponse().status()).isEqualTo(200);
            assertThat(f.origin.takeRequest().target()).hasSize(49);
        }
    }

    @Test
    void headerSectionLargerThanTheDefaultLimitGets431AndClosed() throws IOException {
        String big = "b".repeat(Http1Limits.DEFAULT.maxHeaderBytes());
        assertRejectedAndClosed(crlf("GET / HTTP/1.1|Host: a|X-Big: " + big + "||"), 431);
    }

    @Test
    void headerSectionLargerThanTheDefaultLimitSpreadOverManyFieldsGets431AndClosed() throws IOException {
        StringBuilder sb = new StringBuilder("GET / HTTP/1.1|Host: a|");
        for (int i = 0; i < 40; i++) {
            sb.append("X-F").append(i).append(": ").append("v".repeat(1000)).append('|');
        }
        assertRejectedAndClosed(crlf(sb + "|"), 431);
    }

    @Test
    void headerSectionLargerThanAConfiguredLimitGets431AndClosed() throws IOException {
        Http1Options options = Http1Options.builder().limits(Http1Limits.DEFAULT.toBuilder().maxHeaderBytes(256).build()).build();
        assertRejectedAndClosed(options, crlf("GET / HTTP/1.1|Host: a|X-Big: " + "b".repeat(256) + "||"), 431);
    }

    @Test
    void moreHeadersThanTheDefaultLimitGets431AndClosed() throws IOException {
        StringBuilder sb = new StringBuilder("GET / HTTP/1.1|Host: a|");
        for (int i = 0; i < Http1Limits.DEFAULT.maxHeaderCount(); i++) {
            sb.append("X-").append(i).append(": v|");
        }
        assertRejectedAndClosed(crlf(sb + "|"), 431);
    }

    @Test
    void moreHeadersThanAConfiguredLimitGets431AndClosed() throws IOException {
        Http1Options options = Http1Options.builder().limits(Http1Limits.DEFAULT.toBuilder().maxHeaderCount(10).build()).build();
        StringBuilder sb = new StringBuilder("GET / HTTP/1.1|Host: a|");
        for (int i = 0; i < 10; i++) {
            sb.append("X-").append(i).append(": v|");
        }
        assertRejectedAndClosed(options, crlf(sb + "|"), 431);
    }

    @Test
    void headersAtAConfiguredLimitAreProxied() throws IOException {
        Http1Options options = Http1Options.builder().limits(Http1Limits.DEFAULT.toBuilder().maxHeaderCount(10).build()).build();
        StringBuilder sb = new StringBuilder("GET / HTTP/1.1|Host: a|");
        for (int i = 0; i < 9; i++) {
            sb.append("X-").append(i).append(": v|");
        }
        try (Fixture f = new Fixture(options); RawClient c = f.connect()) {
            c.send(crlf(sb + "|"));
            assertThat(c.readResponse().status()).isEqualTo(200);
            assertThat(f.origin.takeRequest().headers()).as("the 10 sent, then Via and 5 forwarding headers").hasSize(16);
        }
    }

    // ---- request line

    @ParameterizedTest
    @ValueSource(strings = {"G@T", "GE(T", "GET:", "G\u00e9T", "G\u0000T"})
    void invalidMethodIsRejectedAndClosed(String method) throws IOException {
        assertRejectedAndClosed(crlf(method + " / HTTP/1.1|Host: a||"), 400);
    }

    @ParameterizedTest
    @ValueSource(strings = {" GET / HTTP/1.1", "GET  / HTTP/1.1", "GET /", "GET"})
    void malformedRequestLineIsRejectedAndClosed(String line) throws IOException {
        assertRejectedAndClosed(crlf(line + "|Host: a||"), 400);
    }

    @ParameterizedTest
    @ValueSource(strings = {"HTTP/1.2", "HTTP/2.0", "HTTP/3.0", "HTTP/0.9"})
    void unsupportedVersionGets505AndClosed(String version) throws IOException {
        assertRejectedAndClosed(crlf("GET / " + version + "|Host: a||"), 505);
    }

    @ParameterizedTest
    @ValueSource(strings = {"HTTX/1.1", "http/1.1", "HTTP/11", "HTTP/1.1.1", "HTTP/1.x", "HTTP/1.1 ", "HTTP/ 1.1"})
    void garbageVersionIsRejectedAndClosed(String version) throws IOException {
        assertRejectedAndClosed(crlf("GET / " + version + "|Host: a||"), 400);
    }

    @ParameterizedTest
    @ValueSource(strings = {"/a<b", "/a>b", "/a\"b", "/a{b}", "/a|b", "/a\\b", "/a^b", "/a`b", "/\u00e9", "/a\u0000b", "/a\u007fb"})
    void invalidTargetCharacterIsRejectedAndClosed(String target) throws IOException {
        assertRejectedAndClosed("GET " + target + " HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    }

    @Test
    void fragmentInTheTargetIsRejectedAndClosed() throws IOException {
        assertRejectedAndClosed(crlf("GET /page#section HTTP/1.1|Host: a||"), 400);
    }

    @ParameterizedTest
    @ValueSource(strings = {"a/b", "*", "ftp://a/b", "http:/a/b", "http://user@a/"})
    void targetThatIsNoValidFormIsRejectedAndClosed(String target) throws IOException {
        assertRejectedAndClosed(crlf("GET " + target + " HTTP/1.1|Host: a||"), 400);
    }

    // ---- methods and expectations

    @Test
    void connectIsRefusedWith405ByDefault() throws IOException {
        RawClient.Response r = assertRejectedAndClosed(crlf("CONNECT a.example:443 HTTP/1.1|Host: a.example:443||"), 405);
        assertThat(r.header("Allow").orElse("")).isNotBlank().doesNotContain("CONNECT");
    }

    @Test
    void traceIsRefusedWith405ByDefault() throws IOException {
        // TRACE echoes the request, credentials included: never forwarded unless a listener opts in
        RawClient.Response r = assertRejectedAndClosed(crlf("TRACE / HTTP/1.1|Host: a|Max-Forwards: 0|Cookie: s=1||"), 405);
        assertThat(r.header("Allow").orElse("")).isNotBlank().doesNotContain("TRACE");
        assertThat(r.bodyText()).doesNotContain("s=1");
    }

    @Test
    void traceReachesTheOriginWhenTheListenerAllowsIt() throws IOException {
        try (Fixture f = new Fixture(Http1Options.builder().allowTrace(true).build()); RawClient c = f.connect()) {
            c.send(crlf("TRACE /t HTTP/1.1|Host: a||"));
            assertThat(c.readResponse().status()).isEqualTo(200);
            assertThat(f.origin.takeRequest().method()).isEqualTo("TRACE");
        }
    }

    /** The start of a TLS 1.2/1.3 ClientHello: handshake record, version 3.1, then a length and the hello itself. */
    static final String TLS_CLIENT_HELLO_START = "\u0016\u0003\u0001\u0002\u0000\u0001\u0000\u0001\u00fc\u0003\u0003";

    @ParameterizedTest
    @ValueSource(strings = {TLS_CLIENT_HELLO_START, "\u0000\u0000\u0000", " GET / HTTP/1.1", "GET\t/", "G(ET /", "\r\r\n"})
    void bytesThatCannotStartARequestLineGet400AtOnce(String raw) throws IOException {
        // no CRLF ever comes: without this rule the client would wait for the 30-second header read timeout
        assertRejectedAndClosed(raw, 400);
    }

    @Test
    void aTlsClientOnThePlainPortFailsAtOnceInsteadOfWaitingForATimeout() throws Exception {
        javax.net.ssl.SSLContext tls = javax.net.ssl.SSLContext.getInstance("TLS");
        tls.init(null, null, null);
        try (Fixture f = Fixture.start();
                javax.net.ssl.SSLSocket s = (javax.net.ssl.SSLSocket) tls.getSocketFactory().createSocket("127.0.0.1", f.proxy.port())) {
            s.setSoTimeout(20_000); // below the 30-second header read timeout, so that waiting for it fails the test
            assertThatThrownBy(s::startHandshake).isInstanceOf(javax.net.ssl.SSLException.class)
                    .isNotInstanceOf(java.net.SocketTimeoutException.class);
            assertThat(f.origin.connectionCount()).isZero();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"G", "GET", "GET ", "\r", "\r\nGE", "M-SEARCH * HTTP/1.1|Host: a|"})
    void aRequestLineArrivingInPiecesIsNotMistakenForGarbage(String start) throws IOException {
        try (Fixture f = Fixture.start(); RawClient c = f.connect()) {
            c.send(crlf(start));
            assertThat(c.isClosedByPeer(Duration.ofMillis(300))).as("closed after %s", printable(start)).isFalse();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"Expect: foo", "Expect: 100-continue, foo", "Expect: 100-continue|Expect: 100-continue"})
    void unsupportedExpectationGets417AndClosed(String expect) throws IOException {
        assertRejectedAndClosed(crlf("POST / HTTP/1.1|Host: a|Content-Length: 5|" + expect + "||hello"), 417);
    }

    // ---- rejection on a connection that was fine so far

    @Test
    void badRequestPipelinedAfterAGoodOneIsRejectedAfterTheGoodOneIsAnswered() throws IOException {
        try (Fixture f = Fixture.start(); RawClient c = f.connect()) {
            c.send(crlf("GET /good HTTP/1.1|Host: a||GET /bad HTTP/1.1|Host: a|Content-Length: 1|Content-Length: 2||x"));
            RawClient.Response good = c.readResponse();
            assertThat(good.status()).isEqualTo(200);
            RawClient.Response bad = c.readResponse();
            assertThat(bad.status()).isEqualTo(400);
            assertThat(bad.header("Connection")).contains("close");
            assertThat(c.isClosedByPeer()).isTrue();
            assertThat(f.origin.takeRequest().target()).isEqualTo("/good");
            assertThat(f.origin.requestCount()).isEqualTo(1);
        }
    }

    @Test
    void bytesAfterARejectedHeadAreNeverParsedAsARequest() throws IOException {
        // a smuggled request behind a rejected one must not run, even though it is well formed
        try (Fixture f = Fixture.start(); RawClient c = f.connect()) {
            c.send(crlf("GET / HTTP/1.1|Host: a|X: a\u0000||GET /smuggled HTTP/1.1|Host: a||"));
            assertThat(c.readResponse().status()).isEqualTo(400);
            assertThat(c.isClosedByPeer()).isTrue();
            assertThat(f.origin.connectionCount()).isZero();
        }
    }

    // ---- the same rules on the upstream side: a response that breaks one is never relayed

    @ParameterizedTest
    @ValueSource(strings = {
        "HTTP/1.1 200 OK|Transfer-Encoding: chunked|Content-Length: 5||5|hello|0||",
        "HTTP/1.1 200 OK|Content-Length: 5|Content-Length: 5||hello",
        "HTTP/1.1 200 OK|Content-Length: +5||hello",
        "HTTP/1.1 200 OK|X-A : b|Content-Length: 5||hello",
        "HTTP/1.1 200 OK|X-A: b| folded|Content-Length: 5||hello",
        "HTTP/1.1 200 OK\nContent-Length: 5||hello",
        "HTTP/1.1 2000 OK|Content-Length: 5||hello",
    })
    void originResponseThatBreaksARuleGets502AndTheUpstreamConnectionIsDropped(String response) throws IOException {
        try (Fixture f = Fixture.start(); RawClient c = f.connect()) {
            f.origin.enqueue(MockResponse.builder().fault(new OriginFault.Raw(crlf(response).getBytes(StandardCharsets.ISO_8859_1), false))
                    .build());
            c.send(crlf("GET / HTTP/1.1|Host: a||"));
            RawClient.Response r = c.readResponse();
            assertThat(r.status()).isEqualTo(502);
            assertThat(r.bodyText()).doesNotContain("hello");
            assertThat(f.origin.awaitNoOpenConnections(Duration.ofSeconds(5))).as("upstream connection dropped").isTrue();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"5|helloX0||", "5|hello|zz||", "5|hello|0|bad trailer||"})
    void originChunkedBodyThatBreaksARuleCutsTheResponseShort(String body) throws IOException {
        // the head was fine and went out; the client must see the body end badly, never a clean last chunk
        try (Fixture f = Fixture.start(); RawClient c = f.connect()) {
            String response = crlf("HTTP/1.1 200 OK|Transfer-Encoding: chunked||" + body);
            f.origin.enqueue(MockResponse.builder().fault(new OriginFault.Raw(response.getBytes(StandardCharsets.ISO_8859_1), false))
                    .build());
            c.send(crlf("GET / HTTP/1.1|Host: a||"));
            assertThatThrownBy(c::readResponse).isInstanceOf(IOException.class);
            assertThat(f.origin.awaitNoOpenConnections(Duration.ofSeconds(5))).as("upstream connection dropped").isTrue();
        }
    }
}
