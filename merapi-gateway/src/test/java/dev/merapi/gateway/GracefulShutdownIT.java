package dev.merapi.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.merapi.core.server.ServerConfig;
import dev.merapi.core.services.ListeningService;
import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.proxy.HttpProxy;
import dev.merapi.testkit.MockOrigin;
import dev.merapi.testkit.MockResponse;
import dev.merapi.testkit.RawClient;
import dev.merapi.testkit.TestServer;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Graceful and fast shutdown, in-process through {@link dev.merapi.core.server.Server} and as a real gateway
 * process that gets SIGTERM or SIGINT.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class GracefulShutdownIT {
    /** 256 KiB in 16 writes, 100 ms apart: in flight for about 1.6 s. */
    private static final long SLOW_SIZE = 256 * 1024;
    private static final MockResponse SLOW = MockResponse.builder().streamedBody(SLOW_SIZE)
            .throttle(16 * 1024, Duration.ofMillis(100)).build();
    /** 1 MiB in 8 KiB writes, 100 ms apart: would take about 13 s. */
    private static final MockResponse VERY_SLOW = MockResponse.builder().streamedBody(1024 * 1024)
            .throttle(8 * 1024, Duration.ofMillis(100)).build();

    private MockOrigin origin;

    @BeforeEach
    void startOrigin() {
        origin = MockOrigin.start();
        origin.setDispatcher(request -> switch (request.target()) {
            case "/slow" -> SLOW;
            case "/very-slow" -> VERY_SLOW;
            default -> MockResponse.ok("quick\n");
        });
    }

    @AfterEach
    void stopOrigin() {
        origin.close();
    }

    // ---- in-process

    @Test
    void gracefulShutdownFinishesTheInFlightResponseClosesIdleConnectionsAndRefusesNewOnes() throws Exception {
        HttpProxy<Void> proxy = HttpProxy.of(new ForwardProxy(HttpPeer.of(origin.address(), false, "")));
        try (TestServer server = TestServer.start(ListeningService.http("proxy", proxy), config(Duration.ofSeconds(10)))
                        .checkClosedOnStop(proxy.connector()::openConnections);
                RawClient idle = RawClient.connect(server.port());
                RawClient busy = RawClient.connect(server.port())) {
            idle.send("GET /quick HTTP/1.1\r\nHost: test\r\n\r\n");
            assertThat(idle.readResponse().status()).isEqualTo(200);
            origin.takeRequest();
            busy.send("GET /slow HTTP/1.1\r\nHost: test\r\n\r\n");
            CompletableFuture<RawClient.Response> slow = TestGateways.readAsync(busy);
            assertThat(origin.takeRequest().target()).isEqualTo("/slow");

            long began = System.nanoTime();
            Thread shutdown = Thread.ofPlatform().name("test-graceful-shutdown").start(server.server()::shutdownGracefully);

            assertThat(idle.isClosedByPeer(Duration.ofSeconds(2))).as("idle keep-alive connection closed").isTrue();
            assertThat(elapsedMillis(began)).as("ms until the idle connection closed").isLessThan(1000);
            assertThat(slow).as("the slow response is still streaming").isNotDone();
            assertThatThrownBy(() -> connect(server.address())).isInstanceOf(ConnectException.class);

            RawClient.Response response = slow.get(20, TimeUnit.SECONDS);
            assertThat(response.status()).isEqualTo(200);
            assertThat(response.body()).hasSize((int) SLOW_SIZE);
            assertThat(crc(response.body())).isEqualTo(MockResponse.patternCrc(SLOW_SIZE));
            assertThat(busy.isClosedByPeer()).as("connection closed after its last response").isTrue();
            shutdown.join(Duration.ofSeconds(10));
            assertThat(shutdown.isAlive()).isFalse();
            assertThat(elapsedMillis(began)).as("graceful shutdown ends with the last response, not the grace period")
                    .isLessThan(8000);
        }
    }

    @Test
    void fastShutdownCutsTheInFlightResponsePromptly() throws Exception {
        HttpProxy<Void> proxy = HttpProxy.of(new ForwardProxy(HttpPeer.of(origin.address(), false, "")));
        try (TestServer server = TestServer.start(ListeningService.http("proxy", proxy), config(Duration.ofSeconds(10)))
                        .checkClosedOnStop(proxy.connector()::openConnections);
                RawClient busy = RawClient.connect(server.port())) {
            busy.send("GET /very-slow HTTP/1.1\r\nHost: test\r\n\r\n");
            CompletableFuture<RawClient.Response> slow = TestGateways.readAsync(busy);
            origin.takeRequest();

            long began = System.nanoTime();
            Thread shutdown = Thread.ofPlatform().name("test-fast-shutdown").start(server.server()::shutdownFast);

            assertThatThrownBy(() -> slow.get(5, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                    .cause().isInstanceOf(IOException.class).hasMessageContaining("connection closed");
            shutdown.join(Duration.ofSeconds(5));
            assertThat(shutdown.isAlive()).isFalse();
            assertThat(elapsedMillis(began)).as("ms until fast shutdown ended").isLessThan(3000);
            assertThat(origin.awaitNoOpenConnections(Duration.ofSeconds(5))).as("upstream connection closed").isTrue();
        }
    }

    // ---- a real gateway process

    @Test
    void sigtermLetsTheInFlightRequestFinishThenExitsZero() throws Exception {
        int port = GatewayProcess.freePort();
        try (GatewayProcess gateway = GatewayProcess.start("proxy", "--listen", "127.0.0.1:" + port,
                "--upstream", "127.0.0.1:" + origin.port(), "--threads", "1", "--grace-period", "10s")) {
            gateway.awaitLine("proxy:", Duration.ofSeconds(30));
            try (RawClient client = RawClient.connect(port)) {
                client.send("GET /slow HTTP/1.1\r\nHost: test\r\n\r\n");
                CompletableFuture<RawClient.Response> slow = TestGateways.readAsync(client);
                assertThat(origin.takeRequest().target()).isEqualTo("/slow");

                gateway.terminate();

                RawClient.Response response = slow.get(20, TimeUnit.SECONDS);
                assertThat(response.status()).isEqualTo(200);
                assertThat(crc(response.body())).isEqualTo(MockResponse.patternCrc(SLOW_SIZE));
                assertThat(gateway.awaitExit(Duration.ofSeconds(15))).as("exit code; output:\n%s", gateway.output()).isZero();
            }
        }
    }

    @Test
    void sigintStopsAtOnceAndExitsZero() throws Exception {
        int port = GatewayProcess.freePort();
        try (GatewayProcess gateway = GatewayProcess.start("proxy", "--listen", "127.0.0.1:" + port,
                "--upstream", "127.0.0.1:" + origin.port(), "--threads", "1", "--grace-period", "10s")) {
            gateway.awaitLine("proxy:", Duration.ofSeconds(30));
            try (RawClient client = RawClient.connect(port)) {
                client.send("GET /very-slow HTTP/1.1\r\nHost: test\r\n\r\n");
                CompletableFuture<RawClient.Response> slow = TestGateways.readAsync(client);
                origin.takeRequest();

                long began = System.nanoTime();
                gateway.signal("INT");

                assertThat(gateway.awaitExit(Duration.ofSeconds(10))).as("exit code; output:\n%s", gateway.output()).isZero();
                assertThat(elapsedMillis(began)).as("ms from SIGINT to exit").isLessThan(5000);
                assertThatThrownBy(() -> slow.get(5, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                        .cause().isInstanceOf(IOException.class);
            }
        }
    }

    @Test
    void sigtermRightAfterTheStartLineIsStillGraceful() throws Exception {
        // a supervisor may signal the moment the gateway says it is ready; the signal handlers must be in place by then
        for (int i = 0; i < 3; i++) {
            int port = GatewayProcess.freePort();
            try (GatewayProcess gateway = GatewayProcess.start("proxy", "--listen", "127.0.0.1:" + port,
                    "--upstream", "127.0.0.1:" + origin.port(), "--threads", "1")) {
                gateway.awaitLine("proxy:", Duration.ofSeconds(30));

                gateway.terminate();

                assertThat(gateway.awaitExit(Duration.ofSeconds(15))).as("exit code (143: killed by SIGTERM); output:\n%s",
                        gateway.output()).isZero();
            }
        }
    }

    @Test
    void theEmbeddedDefaultServesItsDemoOriginThenStopsOnSigterm() throws Exception {
        int port = GatewayProcess.freePort();
        try (GatewayProcess gateway = GatewayProcess.start("--listen", "127.0.0.1:" + port, "--admin", "127.0.0.1:0", "--threads", "1");
                HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                        .connectTimeout(Duration.ofSeconds(5)).build()) {
            String tryIt = gateway.awaitLine("Try it:", Duration.ofSeconds(30));
            Matcher url = Pattern.compile("curl -i (http://\\S+)").matcher(tryIt);
            assertThat(url.find()).as("a URL in '%s'", tryIt).isTrue();
            assertThat(url.group(1)).isEqualTo("http://127.0.0.1:" + port + "/");
            assertThat(gateway.output()).contains("listening on http://127.0.0.1:" + port + " (proxy)", "built-in demo origin");

            HttpResponse<String> response = client.send(HttpRequest.newBuilder(URI.create(url.group(1)))
                    .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());

            assertThat(response.statusCode()).isEqualTo(200);
            assertThat(response.body()).contains("Hello from the Merapi demo origin", "Served by: merapi-demo-origin",
                    "Request: GET /");
            assertThat(response.headers().firstValue("X-Served-By")).hasValue("merapi-demo-origin");
            assertThat(response.headers().firstValue("Via")).hasValue("1.1 merapi");

            gateway.terminate();
            assertThat(gateway.awaitExit(Duration.ofSeconds(15))).as("exit code; output:\n%s", gateway.output()).isZero();
        }
    }

    // ---- helpers

    private static ServerConfig config(Duration grace) {
        return ServerConfig.builder().threads(1).gracePeriod(grace).name("test").build();
    }

    private static void connect(InetSocketAddress address) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(address, 2000);
        }
    }

    private static long crc(byte[] bytes) {
        CRC32 crc = new CRC32();
        crc.update(bytes);
        return crc.getValue();
    }

    private static long elapsedMillis(long since) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - since);
    }
}
