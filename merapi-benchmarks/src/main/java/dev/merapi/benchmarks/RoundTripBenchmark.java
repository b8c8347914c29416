package dev.merapi.benchmarks;

import dev.merapi.core.protocols.ServerSession;
import dev.merapi.core.server.Server;
import dev.merapi.core.server.ServerConfig;
import dev.merapi.core.apps.HttpServerApp;
import dev.merapi.core.services.ListeningService;
import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.error.ProxyError;
import dev.merapi.http.HeaderNames;
import dev.merapi.http.ResponseHeader;
import dev.merapi.proxy.HttpProxy;
import dev.merapi.proxy.ProxyHttp;
import dev.merapi.proxy.Session;
import dev.merapi.proxy.Stages;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One whole request through the engine over loopback: a keep-alive client, the proxy with every phase at its
 * default (so this also measures the phase dispatch), and an origin on Merapi's own runtime.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
    "-Dio.netty.leakDetection.level=disabled"})
public class RoundTripBenchmark {
    private static final byte[] BODY = "hello, world\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CLOSE = "Connection: close".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] REQUEST = "GET /tiny HTTP/1.1\r\nHost: bench\r\nUser-Agent: jmh\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

    private Server server;
    private SocketAddress proxyAddress;
    private Socket client;
    private OutputStream out;
    private InputStream in;
    private final byte[] buf = new byte[8192];
    private boolean lastResponseClosed;

    /** The origin: 13 bytes, keep-alive. */
    static final HttpServerApp ORIGIN = session -> {
        session.setHandler(new ServerSession.Handler() {
            @Override
            public void onBody(ByteBuf data, boolean endOfStream) {
                data.release();
            }

            @Override
            public void onWritable() {
            }

            @Override
            public void onError(ProxyError error) {
            }
        });
        ResponseHeader h = ResponseHeader.of(200);
        h.headers().add(HeaderNames.CONTENT_TYPE, "text/plain");
        h.headers().add(HeaderNames.CONTENT_LENGTH, Integer.toString(BODY.length));
        session.writeResponseHeader(h, false);
        session.writeBody(Unpooled.wrappedBuffer(BODY), true);
    };

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        ListeningService origin = ListeningService.http("origin", ORIGIN).addTcp("127.0.0.1:0");
        ListeningService proxy = HttpProxy.service("proxy", new ProxyHttp<Void>() {
            private @Nullable CompletionStage<HttpPeer> peer;

            @Override
            public Void newCtx() {
                return null;
            }

            @Override
            public CompletionStage<HttpPeer> upstreamPeer(Session session, Void ctx) {
                CompletionStage<HttpPeer> p = peer;
                if (p == null) {
                    p = Stages.completed(HttpPeer.of((InetSocketAddress) origin.boundAddresses().getFirst(), false, ""));
                    peer = p;
                }
                return p;
            }
        }).addTcp("127.0.0.1:0");
        server = new Server(ServerConfig.builder().threads(1).name("bench").build());
        server.addService(origin).addService(proxy);
        server.start();
        proxyAddress = proxy.boundAddresses().getFirst();
        connect();
    }

    /** Opens the keep-alive connection, again after the proxy closed one at its per-connection request limit. */
    private void connect() throws IOException {
        if (client != null) {
            client.close();
        }
        client = new Socket();
        client.connect(proxyAddress);
        client.setTcpNoDelay(true);
        client.setSoTimeout(5000);
        out = client.getOutputStream();
        in = client.getInputStream();
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        client.close();
        server.shutdownFast();
    }

    @Benchmark
    public int roundTrip() throws IOException {
        if (lastResponseClosed) {
            connect();
            lastResponseClosed = false;
        }
        out.write(REQUEST);
        // the response is small and ends with the 13-byte body: read until it is all there
        int total = 0;
        while (true) {
            int n = in.read(buf, total, buf.length - total);
            if (n < 0) {
                throw new IOException("closed");
            }
            total += n;
            if (total >= BODY.length && buf[total - 1] == '\n' && endsWithBody(total)) {
                lastResponseClosed = indexOf(CLOSE, total) >= 0;
                return total;
            }
        }
    }

    private int indexOf(byte[] needle, int total) {
        outer:
        for (int i = 0; i + needle.length <= total; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (buf[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    private boolean endsWithBody(int total) {
        for (int i = 0; i < BODY.length; i++) {
            if (buf[total - BODY.length + i] != BODY[i]) {
                return false;
            }
        }
        return true;
    }
}
