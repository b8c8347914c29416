package dev.merapi.loadbalancing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.merapi.loadbalancing.health.HealthEvent;
import dev.merapi.loadbalancing.health.OutlierDetection;
import dev.merapi.loadbalancing.selection.SelectionAlgorithm;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The balancer without sockets: selection over state, swaps, administration, passive ejection; a fake clock. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LoadBalancerTest {
    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    private final List<HealthEvent> events = new CopyOnWriteArrayList<>();

    private static final Backend A = Backend.of("10.0.0.1:80");
    private static final Backend B = Backend.of("10.0.0.2:80");
    private static final Backend C = Backend.of("10.0.0.3:80");

    private LoadBalancer balancer(SelectionAlgorithm algorithm, OutlierDetection od, Backend... backends) {
        return LoadBalancer.builder(algorithm).backends(List.of(backends)).outlierDetection(od).clock(now::get)
                .listener(events::add).build();
    }

    @Test
    void roundRobinSkipsADisabledBackendAndKeepsTheOthersTurns() {
        LoadBalancer lb = balancer(SelectionAlgorithm.roundRobin(), OutlierDetection.DEFAULT, A, B, C);
        lb.disable(B.name());
        List<String> picks = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            picks.add(lb.select("").orElseThrow().name());
        }
        assertThat(picks).doesNotContain(B.name()).containsOnly(A.name(), C.name());
        assertThat(picks.stream().filter(A.name()::equals).count()).isEqualTo(3);
        lb.enable(B.name());
        assertThat(IntStream.range(0, 3).mapToObj(i -> lb.select("").orElseThrow().name()).toList()).contains(B.name());
        assertThat(events).extracting(HealthEvent::kind).containsExactly(HealthEvent.Kind.DISABLED, HealthEvent.Kind.ENABLED);
    }

    @Test
    void acceptFunctionVetoesTheBackendThatJustFailed() {
        for (SelectionAlgorithm algorithm : List.of(SelectionAlgorithm.ketama(), SelectionAlgorithm.maglev(),
                SelectionAlgorithm.fnvHash(), SelectionAlgorithm.roundRobin(), SelectionAlgorithm.random(),
                SelectionAlgorithm.leastConnections(), SelectionAlgorithm.peakEwma())) {
            LoadBalancer lb = balancer(algorithm, OutlierDetection.DEFAULT, A, B, C);
            for (int k = 0; k < 50; k++) {
                byte[] key = ("/k" + k).getBytes(java.nio.charset.StandardCharsets.UTF_8);
                Backend first = lb.select(key).orElseThrow();
                Backend retry = lb.select(key, b -> !b.equals(first)).orElseThrow();
                assertThat(retry).as(algorithm.name()).isNotEqualTo(first);
            }
        }
    }

    @Test
    void selectionTriesAtMostMaxIterationsCandidates() {
        LoadBalancer lb = LoadBalancer.builder(SelectionAlgorithm.random()).maxIterations(4)
                .backends(IntStream.range(0, 100).mapToObj(i -> Backend.of("10.1.0." + i + ":80")).toList()).build();
        AtomicInteger asked = new AtomicInteger();
        assertThat(lb.select(new byte[0], b -> asked.incrementAndGet() < 0)).isEmpty();
        assertThat(asked.get()).isEqualTo(4);
        asked.set(0);
        assertThat(lb.select(new byte[0], 100, b -> asked.incrementAndGet() < 0)).isEmpty();
        assertThat(asked.get()).isEqualTo(100);
    }

    @Test
    void noAvailableBackendSelectsNothing() {
        LoadBalancer lb = balancer(SelectionAlgorithm.leastConnections(), OutlierDetection.DEFAULT, A, B);
        lb.disable(A.name());
        lb.disable(B.name());
        assertThat(lb.select("x")).isEmpty();
        assertThat(lb.status()).extracting(BackendStatus::available).containsExactly(false, false);
    }

    @Test
    void consecutiveFailuresEjectForAGrowingTimeWithACap() {
        OutlierDetection od = new OutlierDetection(3, Duration.ofSeconds(10), Duration.ofSeconds(25), 10);
        LoadBalancer lb = balancer(SelectionAlgorithm.roundRobin(), od, A, B, C);
        fail(lb, A, 2);
        try (Lease ok = lb.begin(A)) {
            ok.responded(200); // a success ends the streak
        }
        fail(lb, A, 2);
        assertThat(lb.status(A.name()).orElseThrow().ejected()).isFalse();
        fail(lb, A, 1);
        assertThat(lb.status(A.name()).orElseThrow().ejected()).isTrue();
        assertThat(IntStream.range(0, 20).mapToObj(i -> lb.select("").orElseThrow()).toList()).doesNotContain(A);

        // only one of three may be out at once (10 % of 3, but at least one)
        fail(lb, B, 3);
        assertThat(lb.status(B.name()).orElseThrow().ejected()).isFalse();

        now.addAndGet(Duration.ofSeconds(10).toNanos());
        lb.returnEjected();
        assertThat(lb.status(A.name()).orElseThrow().available()).isTrue();
        fail(lb, A, 3); // the second ejection lasts twice as long
        now.addAndGet(Duration.ofSeconds(19).toNanos());
        assertThat(lb.status(A.name()).orElseThrow().ejected()).isTrue();
        now.addAndGet(Duration.ofSeconds(1).toNanos());
        assertThat(lb.status(A.name()).orElseThrow().ejected()).isFalse();
        lb.returnEjected();
        fail(lb, A, 3); // the third would be 30 s: capped at 25 s
        now.addAndGet(Duration.ofSeconds(25).toNanos());
        assertThat(lb.status(A.name()).orElseThrow().ejected()).isFalse();
        assertThat(events).extracting(HealthEvent::kind).containsExactly(HealthEvent.Kind.EJECTED, HealthEvent.Kind.RETURNED,
                HealthEvent.Kind.EJECTED, HealthEvent.Kind.RETURNED, HealthEvent.Kind.EJECTED);
        assertThat(lb.status(A.name()).orElseThrow().ejections()).isEqualTo(3);
    }

    @Test
    void fiveHundredsCountAsFailuresAndFourHundredsDoNot() {
        LoadBalancer lb = balancer(SelectionAlgorithm.roundRobin(), new OutlierDetection(2, Duration.ofSeconds(1), Duration.ofSeconds(1), 50), A, B);
        for (int status : new int[] {404, 503, 429, 502, 500}) {
            try (Lease l = lb.begin(A)) {
                l.responded(status);
            }
        }
        assertThat(events).extracting(HealthEvent::kind).containsExactly(HealthEvent.Kind.EJECTED);
        assertThat(events.getFirst().reason()).contains("2 failures in a row", "status 500");
    }

    @Test
    void drainStopsNewRequestsAndCompletesWhenTheLastOneEnds() {
        LoadBalancer lb = balancer(SelectionAlgorithm.leastConnections(), OutlierDetection.DEFAULT, A, B);
        Lease first = lb.begin(A);
        Lease second = lb.begin(A);
        CompletionStage<Void> drained = lb.drain(A.name());
        assertThat(drained.toCompletableFuture()).isNotDone();
        assertThat(IntStream.range(0, 10).mapToObj(i -> lb.select("").orElseThrow()).toList()).containsOnly(B);
        first.close();
        first.close(); // idempotent: counts once
        assertThat(drained.toCompletableFuture()).isNotDone();
        second.close();
        assertThat(drained.toCompletableFuture()).isCompleted();
        assertThat(lb.status(A.name()).orElseThrow().inflight()).isZero();
        assertThatThrownBy(() -> lb.drain("10.9.9.9:80")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void peakEwmaLatencyJumpsToASlowSampleAndDecays() {
        LoadBalancer lb = balancer(SelectionAlgorithm.peakEwma(), OutlierDetection.DEFAULT, A, B);
        sample(lb, A, Duration.ofMillis(10));
        sample(lb, A, Duration.ofMillis(200));
        assertThat(lb.status(A.name()).orElseThrow().latency()).isEqualTo(Duration.ofMillis(200));
        sample(lb, B, Duration.ofMillis(5));
        int toB = 0;
        for (int i = 0; i < 400; i++) {
            toB += lb.select("").orElseThrow().equals(B) ? 1 : 0;
        }
        assertThat(toB).isGreaterThan(250);
        now.addAndGet(Duration.ofSeconds(30).toNanos());
        assertThat(lb.status(A.name()).orElseThrow().latency()).isLessThan(Duration.ofMillis(20));
    }

    @Test
    void swappingTheSetWhileSelectingNeverShowsAMixedOrEmptySet() throws Exception {
        List<Backend> even = IntStream.range(0, 50).mapToObj(i -> Backend.of("10.2.0." + (2 * i) + ":80")).toList();
        List<Backend> odd = IntStream.range(0, 50).mapToObj(i -> Backend.of("10.2.0." + (2 * i + 1) + ":80")).toList();
        LoadBalancer lb = LoadBalancer.of(SelectionAlgorithm.ketama(), even);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger bad = new AtomicInteger();
        AtomicInteger selections = new AtomicInteger();
        List<Thread> readers = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            readers.add(Thread.ofPlatform().start(() -> {
                int k = 0;
                while (!stop.get()) {
                    List<Backend> set = lb.backends();
                    Backend b = lb.select("key" + k++).orElse(null);
                    if (b == null || !(even.contains(b) || odd.contains(b)) || !(set.equals(even) || set.equals(odd))) {
                        bad.incrementAndGet();
                    }
                    selections.incrementAndGet();
                }
            }));
        }
        for (int i = 0; i < 200; i++) {
            assertThat(lb.setBackends(i % 2 == 0 ? odd : even)).isTrue();
        }
        stop.set(true);
        for (Thread t : readers) {
            t.join();
        }
        assertThat(bad.get()).isZero();
        assertThat(selections.get()).isPositive();
        assertThat(lb.setChanges()).isEqualTo(201);
        assertThat(lb.setBackends(even)).as("the same set again is no change").isFalse();
    }

    @Test
    void stateSurvivesASwapThatKeepsTheBackend() {
        LoadBalancer lb = balancer(SelectionAlgorithm.roundRobin(), OutlierDetection.DEFAULT, A, B);
        lb.disable(A.name());
        lb.setBackends(List.of(Backend.of(A.name(), 3), B, C));
        assertThat(lb.status(A.name()).orElseThrow().enabled()).isFalse();
        assertThat(lb.status(C.name()).orElseThrow().enabled()).isTrue();
    }

    @Test
    void invalidSetsAndBackendsAreRefused() {
        assertThatThrownBy(() -> LoadBalancer.of(SelectionAlgorithm.random(), List.of(A, Backend.of(A.name(), 2))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("listed twice");
        assertThatThrownBy(() -> LoadBalancer.of(SelectionAlgorithm.random(), List.of()))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Backend.of("no-port")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Backend.of("10.0.0.1:80", 0)).isInstanceOf(IllegalArgumentException.class);
        assertThat(Backend.builder("[::1]:8443").tls(true).sni("api.test").weight(2).build().toString())
                .isEqualTo("https://[::1]:8443,weight=2");
        record Zone(String name) { }
        Backend zoned = Backend.builder("10.0.0.9:80").extension(Zone.class, new Zone("eu-1")).build();
        assertThat(zoned.extension(Zone.class)).contains(new Zone("eu-1"));
        assertThat(zoned).isNotEqualTo(Backend.of("10.0.0.9:80")).isEqualTo(zoned.toBuilder().build());
        Set<Backend> set = new HashSet<>(List.of(zoned, zoned.toBuilder().build()));
        assertThat(set).hasSize(1);
    }

    private void fail(LoadBalancer lb, Backend b, int times) {
        for (int i = 0; i < times; i++) {
            try (Lease l = lb.begin(b)) {
                l.failed();
            }
        }
    }

    private void sample(LoadBalancer lb, Backend b, Duration latency) {
        try (Lease l = lb.begin(b)) {
            now.addAndGet(latency.toNanos());
            l.responded(200);
        }
    }
}
