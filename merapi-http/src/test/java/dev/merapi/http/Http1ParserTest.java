package dev.merapi.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.merapi.error.ErrorSource;
import dev.merapi.error.ErrorType;
import dev.merapi.error.ProxyError;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The strict HTTP/1.1 rules of {@link Http1Parser} (DESIGN.md §5), on unpooled buffers that every test releases.
 * Raw messages are written with {@code \r\n} spelled out; a {@code |} in a CSV row stands for CRLF.
 */
class Http1ParserTest {
    private static final Http1Limits LIMITS = Http1Limits.DEFAULT;

    // ---- helpers

    private static ByteBuf bytes(String raw) {
        return Unpooled.copiedBuffer(raw, StandardCharsets.ISO_8859_1);
    }

    private static String crlf(String csv) {
        return csv.replace("|", "\r\n");
    }

    /** Parses a request that is exactly one head, checking that all of it was consumed. */
    private static RequestHeader request(String raw) {
        ByteBuf buf = bytes(raw);
        try {
            Http1Parser.HeadScan scan = new Http1Parser.HeadScan();
            int end = Http1Parser.findHeadEnd(buf, scan, LIMITS, true);
            assertThat(end).as("end of head").isEqualTo(buf.writerIndex());
            RequestHeader h = Http1Parser.parseRequest(buf, end, LIMITS);
            assertThat(buf.isReadable()).as("head fully consumed").isFalse();
            return h;
        } finally {
            assertThat(buf.release()).isTrue();
        }
    }

    private static ProxyError requestError(String raw) {
        return requestError(raw, LIMITS);
    }

    private static ProxyError requestError(String raw, Http1Limits limits) {
        ByteBuf buf = bytes(raw);
        try {
            ProxyError e = catchThrowableOfType(ProxyError.class, () -> {
                Http1Parser.HeadScan scan = new Http1Parser.HeadScan();
                int end = Http1Parser.findHeadEnd(buf, scan, limits, true);
                if (end < 0) {
                    throw new AssertionError("head looked incomplete: " + raw);
                }
                Http1Parser.parseRequest(buf, end, limits);
            });
            assertThat(e).as("rejection of %s", raw).isNotNull();
            return e;
        } finally {
            assertThat(buf.release()).isTrue();
        }
    }

    private static void assertRejected(String raw, int status, String rule) {
        assertRejected(requestError(raw), status, rule);
    }

    private static void assertRejected(ProxyError e, int status, String rule) {
        assertThat(e.type()).isEqualTo(new ErrorType.HttpStatus(status));
        assertThat(e.source()).isEqualTo(ErrorSource.DOWNSTREAM);
        assertThat(e.context()).startsWith(rule + ":");
        assertThat(e.responseStatus()).isEqualTo(status);
    }

    private static ResponseHeader response(String raw, String method) {
        ByteBuf buf = bytes(raw);
        try {
            Http1Parser.HeadScan scan = new Http1Parser.HeadScan();
            int end = Http1Parser.findHeadEnd(buf, scan, LIMITS, false);
            assertThat(end).as("end of head").isPositive();
            return Http1Parser.parseResponse(buf, end, method);
        } finally {
            assertThat(buf.release()).isTrue();
        }
    }

    private static ProxyError responseError(String raw, String method) {
        ByteBuf buf = bytes(raw);
        try {
            ProxyError e = catchThrowableOfType(ProxyError.class, () -> {
                Http1Parser.HeadScan scan = new Http1Parser.HeadScan();
                int end = Http1Parser.findHeadEnd(buf, scan, LIMITS, false);
                if (end < 0) {
                    throw new AssertionError("head looked incomplete: " + raw);
                }
                Http1Parser.parseResponse(buf, end, method);
            });
            assertThat(e).as("rejection of %s", raw).isNotNull();
            assertThat(e.type()).isEqualTo(ErrorType.Kind.INVALID_HTTP_HEADER);
            assertThat(e.source()).isEqualTo(ErrorSource.UPSTREAM);
            assertThat(e.responseStatus()).isEqualTo(502);
            return e;
        } finally {
            assertThat(buf.release()).isTrue();
        }
    }

