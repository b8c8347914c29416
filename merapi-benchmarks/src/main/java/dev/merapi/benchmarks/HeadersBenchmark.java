package dev.merapi.benchmarks;

import dev.merapi.http.HeaderNames;
import dev.merapi.http.HopByHop;
import dev.merapi.http.Http1Encoder;
import dev.merapi.http.Http1Limits;
import dev.merapi.http.Http1Parser;
import dev.merapi.http.RequestHeader;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
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

/** What the proxy does to a request head on its way upstream: copy, strip hop-by-hop, edit, encode. */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
    "-Dio.netty.leakDetection.level=disabled"})
public class HeadersBenchmark {
    private RequestHeader parsed;

    @Setup
    public void setUp() {
        ByteBuf buf = Unpooled.wrappedBuffer(ParseBenchmark.REQUEST.getBytes(StandardCharsets.ISO_8859_1));
        int end = Http1Parser.findHeadEnd(buf, new Http1Parser.HeadScan(), Http1Limits.DEFAULT, true);
        parsed = Http1Parser.parseRequest(buf, end, Http1Limits.DEFAULT);
    }

    @Benchmark
    public RequestHeader copyStripAndEdit() {
        RequestHeader up = parsed.copy();
        HopByHop.strip(up.headers());
        up.headers().set(HeaderNames.HOST, "backend.internal:8080");
        up.headers().add("X-Forwarded-For", "192.0.2.1");
        return up;
    }

    @Benchmark
    public int encodeRequest() {
        ByteBuf out = Http1Encoder.encodeRequest(PooledByteBufAllocator.DEFAULT, parsed);
        int n = out.readableBytes();
        out.release();
        return n;
    }
}
