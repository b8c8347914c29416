package dev.merapi.examples.loadbalancer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.core.services.ListeningService;
import dev.merapi.loadbalancing.Backend;
import dev.merapi.loadbalancing.LoadBalancer;
import dev.merapi.loadbalancing.selection.SelectionAlgorithm;
import dev.merapi.proxy.HttpProxy;
import dev.merapi.testkit.MockOrigin;
import dev.merapi.testkit.MockResponse;
import dev.merapi.testkit.OriginFault;
import dev.merapi.testkit.RecordedRequest;
import dev.merapi.testkit.TestServer;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Runs the load balancer example in front of two mock origins. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class LoadBalancerProxyTest {
    private MockOrigin a;
    private MockOrigin b;
    private HttpClient client;

    @BeforeEach
    void startOrigins() {
        a = MockOrigin.start();
        a.setDispatcher(request -> MockResponse.ok("a"));
        b = MockOrigin.start();
        b.setDispatcher(request -> MockResponse.ok("b"));
        client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
    }

    @AfterEach
    void stop() {
        client.shutdownNow();
        a.close();
        b.close();
    }

    @Test
    void requestsAlternateBetweenTheUpstreams() throws Exception {
        HttpProxy<LoadBalancerProxy.Ctx> proxy = HttpProxy.of(new LoadBalancerProxy(balancer(a, b)));
        try (TestServer server = TestServer.start(ListeningService.http("lb", proxy))
                .checkClosedOnStop(proxy.connector()::openConnections)) {
            List<String> servedBy = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                HttpResponse<String> response = client.send(HttpRequest.newBuilder(server.uri("/" + i))
                        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
                assertThat(response.statusCode()).isEqualTo(200);
                servedBy.add(response.body());
            }

            assertThat(servedBy).containsExactly("a", "b", "a", "b", "a", "b");
            assertThat(a.requests()).extracting(RecordedRequest::target).containsExactly("/0", "/2", "/4");
            assertThat(b.requests()).extracting(RecordedRequest::target).containsExactly("/1", "/3", "/5");
            // each upstream connection is pooled and reused for that upstream's next turn
            assertThat(a.connectionCount()).isEqualTo(1);
            assertThat(b.connectionCount()).isEqualTo(1);
        }
    }

    @Test
    void upstreamRequestFilterSetsHostToTheChosenUpstream() throws Exception {
        HttpProxy<LoadBalancerProxy.Ctx> proxy = HttpProxy.of(new LoadBalancerProxy(balancer(a, b)));
        try (TestServer server = TestServer.start(ListeningService.http("lb", proxy))
                .checkClosedOnStop(proxy.connector()::openConnections)) {
            for (int i = 0; i < 2; i++) {
                client.send(HttpRequest.newBuilder(server.uri("/")).timeout(Duration.ofSeconds(10)).build(),
                        HttpResponse.BodyHandlers.discarding());
            }

            assertThat(a.takeRequest().headerValues("Host")).containsExactly(hostPort(a));
            assertThat(b.takeRequest().headerValues("Host")).containsExactly(hostPort(b));
        }
    }

    @Test
    void noHealthyBackendIsA502() throws Exception {
        LoadBalancer balancer = balancer(a, b);
        balancer.disable(hostPort(a));
        balancer.disable(hostPort(b));
        HttpProxy<LoadBalancerProxy.Ctx> proxy = HttpProxy.of(new LoadBalancerProxy(balancer));
        try (TestServer server = TestServer.start(ListeningService.http("lb", proxy))
                .checkClosedOnStop(proxy.connector()::openConnections)) {
            HttpResponse<String> response = client.send(HttpRequest.newBuilder(server.uri("/"))
                    .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(response.statusCode()).isEqualTo(502);
            assertThat(a.requestCount() + b.requestCount()).isZero();
        }
    }

    @Test
    void aGetWithABodyThatAnOriginMayHaveActedOnIsNotRetriedButAPlainGetIs() throws Exception {
        a.setDispatcher(request -> MockResponse.builder().fault(new OriginFault.CloseAfterRequest()).build());
        HttpProxy<LoadBalancerProxy.Ctx> proxy = HttpProxy.of(new LoadBalancerProxy(balancer(a, b)));
        try (TestServer server = TestServer.start(ListeningService.http("lb", proxy))
                .checkClosedOnStop(proxy.connector()::openConnections)) {
            HttpResponse<String> withBody = client.send(HttpRequest.newBuilder(server.uri("/search"))
                    .method("GET", HttpRequest.BodyPublishers.ofString("q=1")).timeout(Duration.ofSeconds(10)).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(withBody.statusCode()).as("content on a GET makes it not idempotent").isEqualTo(502);
            assertThat(a.requestCount()).isEqualTo(1);
            assertThat(b.requestCount()).as("never sent to a second backend").isZero();

            HttpResponse<String> plain = client.send(HttpRequest.newBuilder(server.uri("/plain"))
                    .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(plain.statusCode()).isEqualTo(200);
            assertThat(plain.body()).isEqualTo("b");
        }
    }

    private static LoadBalancer balancer(MockOrigin... origins) {
        return LoadBalancer.of(SelectionAlgorithm.roundRobin(), List.of(origins).stream().map(o -> Backend.of(hostPort(o))).toList());
    }

    private static String hostPort(MockOrigin origin) {
        return "127.0.0.1:" + origin.port();
    }
}