    // ---- finding the end of a head

    @Nested
    class FindHeadEnd {
        private static final String HEAD = "POST /upload?x=1 HTTP/1.1\r\nHost: a.example\r\nContent-Length: 3\r\nX-A: b\r\n\r\n";

        @Test
        void headFedOneByteAtATimeIsFoundExactlyAtItsLastByte() {
            assertFoundAtLastByte(HEAD);
        }

        @Test
        void leadingEmptyLinesFedOneByteAtATimeAreSkipped() {
            // RFC 9112 §2.2: empty lines before the request line are ignored, however the bytes are split
            assertFoundAtLastByte("\r\n\r\n" + HEAD);
        }

        private void assertFoundAtLastByte(String head) {
            byte[] all = head.getBytes(StandardCharsets.ISO_8859_1);
            ByteBuf buf = Unpooled.buffer();
            try {
                Http1Parser.HeadScan scan = new Http1Parser.HeadScan();
                int end = -1;
                for (int i = 0; i < all.length; i++) {
                    buf.writeByte(all[i]);
                    end = Http1Parser.findHeadEnd(buf, scan, LIMITS, true);
                    if (i < all.length - 1) {
                        assertThat(end).as("after byte %d", i).isEqualTo(-1);
                    }
                }
                assertThat(end).isEqualTo(buf.writerIndex());
                RequestHeader h = Http1Parser.parseRequest(buf, end, LIMITS);
                assertThat(h.method()).isEqualTo("POST");
                assertThat(h.target()).isEqualTo("/upload?x=1");
                assertThat(h.bodyLength()).isEqualTo(3);
                assertThat(buf.isReadable()).isFalse();
            } finally {
                assertThat(buf.release()).isTrue();
            }
        }

        @Test
        void headFedInEverySplitGivesTheSameEnd() {
            byte[] all = HEAD.getBytes(StandardCharsets.ISO_8859_1);
            for (int split = 1; split < all.length; split++) {
                ByteBuf buf = Unpooled.buffer();
                try {
                    Http1Parser.HeadScan scan = new Http1Parser.HeadScan();
                    buf.writeBytes(all, 0, split);
                    assertThat(Http1Parser.findHeadEnd(buf, scan, LIMITS, true)).as("split %d", split).isEqualTo(-1);
                    buf.writeBytes(all, split, all.length - split);
                    assertThat(Http1Parser.findHeadEnd(buf, scan, LIMITS, true)).as("split %d", split).isEqualTo(all.length);
                } finally {
                    assertThat(buf.release()).isTrue();
                }
            }
        }

        @Test
        void bytesAfterTheHeadAreLeftForTheBodyOrTheNextRequest() {
            ByteBuf buf = bytes(HEAD + "abcGET / HTTP/1.1\r\n");
            try {
                Http1Parser.HeadScan scan = new Http1Parser.HeadScan();
                int end = Http1Parser.findHeadEnd(buf, scan, LIMITS, true);
                assertThat(end).isEqualTo(HEAD.length());
                Http1Parser.parseRequest(buf, end, LIMITS);
                assertThat(buf.toString(StandardCharsets.ISO_8859_1)).isEqualTo("abcGET / HTTP/1.1\r\n");
            } finally {
                assertThat(buf.release()).isTrue();
            }
        }

        @Test
        void scanResetAllowsTheNextHead() {
            ByteBuf buf = bytes(HEAD + "abc" + "GET /2 HTTP/1.1\r\nHost: b\r\n\r\n");
            try {
                Http1Parser.HeadScan scan = new Http1Parser.HeadScan();
                Http1Parser.parseRequest(buf, Http1Parser.findHeadEnd(buf, scan, LIMITS, true), LIMITS);
                buf.skipBytes(3);
                scan.reset();
                RequestHeader second = Http1Parser.parseRequest(buf, Http1Parser.findHeadEnd(buf, scan, LIMITS, true), LIMITS);
                assertThat(second.target()).isEqualTo("/2");
                assertThat(second.host()).contains("b");
            } finally {
                assertThat(buf.release()).isTrue();
            }
        }

