package dev.merapi.benchmarks;

import dev.merapi.pool.ConnectionPool;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/** One acquire and one release on a per-loop pool holding idle connections for several peers. */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class PoolBenchmark {
    private static final long IDLE = TimeUnit.SECONDS.toNanos(60);
    private final String[] keys = new String[8];
    private ConnectionPool<String, Object> pool;
    private int i;

    @Setup
    public void setUp() {
        pool = new ConnectionPool<>(128, c -> { });
        for (int k = 0; k < keys.length; k++) {
            keys[k] = "peer-" + k;
            for (int c = 0; c < 8; c++) {
                pool.release(keys[k], new Object(), IDLE);
            }
        }
    }

    @Benchmark
    public Object acquireRelease() {
        String key = keys[i++ & 7];
        Object c = pool.acquire(key).orElseThrow();
        pool.release(key, c, IDLE);
        return c;
    }
}
