package dev.merapi.loadbalancing.selection;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.merapi.loadbalancing.Backend;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** The algorithms on their own, over a fixed load view. */
class SelectionAlgorithmTest {

    @Test
    void roundRobinIsNginxsSmoothSequence() {
        RoundRobin rr = new RoundRobin(List.of(Backend.of("10.0.0.1:80", 5), Backend.of("10.0.0.2:80"), Backend.of("10.0.0.3:80")));
        // nginx's documented sequence for weights 5, 1, 1: a a b a c a a
        assertThat(rr.sequenceForTest()).containsExactly(0, 0, 1, 0, 2, 0, 0);
    }

    @Test
    void roundRobinSequenceOfLargeWeightsIsReducedAndBounded() {
        RoundRobin rr = new RoundRobin(List.of(Backend.of("10.0.0.1:80", 300), Backend.of("10.0.0.2:80", 100)));
        assertThat(rr.sequenceForTest()).containsExactly(0, 0, 1, 0);
        List<Backend> many = IntStream.range(0, 1000).mapToObj(i -> Backend.of("10.0.%d.%d:80".formatted(i / 250, i % 250),
                Backend.MAX_WEIGHT - i)).toList();
        int[] seq = new RoundRobin(many).sequenceForTest();
        assertThat((long) seq.length * many.size()).isLessThanOrEqualTo(Weights.MAX_SEQUENCE_WORK + many.size() * (long) many.size());
        assertThat(Arrays.stream(seq).distinct().count()).isEqualTo(1000);
    }

    @Test
    void everyAlgorithmHonoursWeights() {
        List<Backend> backends = List.of(Backend.of("10.0.0.1:80", 1), Backend.of("10.0.0.2:80", 3));
        for (SelectionAlgorithm algorithm : List.of(SelectionAlgorithm.roundRobin(), SelectionAlgorithm.random(),
                SelectionAlgorithm.fnvHash(), SelectionAlgorithm.ketama(), SelectionAlgorithm.maglev(),
                SelectionAlgorithm.leastConnections(), SelectionAlgorithm.peakEwma())) {
            Selector s = algorithm.build(backends);
            FixedLoad load = new FixedLoad(backends);
            int[] hits = new int[2];
            for (int k = 0; k < 40_000; k++) {
                int i = s.candidates(("/key/" + k).getBytes(StandardCharsets.UTF_8), load).next();
                hits[i]++;
                if (algorithm == SelectionAlgorithm.leastConnections() || algorithm == SelectionAlgorithm.peakEwma()) {
                    load.inflight[i]++; // requests that stay in flight: the load-aware ones spread them by weight
                }
            }
            double tolerance = 0.05;
            assertThat(hits[1] / 40_000.0).as(algorithm.name()).isCloseTo(0.75, org.assertj.core.data.Offset.offset(tolerance));
        }
    }

    @Test
    void hashingAlgorithmsSendAKeyToTheSameBackendEveryTime() {
        List<Backend> backends = IntStream.range(0, 7).mapToObj(i -> Backend.of("10.0.0." + i + ":80")).toList();
        for (SelectionAlgorithm algorithm : List.of(SelectionAlgorithm.fnvHash(), SelectionAlgorithm.ketama(), SelectionAlgorithm.maglev())) {
            Selector a = algorithm.build(backends);
            Selector b = algorithm.build(backends.reversed().reversed());
            for (int k = 0; k < 500; k++) {
                byte[] key = ("user-" + k).getBytes(StandardCharsets.UTF_8);
                assertThat(a.candidates(key, new FixedLoad(backends)).next()).as(algorithm.name())
                        .isEqualTo(b.candidates(key, new FixedLoad(backends)).next());
            }
            assertThat(algorithm.usesKey()).isTrue();
        }
    }

    @Test
    void candidatesVisitEveryBackendOnceThenEnd() {
        List<Backend> backends = IntStream.range(0, 9).mapToObj(i -> Backend.of("10.0.0." + i + ":80", 1 + i % 3)).toList();
        for (String name : List.of("round-robin", "random", "hash", "ketama", "least-conn", "p2c-ewma", "maglev")) {
            Selector s = SelectionAlgorithm.parse(name).build(backends);
            Selector.Candidates c = s.candidates("k".getBytes(StandardCharsets.UTF_8), new FixedLoad(backends));
            List<Integer> seen = new ArrayList<>();
            for (int i = c.next(); i != Selector.Candidates.NONE; i = c.next()) {
                seen.add(i);
            }
            assertThat(seen).as(name).doesNotHaveDuplicates().hasSize(9);
        }
    }

