package dev.merapi.examples.loadbalancer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.core.services.ListeningService;
import dev.merapi.loadbalancing.Backend;
import dev.merapi.loadbalancing.BackendStatus;
import dev.merapi.loadbalancing.LoadBalancer;
import dev.merapi.loadbalancing.health.HealthCheck;
import dev.merapi.loadbalancing.health.HealthEvent;
import dev.merapi.loadbalancing.health.HttpProbe;
import dev.merapi.loadbalancing.health.OutlierDetection;
import dev.merapi.loadbalancing.selection.SelectionAlgorithm;
import dev.merapi.proxy.HttpProxy;
import dev.merapi.testkit.MockOrigin;
import dev.merapi.testkit.MockResponse;
import dev.merapi.testkit.TestServer;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Failover end to end: three real origins behind the example load balancer, one killed in the middle of a bounded
 * load run. No idempotent request may fail; the killed origin is marked unhealthy by the active checks, and
 * healthy again, and back in the rotation, when it returns.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class FailoverIT {
    private static final int CLIENTS = 4;
    private static final int REQUESTS_PER_CLIENT = 150;

    @Test
    void aBackendKilledMidRunFailsNoIdempotentRequestAndReturnsWhenItComesBack() throws Exception {
        List<MockOrigin> origins = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            MockOrigin o = MockOrigin.start();
            String name = "origin-" + i;
            // a little latency, so that requests are in flight on the origin when it dies
            o.setDispatcher(r -> MockResponse.builder().headersDelay(Duration.ofMillis(2)).body(name).build());
            origins.add(o);
        }
        List<HealthEvent> events = new CopyOnWriteArrayList<>();
        LoadBalancer balancer = LoadBalancer.builder(SelectionAlgorithm.roundRobin())
                .backends(origins.stream().map(o -> Backend.of("127.0.0.1:" + o.port())).toList())
                .healthCheck(HealthCheck.builder(HttpProbe.of("/health")).interval(Duration.ofMillis(100))
                        .timeout(Duration.ofSeconds(1)).rise(2).fall(2).build())
                .outlierDetection(new OutlierDetection(3, Duration.ofMillis(500), Duration.ofSeconds(2), 50))
                .listener(events::add).build();
        MockOrigin victim = origins.get(1);
        int victimPort = victim.port();
        String victimName = "127.0.0.1:" + victimPort;
        HttpProxy<LoadBalancerProxy.Ctx> proxy = HttpProxy.of(new LoadBalancerProxy(balancer));
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
        MockOrigin revived = null;
        try (TestServer server = TestServer.start(ListeningService.http("lb", proxy))
                .checkClosedOnStop(proxy.connector()::openConnections)) {
            Thread checks = Thread.ofVirtual().start(() -> runChecksUntilInterrupted(balancer));
            try {
                AtomicInteger sent = new AtomicInteger();
                List<String> failures = new CopyOnWriteArrayList<>();
                Map<String, AtomicInteger> servedBy = new ConcurrentHashMap<>();
                CountDownLatch killed = new CountDownLatch(1);
                List<Thread> clients = new ArrayList<>();
                for (int c = 0; c < CLIENTS; c++) {
                    clients.add(Thread.ofVirtual().start(() -> {
                        for (int i = 0; i < REQUESTS_PER_CLIENT; i++) {
                            int n = sent.incrementAndGet();
                            if (n == CLIENTS * REQUESTS_PER_CLIENT / 3) {
                                victim.close(); // mid-run: in-flight requests and pooled connections die with it
                                killed.countDown();
                            }
                            String method = n % 5 == 0 ? "HEAD" : "GET";
                            try {
                                HttpResponse<String> r = client.send(HttpRequest.newBuilder(server.uri("/item/" + n))
                                        .method(method, HttpRequest.BodyPublishers.noBody()).timeout(Duration.ofSeconds(20)).build(),
                                        HttpResponse.BodyHandlers.ofString());
                                if (r.statusCode() != 200) {
                                    failures.add(method + " /item/" + n + ": " + r.statusCode());
                                } else if (method.equals("GET")) {
                                    servedBy.computeIfAbsent(r.body(), k -> new AtomicInteger()).incrementAndGet();
                                }
                            } catch (Exception e) {
                                failures.add(method + " /item/" + n + ": " + e);
                            }
                        }
                    }));
                }
                for (Thread t : clients) {
                    t.join();
                }
                assertThat(killed.getCount()).isZero();
                assertThat(failures).as("failed idempotent requests").isEmpty();
                assertThat(servedBy.keySet()).contains("origin-0", "origin-1", "origin-2");

                await(() -> !status(balancer, victimName).healthy(), "the killed backend is marked unhealthy");
                assertThat(events).anyMatch(e -> e.kind() == HealthEvent.Kind.UNHEALTHY && e.backend().name().equals(victimName));
                for (int i = 0; i < 30; i++) { // while it is down, nothing is sent to it and nothing fails
                    HttpResponse<String> r = client.send(HttpRequest.newBuilder(server.uri("/down/" + i)).timeout(Duration.ofSeconds(20))
                            .build(), HttpResponse.BodyHandlers.ofString());
                    assertThat(r.statusCode()).isEqualTo(200);
                    assertThat(r.body()).isNotEqualTo("origin-1");
                }

                revived = MockOrigin.builder().port(victimPort).start();
                revived.setDispatcher(r -> MockResponse.ok("origin-1"));
                await(() -> status(balancer, victimName).available(), "the returned backend is healthy and in rotation");
                assertThat(events).anyMatch(e -> e.kind() == HealthEvent.Kind.HEALTHY && e.backend().name().equals(victimName));
                int before = (int) revived.requests().stream().filter(r -> r.target().startsWith("/back/")).count();
                for (int i = 0; i < 9; i++) {
                    HttpResponse<String> r = client.send(HttpRequest.newBuilder(server.uri("/back/" + i)).timeout(Duration.ofSeconds(20))
                            .build(), HttpResponse.BodyHandlers.ofString());
                    assertThat(r.statusCode()).isEqualTo(200);
                }
                assertThat(revived.requests().stream().filter(r -> r.target().startsWith("/back/")).count() - before)
                        .as("round robin over three again").isEqualTo(3);
            } finally {
                checks.interrupt();
                checks.join();
                client.shutdownNow();
            }
        } finally {
            origins.forEach(MockOrigin::close);
            if (revived != null) {
                revived.close();
            }
        }
    }

    private static void runChecksUntilInterrupted(LoadBalancer balancer) {
        var service = balancer.backgroundService();
        try {
            while (true) {
                service.runOnce();
                Thread.sleep(service.period());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            throw new AssertionError("the balancer's background service failed", e);
        }
    }

    private static BackendStatus status(LoadBalancer balancer, String name) {
        return balancer.status(name).orElseThrow();
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("timed out waiting until " + what);
            }
            Thread.sleep(20);
        }
    }
}
