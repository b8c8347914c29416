package dev.merapi.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.core.services.ListeningService;
import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.error.ProxyError;
import dev.merapi.testkit.TestServer;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * A {@link ProxyHttp} for integration tests: sends every request to the peer its supplier gives and records
 * the calls of {@code logging}, {@code failToConnect} and {@code errorWhileProxy}, so tests can assert that
 * logging ran exactly once per request and with which error. Thread-safe; tests override phases in subclasses.
 */
class RecordingProxy implements ProxyHttp<RecordingProxy.Ctx> {
    /** The per-request context: the phases that ran, in order. Touched on the request's loop only. */
    static final class Ctx {
        final List<String> phases = new ArrayList<>();
    }

    private final Supplier<HttpPeer> peers;
    final List<Optional<ProxyError>> logged = new CopyOnWriteArrayList<>();
    final List<List<String>> loggedPhases = new CopyOnWriteArrayList<>();
    final List<ProxyError> connectFailures = new CopyOnWriteArrayList<>();
    final List<ProxyError> proxyErrors = new CopyOnWriteArrayList<>();
    final AtomicInteger peerCalls = new AtomicInteger();

    RecordingProxy(HttpPeer peer) {
        this(() -> peer);
    }

    RecordingProxy(Supplier<HttpPeer> peers) {
        this.peers = peers;
    }

    @Override
    public Ctx newCtx() {
        return new Ctx();
    }

    @Override
    public CompletionStage<HttpPeer> upstreamPeer(Session session, Ctx ctx) {
        peerCalls.incrementAndGet();
        ctx.phases.add("upstreamPeer");
        return Stages.completed(peers.get());
    }

    @Override
    public ProxyError failToConnect(Session session, HttpPeer peer, ProxyError e, Ctx ctx) {
        ctx.phases.add("failToConnect");
        connectFailures.add(e);
        return e;
    }

    @Override
    public ProxyError errorWhileProxy(Session session, HttpPeer peer, ProxyError e, boolean reusedConnection, Ctx ctx) {
        ctx.phases.add("errorWhileProxy");
        proxyErrors.add(e);
        return ProxyHttp.super.errorWhileProxy(session, peer, e, reusedConnection, ctx);
    }

    @Override
    public void logging(Session session, Optional<ProxyError> error, Ctx ctx) {
        if (ctx != null) { // null when newCtx itself failed
            ctx.phases.add("logging");
            loggedPhases.add(List.copyOf(ctx.phases));
        }
        logged.add(error);
    }

    /** Waits up to 10 s until {@code logging} ran {@code n} times, then checks it ran no more. */
    void awaitLogged(int n) {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (logged.size() < n && System.nanoTime() - deadline < 0) {
            sleep(5);
        }
        assertThat(logged).as("logging calls").hasSize(n);
    }

    /** The error of the only logging call, waiting for it; fails if there was none or no error. */
    ProxyError onlyLoggedError() {
        awaitLogged(1);
        assertThat(logged.getFirst()).as("the logged error").isPresent();
        return logged.getFirst().orElseThrow();
    }

    /** The errors logged so far, in order. */
    List<Optional<ProxyError>> loggedErrors() {
        return Collections.unmodifiableList(logged);
    }

    // ---- shared test plumbing

    /** An HTTP/1.1 client (no h2c upgrade) with a bounded connect timeout. */
    static HttpClient http() {
        return HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5))
                .build();
    }

    /** Runs {@code engine} on 127.0.0.1:0; closing it checks that no upstream or downstream connection is left. */
    static TestServer serve(HttpProxy<?> engine) {
        return TestServer.start(ListeningService.http("t", engine)).checkClosedOnStop(engine.connector()::openConnections);
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    /** Polls {@code condition} for up to 10 s. */
    static boolean eventually(BooleanSupplier condition) {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                return false;
            }
            sleep(5);
        }
        return true;
    }
}
