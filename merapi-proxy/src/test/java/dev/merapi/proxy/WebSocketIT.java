package dev.merapi.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.core.listeners.ListenerConfig;
import dev.merapi.core.services.ListeningService;
import dev.merapi.core.tls.CertificateStore;
import dev.merapi.core.tls.ServerTls;
import dev.merapi.core.tunnels.Tunnel;
import dev.merapi.core.tunnels.TunnelStats;
import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.testkit.TestPki;
import dev.merapi.testkit.TestServer;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * WebSocket through Merapi between real peers: Debian's python3-websockets as origin and as client, and the JDK's
 * {@link WebSocket} client. Text and binary echo, a 4 MiB message, ping and pong, close codes each way, the tunnel's
 * idle timeout, and {@code logging} once per tunnel with the bytes it carried.
 */
class WebSocketIT {
    private static final Duration WAIT = Duration.ofSeconds(60);
    /** The code a WebSocket endpoint reports when the connection closed without a close frame (RFC 6455 §7.4.1). */
    private static final int CLOSED_ABNORMALLY = 1006;

    @RegisterExtension
    final ProxyFixture fixture = new ProxyFixture();

    @Test
    void pythonClientEchoesThroughMerapiToPythonServerAndItsCloseCodeArrives() throws Exception {
        PythonWebSocketPeer origin = fixture.closeAfter(PythonWebSocketPeer.server());
        TunnelRecordingProxy proxy = new TunnelRecordingProxy(HttpPeer.of("127.0.0.1:" + origin.port()));
        TestServer server = fixture.serve(HttpProxy.of(proxy));

        try (PythonWebSocketPeer client = PythonWebSocketPeer.client("ws://127.0.0.1:" + server.port() + "/echo")) {
            assertThat(client.awaitLine("text ")).isEqualTo("text hello through merapi");
            assertThat(client.awaitLine("binary ")).isEqualTo("binary 4194304 True");
            assertThat(client.awaitLine("pong ")).isEqualTo("pong ok");
            assertThat(client.awaitLine("closed ")).isEqualTo("closed 4000");
            assertThat(client.awaitExit()).isZero();
        }
        assertThat(origin.awaitLine("closed ")).as("the client's close code reached the origin").isEqualTo("closed 4000");
        awaitLogged(proxy, 1);
        assertThat(proxy.upgrades).containsExactly(true);
        assertThat(proxy.statuses).containsExactly(101);
        TunnelStats stats = proxy.tunnels.getFirst().orElseThrow();
        assertThat(stats.bytesUpstream()).as("client to origin: the 4 MiB message and the rest").isGreaterThan(4L << 20);
        assertThat(stats.bytesDownstream()).as("origin to client: the echo and the rest").isGreaterThan(4L << 20);
        assertThat(proxy.logged).containsExactly(Optional.empty());
        assertThat(server.awaitNoOpenConnections(WAIT)).isTrue();
    }

    @Test
    void javaClientGetsALargeBinaryEchoAndTheOriginsCloseCode() throws Exception {
        PythonWebSocketPeer origin = fixture.closeAfter(PythonWebSocketPeer.server());
        TunnelRecordingProxy proxy = new TunnelRecordingProxy(HttpPeer.of("127.0.0.1:" + origin.port()));
        TestServer server = fixture.serve(HttpProxy.of(proxy));
        Collector collector = new Collector();

        WebSocket ws = HttpClient.newHttpClient().newWebSocketBuilder().connectTimeout(Duration.ofSeconds(20))
                .buildAsync(URI.create("ws://127.0.0.1:" + server.port() + "/echo"), collector)
                .get(WAIT.toSeconds(), TimeUnit.SECONDS);
        byte[] big = MockPattern.bytes(4 << 20);
        ws.sendBinary(ByteBuffer.wrap(big), true).get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(collector.binary.get(WAIT.toSeconds(), TimeUnit.SECONDS)).isEqualTo(big);
        ws.sendText("hi", true).get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(collector.text.get(WAIT.toSeconds(), TimeUnit.SECONDS)).isEqualTo("hi");

        ws.sendText("close:4001", true).get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(collector.closed.get(WAIT.toSeconds(), TimeUnit.SECONDS)).as("the origin's close code").isEqualTo(4001);
        assertThat(origin.awaitLine("closed ")).isEqualTo("closed 4001");
        awaitLogged(proxy, 1);
        assertThat(proxy.statuses).containsExactly(101);
        assertThat(server.awaitNoOpenConnections(WAIT)).isTrue();
    }

