package dev.merapi.core.connectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.merapi.error.ErrorType;
import dev.merapi.error.ProxyError;
import dev.merapi.http.BodyLength;
import dev.merapi.http.Headers;
import dev.merapi.http.RequestHeader;
import dev.merapi.http.ResponseHeader;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import org.junit.jupiter.api.Test;

class Http2TranslationTest {

    private static RequestHeader request(String... nameValues) {
        RequestHeader r = RequestHeader.of("POST", "/grpc.Service/Call");
        for (int i = 0; i < nameValues.length; i += 2) {
            r.headers().add(nameValues[i], nameValues[i + 1]);
        }
        return r;
    }

    @Test
    void hostBecomesAuthorityAndPseudoHeadersComeFromTheRequest() {
        Http2Headers h = Http2Translation.request(request("Host", "api.test:8443", "X-Id", "7"), true, "fallback:1");

        assertThat(h.method().toString()).isEqualTo("POST");
        assertThat(h.scheme().toString()).isEqualTo("https");
        assertThat(h.authority().toString()).isEqualTo("api.test:8443");
        assertThat(h.path().toString()).isEqualTo("/grpc.Service/Call");
        assertThat(h.contains("host")).isFalse();
        assertThat(h.get("x-id").toString()).isEqualTo("7");
    }

    @Test
    void aRequestWithoutHostUsesThePeersAuthority() {
        assertThat(Http2Translation.request(request(), false, "origin:80").authority().toString()).isEqualTo("origin:80");
    }

    @Test
    void connectionSpecificFieldsAndTheFieldsConnectionNamesAreRemoved() {
        Http2Headers h = Http2Translation.request(request("Connection", "keep-alive, X-Private", "X-Private", "1",
                "Keep-Alive", "timeout=5", "Proxy-Connection", "close", "Transfer-Encoding", "chunked", "Upgrade", "websocket",
                "X-Kept", "yes"), false, "o:1");

        assertThat(h.names().stream().map(CharSequence::toString))
                .containsExactlyInAnyOrder(":method", ":scheme", ":authority", ":path", "x-kept");
    }

    @Test
    void teIsKeptOnlyAsTrailers() {
        assertThat(Http2Translation.request(request("TE", "trailers, deflate;q=0.5"), false, "o:1").get("te").toString())
                .isEqualTo("trailers");
        assertThat(Http2Translation.request(request("TE", "gzip"), false, "o:1").contains("te")).isFalse();
    }

    @Test
    void aRequestThatAcceptsTrailersCarriesTeTrailersWithoutATeField() {
        RequestHeader r = request("X-A", "1");
        r.setAcceptsTrailers(true);
        Http2Headers h = Http2Translation.request(r, false, "o:1");
        assertThat(h.getAll("te").stream().map(CharSequence::toString)).containsExactly("trailers");
        assertThat(Http2Translation.request(request("X-A", "1"), false, "o:1").contains("te")).isFalse();
    }

    @Test
    void teTrailersSurvivesAConnectionThatNamesTe() {
        Http2Headers h = Http2Translation.request(request("Connection", "TE", "TE", "trailers"), false, "o:1");
        assertThat(h.getAll("te").stream().map(CharSequence::toString)).containsExactly("trailers");
        assertThat(h.contains("connection")).isFalse();
    }

    @Test
    void cookiesAreSplitIntoOneFieldPerPair() {
        Http2Headers h = Http2Translation.request(request("Cookie", "a=1; b=2;c=3"), false, "o:1");

        assertThat(h.getAll("cookie").stream().map(CharSequence::toString)).containsExactly("a=1", "b=2", "c=3");
    }

    @Test
    void theRequestBodyLengthBecomesContentLength() {
        RequestHeader r = request();
        r.setBodyLength(12);
        assertThat(Http2Translation.request(r, false, "o:1").get("content-length").toString()).isEqualTo("12");
        r.setBodyLength(BodyLength.CHUNKED);
        r.headers().add("Content-Length", "5");
        assertThat(Http2Translation.request(r, false, "o:1").contains("content-length")).isFalse();
    }

    @Test
    void aResponseKeepsItsFieldsAsReceivedAndItsLength() {
        Http2Headers h = new DefaultHttp2Headers().status("200").add("content-length", "3").add("x-a", "1");
        ResponseHeader r = Http2Translation.response(h, "GET", false);

        assertThat(r.status()).isEqualTo(200);
        assertThat(r.bodyLength()).isEqualTo(3);
        assertThat(r.headers().name(0)).isEqualTo("content-length");
        assertThat(r.header("x-a")).contains("1");
        assertThat(Http2Translation.response(new DefaultHttp2Headers().status("200"), "GET", false).bodyLength())
                .isEqualTo(BodyLength.CHUNKED);
        assertThat(Http2Translation.response(new DefaultHttp2Headers().status("200").add("content-length", "3"), "HEAD", false)
                .bodyLength()).isEqualTo(BodyLength.NONE);
    }

    @Test
    void malformedResponsesAreInvalidUpstreamHeaders() {
        assertInvalid(new DefaultHttp2Headers(false).add("x-a", "1"));
        assertInvalid(new DefaultHttp2Headers(false).status("2000"));
        assertInvalid(new DefaultHttp2Headers(false).status("200").path("/"));
        assertInvalid(new DefaultHttp2Headers(false).status("200").add("connection", "close"));
        assertInvalid(new DefaultHttp2Headers(false).status("200").add("content-length", "1x"));
        assertInvalid(new DefaultHttp2Headers(false).status("200").add("content-length", "1").add("content-length", "2"));
    }

    private static void assertInvalid(Http2Headers h) {
        assertThatThrownBy(() -> Http2Translation.response(h, "GET", false)).isInstanceOfSatisfying(ProxyError.class, e -> {
            assertThat(e.type()).isEqualTo(ErrorType.Kind.INVALID_HTTP_HEADER);
            assertThat(e.responseStatus()).isEqualTo(502);
        });
    }

    @Test
    void trailersDropPseudoAndForbiddenFieldsGoingOut() {
        Http2Headers out = Http2Translation.requestTrailers(new Headers().add("Grpc-Status", "0").add("Content-Length", "9"));
        assertThat(out.names().stream().map(CharSequence::toString)).containsExactly("grpc-status");
        assertThatThrownBy(() -> Http2Translation.trailers(new DefaultHttp2Headers(false).status("200")))
                .isInstanceOf(ProxyError.class);
    }
}
