package dev.merapi.benchmarks;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.JsonEncoder;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.classic.util.LogbackMDCAdapter;
import dev.merapi.gateway.observability.JsonLinesEncoder;
import java.util.ArrayList;
import java.util.List;
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
import org.slf4j.event.KeyValuePair;

/**
 * One access-log line encoded on the writer thread: the gateway's {@link JsonLinesEncoder} (flat, typed, Jackson's
 * generator) against Logback's own {@link JsonEncoder} set up as the gateway used it before (fields as strings in
 * {@code kvpList}), for the same event: the fields of a proxied request with two logged headers.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class AccessLogEncoderBenchmark {
    private final LoggerContext context = new LoggerContext();
    private final JsonLinesEncoder flat = new JsonLinesEncoder();
    private final JsonEncoder logback = new JsonEncoder();
    private LoggingEvent event;

    @Setup
    public void setUp() {
        context.setMDCAdapter(new LogbackMDCAdapter());
        flat.setContext(context);
        flat.start();
        logback.setContext(context);
        logback.setWithContext(false);
        logback.setWithSequenceNumber(false);
        logback.setWithNanoseconds(false);
        logback.setWithArguments(false);
        logback.setWithMDC(false);
        logback.setWithThreadName(false);
        logback.setWithFormattedMessage(false);
        logback.start();
        List<KeyValuePair> fields = new ArrayList<>();
        Object[] kv = {"client", "127.0.0.1", "method", "GET", "host", "api.example.com", "path", "/api/v1/users/42",
            "query", "page=2&token=[redacted]", "status", 200, "bytes_in", 0L, "bytes_out", 1534L, "duration_ms", 1.482,
            "upstream_connect_ms", 0.012, "upstream_first_byte_ms", 1.203, "upstream_reused", true, "upstream", "10.0.0.7:8080",
            "route", "api", "retries", 0, "request_id", "5f0c6d7e9a8b4c3d2e1f0a9b8c7d6e5f", "header_user_agent", "curl/8.14.1",
            "header_referer", "https://example.com/"};
        for (int i = 0; i < kv.length; i += 2) {
            fields.add(new KeyValuePair((String) kv[i], kv[i + 1]));
        }
        event = new LoggingEvent(AccessLogEncoderBenchmark.class.getName(), context.getLogger("merapi.access"), Level.INFO, "access",
                null, null);
        event.setKeyValuePairs(fields);
        event.prepareForDeferredProcessing();
    }

    @Benchmark
    public byte[] flatJsonLine() {
        return flat.encode(event);
    }

    @Benchmark
    public byte[] logbackJsonEncoder() {
        return logback.encode(event);
    }
}