    @Test
    void anIdleTunnelIsClosedOnBothSidesAfterItsIdleTimeout() throws Exception {
        PythonWebSocketPeer origin = fixture.closeAfter(PythonWebSocketPeer.server());
        TunnelRecordingProxy proxy = new TunnelRecordingProxy(HttpPeer.of("127.0.0.1:" + origin.port()));
        ProxyOptions options = ProxyOptions.builder()
                .tunnels(TunnelOptions.builder().idleTimeout(Duration.ofSeconds(3)).build()).build(); // room for a loaded machine
        TestServer server = fixture.serve(HttpProxy.of(proxy, options));
        Collector collector = new Collector();

        WebSocket ws = HttpClient.newHttpClient().newWebSocketBuilder().connectTimeout(Duration.ofSeconds(20))
                .buildAsync(URI.create("ws://127.0.0.1:" + server.port() + "/idle"), collector)
                .get(WAIT.toSeconds(), TimeUnit.SECONDS);
        ws.sendText("still here", true).get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(collector.text.get(WAIT.toSeconds(), TimeUnit.SECONDS)).isEqualTo("still here");

        // nothing more is sent: the tunnel closes both connections without a close frame (1006 on both sides)
        assertThat(collector.closed.get(WAIT.toSeconds(), TimeUnit.SECONDS)).isEqualTo(CLOSED_ABNORMALLY);
        assertThat(origin.awaitLine("closed ")).isEqualTo("closed 1006");
        awaitLogged(proxy, 1);
        assertThat(proxy.tunnels.getFirst().orElseThrow().end()).isEqualTo(TunnelStats.End.IDLE_TIMEOUT);
        assertThat(server.awaitNoOpenConnections(WAIT)).isTrue();
        assertThat(Tunnel.openTunnels()).isZero();
    }

    @Test
    void aWebSocketOnATlsListenerEchoesThroughTheTunnel(@TempDir Path dir) throws Exception {
        TestPki pki = TestPki.create(dir, "Merapi Test CA");
        TestPki.Issued localhost = pki.certificate("localhost").dns("localhost").ip("127.0.0.1").issue();
        PythonWebSocketPeer origin = fixture.closeAfter(PythonWebSocketPeer.server());
        TunnelRecordingProxy proxy = new TunnelRecordingProxy(HttpPeer.of("127.0.0.1:" + origin.port()));
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy);
        TestServer server = fixture.closeAfter(TestServer.start(ListeningService.http("wss", engine)
                .addListener(ListenerConfig.tcp("127.0.0.1:0").toBuilder()
                        .tls(ServerTls.of(CertificateStore.of(localhost.chainPem(), localhost.keyPem()))).build()))
                .checkClosedOnStop(engine.connector()::openConnections));
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("ca", pki.caCertificate());
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ssl = SSLContext.getInstance("TLS");
        ssl.init(null, tmf.getTrustManagers(), null);
        Collector collector = new Collector();

        WebSocket ws = HttpClient.newBuilder().sslContext(ssl).build().newWebSocketBuilder()
                .connectTimeout(Duration.ofSeconds(20))
                .buildAsync(URI.create("wss://localhost:" + server.port() + "/tls"), collector)
                .get(WAIT.toSeconds(), TimeUnit.SECONDS);
        byte[] big = MockPattern.bytes(1 << 20);
        ws.sendBinary(ByteBuffer.wrap(big), true).get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(collector.binary.get(WAIT.toSeconds(), TimeUnit.SECONDS)).isEqualTo(big);
        ws.sendText("close:4002", true).get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(collector.closed.get(WAIT.toSeconds(), TimeUnit.SECONDS)).isEqualTo(4002);
        assertThat(origin.awaitLine("closed ")).isEqualTo("closed 4002");
        awaitLogged(proxy, 1);
        assertThat(proxy.statuses).containsExactly(101);
        assertThat(server.awaitNoOpenConnections(WAIT)).isTrue();
    }

    private static void awaitLogged(RecordingProxy proxy, int n) throws InterruptedException {
        long end = System.nanoTime() + WAIT.toNanos();
        while (proxy.logged.size() < n && System.nanoTime() < end) {
            Thread.sleep(20);
        }
        assertThat(proxy.logged).as("logging ran once per request").hasSize(n);
    }

    /** Collects one text and one binary message (each possibly in parts) and the close code. */
    static final class Collector implements WebSocket.Listener {
        final CompletableFuture<String> text = new CompletableFuture<>();
        final CompletableFuture<byte[]> binary = new CompletableFuture<>();
        final CompletableFuture<Integer> closed = new CompletableFuture<>();
        private final StringBuilder textParts = new StringBuilder();
        private final ByteArrayOutputStream binaryParts = new ByteArrayOutputStream();

        @Override
        public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
            textParts.append(data);
            if (last) {
                text.complete(textParts.toString());
                textParts.setLength(0);
            }
            ws.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onBinary(WebSocket ws, ByteBuffer data, boolean last) {
            byte[] b = new byte[data.remaining()];
            data.get(b);
            binaryParts.writeBytes(b);
            if (last) {
                binary.complete(binaryParts.toByteArray());
            }
            ws.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onClose(WebSocket ws, int statusCode, String reason) {
            closed.complete(statusCode);
            return null;
        }

        @Override
        public void onError(WebSocket ws, Throwable error) {
            closed.complete(CLOSED_ABNORMALLY);
        }
    }

    /** Test bytes that a shifted copy would not match. */
    static final class MockPattern {
        static byte[] bytes(int n) {
            byte[] b = new byte[n];
            for (int i = 0; i < n; i++) {
                b[i] = (byte) (i * 31 + (i >>> 8));
            }
            return b;
        }
    }
}
