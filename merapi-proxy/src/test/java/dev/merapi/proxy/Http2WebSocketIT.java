package dev.merapi.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.core.tunnels.TunnelStats;
import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.testkit.MockResponse;
import dev.merapi.testkit.RecordedRequest;
import dev.merapi.testkit.TestServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * WebSocket over HTTP/2 (RFC 8441) between real peers: a python3-h2 client ({@code h2-websocket.py}) opens an extended
 * CONNECT on Merapi's h2c listener, and Merapi carries it to Debian's python3-websockets echo origin as an HTTP/1.1
 * upgrade. The setting advertised, the handshake, messages both ways (one of 1 MiB), closes from either side, and the
 * refusals.
 */
class Http2WebSocketIT {
    private static final Duration WAIT = Duration.ofSeconds(90);

    @RegisterExtension
    final ProxyFixture fixture = new ProxyFixture();

    /** Runs {@code h2-websocket.py} against {@code port}; its "key value" lines by key, once it exited by itself. */
    private static Map<String, String> h2Client(int port, String mode) throws IOException, InterruptedException {
        Path script;
        try {
            script = Path.of(Http2WebSocketIT.class.getResource("/h2-websocket.py").toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
        Process p = new ProcessBuilder("/usr/bin/python3", script.toString(), Integer.toString(port), mode)
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try {
            assertThat(p.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS)).as("h2-websocket.py exits by itself").isTrue();
            Map<String, String> lines = new LinkedHashMap<>();
            for (String line : new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                int space = line.indexOf(' ');
                if (space > 0) {
                    lines.put(line.substring(0, space), line.substring(space + 1));
                }
            }
            assertThat(p.exitValue()).as("h2-websocket.py exit code; output " + lines).isZero();
            return lines;
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    void websocketOverH2EchoesBothWaysAndTheClientsCloseEndsTheStream() throws Exception {
        PythonWebSocketPeer origin = fixture.closeAfter(PythonWebSocketPeer.server());
        TunnelRecordingProxy proxy = new TunnelRecordingProxy(HttpPeer.of("127.0.0.1:" + origin.port()));
        TestServer server = fixture.serve(HttpProxy.of(proxy));

        Map<String, String> out = h2Client(server.port(), "echo");

        assertThat(out).containsEntry("enable_connect_protocol", "1")
                .containsEntry("status", "200")
                .containsEntry("accept-header", "False") // the HTTP/1.1 handshake's answer stays behind
                .containsEntry("text", "hello over h2")
                .containsEntry("binary", "1048576 True")
                .containsEntry("closed", "4000")
                .containsEntry("end", "stream-ended");
        assertThat(origin.awaitLine("closed ")).as("the client's close code reached the origin").isEqualTo("closed 4000");
        proxy.awaitLogged(1);
        assertThat(proxy.upgrades).containsExactly(true);
        assertThat(proxy.statuses).as("what the HTTP/2 client got").containsExactly(200);
        TunnelStats stats = proxy.tunnels.getFirst().orElseThrow();
        assertThat(stats.bytesUpstream()).as("client to origin: the 1 MiB message and the rest").isGreaterThan(1L << 20);
        assertThat(stats.bytesDownstream()).as("origin to client: the echo and the rest").isGreaterThan(1L << 20);
        assertThat(proxy.loggedErrors()).containsExactly(Optional.empty());
        assertThat(server.awaitNoOpenConnections(WAIT)).isTrue();
    }

    @Test
    void originsCloseReachesTheH2ClientAndEndsItsStream() throws Exception {
        PythonWebSocketPeer origin = fixture.closeAfter(PythonWebSocketPeer.server());
        TunnelRecordingProxy proxy = new TunnelRecordingProxy(HttpPeer.of("127.0.0.1:" + origin.port()));
        TestServer server = fixture.serve(HttpProxy.of(proxy));

        Map<String, String> out = h2Client(server.port(), "server-close");

        assertThat(out).containsEntry("status", "200").containsEntry("closed", "4001").containsEntry("end", "stream-ended");
        assertThat(origin.awaitLine("closed ")).isEqualTo("closed 4001");
        proxy.awaitLogged(1);
        assertThat(server.awaitNoOpenConnections(WAIT)).isTrue();
    }

    @Test
    void originThatDoesNotSwitchLeavesHttpInForce() throws Exception {
        fixture.origin().enqueue(MockResponse.builder().status(403).body("no websockets here").build());
        TunnelRecordingProxy proxy = new TunnelRecordingProxy(fixture.peer());
        TestServer server = fixture.serve(HttpProxy.of(proxy));

        Map<String, String> out = h2Client(server.port(), "echo");

        assertThat(out).containsEntry("status", "403").doesNotContainKey("text");
        RecordedRequest seen = fixture.origin().takeRequest();
        assertThat(seen.method()).isEqualTo("GET");
        assertThat(seen.target()).isEqualTo("/echo");
        assertThat(seen.header("Upgrade")).hasValue("websocket");
        assertThat(seen.header("Sec-WebSocket-Key")).as("made by Merapi for the HTTP/1.1 handshake").isPresent();
        assertThat(seen.header("Sec-WebSocket-Version")).hasValue("13");
        proxy.awaitLogged(1);
        assertThat(proxy.statuses).containsExactly(403);
    }

    @Test
    void extendedConnectIsAnswered501WhenUpgradesAreOff() throws Exception {
        TunnelRecordingProxy proxy = new TunnelRecordingProxy(fixture.peer());
        TestServer server = fixture.serve(HttpProxy.of(proxy,
                ProxyOptions.builder().tunnels(TunnelOptions.builder().upgrades(false).build()).build()));

        Map<String, String> out = h2Client(server.port(), "echo");

        assertThat(out).containsEntry("status", "501");
        assertThat(fixture.origin().requestCount()).as("nothing reached the origin").isZero();
        assertThat(proxy.onlyLoggedError().rule()).hasValue("extended-connect-refused");
    }

    @Test
    void originsWrongSecWebSocketAcceptIsA502AndNoTunnel() throws Exception {
        try (ServerSocket liar = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Thread origin = Thread.ofVirtual().start(() -> {
                try (Socket s = liar.accept()) {
                    InputStream in = s.getInputStream();
                    int matched = 0;
                    while (matched < 4) { // the head ends with CRLF CRLF
                        int b = in.read();
                        if (b < 0) {
                            return;
                        }
                        matched = (b == (matched % 2 == 0 ? '\r' : '\n')) ? matched + 1 : (b == '\r' ? 1 : 0);
                    }
                    s.getOutputStream().write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                            + "Connection: Upgrade\r\nSec-WebSocket-Accept: bm90IHRoZSBhbnN3ZXI=\r\n\r\n")
                            .getBytes(StandardCharsets.US_ASCII));
                    s.getOutputStream().flush();
                    in.read(); // until Merapi drops the connection
                } catch (IOException e) {
                    // the test asserts on what the client got
                }
            });
            TunnelRecordingProxy proxy = new TunnelRecordingProxy(HttpPeer.of("127.0.0.1:" + liar.getLocalPort()));
            TestServer server = fixture.serve(HttpProxy.of(proxy));

            Map<String, String> out = h2Client(server.port(), "echo");

            assertThat(out).containsEntry("status", "502").doesNotContainKey("text");
            proxy.awaitLogged(1);
            assertThat(proxy.upgrades).containsExactly(true);
            assertThat(proxy.tunnels).containsExactly(Optional.empty());
            origin.join(WAIT);
        }
    }
}
