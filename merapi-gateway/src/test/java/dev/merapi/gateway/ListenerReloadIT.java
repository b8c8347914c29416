package dev.merapi.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.merapi.gateway.config.ConfigLoader;
import dev.merapi.testkit.MockOrigin;
import dev.merapi.testkit.MockResponse;
import dev.merapi.testkit.RawClient;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Listeners added and removed by a reload, over real sockets: an added one answers, a removed one refuses new
 * connections while its request in flight completes, and an unchanged one keeps its socket and its connections.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class ListenerReloadIT {
    /** 256 KiB in 16 writes, 100 ms apart: in flight for about 1.6 s. */
    private static final long SLOW_SIZE = 256 * 1024;
    private static final MockResponse SLOW = MockResponse.builder().streamedBody(SLOW_SIZE)
            .throttle(16 * 1024, Duration.ofMillis(100)).build();

    @TempDir
    Path dir;
    private MockOrigin origin;
    private Gateway gateway;
    private Path file;

    @BeforeEach
    void start() throws IOException {
        origin = MockOrigin.start();
        origin.setDispatcher(r -> r.target().equals("/slow") ? SLOW : MockResponse.ok("hello"));
        file = dir.resolve("gw.yaml");
        Files.writeString(file, config(List.of("main")));
        gateway = Gateway.of(file, ConfigLoader.of());
        gateway.start();
    }

    @AfterEach
    void stop() {
        gateway.shutdownFast();
        origin.close();
    }

    private String config(List<String> listeners) {
        StringBuilder l = new StringBuilder();
        for (String name : listeners) {
            l.append("  - {name: ").append(name).append(", address: \"127.0.0.1:0\"}\n");
        }
        return "listeners:\n" + l + """
                upstreams: [{name: app, backends: ["127.0.0.1:%d"]}]
                routes: [{name: all, upstream: app}]
                admin: {enabled: false}
                """.formatted(origin.port());
    }

    @Test
    void aReloadThatAddsAListenerStartsItAndKeepsTheOthersSockets() throws Exception {
        SocketAddress main = gateway.boundAddresses().getFirst();
        try (RawClient kept = RawClient.connect(port(main))) {
            kept.send("GET /a HTTP/1.1\r\nHost: t\r\n\r\n");
            assertThat(kept.readResponse().status()).isEqualTo(200);

            Files.writeString(file, config(List.of("main", "extra")));
            assertThat(gateway.reload()).isTrue();

            assertThat(gateway.boundAddresses()).hasSize(2).first().isEqualTo(main);
            try (RawClient added = RawClient.connect(port(gateway.boundAddresses().get(1)))) {
                added.send("GET /b HTTP/1.1\r\nHost: t\r\n\r\n");
                assertThat(added.readResponse().status()).isEqualTo(200);
            }
            kept.send("GET /c HTTP/1.1\r\nHost: t\r\n\r\n");
            assertThat(kept.readResponse().status()).as("the unchanged listener's keep-alive connection lives on").isEqualTo(200);
        }
    }

    @Test
    void aReloadThatRemovesAListenerRefusesNewConnectionsAndLetsTheRequestInFlightFinish() throws Exception {
        Files.writeString(file, config(List.of("main", "extra")));
        assertThat(gateway.reload()).isTrue();
        InetSocketAddress extra = (InetSocketAddress) gateway.boundAddresses().get(1);
        try (RawClient busy = RawClient.connect(extra.getPort())) {
            busy.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n");
            CompletableFuture<RawClient.Response> slow = TestGateways.readAsync(busy);
            assertThat(origin.takeRequest(Duration.ofSeconds(10)).target()).isEqualTo("/slow");

            Files.writeString(file, config(List.of("main")));
            assertThat(gateway.reload()).isTrue();

            assertThat(gateway.boundAddresses()).hasSize(1);
            assertThatThrownBy(() -> connect(extra)).isInstanceOf(ConnectException.class);
            assertThat(slow).as("still streaming after the reload").isNotDone();
            RawClient.Response response = slow.get(20, TimeUnit.SECONDS);
            assertThat(response.status()).isEqualTo(200);
            CRC32 crc = new CRC32();
            crc.update(response.body());
            assertThat(crc.getValue()).isEqualTo(MockResponse.patternCrc(SLOW_SIZE));
            assertThat(busy.isClosedByPeer()).as("the drained connection closes after its response").isTrue();
        }
    }

    @Test
    void aListenerThatCannotBeBoundFailsTheReloadAndTheRunningOnesStay() throws Exception {
        SocketAddress main = gateway.boundAddresses().getFirst();
        try (ServerSocket taken = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            Files.writeString(file, config(List.of("main")).replace("listeners:\n",
                    "listeners:\n  - {name: busy, address: \"127.0.0.1:" + taken.getLocalPort() + "\"}\n"));

            assertThat(gateway.reload()).isFalse();

            assertThat(gateway.reloadsFailed()).isEqualTo(1);
            assertThat(gateway.boundAddresses()).containsExactly(main);
            try (RawClient client = RawClient.connect(port(main))) {
                client.send("GET /a HTTP/1.1\r\nHost: t\r\n\r\n");
                assertThat(client.readResponse().status()).isEqualTo(200);
            }
        }
    }

    private static int port(SocketAddress a) {
        return ((InetSocketAddress) a).getPort();
    }

    private static void connect(InetSocketAddress address) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(address, 2000);
        }
    }
}
