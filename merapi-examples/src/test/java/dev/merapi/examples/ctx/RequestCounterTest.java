package dev.merapi.examples.ctx;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.core.services.ListeningService;
import dev.merapi.proxy.HttpProxy;
import dev.merapi.testkit.MockOrigin;
import dev.merapi.testkit.TestServer;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Runs the per-request context example in front of a mock origin. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class RequestCounterTest {
    private MockOrigin origin;
    private HttpClient client;

    @BeforeEach
    void start() {
        origin = MockOrigin.start();
        client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
    }

    @AfterEach
    void stop() {
        client.shutdownNow();
        origin.close();
    }

    @Test
    void eachRequestCarriesItsOwnNumberFromTheContext() throws Exception {
        RequestCounter counter = new RequestCounter("127.0.0.1:" + origin.port());
        HttpProxy<RequestCounter.Ctx> proxy = HttpProxy.of(counter);
        try (TestServer server = TestServer.start(ListeningService.http("counter", proxy))
                .checkClosedOnStop(proxy.connector()::openConnections)) {
            HttpResponse<String> first = get(server, "/one", false);
            HttpResponse<String> second = get(server, "/two", false);

            assertThat(first.statusCode()).isEqualTo(200);
            assertThat(first.headers().firstValue("X-Request-Number")).hasValue("1");
            assertThat(second.headers().firstValue("X-Request-Number")).hasValue("2");
            await(() -> counter.logged() == 2);
            assertThat(counter.denied()).isZero();
        }
    }

    @Test
    void requestFilterAnswers403WithoutReachingTheUpstream() throws Exception {
        RequestCounter counter = new RequestCounter("127.0.0.1:" + origin.port());
        HttpProxy<RequestCounter.Ctx> proxy = HttpProxy.of(counter);
        try (TestServer server = TestServer.start(ListeningService.http("counter", proxy))
                .checkClosedOnStop(proxy.connector()::openConnections)) {
            HttpResponse<String> allowed = get(server, "/allowed", false);
            HttpResponse<String> denied = get(server, "/denied", true);

            assertThat(allowed.statusCode()).isEqualTo(200);
            assertThat(denied.statusCode()).isEqualTo(403);
            assertThat(denied.body()).isEqualTo("request 2 denied\n");
            assertThat(denied.headers().firstValue("X-Request-Number")).isEmpty();
            await(() -> counter.logged() == 2); // logging runs for the denied request too
            assertThat(counter.denied()).isEqualTo(1);
            assertThat(origin.requestCount()).isEqualTo(1);
            assertThat(origin.takeRequest().target()).isEqualTo("/allowed");
        }
    }

    @Test
    void loggingRunsWhenTheUpstreamIsDown() throws Exception {
        RequestCounter counter = new RequestCounter("127.0.0.1:" + origin.port());
        origin.close(); // nothing listens there any more
        HttpProxy<RequestCounter.Ctx> proxy = HttpProxy.of(counter);
        try (TestServer server = TestServer.start(ListeningService.http("counter", proxy))
                .checkClosedOnStop(proxy.connector()::openConnections)) {
            assertThat(get(server, "/", false).statusCode()).isEqualTo(502);
            await(() -> counter.logged() == 1);
        }
    }

    private HttpResponse<String> get(TestServer server, String path, boolean deny) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(server.uri(path)).timeout(Duration.ofSeconds(10));
        if (deny) {
            request.header("X-Deny", "yes");
        }
        return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Logging runs after the response is written, so the client may see the response a moment before it. */
    private static void await(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime() - deadline).as("condition not met within 5 s").isNegative();
            Thread.sleep(10);
        }
    }
}
