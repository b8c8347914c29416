package dev.merapi.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.testkit.MockOrigin;
import dev.merapi.testkit.MockResponse;
import dev.merapi.testkit.RawClient;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Each listener's own HTTP/1.1 limits and timeouts, from the YAML, over real sockets. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ListenerLimitsIT {
    @TempDir
    Path dir;

    @Test
    void eachListenerEnforcesItsOwnHeaderLimitsAndTimeouts() throws Exception {
        try (MockOrigin origin = MockOrigin.start()) {
            origin.setDispatcher(r -> MockResponse.ok("ok"));
            Gateway gateway = TestGateways.start(dir, """
                    listeners:
                      - {name: strict, address: "127.0.0.1:0", max-header-size: 1KiB, max-headers: 10, header-timeout: 500ms}
                      - {name: roomy, address: "127.0.0.1:0"}
                    upstreams: [{name: app, backends: ["127.0.0.1:%d"]}]
                    routes: [{name: all, upstream: app}]
                    admin: {enabled: false}
                    """.formatted(origin.port()));
            try {
                int strict = TestGateways.port(gateway, 0);
                int roomy = TestGateways.port(gateway, 1);
                String big = "GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + "x".repeat(2000) + "\r\n\r\n";
                StringBuilder many = new StringBuilder("GET / HTTP/1.1\r\nHost: t\r\n");
                for (int i = 0; i < 12; i++) {
                    many.append("X-H").append(i).append(": v\r\n");
                }
                many.append("\r\n");

                assertThat(status(strict, big)).as("2000-byte header over max-header-size 1KiB").isEqualTo(431);
                assertThat(status(strict, many.toString())).as("13 headers over max-headers 10").isEqualTo(431);
                assertThat(status(roomy, big)).isEqualTo(200);
                assertThat(status(roomy, many.toString())).isEqualTo(200);

                try (RawClient slow = RawClient.connect(strict)) {
                    slow.send("GET / HTTP/1.1\r\nHost: t\r\n"); // the head never ends
                    assertThat(slow.readResponse().status()).as("header-timeout 500ms").isEqualTo(408);
                }
            } finally {
                gateway.shutdownFast();
            }
        }
    }

    private static int status(int port, String request) throws Exception {
        try (RawClient c = RawClient.connect(port)) {
            c.send(request);
            return c.readResponse().status();
        }
    }
}
