package dev.merapi.benchmarks;

import dev.merapi.http.Http1Limits;
import dev.merapi.http.Http1Parser;
import dev.merapi.http.RequestHeader;
import dev.merapi.http.ResponseHeader;
import io.netty.buffer.ByteBuf;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/** Strict HTTP/1 parsing and validation of a typical request head and response head. */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
    "-Dio.netty.leakDetection.level=disabled"})
public class ParseBenchmark {
    static final String REQUEST = "GET /api/v1/items?page=2&sort=desc HTTP/1.1\r\n"
            + "Host: api.example.com\r\n"
            + "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\n"
            + "Accept: application/json, text/plain, */*\r\n"
            + "Accept-Language: en-US,en;q=0.5\r\n"
            + "Accept-Encoding: gzip, deflate, br\r\n"
            + "Referer: https://www.example.com/items\r\n"
            + "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.e30.abc\r\n"
            + "Connection: keep-alive\r\n"
            + "Cookie: session=0123456789abcdef; theme=dark\r\n"
            + "X-Request-Id: 4f1c2a7e-9b0d-4c61-8e7a-1d2f3a4b5c6d\r\n"
            + "\r\n";
    static final String RESPONSE = "HTTP/1.1 200 OK\r\n"
            + "Server: nginx/1.22.1\r\n"
            + "Date: Mon, 23 Nov 2026 09:00:00 GMT\r\n"
            + "Content-Type: application/json\r\n"
            + "Content-Length: 13\r\n"
            + "Connection: keep-alive\r\n"
            + "Cache-Control: no-cache\r\n"
            + "\r\n";

    private final Http1Parser.HeadScan scan = new Http1Parser.HeadScan();
    private ByteBuf request;
    private ByteBuf response;

    @Setup
    public void setUp() {
        request = Unpooled.directBuffer().writeBytes(REQUEST.getBytes(StandardCharsets.ISO_8859_1));
        response = Unpooled.directBuffer().writeBytes(RESPONSE.getBytes(StandardCharsets.ISO_8859_1));
    }

    @TearDown
    public void tearDown() {
        request.release();
        response.release();
    }

    @Benchmark
    public RequestHeader parseRequest() {
        request.readerIndex(0);
        scan.reset();
        int end = Http1Parser.findHeadEnd(request, scan, Http1Limits.DEFAULT, true);
        return Http1Parser.parseRequest(request, end, Http1Limits.DEFAULT);
    }

    @Benchmark
    public ResponseHeader parseResponse() {
        response.readerIndex(0);
        scan.reset();
        int end = Http1Parser.findHeadEnd(response, scan, Http1Limits.DEFAULT, false);
        return Http1Parser.parseResponse(response, end, "GET");
    }
}
