package dev.merapi.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.testkit.MockOrigin;
import dev.merapi.testkit.MockResponse;
import dev.merapi.testkit.RawClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A route's {@code max-request-body}, for bodies with a Content-Length and for chunked ones, over real sockets. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RequestBodyLimitIT {
    @TempDir
    Path dir;
    private MockOrigin origin;
    private Gateway gateway;
    private int port;

    @BeforeEach
    void start() throws Exception {
        origin = MockOrigin.start();
        origin.setDispatcher(r -> MockResponse.ok("got " + r.body().length));
        gateway = TestGateways.start(dir, """
                listeners: [{name: main, address: "127.0.0.1:0"}]
                upstreams: [{name: app, backends: ["127.0.0.1:%d"]}]
                routes: [{name: upload, upstream: app, max-request-body: 1KiB}]
                admin: {enabled: false}
                """.formatted(origin.port()));
        port = TestGateways.port(gateway, 0);
    }

    @AfterEach
    void stop() {
        gateway.shutdownFast();
        origin.close();
    }

    private static RawClient.Response exchange(RawClient c, String request) throws java.io.IOException {
        c.send(request);
        return c.readResponse();
    }

    private static String chunked(int chunks, int size) {
        StringBuilder b = new StringBuilder("POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
        for (int i = 0; i < chunks; i++) {
            b.append(Integer.toHexString(size)).append("\r\n").append("x".repeat(size)).append("\r\n");
        }
        return b.append("0\r\n\r\n").toString();
    }

    @Test
    void aChunkedBodyOverTheRouteLimitGets413AndTheConnectionCloses() throws Exception {
        try (RawClient c = RawClient.connect(port)) {
            assertThat(exchange(c, chunked(8, 512)).status()).isEqualTo(413);
            assertThat(c.isClosedByPeer(Duration.ofSeconds(5))).as("the rest of the body is never read").isTrue();
        }
        assertThat(origin.awaitNoOpenConnections(Duration.ofSeconds(5))).as("the abandoned upstream request's connection is closed").isTrue();
    }

    @Test
    void aChunkedBodyWithinTheLimitIsProxied() throws Exception {
        try (RawClient c = RawClient.connect(port)) {
            RawClient.Response r = exchange(c, chunked(2, 512));

            assertThat(r.status()).isEqualTo(200);
            assertThat(r.bodyText()).isEqualTo("got 1024");
        }
    }

    @Test
    void aContentLengthOverTheLimitGets413BeforeAnyUpstreamRequest() throws Exception {
        try (RawClient c = RawClient.connect(port)) {
            c.send("POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 2000\r\n\r\n" + "x".repeat(2000));

            assertThat(c.readResponse().status()).isEqualTo(413);
        }
        assertThat(origin.requestCount()).isZero();
    }
}