        @ParameterizedTest
        @ValueSource(strings = {
            "GET / HTTP/1.1\nHost: a\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\n\n",
            "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
        })
        void bareLineFeedIsRejected(String raw) {
            assertRejected(raw, 400, "bare-lf");
        }

        @Test
        void bareLineFeedInAResponseIsAnUpstreamError() {
            ByteBuf buf = bytes("HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n");
            try {
                ProxyError e = catchThrowableOfType(ProxyError.class,
                        () -> Http1Parser.findHeadEnd(buf, new Http1Parser.HeadScan(), LIMITS, false));
                assertThat(e.type()).isEqualTo(ErrorType.Kind.INVALID_HTTP_HEADER);
                assertThat(e.source()).isEqualTo(ErrorSource.UPSTREAM);
            } finally {
                assertThat(buf.release()).isTrue();
            }
        }

        @Test
        void requestLineLongerThanTheLimitGets414() {
            Http1Limits limits = LIMITS.toBuilder().maxRequestLine(64).build();
            String line = "GET /" + "a".repeat(64) + " HTTP/1.1\r\n";
            assertRejected(requestError(line + "Host: a\r\n\r\n", limits), 414, "request-line-too-long");
        }

        @Test
        void requestLineAtTheLimitIsAccepted() {
            Http1Limits limits = LIMITS.toBuilder().maxRequestLine(64).build();
            String line = "GET /" + "a".repeat(64 - 16) + " HTTP/1.1\r\n";
            assertThat(line).hasSize(64);
            ByteBuf buf = bytes(line + "Host: a\r\n\r\n");
            try {
                int end = Http1Parser.findHeadEnd(buf, new Http1Parser.HeadScan(), limits, true);
                assertThat(Http1Parser.parseRequest(buf, end, limits).target()).hasSize(49);
            } finally {
                assertThat(buf.release()).isTrue();
            }
        }

        @Test
        void unterminatedRequestLineGets414WithoutWaitingForItsEnd() {
            Http1Limits limits = LIMITS.toBuilder().maxRequestLine(64).build();
            ByteBuf buf = bytes("GET /" + "a".repeat(100));
            try {
                ProxyError e = catchThrowableOfType(ProxyError.class,
                        () -> Http1Parser.findHeadEnd(buf, new Http1Parser.HeadScan(), limits, true));
                assertRejected(e, 414, "request-line-too-long");
            } finally {
                assertThat(buf.release()).isTrue();
            }
        }

