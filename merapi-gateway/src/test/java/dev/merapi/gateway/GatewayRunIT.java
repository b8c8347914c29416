package dev.merapi.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.testkit.MockOrigin;
import dev.merapi.testkit.MockResponse;
import dev.merapi.testkit.RecordedRequest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code merapi run --config FILE} in a child JVM, in front of two upstream groups, asked with curl: each route
 * reaches the right group, with its filters; SIGHUP reloads, and a broken file is refused with its positions.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class GatewayRunIT {
    private final List<MockOrigin> origins = new ArrayList<>();
    @TempDir
    Path dir;

    @BeforeEach
    void start() {
        for (String name : new String[] {"api", "web"}) {
            MockOrigin o = MockOrigin.start();
            o.setDispatcher(r -> MockResponse.ok(name + " " + r.target()).toBuilder().header("Server", "origin").build());
            origins.add(o);
        }
    }

    @AfterEach
    void stop() {
        origins.forEach(MockOrigin::close);
    }

    private String config(int port, String defaultGroup) {
        return """
                listeners:
                  - name: main
                    address: 127.0.0.1:%d
                upstreams:
                  - name: api
                    backends: [127.0.0.1:%d]
                  - name: web
                    backends: [127.0.0.1:%d]
                routes:
                  - name: api
                    match: {path-prefix: /api}
                    upstream: api
                    strip-prefix: /api
                    request-headers: {set: {X-Route: api}}
                    response-headers: {remove: [Server], add: {X-Gateway: merapi}}
                  - name: moved
                    match: {path: /old}
                    redirect: {location: /new, status: 301}
                  - name: default
                    upstream: %s
                admin:
                  enabled: false
                """.formatted(port, origins.get(0).port(), origins.get(1).port(), defaultGroup);
    }

    @Test
    void threeRoutesOverTwoUpstreamGroupsAnswerThroughCurl() throws Exception {
        int port = GatewayProcess.freePort();
        Path file = dir.resolve("gw.yaml");
        Files.writeString(file, config(port, "web"));
        try (GatewayProcess gateway = GatewayProcess.start("run", "--config", file.toString())) {
            assertThat(gateway.awaitLine("listening on", Duration.ofSeconds(30))).contains("http://127.0.0.1:" + port);

            String api = curl("-si", "http://127.0.0.1:" + port + "/api/users?id=7");
            assertThat(api).startsWith("HTTP/1.1 200").contains("X-Gateway: merapi").doesNotContain("Server: origin").endsWith("api /users?id=7");
            RecordedRequest upstream = origins.get(0).takeRequest(Duration.ofSeconds(5));
            assertThat(upstream.target()).isEqualTo("/users?id=7");
            assertThat(upstream.header("X-Route")).hasValue("api");

            assertThat(curl("-si", "http://127.0.0.1:" + port + "/old")).startsWith("HTTP/1.1 301").contains("Location: /new");
            assertThat(curl("-s", "http://127.0.0.1:" + port + "/index.html")).isEqualTo("web /index.html");
            assertThat(curl("-s", "--path-as-is", "http://127.0.0.1:" + port + "/static/../api/x")).isEqualTo("api /x");
            assertThat(curl("-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:" + port + "/a%zz")).isEqualTo("400");
            assertThat(origins.get(0).requestCount() + origins.get(1).requestCount()).isEqualTo(3);
        }
    }

    @Test
    void sighupReloadsTheFileAndABrokenFileKeepsTheRunningConfig() throws Exception {
        int port = GatewayProcess.freePort();
        Path file = dir.resolve("gw.yaml");
        Files.writeString(file, config(port, "web"));
        // the test kit's logback-test.xml is on the child's class path too; INFO shows the reload lines
        try (GatewayProcess gateway = GatewayProcess.startWith(List.of("-Dmerapi.test.log=INFO"), "run", "--config", file.toString())) {
            gateway.awaitLine("listening on", Duration.ofSeconds(30));
            assertThat(curl("-s", "http://127.0.0.1:" + port + "/x")).isEqualTo("web /x");

            Files.writeString(file, config(port, "api"));
            gateway.signal("HUP");
            gateway.awaitLine("reloaded " + file, Duration.ofSeconds(30));
            assertThat(curl("-s", "http://127.0.0.1:" + port + "/x")).isEqualTo("api /x");

            Files.writeString(file, config(port, "nowhere"));
            gateway.signal("HUP");
            gateway.awaitLine("reload of " + file + " failed", Duration.ofSeconds(30));
            assertThat(gateway.awaitLine(file + ":", Duration.ofSeconds(10)))
                    .contains(file + ":20:15: routes[2].upstream: no upstream group is named 'nowhere'");
            assertThat(curl("-s", "http://127.0.0.1:" + port + "/x")).isEqualTo("api /x");
        }
    }

    private static String curl(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("curl", "--max-time", "10"));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        try {
            assertThat(p.waitFor(20, TimeUnit.SECONDS)).isTrue();
            return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).replace("\r\n", "\n").strip();
        } finally {
            p.destroyForcibly();
        }
    }
}
