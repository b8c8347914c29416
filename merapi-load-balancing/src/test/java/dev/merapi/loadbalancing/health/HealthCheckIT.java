package dev.merapi.loadbalancing.health;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.merapi.loadbalancing.Backend;
import dev.merapi.loadbalancing.BackendStatus;
import dev.merapi.loadbalancing.LoadBalancer;
import dev.merapi.loadbalancing.selection.SelectionAlgorithm;
import dev.merapi.testkit.MockOrigin;
import dev.merapi.testkit.MockResponse;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Active checks against real sockets on loopback. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HealthCheckIT {
    private final List<HealthEvent> events = new CopyOnWriteArrayList<>();

    @Test
    void tcpCheckTurnsABackendUnhealthyAfterFallAndHealthyAfterRise() throws Exception {
        MockOrigin origin = MockOrigin.start();
        int port = origin.port();
        Backend b = Backend.of("127.0.0.1:" + port);
        LoadBalancer lb = LoadBalancer.builder(SelectionAlgorithm.roundRobin()).backends(List.of(b)).listener(events::add)
                .healthCheck(HealthCheck.builder(Probe.tcp()).timeout(Duration.ofSeconds(2)).rise(2).fall(3).build()).build();
        lb.runHealthChecks();
        assertThat(lb.status(b.name()).orElseThrow().healthy()).isTrue();
        origin.close();
        lb.runHealthChecks();
        lb.runHealthChecks();
        assertThat(lb.status(b.name()).orElseThrow().healthy()).as("two failures of three").isTrue();
        lb.runHealthChecks();
        BackendStatus down = lb.status(b.name()).orElseThrow();
        assertThat(down.healthy()).isFalse();
        assertThat(down.lastCheck()).contains("Connect");
        assertThat(lb.select("x")).isEmpty();

        try (MockOrigin back = MockOrigin.builder().port(port).start()) {
            lb.runHealthChecks();
            assertThat(lb.status(b.name()).orElseThrow().healthy()).as("one success of two").isFalse();
            lb.runHealthChecks();
            assertThat(lb.status(b.name()).orElseThrow().healthy()).isTrue();
            assertThat(lb.select("x")).contains(b);
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (back.connectionCount() < 2 && System.nanoTime() - deadline < 0) {
                Thread.sleep(10); // the origin counts a connection on its own accept thread
            }
            assertThat(back.connectionCount()).as("both probes reached the origin").isEqualTo(2);
        }
        assertThat(events).extracting(HealthEvent::kind).containsExactly(HealthEvent.Kind.UNHEALTHY, HealthEvent.Kind.HEALTHY);
        assertThat(lb.status(b.name()).orElseThrow().healthChanges()).isEqualTo(2);
    }

    @Test
    void httpCheckPassesOnlyForTheExpectedStatusAndBody() throws Exception {
        try (MockOrigin origin = MockOrigin.start()) {
            Backend b = Backend.of("127.0.0.1:" + origin.port());
            HttpProbe probe = HttpProbe.builder("/healthz").host("app.test").expectStatus(200, 299).bodyContains("\"status\":\"up\"").build();
            origin.enqueue(MockResponse.ok("{\"status\":\"up\"}"));
            probe.check(b, Duration.ofSeconds(5));
            assertThat(origin.takeRequest().headerValues("Host")).containsExactly("app.test");

            origin.enqueue(MockResponse.builder().status(200).chunkedBody("{\"status\":\"up\",\"pad\":\"........\"}"
                    .getBytes(java.nio.charset.StandardCharsets.UTF_8), 5).build());
            probe.check(b, Duration.ofSeconds(5)); // the text spans chunks

            origin.enqueue(MockResponse.ok("{\"status\":\"down\"}"));
            assertThatThrownBy(() -> probe.check(b, Duration.ofSeconds(5))).isInstanceOf(IOException.class)
                    .hasMessageContaining("does not contain");
            origin.enqueue(MockResponse.builder().status(503).body("{\"status\":\"up\"}").build());
            assertThatThrownBy(() -> probe.check(b, Duration.ofSeconds(5))).isInstanceOf(IOException.class)
                    .hasMessageContaining("status 503, expected 200 to 299");
            origin.enqueue(MockResponse.builder().status(302).build());
            HttpProbe.of("/").check(b, Duration.ofSeconds(5)); // the default range takes redirects
            assertThat(origin.takeRequest().target()).isEqualTo("/healthz");
        }
    }

    @Test
    void httpCheckTimesOutOnABackendThatNeverAnswers() throws Exception {
        try (ServerSocket silent = new ServerSocket(0, 8, InetAddress.getLoopbackAddress())) {
            Backend b = Backend.of("127.0.0.1:" + silent.getLocalPort());
            assertThatThrownBy(() -> HttpProbe.of("/").check(b, Duration.ofMillis(300)))
                    .isInstanceOf(java.net.SocketTimeoutException.class);
        }
    }

    @Test
    void probesOfOneRoundRunInParallel() throws Exception {
        int n = 8;
        CountDownLatch allStarted = new CountDownLatch(n);
        List<Backend> backends = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            backends.add(Backend.of("127.0.0." + (i + 1) + ":9"));
        }
        // each probe passes only if every probe of the round has started: only possible when they run together
        Probe together = (backend, timeout) -> {
            allStarted.countDown();
            if (!allStarted.await(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new IOException("ran alone");
            }
        };
        LoadBalancer lb = LoadBalancer.builder(SelectionAlgorithm.random()).backends(backends).listener(events::add)
                .healthCheck(HealthCheck.builder(together).timeout(Duration.ofSeconds(20)).fall(1).build()).build();
        lb.runHealthChecks();
        assertThat(lb.status()).allMatch(s -> s.healthy() && s.lastCheck().equals("passed"));
        assertThat(events).isEmpty();
    }

    @Test
    void healthCheckSettingsAreBounded() {
        assertThatThrownBy(() -> HealthCheck.builder(Probe.tcp()).interval(Duration.ZERO)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> HealthCheck.builder(Probe.tcp()).rise(0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> HttpProbe.of("/a b")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> HttpProbe.of("healthz")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> HttpProbe.builder("/").expectStatus(300, 200)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new OutlierDetection(0, Duration.ofSeconds(1), Duration.ofSeconds(1), 10))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(HealthCheck.http("/healthz").toString()).contains("GET /healthz", "rise 2", "fall 3");
    }

    @Test
    void backgroundServiceChecksOnItsOwnAndNeverOnTheCaller() throws Exception {
        try (MockOrigin origin = MockOrigin.start()) {
            Backend b = Backend.of("127.0.0.1:" + origin.port());
            LoadBalancer lb = LoadBalancer.builder(SelectionAlgorithm.roundRobin()).backends(List.of(b)).listener(events::add)
                    .healthCheck(HealthCheck.builder(HttpProbe.of("/ping")).interval(Duration.ofMillis(50)).fall(1).build()).build();
            dev.merapi.core.server.Server server = new dev.merapi.core.server.Server(
                    dev.merapi.core.server.ServerConfig.builder().threads(1).name("hc").build());
            server.addService(lb.backgroundService());
            server.start();
            try {
                origin.takeRequest(Duration.ofSeconds(10));
                origin.takeRequest(Duration.ofSeconds(10)); // a second round: it repeats
                origin.setDispatcher(r -> MockResponse.builder().status(500).build());
                long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
                while (events.isEmpty() && System.nanoTime() - deadline < 0) { // the event follows the change
                    Thread.sleep(20);
                }
                assertThat(lb.status(b.name()).orElseThrow().healthy()).isFalse();
                assertThat(events).extracting(HealthEvent::kind).contains(HealthEvent.Kind.UNHEALTHY);
            } finally {
                server.shutdownFast();
            }
        }
    }

}
