package dev.merapi.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.core.protocols.http1.Http1Options;
import dev.merapi.core.security.SecurityEvents;
import dev.merapi.core.tunnels.Tunnel;
import dev.merapi.core.tunnels.TunnelStats;
import dev.merapi.error.ErrorType;
import dev.merapi.testkit.MockOrigin;
import dev.merapi.testkit.RawClient;
import dev.merapi.testkit.TestServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * CONNECT tunnels: off by default (405, see {@link Http1StrictIT#connectIsRefusedWith405ByDefault}); where a listener
 * lets CONNECT through, a target on the allow-list gets a TCP tunnel (tested with curl's {@code --proxytunnel}), one
 * off it gets 403 and a security event, a target not in authority-form gets 400, and a target that refuses the
 * connection gets 502.
 */
class ConnectIT {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final Http1Options CONNECT_ON = Http1Options.builder().allowConnect(true).build();

    @RegisterExtension
    final ProxyFixture fixture = new ProxyFixture();

    /** A recording proxy whose upstreamPeer must never run: CONNECT names its own target. */
    private static TunnelRecordingProxy connectProxy() {
        return new TunnelRecordingProxy(() -> {
            throw new AssertionError("CONNECT never asks upstreamPeer");
        });
    }

    private TestServer serve(TunnelRecordingProxy proxy, String allow) {
        TunnelOptions tunnels = TunnelOptions.builder().connectAllow(ConnectTarget.listOf(allow)).build();
        return fixture.serve(HttpProxy.of(proxy, ProxyOptions.builder().tunnels(tunnels).build()), CONNECT_ON);
    }

    @Test
    void curlTunnelsToAnAllowedTargetThroughConnect() throws Exception {
        MockOrigin origin = fixture.origin();
        TunnelRecordingProxy proxy = connectProxy();
        TestServer server = serve(proxy, "127.0.0.1:" + origin.port());

        Process curl = new ProcessBuilder("curl", "-sS", "--max-time", "20", "--proxytunnel",
                "-x", "http://127.0.0.1:" + server.port(), "http://127.0.0.1:" + origin.port() + "/through-the-tunnel")
                .redirectErrorStream(true).start();
        String out = new String(curl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(curl.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
        assertThat(curl.exitValue()).as(out).isZero();
        assertThat(out).isEqualTo("hello from mock origin\n");

        assertThat(origin.takeRequest(WAIT).target()).as("the origin got curl's own request, untouched")
                .isEqualTo("/through-the-tunnel");
        proxy.awaitLogged(1);
        assertThat(proxy.statuses).containsExactly(200);
        TunnelStats stats = proxy.tunnels.getFirst().orElseThrow();
        assertThat(stats.bytesUpstream()).isPositive();
        assertThat(stats.bytesDownstream()).isGreaterThan("hello from mock origin\n".length());
        assertThat(server.awaitNoOpenConnections(WAIT)).isTrue();
        assertThat(Tunnel.openTunnels()).isZero();
    }

    @Test
    void aTargetOffTheAllowListIsRefused403WithASecurityEvent() throws Exception {
        MockOrigin origin = fixture.origin();
        TunnelRecordingProxy proxy = connectProxy();
        TestServer server = serve(proxy, "127.0.0.1:" + origin.port() + ",*:443");
        long before = SecurityEvents.count("connect-not-allowed");
        try (RawClient client = RawClient.connect(server.port())) {
            client.send("CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n");
            assertThat(client.readResponse().status()).isEqualTo(403);
            client.send("CONNECT localhost:" + origin.port() + " HTTP/1.1\r\nHost: localhost:" + origin.port() + "\r\n\r\n");
            assertThat(client.readResponse().status()).as("a name is not the address it resolves to").isEqualTo(403);
            proxy.awaitLogged(2);
        }
        assertThat(SecurityEvents.count("connect-not-allowed") - before).isEqualTo(2);
        assertThat(origin.connectionCount()).isZero();
        assertThat(proxy.statuses).containsExactly(403, 403);
    }

    @ParameterizedTest
    @ValueSource(strings = {"http://127.0.0.1:1/", "user@127.0.0.1:443", "127.0.0.1", "127.0.0.1:", "127.0.0.1:99999",
            "127.0.0.1:443/x", "::1:443", "127.0.0.1:+443"})
    void aConnectTargetNotInAuthorityFormIsRefused400(String target) throws Exception {
        TunnelRecordingProxy proxy = connectProxy();
        TestServer server = serve(proxy, "*:443,127.0.0.1:1");
        try (RawClient client = RawClient.connect(server.port())) {
            client.send("CONNECT " + target + " HTTP/1.1\r\nHost: 127.0.0.1:443\r\n\r\n");
            assertThat(client.readResponse().status()).isEqualTo(400);
        }
    }

    @Test
    void aTargetThatRefusesTheConnectionAnswers502() throws Exception {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = s.getLocalPort();
        }
        TunnelRecordingProxy proxy = connectProxy();
        TestServer server = serve(proxy, "127.0.0.1:" + closedPort);
        try (RawClient client = RawClient.connect(server.port())) {
            client.send("CONNECT 127.0.0.1:" + closedPort + " HTTP/1.1\r\nHost: 127.0.0.1:" + closedPort + "\r\n\r\n");
            assertThat(client.readResponse().status()).isEqualTo(502);
            proxy.awaitLogged(1);
        }
        assertThat(proxy.logged.getFirst().orElseThrow().type()).isEqualTo(ErrorType.Kind.CONNECT_REFUSED);
    }

    @Test
    void theTunnelClosesTheClientSideWhenTheTargetCloses() throws IOException, InterruptedException {
        TunnelRecordingProxy proxy = connectProxy();
        try (ServerSocket target = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            TestServer server = serve(proxy, "127.0.0.1:" + target.getLocalPort());
            try (RawClient client = RawClient.connect(server.port())) {
                client.send("CONNECT 127.0.0.1:" + target.getLocalPort() + " HTTP/1.1\r\nHost: x\r\n\r\nping");
                try (var s = target.accept()) { // a 2xx to CONNECT has no body: read the head alone
                    assertThat(client.readResponse(true).status()).isEqualTo(200);
                    assertThat(new String(s.getInputStream().readNBytes(4), StandardCharsets.US_ASCII)).isEqualTo("ping");
                    s.getOutputStream().write("pong".getBytes(StandardCharsets.US_ASCII));
                }
                assertThat(new String(client.readBytes(4), StandardCharsets.US_ASCII)).isEqualTo("pong");
                assertThat(client.isClosedByPeer(WAIT)).isTrue();
            }
            proxy.awaitLogged(1);
            assertThat(proxy.tunnels.getFirst().orElseThrow().end()).isEqualTo(TunnelStats.End.UPSTREAM_CLOSED);
        }
    }
}
