package dev.merapi.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.gateway.config.ConfigLoader;
import dev.merapi.testkit.MockOrigin;
import dev.merapi.testkit.MockResponse;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * About 20 s of load on loopback while the configuration is reloaded 50 times, alternating two valid files (the
 * default route to group a, then to group b) and a broken one: no request fails, every response comes from the
 * group that a configuration in force while the request was in flight names, and no upstream connection is left open.
 * The file watch runs too, so some writes are applied twice.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ReloadUnderLoadIT {
    private static final int WORKERS = 8;
    private static final int RELOADS = 50;
    private static final Duration RELOAD_EVERY = Duration.ofMillis(400);

    @TempDir
    Path dir;

    private static String config(int originA, int originB, String group) {
        return """
                listeners: [{name: main, address: "127.0.0.1:0"}]
                upstreams:
                  - {name: a, backends: ["127.0.0.1:%d"]}
                  - {name: b, backends: ["127.0.0.1:%d"]}
                routes:
                  - {name: default, upstream: %s}
                admin: {enabled: false}
                """.formatted(originA, originB, group);
    }

    @Test
    void fiftyReloadsUnderLoadLoseNoRequestAndServeOnlyFromTheGroupInForce() throws Exception {
        try (MockOrigin a = MockOrigin.start(); MockOrigin b = MockOrigin.start()) {
            a.setDispatcher(r -> MockResponse.ok("a"));
            b.setDispatcher(r -> MockResponse.ok("b"));
            String configA = config(a.port(), b.port(), "a");
            String configB = config(a.port(), b.port(), "b");
            String broken = configB.replace("upstream: b", "upstream: c");
            Path file = dir.resolve("gw.yaml");
            Files.writeString(file, configA);
            Gateway gateway = Gateway.of(file, ConfigLoader.of());
            gateway.start();
            int port = ((InetSocketAddress) gateway.boundAddresses().getFirst()).getPort();

            // served.get(e) is the group that configuration epoch e sends the default route to; a reload is "pending"
            // from just before its swap to just after, so a request that overlaps it may see either side
            List<String> served = new CopyOnWriteArrayList<>(List.of("a"));
            AtomicInteger committed = new AtomicInteger();
            AtomicInteger pending = new AtomicInteger();
            AtomicLong ok = new AtomicLong();
            ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
            long end = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();
            List<Thread> workers = new ArrayList<>();
            for (int w = 0; w < WORKERS; w++) {
                workers.add(Thread.ofVirtual().start(() -> {
                    while (System.nanoTime() - end < 0) {
                        int lo = committed.get();
                        HttpResponse<String> r;
                        try {
                            r = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/x"))
                                    .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
                        } catch (IOException | InterruptedException e) {
                            failures.add(e + (e.getCause() == null ? "" : " caused by " + e.getCause()) + " while epochs " + lo + ".." + pending.get());
                            continue;
                        }
                        int hi = pending.get();
                        // a snapshot first: a subList of a CopyOnWriteArrayList throws once the list grows under it
                        List<String> epochs = List.copyOf(served);
                        Set<String> allowed = Set.copyOf(epochs.subList(lo, Math.min(hi + 1, epochs.size())));
                        if (r.statusCode() != 200 || !allowed.contains(r.body())) {
                            failures.add(r.statusCode() + " " + r.body() + " while epochs " + lo + ".." + hi + " allowed " + allowed);
                        } else {
                            ok.incrementAndGet();
                        }
                    }
                }));
            }
            int refused = 0;
            for (int i = 0; i < RELOADS; i++) {
                Thread.sleep(RELOAD_EVERY.toMillis());
                String text = switch (i % 3) {
                    case 0 -> configB;
                    case 1 -> broken;
                    default -> configA;
                };
                String next = text == broken ? served.getLast() : text == configA ? "a" : "b";
                served.add(next);
                pending.incrementAndGet(); // before the write: the file watch may apply it before reload() below
                Files.writeString(file, text);
                if (!gateway.reload()) {
                    refused++;
                }
                committed.incrementAndGet();
            }
            for (Thread t : workers) {
                t.join(Duration.ofSeconds(60));
            }
            client.shutdownNow();
            gateway.server().shutdownGracefully();

            assertThat(failures).as("failed or misrouted requests").isEmpty();
            assertThat(ok.get()).as("requests served").isGreaterThan(1000);
            assertThat(refused).isEqualTo(17);
            // the file watch reloads some of the same writes again, or sees a file half written (and refuses it)
            assertThat(gateway.reloadsOk()).isGreaterThanOrEqualTo(33);
            assertThat(gateway.reloadsFailed()).isGreaterThanOrEqualTo(17);
            assertThat(a.requestCount()).isPositive();
            assertThat(b.requestCount()).isPositive();
            assertThat(a.awaitNoOpenConnections(Duration.ofSeconds(30))).as("connections left open to a").isTrue();
            assertThat(b.awaitNoOpenConnections(Duration.ofSeconds(30))).as("connections left open to b").isTrue();
        }
    }
}
