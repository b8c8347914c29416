package dev.merapi.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.core.security.SecurityEvents;
import dev.merapi.testkit.MockOrigin;
import dev.merapi.testkit.MockResponse;
import dev.merapi.testkit.RawClient;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gateway's {@code listeners[].connect.allow} and {@code tunnel-idle-timeout} over real sockets: curl tunnels
 * through a listener that allows its target, a target off the list gets 403, a listener without the key answers 405,
 * routing is unchanged beside it, an idle tunnel is closed after the listener's timeout, and a reload can turn
 * CONNECT off.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class GatewayConnectIT {
    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    Path dir;
    private final MockOrigin origin = MockOrigin.start();
    private Gateway gateway;

    @AfterEach
    void stop() {
        if (gateway != null) {
            gateway.shutdownFast();
        }
        origin.close();
    }

    /** Listener 0 ({@code tunnels}) lets CONNECT through to {@code allow}; listener 1 ({@code plain}) has no connect key. */
    private String config(String tunnelsListenerKeys) {
        return """
                listeners:
                  - name: tunnels
                    address: "127.0.0.1:0"
                %s
                  - {name: plain, address: "127.0.0.1:0"}
                upstreams: [{name: app, backends: ["127.0.0.1:%d"]}]
                routes: [{name: all, upstream: app}]
                admin: {enabled: false}
                """.formatted(tunnelsListenerKeys.indent(4).stripTrailing(), origin.port());
    }

    @Test
    void curlTunnelsThroughAListenerWhoseConnectAllowNamesTheTarget() throws Exception {
        origin.setDispatcher(r -> MockResponse.ok("origin saw " + r.target()));
        gateway = TestGateways.start(dir, config("connect: {allow: [\"127.0.0.1:" + origin.port() + "\"]}"));
        int tunnels = port("tunnels");

        Curl curl = Curl.run(List.of("--proxytunnel", "-x", "http://127.0.0.1:" + tunnels,
                "http://127.0.0.1:" + origin.port() + "/through-the-tunnel"));
        assertThat(curl.exit()).as(curl.output()).isZero();
        assertThat(curl.output()).isEqualTo("origin saw /through-the-tunnel");

        RawClient.Response routed = get(tunnels, "/routed");
        assertThat(routed.status()).as("requests other than CONNECT are routed as before").isEqualTo(200);
        assertThat(routed.bodyText()).isEqualTo("origin saw /routed");
        gateway.shutdownFast(); // the routed request's connection is pooled until then
        gateway = null;
        assertThat(origin.awaitNoOpenConnections(WAIT)).as("the tunnel's connection and the pooled one are closed").isTrue();
    }

    @Test
    void aTargetOffTheListIs403AndAListenerWithoutConnectAnswers405() throws Exception {
        gateway = TestGateways.start(dir, config("connect: {allow: [\"127.0.0.1:" + origin.port() + "\", \"*:443\"]}"));
        long before = SecurityEvents.count("connect-not-allowed");

        assertThat(connect(port("tunnels"), "127.0.0.1:22")).isEqualTo(403);
        assertThat(connect(port("tunnels"), "localhost:" + origin.port())).as("a name is not its address").isEqualTo(403);
        assertThat(SecurityEvents.count("connect-not-allowed") - before).isEqualTo(2);
        assertThat(connect(port("plain"), "127.0.0.1:" + origin.port())).isEqualTo(405);
        assertThat(origin.connectionCount()).as("no refused CONNECT reached the origin").isZero();
    }

    @Test
    void aTunnelIdleForTheListenersTunnelIdleTimeoutIsClosed() throws Exception {
        try (ServerSocket target = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            gateway = TestGateways.start(dir, config("tunnel-idle-timeout: 1s\nconnect: {allow: [\"127.0.0.1:" + target.getLocalPort() + "\"]}"));
            try (RawClient client = RawClient.connect(port("tunnels"))) {
                client.send("CONNECT 127.0.0.1:" + target.getLocalPort() + " HTTP/1.1\r\nHost: x\r\n\r\nping");
                try (Socket s = target.accept()) {
                    assertThat(client.readResponse(true).status()).isEqualTo(200); // a 2xx to CONNECT has no body
                    assertThat(new String(s.getInputStream().readNBytes(4), StandardCharsets.US_ASCII)).isEqualTo("ping");
                    // the library's default would keep it for an hour
                    assertThat(client.isClosedByPeer(WAIT)).as("closed after 1 s without a byte").isTrue();
                    s.setSoTimeout((int) WAIT.toMillis());
                    assertThat(s.getInputStream().read()).as("the target's side is closed too").isEqualTo(-1);
                }
            }
        }
    }

    @Test
    void aReloadThatRemovesConnectAnswersTheNextConnect405() throws Exception {
        gateway = TestGateways.start(dir, config("connect: {allow: [\"127.0.0.1:" + origin.port() + "\"]}"));
        assertThat(connectThenGet(port("tunnels"))).isEqualTo(200);

        Files.writeString(dir.resolve("gw.yaml"), config("max-connections-per-ip: 0"));
        assertThat(gateway.reload()).isTrue();
        assertThat(connect(port("tunnels"), "127.0.0.1:" + origin.port())).isEqualTo(405);
    }

    /** The port of the listener named {@code name}; a listener that a reload changed is bound again on a new one. */
    private int port(String name) {
        return ((InetSocketAddress) gateway.listeners().get(name).getFirst()).getPort();
    }

    /** The status of a CONNECT to {@code target}. */
    private static int connect(int port, String target) throws IOException {
        try (RawClient c = RawClient.connect(port)) {
            c.send("CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n\r\n");
            return c.readResponse(true).status();
        }
    }

    /** Tunnels to the origin and asks it for {@code /} through the tunnel; the origin's status. */
    private int connectThenGet(int port) throws IOException {
        try (RawClient c = RawClient.connect(port)) {
            c.send("CONNECT 127.0.0.1:" + origin.port() + " HTTP/1.1\r\nHost: x\r\n\r\n");
            assertThat(c.readResponse(true).status()).isEqualTo(200);
            c.send("GET / HTTP/1.1\r\nHost: origin\r\nConnection: close\r\n\r\n");
            return c.readResponse().status();
        }
    }

    private static RawClient.Response get(int port, String path) throws IOException {
        try (RawClient c = RawClient.connect(port)) {
            c.send("GET " + path + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
            return c.readResponse();
        }
    }
}
