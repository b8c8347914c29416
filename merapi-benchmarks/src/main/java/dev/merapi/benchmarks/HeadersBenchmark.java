package dev.merapi.benchmarks;

import dev.merapi.http.HeaderNames;
import dev.merapi.http.Headers;
import dev.merapi.http.HopByHop;
import dev.merapi.http.Http1Encoder;
import dev.merapi.http.Http1Limits;
import dev.merapi.http.Http1Parser;
import dev.merapi.http.HttpVersion;
import dev.merapi.http.RequestHeader;
import dev.merapi.http.ResponseHeader;
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

/**
 * What the proxy does to a request head on its way upstream (copy, strip hop-by-hop, edit, encode), and the cost of
 * building a response head through the public setters, each of which checks the field it is given. Parsing, which
 * validates as it reads and skips the setters' checks, is {@link ParseBenchmark}.
 */
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

    /** A response head as a filter builds one: five fields and a custom reason, every one checked as it is set. */
    @Benchmark
    public ResponseHeader buildResponseHead() {
        ResponseHeader h = ResponseHeader.of(200, "OK", HttpVersion.HTTP_1_1, new Headers(8));
        h.headers().add(HeaderNames.CONTENT_TYPE, "application/json; charset=utf-8");
        h.headers().add(HeaderNames.CONTENT_LENGTH, "1234");
        h.headers().add("Cache-Control", "private, max-age=0, no-cache");
        h.headers().add(HeaderNames.SET_COOKIE, "session=0123456789abcdef; Path=/; HttpOnly; Secure; SameSite=Lax");
        h.headers().set("X-Request-Id", "4f1c2a7e-9b0d-4c61-8e7a-1d2f3a4b5c6d");
        return h;
    }

    @Benchmark
    public int encodeRequest() {
        ByteBuf out = Http1Encoder.encodeRequest(PooledByteBufAllocator.DEFAULT, parsed);
        int n = out.readableBytes();
        out.release();
        return n;
    }
}
