package dev.merapi.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.core.tunnels.Tunnel;
import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.testkit.MockOrigin;
import dev.merapi.testkit.MockResponse;
import dev.merapi.testkit.RawClient;
import dev.merapi.testkit.RecordedRequest;
import dev.merapi.testkit.TestServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * HTTP/1.1 Upgrade over raw sockets: the tunnel opens only after the origin's 101, bytes a client sends after the
 * upgrade request never reach the origin before it, a non-101 answer leaves HTTP in force (those bytes are then parsed
 * by Merapi as the next request, through every phase), and only genuine upgrade requests carry Upgrade upstream.
 */
class UpgradeIT {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final String UPGRADE_HEAD = "GET /ws HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n";
    private static final String SMUGGLED = "GET /admin HTTP/1.1\r\nHost: t\r\n\r\n";

    @RegisterExtension
    final ProxyFixture fixture = new ProxyFixture();

    /** A proxy whose requestFilter refuses /admin, as a gateway guarding an internal path would. */
    static final class GuardingProxy extends RecordingProxy {
        GuardingProxy(HttpPeer peer) {
            super(peer);
        }

        @Override
        public CompletionStage<FilterResult> requestFilter(Session session, Ctx ctx) {
            if (session.requestHeader().path().startsWith("/admin")) {
                session.respond(403, "text/plain", "forbidden\n");
                return FilterResult.RESPONDED_STAGE;
            }
            return FilterResult.CONTINUE_STAGE;
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {200, 403})
    void bytesAfterARefusedUpgradeAreParsedAsTheNextRequestAndNeverReachTheOriginRaw(int status) throws Exception {
        MockOrigin origin = fixture.origin();
        origin.enqueue(MockResponse.builder().status(status).body("no upgrade here\n").build());
        GuardingProxy proxy = new GuardingProxy(fixture.peer());
        TestServer server = fixture.serve(HttpProxy.of(proxy));
        try (RawClient client = RawClient.connect(server.port())) {
            client.send(UPGRADE_HEAD + SMUGGLED); // one write: the smuggling attempt of CVE-2026-2833
            RawClient.Response first = client.readResponse();
            assertThat(first.status()).isEqualTo(status);
            assertThat(first.bodyText()).isEqualTo("no upgrade here\n");
            RawClient.Response second = client.readResponse();
            assertThat(second.status()).as("the early bytes went through requestFilter as a request of their own")
                    .isEqualTo(403);
            client.send("GET /after HTTP/1.1\r\nHost: t\r\n\r\n");
            assertThat(client.readResponse().status()).as("the connection is still HTTP").isEqualTo(200);
            proxy.awaitLogged(3);
        }
        RecordedRequest upgrade = origin.takeRequest(WAIT);
        assertThat(upgrade.target()).isEqualTo("/ws");
        assertThat(upgrade.header("Upgrade")).contains("websocket");
        assertThat(upgrade.header("Connection")).contains("upgrade");
        assertThat(upgrade.bodySize()).isZero();
        assertThat(upgrade.rawHead()).doesNotContain("/admin");
        assertThat(origin.takeRequest(WAIT).target()).isEqualTo("/after");
        assertThat(origin.requestCount()).as("the origin never saw /admin").isEqualTo(2);
    }

    @Test
    void bytesAfterARefusedUpgradeReachTheOriginOnlyAsMerapisOwnNextRequest() throws Exception {
        MockOrigin origin = fixture.origin();
        origin.enqueue(MockResponse.builder().status(200).body("no upgrade here\n").build());
        RecordingProxy proxy = new RecordingProxy(fixture.peer());
        TestServer server = fixture.serve(HttpProxy.of(proxy));
        try (RawClient client = RawClient.connect(server.port())) {
            client.send(UPGRADE_HEAD + SMUGGLED);
            assertThat(client.readResponse().status()).isEqualTo(200);
            assertThat(client.readResponse().status()).isEqualTo(200);
            proxy.awaitLogged(2);
        }
        RecordedRequest upgrade = origin.takeRequest(WAIT);
        RecordedRequest next = origin.takeRequest(WAIT);
        assertThat(upgrade.target()).isEqualTo("/ws");
        assertThat(upgrade.rawHead()).doesNotContain("/admin");
        assertThat(next.target()).isEqualTo("/admin");
        // written by Merapi after the first exchange ended, with Merapi's framing and headers, not the client's bytes
        assertThat(next.header("Via")).contains("1.1 merapi");
        assertThat(next.header("Upgrade")).isEmpty();
    }