        @Test
        void headerSectionLargerThanTheLimitGets431() {
            Http1Limits limits = LIMITS.toBuilder().maxHeaderBytes(128).build();
            assertRejected(requestError("GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + "b".repeat(128) + "\r\n\r\n", limits),
                    431, "header-section-too-large");
        }

        @Test
        void unterminatedHeaderSectionGets431WithoutWaitingForItsEnd() {
            Http1Limits limits = LIMITS.toBuilder().maxHeaderBytes(128).build();
            ByteBuf buf = bytes("GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + "b".repeat(200));
            try {
                ProxyError e = catchThrowableOfType(ProxyError.class,
                        () -> Http1Parser.findHeadEnd(buf, new Http1Parser.HeadScan(), limits, true));
                assertRejected(e, 431, "header-section-too-large");
            } finally {
                assertThat(buf.release()).isTrue();
            }
        }

        @Test
        void headerSectionExactlyAtTheLimitIsAcceptedHoweverItIsSplit() {
            // found by fuzzing: a read that ended right after the last field (or on the CR of the empty line)
            // counted one byte too many and answered 431 to a head that fits
            String head = "GET / HTTP/1.1\r\nHost: a\r\nX-Pad: " + "p".repeat(78) + "\r\n\r\n";
            Http1Limits limits = LIMITS.toBuilder().maxHeaderBytes(96).build(); // "Host: a\r\n" + the X-Pad line = 96 bytes
            for (int cut = 1; cut < head.length(); cut++) {
                ByteBuf buf = bytes(head.substring(0, cut));
                try {
                    Http1Parser.HeadScan scan = new Http1Parser.HeadScan();
                    assertThat(Http1Parser.findHeadEnd(buf, scan, limits, true)).as("cut at %d", cut).isEqualTo(-1);
                    buf.writeCharSequence(head.substring(cut), StandardCharsets.ISO_8859_1);
                    int end = Http1Parser.findHeadEnd(buf, scan, limits, true);
                    assertThat(Http1Parser.parseRequest(buf, end, limits).headers().size()).isEqualTo(2);
                } finally {
                    assertThat(buf.release()).isTrue();
                }
            }
            assertRejected(requestError(head.replace("p\r\n", "pp\r\n"), limits), 431, "header-section-too-large");
        }

        @Test
        void moreHeadersThanTheLimitGets431() {
            Http1Limits limits = LIMITS.toBuilder().maxHeaderCount(10).build();
            StringBuilder sb = new StringBuilder("GET / HTTP/1.1\r\nHost: a\r\n");
            for (int i = 0; i < 9; i++) {
                sb.append("X-").append(i).append(": v\r\n");
            }
            ByteBuf ok = bytes(sb + "\r\n");
            try {
                int end = Http1Parser.findHeadEnd(ok, new Http1Parser.HeadScan(), limits, true);
                assertThat(Http1Parser.parseRequest(ok, end, limits).headers().size()).isEqualTo(10);
            } finally {
                assertThat(ok.release()).isTrue();
            }
            assertRejected(requestError(sb + "X-10: v\r\n\r\n", limits), 431, "too-many-headers");
        }
    }

    // ---- request line

    @Nested
    class RequestLine {
        @Test
        void parsesMethodTargetAndVersion() {
            RequestHeader h = request("DELETE /a/b?c=d&e HTTP/1.1\r\nHost: a.example\r\n\r\n");
            assertThat(h.method()).isEqualTo("DELETE");
            assertThat(h.target()).isEqualTo("/a/b?c=d&e");
            assertThat(h.path()).isEqualTo("/a/b");
            assertThat(h.query()).contains("c=d&e");
            assertThat(h.version()).isEqualTo(HttpVersion.HTTP_1_1);
            assertThat(h.bodyLength()).isEqualTo(BodyLength.NONE);
        }

        @Test
        void extensionMethodsThatAreTokensAreAccepted() {
            assertThat(request("M-SEARCH /dav/ HTTP/1.1\r\nHost: a\r\n\r\n").method()).isEqualTo("M-SEARCH");
        }

        @Test
        void http10WithoutHostIsAccepted() {
            RequestHeader h = request("GET / HTTP/1.0\r\n\r\n");
            assertThat(h.version()).isEqualTo(HttpVersion.HTTP_1_0);
            assertThat(h.host()).isEmpty();
        }

        @ParameterizedTest
        @ValueSource(strings = {"G@T", "GE(T", "GET\t/", "G\u00e9T", "GET\u0000"})
        void methodWithNonTokenCharactersIsRejected(String method) {
            assertRejected(method + " / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid-method");
        }

        @ParameterizedTest
        @ValueSource(strings = {" GET / HTTP/1.1", "GET  / HTTP/1.1", "GET /", "GET"})
        void malformedRequestLineIsRejected(String line) {
            assertRejected(line + "\r\nHost: a\r\n\r\n", 400, "invalid-request-line");
        }

        @ParameterizedTest
        @ValueSource(strings = {"HTTP/1.2", "HTTP/2.0", "HTTP/0.9", "HTTP/3.0"})
        void unknownVersionGets505(String version) {
            assertRejected("GET / " + version + "\r\nHost: a\r\n\r\n", 505, "unsupported-version");
        }

        @ParameterizedTest
        @ValueSource(strings = {"HTTP/1.1 ", "http/1.1", "HTTPS/1.1", "HTTP/11", "HTTP/1.1.1", "HTTP/1.x", "HTTP/1.1\r"})
        void garbageVersionIsRejected(String version) {
            assertRejected("GET / " + version + "\r\nHost: a\r\n\r\n", 400, "invalid-version");
        }

        @ParameterizedTest
        @ValueSource(strings = {"/a\"b", "/a<b", "/a>b", "/a\\b", "/a^b", "/a`b", "/a{b", "/a|b", "/a}b", "/a#frag",
            "/\u00e9", "/a\u0000", "/a\u007f", "/a\rb"})
        void targetWithInvalidCharactersIsRejected(String target) {
            assertRejected("GET " + target + " HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid-target");
        }

        @ParameterizedTest
        @ValueSource(strings = {"a/b", "*", "ftp://a/b", "http:/a", "http://", "http://u@a/", "http://a b/"})
        void targetThatIsNoValidFormIsRejected(String target) {
            ProxyError e = requestError("GET " + target + " HTTP/1.1\r\nHost: a\r\n\r\n");
            assertThat(e.responseStatus()).isEqualTo(400);
        }

        @Test
        void asteriskFormIsAcceptedForOptions() {
            assertThat(request("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n").target()).isEqualTo("*");
        }

        @Test
        void connectNeedsAnAuthorityForm() {
            assertThat(request("CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n").target())
                    .isEqualTo("a.example:443");
            assertRejected("CONNECT a.example HTTP/1.1\r\nHost: a.example\r\n\r\n", 400, "invalid-target");
        }

        @ParameterizedTest
        @ValueSource(strings = {"/x", "/a:443", "[::1]", ":443", "http://a:443/", "[]:443"})
        void connectWithAnotherFormOrWithoutHostAndPortIsRejected(String target) {
            // found by fuzzing: an origin-form CONNECT passed, and so did an IPv6 literal without a port
            assertRejected("CONNECT " + target + " HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid-target");
        }

        @ParameterizedTest
        @CsvSource(delimiter = ';', value = {
            "http://a.example/p?q=1; a.example",
            "http://a.example:80/p; a.example",
            "http://a.example/p; a.example:80",
            "https://a.example:443/p; a.example",
            "HTTP://A.EXAMPLE/p; a.example",
            "http://a.example:8080; a.example:8080",
        })
        void absoluteFormThatAgreesWithHostIsAccepted(String target, String host) {
            RequestHeader h = request("GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
            assertThat(h.target()).isEqualTo(target);
        }

        @ParameterizedTest
        @CsvSource(delimiter = ';', value = {
            "http://b.example/p; a.example",
            "http://a.example:8080/p; a.example",
            "https://a.example/p; a.example:80",
            "http://a.example.evil/p; a.example",
        })
        void absoluteFormThatDisagreesWithHostIsRejected(String target, String host) {
            assertRejected("GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n", 400, "host-mismatch");
        }
    }

    // ---- header fields

    @Nested
    class HeaderFields {
        @Test
        void headersKeepTheirCaseOrderAndDuplicates() {
            RequestHeader h = request("GET / HTTP/1.1\r\nhOsT: a\r\nX-b: 1\r\nx-A:2\r\nX-B:  3  \r\nEmpty:\r\n\r\n");
            Headers headers = h.headers();
            List<String> names = new ArrayList<>();
            List<String> values = new ArrayList<>();
            headers.forEach((n, v) -> {
                names.add(n);
                values.add(v);
            });
            assertThat(names).containsExactly("hOsT", "X-b", "x-A", "X-B", "Empty");
            assertThat(values).containsExactly("a", "1", "2", "3", "");
            assertThat(h.host()).contains("a");
            assertThat(headers.getAll("x-b")).containsExactly("1", "3");
        }

        @Test
        void tabsAroundAValueAreOptionalWhitespace() {
            assertThat(request("GET / HTTP/1.1\r\nHost:\ta\t\r\n\r\n").host()).contains("a");
        }

        @Test
        void obsTextInAValueIsAccepted() {
            assertThat(request("GET / HTTP/1.1\r\nHost: a\r\nX: caf\u00e9\r\n\r\n").header("x")).contains("caf\u00e9");
        }

        @ParameterizedTest
        @ValueSource(strings = {" X: folded", "\tX: folded"})
        void obsFoldIsRejected(String line) {
            assertRejected("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n" + line + "\r\n\r\n", 400, "obs-fold");
        }

        @Test
        void obsFoldRightAfterTheRequestLineIsRejected() {
            assertRejected("GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400, "obs-fold");
        }

        @ParameterizedTest
        @ValueSource(strings = {"Host : a", "Host\t: a", "X-A : b"})
        void whitespaceBeforeTheColonIsRejected(String line) {
            String head = line.startsWith("Host") ? "GET / HTTP/1.1\r\n" + line + "\r\n\r\n"
                    : "GET / HTTP/1.1\r\nHost: a\r\n" + line + "\r\n\r\n";
            assertRejected(head, 400, "space-before-colon");
        }

        @ParameterizedTest
        @ValueSource(strings = {"X@Y: a", "(X): a", "X\"Y: a", "X/Y: a", "X[Y]: a", "X\u00e9: a", "X\u0000: a",
            "X\rY: a", "X{: a", "X=Y: a"})
        void headerNameWithInvalidCharactersIsRejected(String line) {
            assertRejected("GET / HTTP/1.1\r\nHost: a\r\n" + line + "\r\n\r\n", 400, "invalid-header-name");
        }

        @Test
        void emptyHeaderNameIsRejected() {
            assertRejected("GET / HTTP/1.1\r\nHost: a\r\n: a\r\n\r\n", 400, "invalid-header-name");
        }

        @Test
        void headerLineWithoutColonIsRejected() {
            assertRejected("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400, "invalid-header-line");
        }

        @ParameterizedTest
        @ValueSource(strings = {"\u0000", "\u0001", "\u0008", "\u000b", "\u000c", "\u001b", "\u007f", "\r"})
        void controlCharacterInAValueIsRejected(String ctl) {
            assertRejected("GET / HTTP/1.1\r\nHost: a\r\nX: a" + ctl + "b\r\n\r\n", 400, "invalid-header-value");
        }

        @Test
        void bareCarriageReturnAtTheEndOfAValueIsRejected() {
            assertRejected("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\r\n\r\n", 400, "invalid-header-value");
        }
    }

    // ---- Host

    @Nested
    class Host {
        @Test
        void missingHostOnHttp11IsRejected() {
            assertRejected("GET / HTTP/1.1\r\nX: a\r\n\r\n", 400, "missing-host");
        }

        @ParameterizedTest
        @ValueSource(strings = {"a.example", "b.example"})
        void duplicateHostIsRejected(String second) {
            assertRejected("GET / HTTP/1.1\r\nHost: a.example\r\nhost: " + second + "\r\n\r\n", 400, "duplicate-host");
        }

        @ParameterizedTest
        @ValueSource(strings = {"a b", "a/b", "user@a", "a:b", "a:123456", "[::1", "[zz::1]", "[]", "[]:80", "a\\b", "a?b", "a#b"})
        void invalidHostIsRejected(String host) {
            assertRejected("GET / HTTP/1.1\r\nHost: " + host + "\r\n\r\n", 400, "invalid-host");
        }

        @ParameterizedTest
        @ValueSource(strings = {"a.example", "a.example:8080", "127.0.0.1:80", "[::1]", "[::1]:443", "xn--bcher-kva.example", "a:"})
        void validHostIsAccepted(String host) {
            assertThat(request("GET / HTTP/1.1\r\nHost: " + host + "\r\n\r\n").host()).contains(host);
        }

        @Test
        void emptyHostIsAcceptedWithAnOriginFormTarget() {
            assertThat(request("GET / HTTP/1.1\r\nHost:\r\n\r\n").host()).contains("");
        }
    }

    // ---- body framing

    @Nested
    class Framing {
        @Test
        void contentLengthSetsTheBodyLength() {
            assertThat(request("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 42\r\n\r\n").bodyLength()).isEqualTo(42);
        }

        @Test
        void contentLengthZeroIsAnEmptyBodyThatKeepsItsHeader() {
            RequestHeader h = request("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n");
            assertThat(h.bodyLength()).isZero();
            assertThat(h.header("content-length")).contains("0");
        }

        @Test
        void chunkedSetsChunkedFraming() {
            assertThat(request("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n").bodyLength())
                    .isEqualTo(BodyLength.CHUNKED);
            assertThat(request("POST / HTTP/1.1\r\nHost: a\r\ntransfer-encoding:\tCHUNKED\r\n\r\n").bodyLength())
                    .isEqualTo(BodyLength.CHUNKED);
        }

        @ParameterizedTest
        @ValueSource(strings = {"chunked,", "chunked ,", ", chunked", "chunked, ,"})
        void emptyListElementsAroundChunkedAreSkippedOnARequest(String value) {
            assertThat(request("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: " + value + "\r\n\r\n").bodyLength())
                    .isEqualTo(BodyLength.CHUNKED);
        }

        @ParameterizedTest
        @ValueSource(strings = {
            "Transfer-Encoding: chunked|Content-Length: 5",
            "Content-Length: 5|Transfer-Encoding: chunked",
            "Content-Length: 0|Transfer-Encoding: chunked",
            "Transfer-Encoding: gzip, chunked|Content-Length: 5",
        })
        void transferEncodingWithContentLengthIsRejected(String fields) {
            assertRejected("POST / HTTP/1.1\r\nHost: a\r\n" + crlf(fields) + "\r\n\r\n", 400, "te-and-cl");
        }

        @ParameterizedTest
        @ValueSource(strings = {"Content-Length: 5|Content-Length: 5", "Content-Length: 5|content-length: 6",
            "Content-Length: 0|Content-Length: 0"})
        void duplicateContentLengthIsRejected(String fields) {
            assertRejected("POST / HTTP/1.1\r\nHost: a\r\n" + crlf(fields) + "\r\n\r\n", 400, "duplicate-content-length");
        }

        @ParameterizedTest
        @ValueSource(strings = {"+5", "-5", "5 5", "5,5", "5, 5", "0x5", "5a", "abc", "5.0", "1e3", "",
            "99999999999999999", "18446744073709551616", "9223372036854775808", "\"5\""})
        void invalidContentLengthIsRejected(String value) {
            assertRejected("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: " + value + "\r\n\r\n", 400, "invalid-content-length");
        }

        @Test
        void largestContentLengthIsAccepted() {
            long max = 1L << 56;
            assertThat(request("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: " + max + "\r\n\r\n").bodyLength()).isEqualTo(max);
        }

        @ParameterizedTest
        @ValueSource(strings = {"gzip", "identity", "chunked, identity", "chunked, gzip", "xchunked", "chunkedx", "chunked;q=1",
            "\"chunked\"", "", ","})
        void transferEncodingWhoseFinalCodingIsNotChunkedIsRejected(String value) {
            ProxyError e = requestError("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: " + value + "\r\n\r\n");
            assertThat(e.responseStatus()).isEqualTo(400);
            assertThat(e.context()).matches("(te-not-chunked|invalid-transfer-encoding):.*");
        }

        @Test
        void chunkedTwiceIsRejected() {
            assertRejected("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
                    400, "te-chunked-twice");
            assertRejected("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400, "te-chunked-twice");
        }

        @Test
        void otherCodingsBeforeChunkedAreNotImplemented() {
            assertRejected("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501, "te-unsupported");
        }

        @Test
        void transferEncodingOnHttp10IsRejected() {
            assertRejected("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "te-on-http10");
        }
    }

    // ---- responses

    @Nested
    class Responses {
        @Test
        void parsesStatusReasonVersionAndHeadersInOrder() {
            ResponseHeader r = response("HTTP/1.1 201 Made It\r\nx-Z: 1\r\nContent-Length: 7\r\nA-a: 2\r\n\r\n", "POST");
            assertThat(r.status()).isEqualTo(201);
            assertThat(r.reason()).isEqualTo("Made It");
            assertThat(r.version()).isEqualTo(HttpVersion.HTTP_1_1);
            assertThat(r.bodyLength()).isEqualTo(7);
            assertThat(r.headers().name(0)).isEqualTo("x-Z");
            assertThat(r.headers().name(1)).isEqualTo("Content-Length");
            assertThat(r.headers().name(2)).isEqualTo("A-a");
        }

        @Test
        void statusLineWithoutReasonIsAccepted() {
            ResponseHeader r = response("HTTP/1.0 200\r\nContent-Length: 0\r\n\r\n", "GET");
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.version()).isEqualTo(HttpVersion.HTTP_1_0);
            assertThat(r.bodyLength()).isZero();
        }

        @ParameterizedTest
        @ValueSource(ints = {100, 103, 204, 304})
        void responsesThatNeverHaveABodyHaveNone(int status) {
            String framing = status == 304 ? "Content-Length: 99\r\n" : "";
            assertThat(response("HTTP/1.1 " + status + " X\r\n" + framing + "\r\n", "GET").bodyLength()).isEqualTo(BodyLength.NONE);
        }

        @Test
        void responseToHeadHasNoBodyWhateverItsFraming() {
            assertThat(response("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", "HEAD").bodyLength()).isEqualTo(BodyLength.NONE);
            assertThat(response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "HEAD").bodyLength())
                    .isEqualTo(BodyLength.NONE);
        }

        @Test
        void chunkedResponseIsChunked() {
            assertThat(response("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "GET").bodyLength())
                    .isEqualTo(BodyLength.CHUNKED);
        }

        @ParameterizedTest
        @ValueSource(strings = {"chunked,", "chunked ,", ", chunked", "chunked, ,", "gzip, chunked,"})
        void emptyListElementsAroundChunkedAreSkippedOnAResponse(String value) {
            assertThat(response("HTTP/1.1 200 OK\r\nTransfer-Encoding: " + value + "\r\n\r\n", "GET").bodyLength())
                    .isEqualTo(BodyLength.CHUNKED);
        }

        @Test
        void responseWithoutFramingEndsWithTheConnection() {
            assertThat(response("HTTP/1.1 200 OK\r\nX: y\r\n\r\n", "GET").bodyLength()).isEqualTo(BodyLength.UNTIL_CLOSE);
            assertThat(response("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "GET").bodyLength())
                    .isEqualTo(BodyLength.UNTIL_CLOSE);
        }

        @Test
        void transferEncodingWithContentLengthIsRejected() {
            assertThat(responseError("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", "GET").context())
                    .startsWith("te-and-cl:");
        }

        @Test
        void duplicateContentLengthIsRejected() {
            assertThat(responseError("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n", "GET").context())
                    .startsWith("duplicate-content-length:");
        }

        @Test
        void invalidContentLengthIsRejected() {
            assertThat(responseError("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "GET").context())
                    .startsWith("invalid-content-length:");
        }

        @Test
        void framingOnAnInterimResponseIsRejected() {
            assertThat(responseError("HTTP/1.1 100 Continue\r\nContent-Length: 3\r\n\r\n", "GET").context())
                    .startsWith("framing-on-1xx:");
        }

        @ParameterizedTest
        @ValueSource(strings = {"HTTP/1.1 20 OK", "HTTP/1.1 2000 OK", "HTTP/1.1 099 X", "HTTP/1.1 600 X", "HTTP/1.1 200OK",
            "HTTP/1.1  200 OK", "HTTP/1.1 2x0 OK", "HTTP/1.1 200 O\u0001K", "HTTP/1.1", "HTTP/1.2 200 OK", "HTTP/1.1\t200 OK"})
        void malformedStatusLineIsRejected(String line) {
            responseError(line + "\r\nContent-Length: 0\r\n\r\n", "GET");
        }

        @ParameterizedTest
        @ValueSource(strings = {" X: folded", "X : a", "X\u0000: a", "X: a\u0000"})
        void malformedHeaderLineIsRejected(String line) {
            responseError("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n" + line + "\r\n\r\n", "GET");
        }
    }
}
