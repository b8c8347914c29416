package dev.merapi.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.core.listeners.ConnectionFilter;
import dev.merapi.core.protocols.http1.Http1Options;
import dev.merapi.core.security.SecurityEvents;
import dev.merapi.core.services.ListeningService;
import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.http.Http1Limits;
import dev.merapi.testkit.MockOrigin;
import dev.merapi.testkit.TestServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every kind of rejection, over a real socket against a running proxy, produces exactly one security event with the
 * right rule and fields; secrets never reach the log; and a burst of bad requests is counted exactly but logged in
 * bounded lines with a suppression summary.
 *
 * <p>In the raw messages a {@code |} stands for CRLF.
 */
class SecurityEventsIT {
    private static final Duration SHORT = Duration.ofMillis(300);
    private static final Pattern SUPPRESSED = Pattern.compile("security-events-suppressed count=(\\d+)");

    private LogCapture log;

    @BeforeEach
    void captureTheSecurityLogger() {
        SecurityEvents.rateLimit(SecurityEvents.DEFAULT_BURST, SecurityEvents.DEFAULT_PER_SECOND);
        log = LogCapture.of(SecurityEvents.LOGGER_NAME);
    }

    @AfterEach
    void release() {
        log.close();
        SecurityEvents.rateLimit(SecurityEvents.DEFAULT_BURST, SecurityEvents.DEFAULT_PER_SECOND);
    }

    /** A proxy in front of a {@link MockOrigin}, both on 127.0.0.1 and port 0. */
    private static final class Fixture implements AutoCloseable {
        final MockOrigin origin = MockOrigin.start();
        final TestServer proxy;

        Fixture(Http1Options options, ConnectionFilter filter) {
            TestServer server;
            try {
                HttpProxy<Void> engine = HttpProxy.of(Http1StrictIT.Fixture.plainProxy(HttpPeer.of(origin.address(), false, "")));
                server = TestServer.start(ListeningService.http("events", engine).http1Options(options).connectionFilter(filter))
                        .checkClosedOnStop(engine.connector()::openConnections);
            } catch (RuntimeException | Error e) {
                origin.close();
                throw e;
            }
            proxy = server;
        }

        Fixture(Http1Options options) {
            this(options, ConnectionFilter.ACCEPT_ALL);
        }

        Fixture() {
            this(Http1Options.DEFAULT);
        }

        String listener() {
            return "127.0.0.1:" + proxy.port();
        }

        @Override
        public void close() {
            try {
                proxy.close();
            } finally {
                origin.close();
            }
        }
    }

    /** What one connection got: the client's port and every byte the proxy sent until it closed. */
    private record Exchange(int clientPort, String response) {
        int status() {
            return response.length() >= 12 ? Integer.parseInt(response.substring(9, 12)) : 0;
        }
    }