    @Test
    void earlyBytesReachTheOriginOnlyAfterItAnswers101AndTheTunnelCarriesBothWays() throws Exception {
        try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            CompletableFuture<String> originSaw = CompletableFuture.supplyAsync(() -> switchingOrigin(listener));
            RecordingProxy proxy = new RecordingProxy(HttpPeer.of("127.0.0.1:" + listener.getLocalPort()));
            TestServer server = fixture.serve(HttpProxy.of(proxy));
            try (RawClient client = RawClient.connect(server.port())) {
                client.send("GET /raw HTTP/1.1\r\nHost: t\r\nConnection: upgrade\r\nUpgrade: test-proto\r\n\r\nEARLY");
                RawClient.Response r = client.readResponse();
                assertThat(r.status()).isEqualTo(101);
                assertThat(r.header("Upgrade")).contains("test-proto");
                assertThat(r.header("Connection")).contains("upgrade");
                assertThat(new String(client.readBytes(11), StandardCharsets.US_ASCII)).isEqualTo("FROM-ORIGIN");
                client.send("-LATE");
                assertThat(new String(client.readBytes(10), StandardCharsets.US_ASCII)).isEqualTo("EARLY-LATE");
                assertThat(client.isClosedByPeer(WAIT)).as("the origin closed: so does the client's side").isTrue();
            }
            assertThat(originSaw.get(WAIT.toSeconds(), TimeUnit.SECONDS))
                    .as("nothing after the head before the 101").isEqualTo("quiet");
            proxy.awaitLogged(1);
            assertThat(server.awaitNoOpenConnections(WAIT)).isTrue();
            assertThat(Tunnel.openTunnels()).isZero();
        }
    }

    /**
     * An origin for one upgrade: reads the head, checks that nothing follows it for half a second, answers 101 with
     * bytes of the new protocol in the same write, echoes what comes then, and closes after ten bytes.
     */
    private static String switchingOrigin(ServerSocket listener) {
        try (Socket s = listener.accept()) {
            s.setSoTimeout((int) WAIT.toMillis());
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            ByteArrayOutputStream head = new ByteArrayOutputStream();
            while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
                int b = in.read();
                if (b < 0) {
                    return "closed before the head ended";
                }
                head.write(b);
            }
            String verdict = "quiet";
            s.setSoTimeout(500);
            try {
                if (in.read() >= 0) {
                    verdict = "bytes before the 101";
                }
            } catch (SocketTimeoutException expected) {
                // nothing came: right
            }
            s.setSoTimeout((int) WAIT.toMillis());
            out.write(("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: test-proto\r\n\r\nFROM-ORIGIN")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            byte[] echo = in.readNBytes(10);
            out.write(echo);
            out.flush();
            return verdict;
        } catch (IOException e) {
            return "origin failed: " + e;
        }
    }

    @Test
    void upgradeHeadersGoUpstreamOnlyOnAGenuineUpgradeRequest() throws Exception {
        MockOrigin origin = fixture.origin();
        RecordingProxy proxy = new RecordingProxy(fixture.peer());
        TestServer server = fixture.serve(HttpProxy.of(proxy));
        try (RawClient client = RawClient.connect(server.port())) {
            client.send("POST /ws HTTP/1.1\r\nHost: t\r\nConnection: upgrade\r\nUpgrade: websocket\r\nContent-Length: 2\r\n\r\nhi");
            assertThat(client.readResponse().status()).isEqualTo(200);
            client.send("GET /h2c HTTP/1.1\r\nHost: t\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n");
            assertThat(client.readResponse().status()).isEqualTo(200);
            client.send("GET /no-connection-token HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\n\r\n");
            assertThat(client.readResponse().status()).isEqualTo(200);
            proxy.awaitLogged(3);
        }
        for (int i = 0; i < 3; i++) {
            RecordedRequest r = origin.takeRequest(WAIT);
            assertThat(r.header("Upgrade")).as(r.target()).isEmpty();
            assertThat(r.header("HTTP2-Settings")).as(r.target()).isEmpty();
            assertThat(r.headerValues("Connection")).as(r.target()).noneMatch(v -> v.toLowerCase().contains("upgrade"));
        }
    }

    @Test
    void upgradesTurnedOffAreForwardedAsPlainRequests() throws Exception {
        MockOrigin origin = fixture.origin();
        RecordingProxy proxy = new RecordingProxy(fixture.peer());
        ProxyOptions options = ProxyOptions.builder().tunnels(TunnelOptions.builder().upgrades(false).build()).build();
        TestServer server = fixture.serve(HttpProxy.of(proxy, options));
        try (RawClient client = RawClient.connect(server.port())) {
            client.send(UPGRADE_HEAD);
            assertThat(client.readResponse().status()).isEqualTo(200);
            proxy.awaitLogged(1);
        }
        assertThat(origin.takeRequest(WAIT).header("Upgrade")).isEmpty();
    }

    @Test
    void anUpgradeToAProtocolOffTheAllowListIsForwardedWithoutUpgrade() throws Exception {
        MockOrigin origin = fixture.origin();
        RecordingProxy proxy = new RecordingProxy(fixture.peer());
        ProxyOptions options = ProxyOptions.builder()
                .tunnels(TunnelOptions.builder().upgradeProtocols(java.util.Set.of("websocket")).build()).build();
        TestServer server = fixture.serve(HttpProxy.of(proxy, options));
        try (RawClient client = RawClient.connect(server.port())) {
            client.send("GET /x HTTP/1.1\r\nHost: t\r\nConnection: upgrade\r\nUpgrade: other-proto\r\n\r\n");
            assertThat(client.readResponse().status()).isEqualTo(200);
            client.send(UPGRADE_HEAD);
            assertThat(client.readResponse().status()).isEqualTo(200);
            proxy.awaitLogged(2);
        }
        assertThat(origin.takeRequest(WAIT).header("Upgrade")).isEmpty();
        assertThat(origin.takeRequest(WAIT).header("Upgrade")).contains("websocket");
    }
}
