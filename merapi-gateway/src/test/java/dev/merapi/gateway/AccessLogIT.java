package dev.merapi.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.merapi.testkit.MockOrigin;
import dev.merapi.testkit.MockResponse;
import dev.merapi.testkit.RawClient;
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

/** The gateway's access log to a file: buffered output, flushes, and hostile values, each line read by a JSON parser. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class AccessLogIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    Path dir;
    private MockOrigin origin;
    private Gateway gateway;

    @BeforeEach
    void origin() throws IOException {
        origin = MockOrigin.start();
        origin.setDispatcher(r -> MockResponse.ok("hello"));
    }

    @AfterEach
    void stop() {
        if (gateway != null) {
            gateway.shutdownFast();
        }
        origin.close();
    }

    private Path log() {
        return dir.resolve("access.log");
    }

    private void startWith(String accessLog) throws IOException {
        gateway = TestGateways.start(dir, """
                listeners: [{name: main, address: "127.0.0.1:0"}]
                upstreams: [{name: app, backends: ["127.0.0.1:%d"]}]
                routes: [{name: all, upstream: app}]
                admin: {enabled: false}
                access-log: {output: "%s", headers: [User-Agent, X-Note]%s}
                """.formatted(origin.port(), log(), accessLog));
    }

    private RawClient.Response get(String target, String id, String... headerLines) throws IOException {
        StringBuilder raw = new StringBuilder("GET " + target + " HTTP/1.1\r\nHost: gw.test\r\nX-Request-Id: " + id + "\r\n");
        for (String h : headerLines) {
            raw.append(h).append("\r\n");
        }
        try (RawClient c = RawClient.connect(TestGateways.port(gateway, 0))) {
            c.send(raw.append("Connection: close\r\n\r\n").toString().getBytes(StandardCharsets.ISO_8859_1));
            return c.readResponse();
        }
    }

    private List<JsonNode> lines() throws IOException {
        List<JsonNode> out = new ArrayList<>();
        if (Files.exists(log())) {
            for (String line : Files.readAllLines(log(), StandardCharsets.UTF_8)) {
                out.add(JSON.readTree(line));
            }
        }
        return out;
    }

    /** The lines once there are some, waiting up to 30 s for the writer. */
    private List<JsonNode> awaitLines() throws IOException, InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (lines().isEmpty() && System.nanoTime() - deadline < 0) {
            Thread.sleep(50);
        }
        return lines();
    }

    @Test
    void aBufferedFileGetsItsLinesAtTheFlushIntervalWithNoMoreTraffic() throws Exception {
        startWith(", buffer: 64KiB, flush-interval: 200ms");

        assertThat(get("/one", "req-1").status()).isEqualTo(200);

        assertThat(awaitLines()).singleElement().satisfies(o -> {
            assertThat(o.get("request_id").asText()).isEqualTo("req-1");
            assertThat(o.get("status").intValue()).isEqualTo(200);
            assertThat(o.get("path").asText()).isEqualTo("/one");
        });
    }

    @Test
    void aBufferedLineWaitsForTheFlushAndAGracefulStopWritesIt() throws Exception {
        startWith(", buffer: 64KiB, flush-interval: 1m");

        for (int i = 1; i <= 3; i++) {
            assertThat(get("/n" + i, "req-" + i).status()).isEqualTo(200);
        }
        Thread.sleep(500); // time for the writer to take the lines: they stay in the 64 KiB buffer for a minute
        assertThat(Files.size(log())).as("nothing written before the flush").isZero();

        gateway.shutdownGracefully();

        assertThat(lines()).extracting(o -> o.get("request_id").asText()).containsExactly("req-1", "req-2", "req-3");
    }

    @Test
    void unbufferedLinesAreWrittenAsTheyCome() throws Exception {
        startWith("");

        assertThat(get("/now", "req-now").status()).isEqualTo(200);

        assertThat(awaitLines()).singleElement().satisfies(o -> assertThat(o.get("request_id").asText()).isEqualTo("req-now"));
    }

    @Test
    void twoGatewaysInOneProcessEachWriteTheirOwnLog() throws Exception {
        startWith("");
        Path other = Files.createDirectories(dir.resolve("other"));
        Gateway second = TestGateways.start(other, """
                listeners: [{name: main, address: "127.0.0.1:0"}]
                upstreams: [{name: app, backends: ["127.0.0.1:%d"]}]
                routes: [{name: second, upstream: app}]
                admin: {enabled: false}
                access-log: {output: "%s"}
                """.formatted(origin.port(), other.resolve("access.log")));
        try {
            assertThat(get("/first", "req-first").status()).isEqualTo(200);
            try (RawClient c = RawClient.connect(TestGateways.port(second, 0))) {
                c.send("GET /second HTTP/1.1\r\nHost: gw.test\r\nX-Request-Id: req-second\r\nConnection: close\r\n\r\n");
                assertThat(c.readResponse().status()).isEqualTo(200);
            }
        } finally {
            second.shutdownGracefully();
        }
        gateway.shutdownGracefully();

        assertThat(lines()).extracting(o -> o.get("request_id").asText()).containsExactly("req-first");
        assertThat(Files.readAllLines(other.resolve("access.log"))).singleElement().asString()
                .contains("\"request_id\":\"req-second\"", "\"route\":\"second\"");
    }

    @Test
    void quotesBackslashesTabsAndNonAsciiInAHeaderStayInsideTheirStrings() throws Exception {
        startWith("");
        // header bytes as the client sends them: é is two UTF-8 bytes, which the log shows as two ISO-8859-1 octets.
        // The strict parser refuses raw quotes, backslashes and non-ASCII in the request target (JsonLinesEncoderTest
        // covers those and control characters), so the path carries them percent-encoded, and is logged as sent.
        String agent = "a \"quoted\" \\back\\slash\\\tand é \",\"forged\":\"x";
        String path = "/p/%22q%5C/%C3%A9";

        RawClient.Response r = get(path + "?note=%22%7D%7B%5C", "req-hostile", "User-Agent: " + new String(agent.getBytes(StandardCharsets.UTF_8),
                StandardCharsets.ISO_8859_1), "X-Note: tab\there");
        gateway.shutdownGracefully();

        List<JsonNode> lines = lines();
        assertThat(lines).as("status %s", r.status()).singleElement();
        JsonNode o = lines.getFirst();
        assertThat(o.has("forged")).isFalse();
        assertThat(o.get("request_id").asText()).isEqualTo("req-hostile");
        assertThat(o.get("header_x_note").asText()).isEqualTo("tab\there");
        assertThat(new String(o.get("header_user_agent").asText().getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8))
                .isEqualTo(agent);
        assertThat(o.get("status").intValue()).isEqualTo(200);
        assertThat(o.get("path").asText()).isEqualTo(path);
        assertThat(o.get("query").asText()).isEqualTo("note=%22%7D%7B%5C");
        assertThat(Files.readString(log(), StandardCharsets.UTF_8).lines()).hasSize(1);
    }
}
