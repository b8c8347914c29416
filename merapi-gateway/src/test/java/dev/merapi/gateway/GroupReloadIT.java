package dev.merapi.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.testkit.MockOrigin;
import dev.merapi.testkit.MockResponse;
import dev.merapi.testkit.OriginFault;
import dev.merapi.testkit.RawClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** An upstream group's settings changed by a reload take effect for the next request, over real sockets. */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class GroupReloadIT {
    @TempDir
    Path dir;

    /** Two backends: a retry goes to a backend other than the one that just failed, so the attempts alternate. */
    private static String config(MockOrigin a, MockOrigin b, int retries) {
        return """
                listeners: [{name: main, address: "127.0.0.1:0"}]
                upstreams: [{name: app, backends: ["127.0.0.1:%d", "127.0.0.1:%d"], retries: %d}]
                routes: [{name: all, upstream: app}]
                admin: {enabled: false}
                """.formatted(a.port(), b.port(), retries);
    }

    /** The next request each origin reads is answered by closing the connection, once. */
    private static void failOnceEach(MockOrigin... origins) {
        for (MockOrigin o : origins) {
            o.enqueue(MockResponse.builder().fault(new OriginFault.CloseAfterRequest()).build());
        }
    }

    @Test
    void aReloadThatRaisesRetriesAboveEveryGroupsStartValueLetsARequestOutliveTwoFailures() throws Exception {
        try (MockOrigin a = MockOrigin.start(); MockOrigin b = MockOrigin.start()) {
            a.setDispatcher(r -> MockResponse.ok("served"));
            b.setDispatcher(r -> MockResponse.ok("served"));
            Gateway gateway = TestGateways.start(dir, config(a, b, 1));
            try {
                int port = TestGateways.port(gateway, 0);
                failOnceEach(a, b);
                RawClient.Response capped = get(port);
                assertThat(capped.status()).as("one retry cannot outlive two failures").isEqualTo(502);
                assertThat(a.requestCount() + b.requestCount()).isEqualTo(2);

                Files.writeString(dir.resolve("gw.yaml"), config(a, b, 2));
                assertThat(gateway.reload()).isTrue();
                failOnceEach(a, b);
                RawClient.Response served = get(port);
                assertThat(served.status()).as("the third attempt, allowed by the reloaded retries: 2").isEqualTo(200);
                assertThat(served.bodyText()).isEqualTo("served");
                assertThat(a.requestCount() + b.requestCount()).as("two failed attempts and the one that succeeded").isEqualTo(5);
            } finally {
                gateway.shutdownFast();
            }
            assertThat(a.awaitNoOpenConnections(Duration.ofSeconds(30))).isTrue();
            assertThat(b.awaitNoOpenConnections(Duration.ofSeconds(30))).isTrue();
        }
    }

    private static RawClient.Response get(int port) throws Exception {
        try (RawClient c = RawClient.connect(port)) {
            c.send("GET /r HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
            return c.readResponse();
        }
    }
}
