package dev.merapi.benchmarks;

import dev.merapi.loadbalancing.Backend;
import dev.merapi.loadbalancing.LoadBalancer;
import dev.merapi.loadbalancing.selection.KeyMovement;
import dev.merapi.loadbalancing.selection.SelectionAlgorithm;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One {@link LoadBalancer#select} per operation, per algorithm, over 10, 100 and 1,000 backends of mixed weights,
 * from one thread ({@link #select}) and from four at once ({@link #selectFromFourThreads}, which shares the round
 * robin counter and the in-flight counts as event loops do). Keys cycle through 1,024 request paths.
 *
 * <p>{@code main} prints the key-movement figures of docs/load-balancing.md instead: the share of keys that move
 * when one backend is added to or removed from n of equal weight, for ketama, maglev and FNV, next to the ideal 1/n.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class SelectionBenchmark {
    @Param({"round-robin", "random", "hash", "ketama", "least-conn", "p2c-ewma", "maglev"})
    public String algorithm;

    @Param({"10", "100", "1000"})
    public int backends;

    private LoadBalancer balancer;
    private byte[][] keys;

    @Setup
    public void setUp() {
        balancer = LoadBalancer.of(SelectionAlgorithm.parse(algorithm), backends(backends));
        keys = new byte[1024][];
        for (int i = 0; i < keys.length; i++) {
            keys[i] = ("/objects/" + i + "?v=" + (i * 7919)).getBytes(StandardCharsets.UTF_8);
        }
    }

    /** Per-thread position in the keys. */
    @State(Scope.Thread)
    public static class Cursor {
        int next;
    }

    @Benchmark
    public Optional<Backend> select(Cursor cursor) {
        return balancer.select(keys[cursor.next++ & 1023]);
    }

    @Benchmark
    @Threads(4)
    public Optional<Backend> selectFromFourThreads(Cursor cursor) {
        return balancer.select(keys[cursor.next++ & 1023]);
    }

    static List<Backend> backends(int n) {
        List<Backend> list = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            list.add(Backend.of("10." + (i >> 16 & 255) + "." + (i >> 8 & 255) + "." + (i & 255) + ":8080", 1 + i % 5));
        }
        return list;
    }

    /** Prints the share of keys moved when one backend is added or removed, per algorithm and set size. */
    public static void main(String[] args) {
        int keys = 100_000;
        System.out.println("| algorithm | n | one added | ideal 1/(n+1) | one removed | ideal 1/n |");
        System.out.println("|---|---|---|---|---|---|");
        for (String name : List.of("ketama", "maglev", "hash")) {
            for (int n : new int[] {10, 100, 1000}) {
                List<Backend> added = backends(n + 1).stream().map(b -> Backend.of(b.name())).toList(); // equal weights
                List<Backend> base = added.subList(0, n);
                List<Backend> removed = base.subList(1, n);
                SelectionAlgorithm a = SelectionAlgorithm.parse(name);
                System.out.printf("| %s | %d | %.4f | %.4f | %.4f | %.4f |%n", name, n, KeyMovement.share(a, base, added, keys),
                        1.0 / (n + 1), KeyMovement.share(a, base, removed, keys), 1.0 / n);
            }
        }
    }
}
