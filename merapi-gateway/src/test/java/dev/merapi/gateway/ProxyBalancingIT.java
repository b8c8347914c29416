package dev.merapi.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.testkit.MockOrigin;
import dev.merapi.testkit.MockResponse;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@code merapi proxy} in front of three upstreams, in a child JVM: the balancing flags end to end. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ProxyBalancingIT {
    private final List<MockOrigin> origins = new ArrayList<>();
    private HttpClient client;

    @BeforeEach
    void start() {
        for (int i = 0; i < 3; i++) {
            MockOrigin o = MockOrigin.start();
            String name = "o" + i;
            o.setDispatcher(r -> MockResponse.ok(name));
            origins.add(o);
        }
        client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
    }

    @AfterEach
    void stop() {
        client.shutdownNow();
        origins.forEach(MockOrigin::close);
    }

    @Test
    void weightedRoundRobinOverThreeUpstreamsInOneLine() throws Exception {
        int port = GatewayProcess.freePort();
        try (GatewayProcess gateway = GatewayProcess.start("proxy", "--listen", "127.0.0.1:" + port, "--threads", "1",
                "--upstream", upstream(0), "--upstream", upstream(1) + ",weight=2", "--upstream", upstream(2),
                "--health-check", "/health")) {
            String banner = gateway.awaitLine("proxy:", Duration.ofSeconds(30));
            assertThat(banner).contains(upstream(1) + ",weight=2", "[round-robin]");
            Map<String, Integer> served = new HashMap<>();
            for (int i = 0; i < 40; i++) {
                served.merge(get(port, "/r/" + i), 1, Integer::sum);
            }
            assertThat(served).containsEntry("o0", 10).containsEntry("o1", 20).containsEntry("o2", 10);
        }
    }

    @Test
    void ketamaOnTheUriSendsEachUriToOneUpstreamAndSkipsOneThatIsDown() throws Exception {
        int port = GatewayProcess.freePort();
        try (GatewayProcess gateway = GatewayProcess.start("proxy", "--listen", "127.0.0.1:" + port, "--threads", "1",
                "--upstream", upstream(0), "--upstream", upstream(1), "--upstream", upstream(2),
                "--balance", "ketama", "--hash-key", "uri")) {
            gateway.awaitLine("proxy:", Duration.ofSeconds(30));
            Map<String, String> first = new HashMap<>();
            for (int i = 0; i < 30; i++) {
                first.put("/obj/" + i, get(port, "/obj/" + i));
            }
            assertThat(first.values()).contains("o0", "o1", "o2");
            for (int i = 0; i < 30; i++) {
                assertThat(get(port, "/obj/" + i)).isEqualTo(first.get("/obj/" + i));
            }
            origins.get(1).close(); // its keys move to the next backend on the ring; the others stay
            for (int i = 0; i < 30; i++) {
                String now = get(port, "/obj/" + i);
                if (!first.get("/obj/" + i).equals("o1")) {
                    assertThat(now).isEqualTo(first.get("/obj/" + i));
                } else {
                    assertThat(now).isNotEqualTo("o1");
                }
            }
        }
    }

    private String upstream(int i) {
        return "127.0.0.1:" + origins.get(i).port();
    }

    private String get(int port, String path) throws Exception {
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(path).isEqualTo(200);
        return r.body();
    }
}
