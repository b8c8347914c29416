package dev.merapi.proxy;

import dev.merapi.core.protocols.http1.Http1Options;
import dev.merapi.core.server.ServerConfig;
import dev.merapi.core.services.ListeningService;
import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.core.upstreams.PeerOptions;
import dev.merapi.testkit.MockOrigin;
import dev.merapi.testkit.TestServer;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A JUnit 5 fixture for "a proxy in front of a {@link MockOrigin}": it starts the origin on first use, runs a proxy
 * engine on 127.0.0.1:0, and after each test closes everything it started or was handed, newest first (the proxy
 * before its origin), the way nested try-with-resources would. Closing a proxy fails the test if a downstream or
 * upstream connection is still open.
 *
 * <pre>{@code
 * @RegisterExtension final ProxyFixture fixture = new ProxyFixture();
 *
 * @Test void aRequestReachesTheOrigin() throws Exception {
 *     RecordingProxy proxy = new RecordingProxy(fixture.peer());
 *     TestServer server = fixture.serve(HttpProxy.of(proxy));
 *     assertThat(fixture.get(server, "/").statusCode()).isEqualTo(200);
 * }
 * }</pre>
 *
 * <p>Register it as an instance field: each test gets its own. Used from the test's thread only.
 */
final class ProxyFixture implements AfterEachCallback {
    private final Deque<AutoCloseable> opened = new ArrayDeque<>();
    private MockOrigin origin;

    /** The test's origin, started on 127.0.0.1:0 on the first call. */
    MockOrigin origin() {
        if (origin == null) {
            origin = closeAfter(MockOrigin.start());
        }
        return origin;
    }

    /** A peer for {@link #origin()} with default options. */
    HttpPeer peer() {
        return HttpPeer.of("127.0.0.1:" + origin().port());
    }

    /** A peer for {@link #origin()} with {@code options}. */
    HttpPeer peer(PeerOptions options) {
        return peer().withOptions(options);
    }

    /** Runs {@code engine} on 127.0.0.1:0 with one event loop; closed after the test, which checks no connection is left. */
    TestServer serve(HttpProxy<?> engine) {
        return serve(ListeningService.http("t", engine), engine);
    }

    /** Runs {@code engine} on 127.0.0.1:0 with these HTTP/1 options (TRACE or CONNECT let through, say). */
    TestServer serve(HttpProxy<?> engine, Http1Options http1) {
        return serve(ListeningService.http("t", engine).http1Options(http1), engine);
    }

    /** Runs {@code engine} on 127.0.0.1:0 in a server with these settings (another transport, say). */
    TestServer serve(HttpProxy<?> engine, ServerConfig config) {
        return closeAfter(TestServer.start(ListeningService.http("t", engine), config)
                .checkClosedOnStop(engine.connector()::openConnections));
    }

    private TestServer serve(ListeningService service, HttpProxy<?> engine) {
        return closeAfter(TestServer.start(service).checkClosedOnStop(engine.connector()::openConnections));
    }

    /** Closes {@code resource} after the test, before everything opened earlier; returns it. */
    <T extends AutoCloseable> T closeAfter(T resource) {
        opened.push(resource);
        return resource;
    }

    /** A GET of {@code path} through {@code server} with an HTTP/1.1 client, bounded to 20 s. */
    static HttpResponse<String> get(TestServer server, String path) throws Exception {
        return RecordingProxy.http().send(HttpRequest.newBuilder(server.uri(path)).timeout(Duration.ofSeconds(20)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Override
    public void afterEach(ExtensionContext context) throws Exception {
        Throwable first = null;
        AutoCloseable c;
        while ((c = opened.poll()) != null) {
            try {
                c.close();
            } catch (Exception | AssertionError e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        origin = null;
        if (first instanceof AssertionError e) {
            throw e;
        } else if (first instanceof Exception e) {
            throw e;
        }
    }
}
