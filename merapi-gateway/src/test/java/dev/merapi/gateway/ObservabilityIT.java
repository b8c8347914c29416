package dev.merapi.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.gateway.config.ConfigLoader;
import dev.merapi.testkit.MockOrigin;
import dev.merapi.testkit.MockResponse;
import dev.merapi.testkit.RecordedRequest;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The admin listener ({@code /livez}, {@code /readyz}, {@code /metrics}), request ids and the JSON access log, over real sockets. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ObservabilityIT {
    private static final Pattern SAMPLE = Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(.*)})? (-?[0-9.eE+-]+|NaN|\\+Inf|-Inf)");
    private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"");
    @TempDir
    Path dir;
    private MockOrigin origin;
    private Gateway gateway;
    private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @BeforeEach
    void start() throws Exception {
        origin = MockOrigin.start();
        origin.setDispatcher(r -> MockResponse.ok("hello"));
        Path file = dir.resolve("gw.yaml");
        Files.writeString(file, """
                listeners: [{name: main, address: "127.0.0.1:0"}]
                upstreams:
                  - {name: app, backends: ["127.0.0.1:%d"]}
                  - {name: dead, backends: ["127.0.0.1:%d"], retries: 0}
                routes:
                  - {name: api, match: {path-prefix: /api}, upstream: app}
                  - {name: dead, match: {path-prefix: /dead}, upstream: dead}
                  - {name: teapot, match: {path: /tea}, respond: {status: 418, body: "short and stout"}}
                admin: {address: "127.0.0.1:0"}
                access-log:
                  output: %s
                  headers: [User-Agent, Authorization, Cookie, X-Api-Key]
                  redact-headers: [X-Api-Key]
                  redact-query: [token]
                """.formatted(origin.port(), unusedPort(), dir.resolve("access.log")));
        gateway = Gateway.of(file, ConfigLoader.of());
        assertThat(gateway.ready()).as("ready before start").isFalse();
        gateway.start();
    }

    private static int unusedPort() throws java.io.IOException {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    @AfterEach
    void stop() {
        client.shutdownNow();
        gateway.shutdownFast();
        origin.close();
    }

    private String base() {
        return "http://127.0.0.1:" + ((InetSocketAddress) gateway.boundAddresses().getFirst()).getPort();
    }

    private HttpResponse<String> admin(String path) throws Exception {
        SocketAddress a = gateway.adminAddress().orElseThrow();
        return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + ((InetSocketAddress) a).getPort() + path)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> get(String path, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base() + path));
        if (headers.length > 0) {
            b.headers(headers);
        }
        return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void livezAndReadyzAnswerOnTheAdminListenerOnceStarted() throws Exception {
        assertThat(admin("/livez").statusCode()).isEqualTo(200);
        assertThat(admin("/readyz").statusCode()).isEqualTo(200);
        assertThat(admin("/nope").statusCode()).isEqualTo(404);
        assertThat(gateway.adminAddress().orElseThrow().toString()).contains("127.0.0.1");

        gateway.shutdownGracefully();
        assertThat(gateway.ready()).as("ready during shutdown").isFalse();
    }

    @Test
    void aScrapeOfMetricsParsesAndShowsTheRequestJustMade() throws Exception {
        assertThat(get("/api/x").statusCode()).isEqualTo(200);
        assertThat(get("/tea").statusCode()).isEqualTo(418);
        assertThat(get("/nowhere").statusCode()).isEqualTo(404);

        HttpResponse<String> scrape = admin("/metrics");

        assertThat(scrape.statusCode()).isEqualTo(200);
        assertThat(scrape.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("text/plain; version=0.0.4"));
        Map<String, Double> samples = parse(scrape.body());
        assertThat(samples).containsEntry("merapi_requests_total{group=app,route=api,status_class=2xx}", 1.0)
                .containsEntry("merapi_requests_total{group=,route=teapot,status_class=4xx}", 1.0)
                .containsEntry("merapi_requests_total{group=,route=none,status_class=4xx}", 1.0)
                .containsEntry("merapi_request_duration_seconds_count{group=app,route=api}", 1.0)
                .containsEntry("merapi_backend_up{backend=127.0.0.1:" + origin.port() + ",group=app}", 1.0)
                .containsEntry("merapi_config_reloads_total{result=ok}", 0.0);
        assertThat(samples.keySet()).anyMatch(k -> k.startsWith("merapi_request_duration_seconds_bucket{group=app,le="));
    }

    @Test
    void theScrapeCountsConnectErrorsPoolReuseOpenConnectionsAndSecurityEvents() throws Exception {
        assertThat(get("/api/one").statusCode()).isEqualTo(200);
        assertThat(get("/api/two").statusCode()).isEqualTo(200);
        assertThat(get("/dead").statusCode()).isEqualTo(502);
        try (dev.merapi.testkit.RawClient raw = dev.merapi.testkit.RawClient.connect(
                ((InetSocketAddress) gateway.boundAddresses().getFirst()).getPort())) {
            raw.send("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"); // a duplicate Host: refused, a security event
            assertThat(raw.readResponse().status()).isEqualTo(400);
        }

        Map<String, Double> samples = parse(admin("/metrics").body());

        assertThat(samples).containsEntry("merapi_upstream_connections_total{group=app,reused=false}", 1.0)
                .containsEntry("merapi_upstream_connections_total{group=app,reused=true}", 1.0)
                .containsEntry("merapi_upstream_connect_errors_total{group=dead}", 1.0)
                .containsEntry("merapi_upstream_errors_total{group=dead,kind=connect_refused}", 1.0)
                .containsEntry("merapi_access_log_dropped_total", 0.0)
                .containsEntry("merapi_tunnels_open", 0.0);
        assertThat(samples).containsKey("merapi_tunnels_opened_total");
        assertThat(samples).as("the client's keep-alive connection is open").containsKey("merapi_connections_active{listener=main}");
        assertThat(samples.get("merapi_connections_active{listener=main}")).isGreaterThanOrEqualTo(1.0);
        assertThat(samples.entrySet()).anyMatch(e -> e.getKey().startsWith("merapi_security_events_total{rule=") && e.getValue() >= 1.0);
    }

    /** A strict reading of the Prometheus text format: every line a comment or a sample; labels sorted into the key. */
    private static Map<String, Double> parse(String text) {
        Map<String, Double> out = new HashMap<>();
        for (String line : text.split("\n")) {
            if (line.isEmpty() || line.startsWith("# HELP ") || line.startsWith("# TYPE ")) {
                continue;
            }
            Matcher m = SAMPLE.matcher(line);
            assertThat(m.matches()).as("a sample line: %s", line).isTrue();
            String labels = "";
            if (m.group(3) != null) {
                Matcher l = LABEL.matcher(m.group(3));
                java.util.TreeMap<String, String> sorted = new java.util.TreeMap<>();
                while (l.find()) {
                    sorted.put(l.group(1), l.group(2));
                }
                labels = sorted.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).reduce((a, b) -> a + "," + b)
                        .map(s -> "{" + s + "}").orElse("");
            }
            out.put(m.group(1) + labels, Double.parseDouble(m.group(4).replace("+Inf", "Infinity")));
        }
        return out;
    }

    @Test
    void aRequestIdIsGeneratedPassedUpstreamAndReturned() throws Exception {
        HttpResponse<String> r = get("/api/x");
        RecordedRequest upstream = origin.takeRequest(Duration.ofSeconds(5));

        String id = r.headers().firstValue("X-Request-Id").orElseThrow();
        assertThat(id).matches("[0-9a-f]{32}");
        assertThat(upstream.header("X-Request-Id")).hasValue(id);

        assertThat(get("/api/y", "X-Request-Id", "client-chosen.1").headers().firstValue("X-Request-Id")).hasValue("client-chosen.1");
        assertThat(get("/tea", "X-Request-Id", "bad id!").headers().firstValue("X-Request-Id")).hasValueSatisfying(v -> assertThat(v).matches("[0-9a-f]{32}"));
    }

    @Test
    void theAccessLogIsOneJsonObjectPerLineWithSecretsRedacted() throws Exception {
        get("/api/x?token=tok-secret&page=2", "Authorization", "Bearer auth-secret", "Cookie", "sid=cookie-secret",
                "X-Api-Key", "key-secret", "User-Agent", "test-agent", "X-Request-Id", "log-me");
        get("/tea");
        gateway.shutdownGracefully(); // flushes the asynchronous appender

        Path log = dir.resolve("access.log");
        List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
        assertThat(lines).hasSize(2);
        String all = String.join("\n", lines);
        assertThat(all).doesNotContain("tok-secret", "auth-secret", "cookie-secret", "key-secret");
        // Python's json module is the independent reader: each line is one flat object with typed values
        Process py = new ProcessBuilder("/usr/bin/python3", "-c", """
                import json, re, sys
                for line in open(sys.argv[1]):
                    o = json.loads(line)
                    assert re.fullmatch(r"\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z", o["time"]), o
                    assert list(o)[0] == "time" and "kvpList" not in o and "level" not in o and "message" not in o, o
                    assert type(o["status"]) is int and type(o["bytes_in"]) is int and type(o["bytes_out"]) is int, o
                    assert type(o["retries"]) is int and type(o["duration_ms"]) in (int, float), o
                    assert o["client"] == "127.0.0.1" and "tls_version" not in o and "error" not in o, o
                    print(o["route"], o["status"], o["method"], o["path"], o.get("query"), o["request_id"],
                          o.get("header_authorization"), o.get("header_cookie"), o.get("header_x_api_key"), o.get("header_user_agent"))
                    if o["route"] == "api":
                        assert o["duration_ms"] >= o["upstream_connect_ms"] >= 0, o
                        assert o["upstream_first_byte_ms"] >= 0, o
                        assert o["upstream"].startswith("127.0.0.1:"), o
                        assert o["bytes_out"] == 5 and o["retries"] == 0 and o["upstream_reused"] is False, o
                    else:
                        assert "upstream" not in o and "upstream_reused" not in o and "upstream_connect_ms" not in o, o
                """, log.toString()).redirectErrorStream(true).start();
        assertThat(py.waitFor(30, TimeUnit.SECONDS)).isTrue();
        String out = new String(py.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(py.exitValue()).as(out).isZero();
        assertThat(out.lines()).hasSize(2);
        assertThat(out.lines().toList().getFirst()).isEqualTo("api 200 GET /api/x token=[redacted]&page=2 log-me [redacted] [redacted] [redacted] test-agent");
        assertThat(out.lines().toList().get(1)).startsWith("teapot 418 GET /tea None");
    }

    @Test
    void aChangeOfTheFileIsReloadedWithoutASignal() throws Exception {
        Path file = dir.resolve("gw.yaml");
        assertThat(get("/tea").statusCode()).isEqualTo(418);
        Files.writeString(file, Files.readString(file).replace("status: 418", "status: 419"));
        Files.setLastModifiedTime(file, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() + 5_000));

        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (get("/tea").statusCode() != 419 && System.nanoTime() - deadline < 0) {
            Thread.sleep(100);
        }

        assertThat(get("/tea").statusCode()).isEqualTo(419);
        assertThat(gateway.reloadsOk()).isEqualTo(1);
        assertThat(parse(admin("/metrics").body())).containsEntry("merapi_config_reloads_total{result=ok}", 1.0);
    }
}
