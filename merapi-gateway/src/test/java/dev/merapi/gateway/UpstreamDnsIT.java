package dev.merapi.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.testkit.MockOrigin;
import dev.merapi.testkit.MockResponse;
import dev.merapi.testkit.TestDnsServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Upstream groups whose backends come from DNS ({@code dns:}), against a DNS server on loopback. */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class UpstreamDnsIT {
    @TempDir
    Path dir;

    @Test
    void aGroupFromSrvRecordsServesTheirTargetAndFollowsAChangedAnswer() throws Exception {
        try (TestDnsServer dns = TestDnsServer.start(); MockOrigin a = MockOrigin.start(); MockOrigin b = MockOrigin.start();
                HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build()) {
            a.setDispatcher(r -> MockResponse.ok("a"));
            b.setDispatcher(r -> MockResponse.ok("b"));
            dns.a("app.test", 1, "127.0.0.1");
            dns.srv("_http._tcp.app.test", 1, new TestDnsServer.Srv(10, 1, a.port(), "app.test"));
            Gateway gateway = TestGateways.start(dir, """
                    listeners: [{name: main, address: "127.0.0.1:0"}]
                    upstreams:
                      - name: app
                        dns: {srv: _http._tcp.app.test, name-servers: ["%s"], refresh: 2s, timeout: 1s}
                    routes: [{name: all, upstream: app}]
                    admin: {enabled: false}
                    """.formatted("127.0.0.1:" + dns.address().getPort()));
            try {
                URI uri = URI.create("http://127.0.0.1:" + TestGateways.port(gateway, 0) + "/");

                assertThat(client.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString()).body())
                        .as("served by the SRV target, found before the first request").isEqualTo("a");

                dns.srv("_http._tcp.app.test", 1, new TestDnsServer.Srv(10, 1, b.port(), "app.test"));
                long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
                String body = "a";
                while (body.equals("a") && System.nanoTime() - deadline < 0) {
                    Thread.sleep(100);
                    body = client.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString()).body();
                }
                assertThat(body).as("the new answer is taken within the refresh").isEqualTo("b");
            } finally {
                gateway.shutdownFast();
            }
        }
    }
}
