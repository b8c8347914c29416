package dev.merapi.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.core.services.ListeningService;
import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.error.ProxyError;
import dev.merapi.testkit.MockOrigin;
import dev.merapi.testkit.TestServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/** The entry points a library user starts from: {@code HttpProxy.service} with options, and the session's clock. */
class LibraryApiIT {

    /** Records what {@code logging} saw of each session. */
    private static final class Clocked extends RecordingProxy {
        final List<Instant> startTimes = new CopyOnWriteArrayList<>();
        final List<Long> elapsedNanos = new CopyOnWriteArrayList<>();
        final List<Integer> retries = new CopyOnWriteArrayList<>();

        Clocked(HttpPeer peer) {
            super(peer);
        }

        @Override
        public void logging(Session session, Optional<ProxyError> error, Ctx ctx) {
            startTimes.add(session.startTime());
            elapsedNanos.add(session.elapsedNanos());
            retries.add(session.retries());
            super.logging(session, error, ctx);
        }
    }

    private static TestServer serve(ListeningService service) {
        HttpProxy<?> engine = (HttpProxy<?>) service.app();
        return TestServer.start(service).checkClosedOnStop(engine.connector()::openConnections);
    }

    @Test
    void serviceWithOptionsRunsTheProxyWithThoseOptions() throws Exception {
        int refused;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            refused = s.getLocalPort();
        }
        Clocked proxy = new Clocked(HttpPeer.of("127.0.0.1:" + refused));
        ProxyOptions noRetries = ProxyOptions.builder().maxRetries(0).build();
        ListeningService service = HttpProxy.service("no-retries", proxy, noRetries);
        assertThat(service.name()).isEqualTo("no-retries");
        assertThat(((HttpProxy<?>) service.app()).options()).isEqualTo(noRetries);
        try (TestServer server = serve(service)) {
            HttpResponse<String> response = RecordingProxy.http()
                    .send(HttpRequest.newBuilder(server.uri("/")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(response.statusCode()).isEqualTo(502);
            proxy.awaitLogged(1);
        }
        assertThat(proxy.retries).containsExactly(0);
        assertThat(proxy.peerCalls).hasValue(1);
        assertThat(ProxyOptions.DEFAULT.maxRetries()).as("the default would have retried").isPositive();
    }

    @Test
    void startTimeIsTheWallClockWhenTheRequestArrived() throws Exception {
        try (MockOrigin origin = MockOrigin.start()) {
            Clocked proxy = new Clocked(HttpPeer.of(origin.address(), false, ""));
            try (TestServer server = serve(HttpProxy.service("clocked", proxy))) {
                Instant before = Instant.now();
                HttpResponse<String> response = RecordingProxy.http()
                        .send(HttpRequest.newBuilder(server.uri("/")).build(), HttpResponse.BodyHandlers.ofString());
                assertThat(response.statusCode()).isEqualTo(200);
                proxy.awaitLogged(1);
                Instant after = Instant.now();
                Instant start = proxy.startTimes.getFirst();
                assertThat(start).isBetween(before, after);
                assertThat(start.plusNanos(proxy.elapsedNanos.getFirst())).isBeforeOrEqualTo(after.plusMillis(1));
            }
        }
    }

    @Test
    void eachRequestHasItsOwnStartTime() throws Exception {
        try (MockOrigin origin = MockOrigin.start()) {
            Clocked proxy = new Clocked(HttpPeer.of(origin.address(), false, ""));
            try (TestServer server = serve(HttpProxy.service("clocked", proxy))) {
                for (int i = 0; i < 2; i++) {
                    RecordingProxy.http().send(HttpRequest.newBuilder(server.uri("/" + i)).build(), HttpResponse.BodyHandlers.discarding());
                    proxy.awaitLogged(i + 1);
                    RecordingProxy.sleep(5);
                }
            }
            assertThat(proxy.startTimes.get(1)).isAfter(proxy.startTimes.get(0));
        }
    }
}
