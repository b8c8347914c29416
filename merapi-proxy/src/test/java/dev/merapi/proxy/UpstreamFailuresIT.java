package dev.merapi.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import dev.merapi.core.security.SecurityEvents;
import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.testkit.RawClient;
import dev.merapi.testkit.TestServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.List;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A request that an upstream failure ends is one WARN line on {@code merapi.upstream}, with the peer written as
 * {@code 127.0.0.1:9}, rate-limited so that a dead origin under load cannot flood the log.
 */
class UpstreamFailuresIT {
    @RegisterExtension
    final ProxyFixture fixture = new ProxyFixture();

    private LogCapture log;

    @BeforeEach
    void captureTheUpstreamLogger() {
        UpstreamFailures.rateLimitForTest(SecurityEvents.DEFAULT_BURST, SecurityEvents.DEFAULT_PER_SECOND);
        log = LogCapture.of(UpstreamFailures.LOGGER_NAME);
    }

    @AfterEach
    void release() {
        log.close();
        UpstreamFailures.rateLimitForTest(SecurityEvents.DEFAULT_BURST, SecurityEvents.DEFAULT_PER_SECOND);
    }

    private static int refusedPort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private List<String> lines() {
        return log.lines();
    }

    private List<String> failures() {
        return lines().stream().filter(l -> l.startsWith("upstream-failure ")).toList();
    }

    private long suppressed() {
        return lines().stream().filter(l -> l.startsWith("upstream-failures-suppressed"))
                .mapToLong(l -> Long.parseLong(l.substring(l.indexOf("count=") + 6))).sum();
    }

    private static void get(TestServer server) throws IOException {
        try (RawClient client = RawClient.connect(server.port())) {
            client.send("GET /pay?card=4111 HTTP/1.1\r\nHost: shop\r\n\r\n");
            assertThat(client.readResponse().status()).isEqualTo(502);
        }
    }

    @Test
    void aRefusedUpstreamIsOneWarnLineNamingThePeerPlainly() throws Exception {
        int port = refusedPort();
        RecordingProxy proxy = new RecordingProxy(HttpPeer.of("127.0.0.1:" + port));
        TestServer server = fixture.serve(HttpProxy.of(proxy, ProxyOptions.builder().maxRetries(1).build()));
        get(server);
        proxy.awaitLogged(1);
        assertThat(log.events()).singleElement().satisfies(e -> assertThat(e.getLevel()).isEqualTo(Level.WARN));
        assertThat(lines().getFirst())
                .startsWith("upstream-failure peer=127.0.0.1:" + port + " error=CONNECT_REFUSED retries=1 request=\"GET /pay, Host: shop\"")
                .contains("cannot connect to 127.0.0.1:" + port)
                .doesNotContain("http://", "/127.0.0.1", "4111");
    }

    @Test
    void aNamedPeerIsLoggedByItsNameAndAddress() throws Exception {
        int port = refusedPort();
        RecordingProxy proxy = new RecordingProxy(HttpPeer.of("127.0.0.1:" + port).withName("billing-1"));
        try (TestServer server = RecordingProxy.serve(HttpProxy.of(proxy, ProxyOptions.builder().maxRetries(0).build()))) {
            get(server);
            proxy.awaitLogged(1);
        }
        assertThat(failures()).singleElement().asString()
                .startsWith("upstream-failure peer=billing-1 (127.0.0.1:" + port + ") error=CONNECT_REFUSED");
    }

    @Test
    void upstreamFailureLinesAreRateLimitedAndTheRestCounted() throws Exception {
        UpstreamFailures.rateLimitForTest(2, 1);
        RecordingProxy proxy = new RecordingProxy(HttpPeer.of("127.0.0.1:" + refusedPort()));
        TestServer server = fixture.serve(HttpProxy.of(proxy, ProxyOptions.builder().maxRetries(0).build()));
        for (int i = 0; i < 6; i++) {
            get(server);
        }
        proxy.awaitLogged(6);
        // each summary comes once a token is free again, about a second later
        assertThat(RecordingProxy.eventually(() -> failures().size() + suppressed() == 6))
                .as("every failure is either logged or counted: %s", lines()).isTrue();
        assertThat(failures()).as("lines let through").hasSizeBetween(2, 4);
        assertThat(suppressed()).isPositive();
    }
}
