package dev.merapi.benchmarks;

import dev.merapi.core.protocols.ServerSession;
import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.error.ProxyError;
import dev.merapi.http.HeaderNames;
import dev.merapi.http.RequestHeader;
import dev.merapi.http.ResponseHeader;
import dev.merapi.proxy.FilterResult;
import dev.merapi.proxy.HttpProxy;
import dev.merapi.proxy.ProxyHttp;
import dev.merapi.proxy.Session;
import dev.merapi.proxy.Stages;
import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoop;
import io.netty.channel.embedded.EmbeddedChannel;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
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

/**
 * The engine's phase dispatch without any I/O: a request enters {@link HttpProxy} through an in-memory
 * {@link ServerSession}, runs {@code newCtx}, {@code earlyRequestFilter} and {@code requestFilter} (every other
 * phase at its default), is answered from memory by the request filter, and ends with {@code logging}. What it
 * measures is the engine's own cost per request: the call object, the session, the pre-completed stages, the
 * response head and the logging call. {@link RoundTripBenchmark} measures the same with sockets and an origin.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
    "-Dio.netty.leakDetection.level=disabled"})
public class PhaseDispatchBenchmark {
    private static final byte[] BODY = "hello, world\n".getBytes(StandardCharsets.US_ASCII);

    /** Every phase at its default except the request filter, which answers; counts the logging calls. */
    static final class Answering implements ProxyHttp<Object> {
        private static final Object CTX = new Object();
        long logged;

        @Override
        public Object newCtx() {
            return CTX;
        }

        @Override
        public CompletionStage<FilterResult> requestFilter(Session session, Object ctx) {
            session.respond(ResponseHeader.of(200), BODY);
            return Stages.completed(FilterResult.RESPONDED);
        }

        @Override
        public CompletionStage<HttpPeer> upstreamPeer(Session session, Object ctx) {
            throw new IllegalStateException("the request filter answers every request");
        }

        @Override
        public void logging(Session session, Optional<ProxyError> error, Object ctx) {
            logged++;
        }
    }

    /** A downstream exchange held in memory: what is written is counted and released. */
    static final class MemorySession implements ServerSession {
        private static final SocketAddress CLIENT = new InetSocketAddress("127.0.0.1", 40000);
        private static final SocketAddress SERVER = new InetSocketAddress("127.0.0.1", 8080);
        private final EventLoop loop;
        private @Nullable RequestHeader request; // set by reset before each dispatch
        private boolean started;
        private boolean done;
        long bytes;

        MemorySession(EventLoop loop) {
            this.loop = loop;
        }

        MemorySession reset(RequestHeader request) {
            this.request = request;
            started = false;
            done = false;
            return this;
        }

        @Override
        public RequestHeader request() {
            return Objects.requireNonNull(request, "reset first");
        }

        @Override
        public EventLoop eventLoop() {
            return loop;
        }

        @Override
        public SocketAddress clientAddress() {
            return CLIENT;
        }

        @Override
        public SocketAddress serverAddress() {
            return SERVER;
        }

        @Override
        public boolean isConnectionReused() {
            return true;
        }

        @Override
        public void setHandler(Handler handler) {
        }

        @Override
        public boolean hasRequestBody() {
            return false;
        }

        @Override
        public boolean isRequestBodyDone() {
            return true;
        }

        @Override
        public void readBody() {
        }

        @Override
        public void writeInterim(ResponseHeader header) {
        }

        @Override
        public void writeResponseHeader(ResponseHeader header, boolean endOfStream) {
            started = true;
            done = endOfStream;
            bytes += header.headers().size();
        }

        @Override
        public void writeBody(ByteBuf data, boolean endOfStream) {
            bytes += data.readableBytes();
            data.release();
            done |= endOfStream;
        }

        @Override
        public void flush() {
        }

        @Override
        public boolean isResponseStarted() {
            return started;
        }

        @Override
        public boolean isResponseDone() {
            return done;
        }

        @Override
        public boolean isWritable() {
            return true;
        }

        @Override
        public boolean isOpen() {
            return true;
        }

        @Override
        public void abort() {
            done = true;
        }
    }

    private EmbeddedChannel channel;
    private Answering proxy;
    private HttpProxy<Object> engine;
    private MemorySession session;
    private RequestHeader template;

    @Setup
    public void setUp() {
        channel = new EmbeddedChannel();
        proxy = new Answering();
        engine = HttpProxy.of(proxy);
        session = new MemorySession(channel.eventLoop());
        template = RequestHeader.of("GET", "/tiny");
        template.headers().add(HeaderNames.HOST, "bench");
        template.headers().add("User-Agent", "jmh");
        template.headers().add("Accept", "*/*");
    }

    @TearDown
    public void tearDown() {
        if (proxy.logged == 0 || session.bytes == 0) {
            throw new IllegalStateException("no request went through the phases");
        }
        channel.finishAndReleaseAll();
    }

    /** One request through the phases, answered by the request filter. */
    @Benchmark
    public long dispatch() {
        engine.onRequest(session.reset(template.copy()));
        return proxy.logged;
    }
}