    /** Sends {@code raw} on a new connection and reads until the proxy closes it. */
    private static Exchange exchange(int port, String raw) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            s.setSoTimeout(10_000);
            if (!raw.isEmpty()) {
                s.getOutputStream().write(crlf(raw).getBytes(StandardCharsets.ISO_8859_1));
                s.getOutputStream().flush();
            }
            String response = new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
            return new Exchange(s.getLocalPort(), response);
        }
    }

    private static String crlf(String s) {
        return s.replace("|", "\r\n");
    }

    private List<String> lines() {
        return log.lines();
    }

    private List<String> eventLines(String rule) {
        return lines().stream().filter(l -> l.startsWith("security-event rule=" + rule + " ")).toList();
    }

    /**
     * Asserts that {@code rule} was counted once and logged in exactly one line naming the client, the listener and
     * {@code status} ({@code -} for none), and returns that line.
     */
    private String assertOneEvent(Fixture f, Exchange ex, String rule, String status, long countBefore) {
        assertThat(SecurityEvents.count(rule)).as("count of %s", rule).isEqualTo(countBefore + 1);
        List<String> lines = eventLines(rule);
        assertThat(lines).as("lines for %s in %s", rule, lines()).hasSize(1);
        String line = lines.getFirst();
        assertThat(line).contains(" status=" + status + " ", " client=127.0.0.1:" + ex.clientPort() + " ",
                " listener=" + f.listener() + " ", " excerpt=\"");
        assertThat(line).doesNotContain("\r", "\n");
        assertThat(lines()).as("no other event").hasSize(1);
        return line;
    }

    // ---- one event per rejection kind

    @ParameterizedTest
    @CsvSource(delimiter = ';', value = {
        "POST / HTTP/1.1|Host: a|Transfer-Encoding: chunked|Content-Length: 5||0||; te-and-cl; 400; Transfer-Encoding: chunked",
        "POST / HTTP/1.1|Host: a|Content-Length: 5|Content-Length: 6||hello; duplicate-content-length; 400; [line 4] Content-Length: 6",
        "GET / HTTP/1.1|Host: a|X-Folded: a| b||; obs-fold; 400; [line 4]  b",
        "GET / HTTP/1.1|Host: a|X-Bad : v||; space-before-colon; 400; [line 3] X-Bad : v",
        "GET / HTTP/1.1||; missing-host; 400; GET / HTTP/1.1",
        "GET / HTTP/1.1|Host: a|Host: b||; duplicate-host; 400; [line 3] Host: b",
        "GET / HTTP/2.0|Host: a||; unsupported-version; 505; GET / HTTP/2.0",
        "POST / HTTP/1.1|Host: a|Transfer-Encoding: gzip, chunked||0||; te-unsupported; 501; Transfer-Encoding: gzip, chunked",
        "PUT / HTTP/1.1|Host: a|Expect: 200-ok|Content-Length: 1||x; bad-expect; 417; [line 2] Expect: 200-ok",
        "CONNECT example.com:443 HTTP/1.1|Host: example.com:443||; connect-disabled; 405; CONNECT example.com:443 HTTP/1.1",
        "TRACE / HTTP/1.1|Host: a||; trace-disabled; 405; TRACE / HTTP/1.1",
    })
    void eachBrokenRuleGivesOneEvent(String raw, String rule, int status, String excerpt) throws IOException {
        try (Fixture f = new Fixture()) {
            long before = SecurityEvents.count(rule);
            Exchange ex = exchange(f.proxy.port(), raw);
            assertThat(ex.status()).isEqualTo(status);
            String line = assertOneEvent(f, ex, rule, Integer.toString(status), before);
            assertThat(line).contains(excerpt.replace("\\", "\\\\"));
        }
    }

    @Test
    void tlsHandshakeOnThePlainPortGivesOneNotHttpEvent() throws IOException {
        try (Fixture f = new Fixture()) {
            long before = SecurityEvents.count("not-http");
            Exchange ex = exchange(f.proxy.port(), Http1StrictIT.TLS_CLIENT_HELLO_START);
            assertThat(ex.status()).isEqualTo(400);
            String line = assertOneEvent(f, ex, "not-http", "400", before);
            assertThat(line).contains("excerpt=\"\\x16\\x03");
        }
    }

    @Test
    void bareLfGivesOneEventNamingTheLine() throws IOException {
        try (Fixture f = new Fixture()) {
            long before = SecurityEvents.count("bare-lf");
            Exchange ex = exchange(f.proxy.port(), "GET / HTTP/1.1|Host: a|X-A: 1\nX-B: 2||");
            assertThat(ex.status()).isEqualTo(400);
            String line = assertOneEvent(f, ex, "bare-lf", "400", before);
            assertThat(line).contains("excerpt=\"GET / HTTP/1.1 ... [line 3] X-A: 1\"");
        }
    }

    @Test
    void overLongRequestLineGives414Event() throws IOException {
        try (Fixture f = new Fixture(Http1Options.builder().limits(Http1Limits.DEFAULT.toBuilder().maxRequestLine(256).build()).build())) {
            long before = SecurityEvents.count("request-line-too-long");
            Exchange ex = exchange(f.proxy.port(), "GET /" + "a".repeat(1000) + " HTTP/1.1|Host: a||");
            assertThat(ex.status()).isEqualTo(414);
            String line = assertOneEvent(f, ex, "request-line-too-long", "414", before);
            assertThat(line.length()).as("the excerpt is bounded").isLessThan(400);
        }
    }

    @Test
    void tooManyHeadersGives431Event() throws IOException {
        try (Fixture f = new Fixture(Http1Options.builder().limits(Http1Limits.DEFAULT.toBuilder().maxHeaderCount(10).build()).build())) {
            long before = SecurityEvents.count("too-many-headers");
            Exchange ex = exchange(f.proxy.port(), "GET / HTTP/1.1|Host: a|" + "X-A: 1|".repeat(20) + "|");
            assertThat(ex.status()).isEqualTo(431);
            assertOneEvent(f, ex, "too-many-headers", "431", before);
        }
    }

    @Test
    void badChunkSizeGivesOneEventQuotingOnlyTheRequestLine() throws IOException {
        try (Fixture f = new Fixture()) {
            long before = SecurityEvents.count("bad-chunk-size");
            Exchange ex = exchange(f.proxy.port(), "POST /up HTTP/1.1|Host: a|Transfer-Encoding: chunked||zz|SECRET-BODY|0||");
            assertThat(ex.status()).isEqualTo(400);
            String line = assertOneEvent(f, ex, "bad-chunk-size", "400", before);
            assertThat(line).contains("excerpt=\"POST /up HTTP/1.1\"").doesNotContain("SECRET");
        }
    }

    @Test
    void firstByteTimeoutGivesOneEventWithoutStatus() throws IOException {
        try (Fixture f = new Fixture(Http1Options.builder().firstByteTimeout(SHORT).build())) {
            long before = SecurityEvents.count("first-byte-timeout");
            Exchange ex = exchange(f.proxy.port(), "");
            assertThat(ex.response()).isEmpty();
            String line = assertOneEvent(f, ex, "first-byte-timeout", "-", before);
            assertThat(line).endsWith("excerpt=\"\"");
        }
    }

    @Test
    void headerReadTimeoutGivesOneEventQuotingTheHeadSoFar() throws IOException {
        try (Fixture f = new Fixture(Http1Options.builder().headerReadTimeout(SHORT).build())) {
            long before = SecurityEvents.count("header-read-timeout");
            Exchange ex = exchange(f.proxy.port(), "GET /slow?session=SECRET-Q HTTP/1.1|Host: a|Cookie: SECRET-C|X-Slow: ");
            assertThat(ex.status()).isEqualTo(408);
            String line = assertOneEvent(f, ex, "header-read-timeout", "408", before);
            assertThat(line).contains("excerpt=\"GET /slow?session=<redacted> HTTP/1.1\"").doesNotContain("SECRET");
        }
    }

    @Test
    void bodyReadTimeoutGivesOneEvent() throws IOException {
        try (Fixture f = new Fixture(Http1Options.builder().bodyReadTimeout(SHORT).build())) {
            long before = SecurityEvents.count("body-read-timeout");
            Exchange ex = exchange(f.proxy.port(), "POST /upload HTTP/1.1|Host: a|Content-Length: 10||abc");
            assertThat(ex.status()).isEqualTo(408);
            String line = assertOneEvent(f, ex, "body-read-timeout", "408", before);
            assertThat(line).contains("excerpt=\"POST /upload HTTP/1.1\"");
        }
    }

    @Test
    void connectionRefusedByTheFilterGivesOneEvent() throws IOException {
        try (Fixture f = new Fixture(Http1Options.DEFAULT, (remote, local) -> false)) {
            long before = SecurityEvents.count("connection-filter");
            Exchange ex = exchange(f.proxy.port(), "");
            assertThat(ex.response()).isEmpty();
            assertOneEvent(f, ex, "connection-filter", "-", before);
            assertThat(f.origin.connectionCount()).isZero();
        }
    }

    @Test
    void goodRequestsGiveNoEvent() throws IOException {
        try (Fixture f = new Fixture()) {
            var before = SecurityEvents.counts();
            Exchange ex = exchange(f.proxy.port(), "GET / HTTP/1.1|Host: a|Authorization: Bearer x|Connection: close||");
            assertThat(ex.status()).isEqualTo(200);
            assertThat(SecurityEvents.counts()).isEqualTo(before);
            assertThat(lines()).isEmpty();
        }
    }

    // ---- redaction

    @ParameterizedTest
    @ValueSource(strings = {
        "GET /a?token=SECRET-Q1&k HTTP/1.1|Authorization : Bearer SECRET-A1|Host: a||",
        "GET /a?SECRET-Q2 HTTP/1.1|Host: a|Authorization: Bearer| SECRET-A2||",
        "GET /a HTTP/1.1|Host: a|Cookie: sid=SECRET-C1\n|X: y||",
        "GET /a HTTP/1.1|Host: a|Proxy-Authorization: Basic SECRET-P1\u0001||",
        "GET /a HTTP/1.1|Host: a|set-cookie: SECRET-S1|Host: b||",
        "GET /a HTTP/1.1|Host: a|AUTHORIZATION SECRET-A3||",
        "Cookie: SECRET-C2|Host: a||",
    })
    void sensitiveValuesNeverReachTheLog(String raw) throws IOException {
        try (Fixture f = new Fixture()) {
            long before = SecurityEvents.counts().values().stream().mapToLong(Long::longValue).sum();
            Exchange ex = exchange(f.proxy.port(), raw);
            assertThat(ex.status()).isEqualTo(400);
            assertThat(SecurityEvents.counts().values().stream().mapToLong(Long::longValue).sum()).isEqualTo(before + 1);
            assertThat(lines()).hasSize(1);
            assertThat(lines().getFirst()).startsWith("security-event rule=").doesNotContain("SECRET");
        }
        if (!raw.contains("set-cookie")) { // there the offending line is the second Host
            assertThat(lines().getFirst()).contains("<redacted>");
        }
    }

    // ---- rate limit

    /** The lines logged for {@code rule} plus every suppression summary's count. */
    private long accounted(String rule) {
        long n = eventLines(rule).size();
        for (String l : lines()) {
            Matcher m = SUPPRESSED.matcher(l);
            if (m.matches()) {
                n += Long.parseLong(m.group(1));
            }
        }
        return n;
    }

    @Test
    void aBurstIsCountedExactlyButLoggedInBoundedLinesWithASummary() throws Exception {
        int burst = 20;
        double perSecond = 5;
        int requests = 10_000;
        SecurityEvents.rateLimit(burst, perSecond);
        try (Fixture f = new Fixture(); ExecutorService pool = Executors.newFixedThreadPool(4)) {
            long before = SecurityEvents.count("missing-host");
            long start = System.nanoTime();
            List<Future<Integer>> clients = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                clients.add(pool.submit(() -> {
                    int rejected = 0;
                    for (int i = 0; i < requests / 4; i++) {
                        if (exchange(f.proxy.port(), "GET /x?i=" + i + " HTTP/1.1||").status() == 400) {
                            rejected++;
                        }
                    }
                    return rejected;
                }));
            }
            int rejected = 0;
            for (Future<Integer> c : clients) {
                rejected += c.get();
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            assertThat(rejected).isEqualTo(requests);
            assertThat(SecurityEvents.count("missing-host") - before).as("the counter is exact").isEqualTo(requests);
            int logged = eventLines("missing-host").size();
            assertThat(logged).as("lines in %.1f s", seconds).isLessThanOrEqualTo(burst + (int) Math.ceil(seconds * perSecond) + 1);

            // once the limit lifts, a summary accounts for the suppressed lines, with no further event needed
            long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            while (accounted("missing-host") < requests && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertThat(accounted("missing-host")).as("every event is either logged or summarised").isEqualTo(requests);
            assertThat(lines()).as("summaries").anyMatch(l -> SUPPRESSED.matcher(l).matches());

            // and the next event is logged normally
            Thread.sleep((long) (1000 / perSecond) + 100);
            assertThat(exchange(f.proxy.port(), "GET / HTTP/1.1||").status()).isEqualTo(400);
            assertThat(lines().getLast()).startsWith("security-event rule=missing-host ");
            assertThat(accounted("missing-host")).isEqualTo(requests + 1);
        }
    }
}
