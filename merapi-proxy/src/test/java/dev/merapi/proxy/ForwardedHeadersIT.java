package dev.merapi.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.http.Headers;
import dev.merapi.testkit.MockOrigin;
import dev.merapi.testkit.RawClient;
import dev.merapi.testkit.RecordedRequest;
import dev.merapi.testkit.TestServer;
import java.net.InetSocketAddress;
import java.util.List;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The forwarding headers an origin gets: set from the client's real address, never taken from an untrusted client,
 * kept and appended to from a trusted proxy. The client is 127.0.0.1 over real sockets.
 */
class ForwardedHeadersIT {
    @RegisterExtension
    final ProxyFixture fixture = new ProxyFixture();

    private static final String SPOOFED = "GET /whoami HTTP/1.1\r\nHost: shop.example\r\n"
            + "X-Forwarded-For: 203.0.113.9\r\nX-Real-IP: 203.0.113.9\r\nForwarded: for=203.0.113.9;proto=https\r\n"
            + "X-Forwarded-Proto: https\r\nX-Forwarded-Host: admin.internal\r\n\r\n";

    private RecordedRequest forward(ProxyOptions options, String raw) throws Exception {
        MockOrigin origin = fixture.origin();
        RecordingProxy proxy = new RecordingProxy(HttpPeer.of("127.0.0.1:" + origin.port()));
        TestServer server = fixture.serve(HttpProxy.of(proxy, options));
        try (RawClient client = RawClient.connect(server.port())) {
            client.send(raw);
            assertThat(client.readResponse().status()).isEqualTo(200);
        }
        return origin.takeRequest();
    }

    @Test
    void headersFromAnUntrustedClientAreReplacedByItsRealAddress() throws Exception {
        RecordedRequest got = forward(ProxyOptions.DEFAULT, SPOOFED);
        assertThat(got.headerValues("X-Forwarded-For")).containsExactly("127.0.0.1");
        assertThat(got.headerValues("X-Real-IP")).containsExactly("127.0.0.1");
        assertThat(got.headerValues("X-Forwarded-Proto")).containsExactly("http");
        assertThat(got.headerValues("X-Forwarded-Host")).containsExactly("shop.example");
        assertThat(got.headerValues("Forwarded")).containsExactly("for=127.0.0.1;proto=http;host=\"shop.example\"");
    }

    @Test
    void aRequestWithoutForwardingHeadersGetsThem() throws Exception {
        RecordedRequest got = forward(ProxyOptions.DEFAULT, "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
        assertThat(got.headerValues("X-Forwarded-For")).containsExactly("127.0.0.1");
        assertThat(got.headerValues("Forwarded")).containsExactly("for=127.0.0.1;proto=http;host=\"t\"");
    }

    @Test
    void headersFromATrustedProxyAreKeptAndAppendedTo() throws Exception {
        ProxyOptions trusting = ProxyOptions.builder().forwardedHeaders(ForwardedHeaders.trusting(List.of("127.0.0.0/8"))).build();
        RecordedRequest got = forward(trusting, SPOOFED);
        assertThat(got.headerValues("X-Forwarded-For")).containsExactly("203.0.113.9, 127.0.0.1");
        assertThat(got.headerValues("X-Real-IP")).containsExactly("203.0.113.9");
        assertThat(got.headerValues("X-Forwarded-Proto")).containsExactly("https");
        assertThat(got.headerValues("X-Forwarded-Host")).containsExactly("admin.internal");
        assertThat(got.headerValues("Forwarded"))
                .containsExactly("for=203.0.113.9;proto=https, for=127.0.0.1;proto=http;host=\"shop.example\"");
    }

    @Test
    void aTrustListThatDoesNotCoverTheClientTrustsNothingFromIt() throws Exception {
        ProxyOptions trusting = ProxyOptions.builder()
                .forwardedHeaders(ForwardedHeaders.trusting(List.of("10.0.0.0/8", "::1", "127.0.0.2"))).build();
        assertThat(forward(trusting, SPOOFED).headerValues("X-Forwarded-For")).containsExactly("127.0.0.1");
    }

    @Test
    void offPassesTheClientsHeadersAndAddsNone() throws Exception {
        ProxyOptions off = ProxyOptions.builder().forwardedHeaders(ForwardedHeaders.off()).build();
        RecordedRequest got = forward(off, SPOOFED);
        assertThat(got.headerValues("X-Forwarded-For")).containsExactly("203.0.113.9");
        assertThat(forward(off, "GET / HTTP/1.1\r\nHost: t\r\n\r\n").header("X-Forwarded-For")).isEmpty();
    }

    @Test
    void anIpv6ClientIsWrittenAsRfc7239Wants() {
        Headers h = new Headers();
        ForwardedHeaders.DEFAULT.apply(h, new InetSocketAddress("2001:db8::7", 4711), "http", "[::1]:8080");
        assertThat(h.get("X-Forwarded-For")).contains("2001:db8::7");
        assertThat(h.get("Forwarded")).contains("for=\"[2001:db8::7]\";proto=http;host=\"[::1]:8080\"");
    }

    @ParameterizedTest
    @ValueSource(strings = {"10.0.0.0/33", "example.com", "10.0.0.0/x", "::/129", ""})
    void anInvalidTrustedProxyIsRejected(String cidr) {
        assertThatThrownBy(() -> ForwardedHeaders.trusting(List.of(cidr))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(cidr);
    }
}
