package dev.merapi.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.testkit.MockOrigin;
import dev.merapi.testkit.RawClient;
import dev.merapi.testkit.RecordedRequest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code merapi proxy} as a user runs it, in a child JVM on loopback: loop protection and the flags of the hop and
 * forwarding-header policies.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class ProxyCommandIT {

    private static long openDescriptors(long pid) throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
            return fds.count();
        }
    }

    @Test
    void aProxyPointedAtItselfAnswers508AndOpensOneConnectionToItself() throws Exception {
        int port = GatewayProcess.freePort();
        try (GatewayProcess gateway = GatewayProcess.start("proxy", "--listen", "127.0.0.1:" + port,
                "--upstream", "127.0.0.1:" + port, "--threads", "2")) {
            gateway.awaitLine("proxy:", Duration.ofSeconds(30));
            long before = openDescriptors(gateway.pid());
            try (RawClient client = RawClient.connect(port)) {
                client.send("GET /loop HTTP/1.1\r\nHost: test\r\n\r\n");
                RawClient.Response r = client.readResponse();
                assertThat(r.status()).isEqualTo(508);
                assertThat(r.header("via")).contains("1.1 merapi");
                Thread.sleep(500); // a loop would keep going after the answer: give it time to show
                // the client's connection, one upstream connection to itself and the accepted end of it
                assertThat(openDescriptors(gateway.pid()) - before).as("descriptors opened by one request").isLessThanOrEqualTo(3);
            }
        }
    }

    @Test
    void priorKnowledgeH2IsServedByDefaultAndNoH2TurnsItOff() throws Exception {
        try (MockOrigin origin = MockOrigin.start()) {
            for (boolean off : new boolean[] {false, true}) {
                int port = GatewayProcess.freePort();
                List<String> args = new ArrayList<>(List.of("proxy", "--listen", "127.0.0.1:" + port, "--upstream",
                        "127.0.0.1:" + origin.port(), "--threads", "1"));
                if (off) {
                    args.add("--no-h2");
                }
                try (GatewayProcess gateway = GatewayProcess.start(args.toArray(String[]::new))) {
                    gateway.awaitLine("proxy:", Duration.ofSeconds(30));
                    Process curl = new ProcessBuilder("curl", "-s", "--max-time", "20", "--http2-prior-knowledge", "-o",
                            "/dev/null", "-w", "%{http_version} %{http_code}", "http://127.0.0.1:" + port + "/")
                            .redirectErrorStream(true).start();
                    assertThat(curl.waitFor(30, TimeUnit.SECONDS)).isTrue();
                    String out = new String(curl.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
                    if (off) {
                        assertThat(out).as("--no-h2").doesNotStartWith("2 200");
                    } else {
                        assertThat(out).isEqualTo("2 200");
                    }
                    try (RawClient client = RawClient.connect(port)) {
                        client.send("GET / HTTP/1.1\r\nHost: test\r\n\r\n");
                        assertThat(client.readResponse().status()).isEqualTo(200);
                    }
                }
            }
        }
    }

    @Test
    void viaAndTrustedProxyFlagsReachTheOrigin() throws Exception {
        int port = GatewayProcess.freePort();
        try (MockOrigin origin = MockOrigin.start();
                GatewayProcess gateway = GatewayProcess.start("proxy", "--listen", "127.0.0.1:" + port,
                        "--upstream", "127.0.0.1:" + origin.port(), "--threads", "1", "--via", "edge-1",
                        "--trusted-proxy", "127.0.0.0/8", "--trusted-proxy", "10.0.0.0/8")) {
            gateway.awaitLine("proxy:", Duration.ofSeconds(30));
            try (RawClient client = RawClient.connect(port)) {
                client.send("GET / HTTP/1.1\r\nHost: test\r\nX-Forwarded-For: 198.51.100.4\r\n\r\n");
                RawClient.Response r = client.readResponse();
                assertThat(r.status()).isEqualTo(200);
                assertThat(r.header("via")).contains("1.1 edge-1");
            }
            RecordedRequest got = origin.takeRequest();
            assertThat(got.headerValues("Via")).containsExactly("1.1 edge-1");
            assertThat(got.headerValues("X-Forwarded-For")).containsExactly("198.51.100.4, 127.0.0.1");
        }
    }

    @Test
    void withoutTrustedProxiesAClientsForwardingHeadersAreReplaced() throws Exception {
        int port = GatewayProcess.freePort();
        try (MockOrigin origin = MockOrigin.start();
                GatewayProcess gateway = GatewayProcess.start("proxy", "--listen", "127.0.0.1:" + port,
                        "--upstream", "127.0.0.1:" + origin.port(), "--threads", "1")) {
            gateway.awaitLine("proxy:", Duration.ofSeconds(30));
            try (RawClient client = RawClient.connect(port)) {
                client.send("GET / HTTP/1.1\r\nHost: test\r\nX-Forwarded-For: 198.51.100.4\r\nX-Real-IP: 198.51.100.4\r\n\r\n");
                assertThat(client.readResponse().status()).isEqualTo(200);
            }
            RecordedRequest got = origin.takeRequest();
            assertThat(got.headerValues("X-Forwarded-For")).containsExactly("127.0.0.1");
            assertThat(got.headerValues("X-Real-IP")).containsExactly("127.0.0.1");
            assertThat(got.headerValues("Via")).containsExactly("1.1 merapi");
        }
    }
}