    @Test
    void leastConnectionsTakesTheFewestInFlightPerUnitOfWeight() {
        List<Backend> backends = List.of(Backend.of("10.0.0.1:80", 1), Backend.of("10.0.0.2:80", 4), Backend.of("10.0.0.3:80", 1));
        FixedLoad load = new FixedLoad(backends);
        load.inflight[0] = 2; // 2 per unit
        load.inflight[1] = 6; // 1.5 per unit
        load.inflight[2] = 3; // 3 per unit
        Selector s = SelectionAlgorithm.leastConnections().build(backends);
        assertThat(s.candidates(new byte[0], load).next()).isEqualTo(1);
        load.available[1] = false;
        assertThat(s.candidates(new byte[0], load).next()).isEqualTo(0);
    }

    @Test
    void peakEwmaPrefersTheFasterOfTwoAndAvoidsASilentBackend() {
        List<Backend> backends = List.of(Backend.of("10.0.0.1:80"), Backend.of("10.0.0.2:80"));
        FixedLoad load = new FixedLoad(backends);
        load.latency[0] = 50_000_000; // 50 ms
        load.latency[1] = 2_000_000; // 2 ms
        Selector s = SelectionAlgorithm.peakEwma().build(backends);
        int fast = 0;
        for (int k = 0; k < 1000; k++) {
            fast += s.candidates(new byte[0], load).next() == 1 ? 1 : 0;
        }
        // both picks land on backend 0 a quarter of the time; otherwise the faster one wins
        assertThat(fast).isBetween(650, 850);
        load.latency[1] = 0;
        load.inflight[1] = 5; // five requests out and no answer yet
        load.latency[0] = 0;
        int silent = 0;
        for (int k = 0; k < 1000; k++) {
            silent += s.candidates(new byte[0], load).next() == 1 ? 1 : 0;
        }
        assertThat(silent).isBetween(150, 350);
    }

    @Test
    void maglevTableIsFullAndSpreadByWeight() {
        List<Backend> backends = List.of(Backend.of("10.0.0.1:80", 1), Backend.of("10.0.0.2:80", 2), Backend.of("10.0.0.3:80", 1));
        int[] table = new Maglev(backends, 5003).tableForTest();
        int[] count = new int[3];
        for (int i : table) {
            count[i]++;
        }
        assertThat(count[0] + count[1] + count[2]).isEqualTo(5003);
        assertThat(count[1] / 5003.0).isCloseTo(0.5, org.assertj.core.data.Offset.offset(0.01));
        assertThatThrownBy(() -> SelectionAlgorithm.maglev(1000)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("prime");
    }

    @Test
    void ketamaPutsOneHundredSixtyPointsPerUnitOfWeight() {
        Ketama k = new Ketama(List.of(Backend.of("127.0.0.1:8080", 2), Backend.of("127.0.0.1:8081")));
        assertThat(k.pointsForTest()).isBetween(479, 480);
        assertThat(new String(Ketama.baseOf("127.0.0.1:8080"), StandardCharsets.ISO_8859_1)).isEqualTo("127.0.0.1\u00008080");
        assertThat(new String(Ketama.baseOf("backend"), StandardCharsets.ISO_8859_1)).isEqualTo("backend\u0000");
    }

    @Test
    void consistentHashingMovesAboutOneNthOfTheKeysWhenABackendIsAdded() {
        List<Backend> ten = IntStream.range(0, 10).mapToObj(i -> Backend.of("10.0.0." + i + ":80")).toList();
        List<Backend> eleven = new ArrayList<>(ten);
        eleven.add(Backend.of("10.0.0.10:80"));
        for (SelectionAlgorithm algorithm : List.of(SelectionAlgorithm.ketama(), SelectionAlgorithm.maglev())) {
            double moved = KeyMovement.share(algorithm, ten, eleven, 20_000);
            assertThat(moved).as(algorithm.name()).isBetween(0.5 / 11, 2.0 / 11);
        }
        assertThat(KeyMovement.share(SelectionAlgorithm.fnvHash(), ten, eleven, 20_000)).isGreaterThan(0.5);
    }

    @Test
    void unknownAlgorithmNamesAreRefusedWithTheKnownOnes() {
        assertThatThrownBy(() -> SelectionAlgorithm.parse("weighted")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("round-robin, random, hash, ketama, least-conn, p2c-ewma or maglev");
        assertThat(SelectionAlgorithm.parse(" P2C-EWMA ").name()).isEqualTo("p2c-ewma");
    }

    /** A load view the test sets by hand. */
    static final class FixedLoad implements BackendLoad {
        final List<Backend> backends;
        final int[] inflight;
        final long[] latency;
        final boolean[] available;

        FixedLoad(List<Backend> backends) {
            this.backends = backends;
            this.inflight = new int[backends.size()];
            this.latency = new long[backends.size()];
            this.available = new boolean[backends.size()];
            Arrays.fill(available, true);
        }

        @Override
        public int size() {
            return backends.size();
        }

        @Override
        public int weight(int i) {
            return backends.get(i).weight();
        }

        @Override
        public int inflight(int i) {
            return inflight[i];
        }

        @Override
        public long latencyNanos(int i) {
            return latency[i];
        }

        @Override
        public boolean available(int i) {
            return available[i];
        }
    }
}
