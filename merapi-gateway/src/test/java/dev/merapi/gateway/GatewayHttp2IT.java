package dev.merapi.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.merapi.testkit.ExternalServer;
import dev.merapi.testkit.RawClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The HTTP/2 keys of the gateway YAML with {@code merapi run --config FILE} in a child JVM: {@code upstreams[].protocol:
 * h2} in front of nginx speaking h2c, and {@code listeners[].http2} on and off, asked with curl and a raw socket.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class GatewayHttp2IT {
    @TempDir
    Path dir;

    private static String curl(String... args) throws IOException, InterruptedException {
        return Curl.run(List.of(args)).output();
    }

    @Test
    void upstreamProtocolH2SpeaksH2cToNginxAndHttp2FalseServesAPrefaceAsHttp11() throws Exception {
        Path nginxBinary = Path.of("/usr/sbin/nginx");
        assumeTrue(Files.isExecutable(nginxBinary), "nginx is not installed (apt-get install nginx-light)");
        int both = GatewayProcess.freePort();
        int h1only = GatewayProcess.freePort();
        try (ExternalServer nginx = ExternalServer.nginx(nginxBinary, dir.resolve("nginx"), p -> """
                    server { listen 127.0.0.1:%d http2;
                        location / { default_type text/plain; return 200 "proto=$server_protocol conn=$connection\\n"; } }
                """.formatted(p))) {
            Path file = dir.resolve("gw.yaml");
            Files.writeString(file, """
                    listeners:
                      - name: both
                        address: 127.0.0.1:%d
                      - name: h1only
                        address: 127.0.0.1:%d
                        http2: false
                    upstreams:
                      - name: app
                        protocol: h2
                        max-streams-per-connection: 10
                        backends: [127.0.0.1:%d]
                    routes:
                      - name: all
                        upstream: app
                    admin:
                      enabled: false
                    """.formatted(both, h1only, nginx.port()));
            try (GatewayProcess gateway = GatewayProcess.start("run", "--config", file.toString())) {
                gateway.awaitLine("listening on http://127.0.0.1:" + h1only, Duration.ofSeconds(30));

                String h2 = curl("--http2-prior-knowledge", "-w", "%{http_version} %{http_code}", "http://127.0.0.1:" + both + "/");
                assertThat(h2).startsWith("proto=HTTP/2.0").endsWith("\n2 200");
                String h1 = curl("--http1.1", "-w", "%{http_version} %{http_code}", "http://127.0.0.1:" + both + "/");
                assertThat(h1).as("HTTP/1.1 from the client, h2c to nginx").startsWith("proto=HTTP/2.0").endsWith("\n1.1 200");

                try (RawClient client = RawClient.connect(h1only)) {
                    client.send("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
                    RawClient.Response r = client.readResponse();
                    assertThat(r.status()).as("a preface read as an HTTP/1.1 request").isEqualTo(505);
                }
                try (RawClient client = RawClient.connect(h1only)) {
                    client.send("GET / HTTP/1.1\r\nHost: test\r\n\r\n");
                    RawClient.Response r = client.readResponse();
                    assertThat(r.status()).isEqualTo(200);
                    assertThat(r.bodyText()).startsWith("proto=HTTP/2.0");
                }
            }
        }
    }
}
