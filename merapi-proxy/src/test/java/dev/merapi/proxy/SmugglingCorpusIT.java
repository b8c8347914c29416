package dev.merapi.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import dev.merapi.testkit.MockResponse;
import dev.merapi.testkit.RawClient;
import dev.merapi.testkit.RecordedRequest;
import dev.merapi.testkit.UnservedRequest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.Timeout;

/**
 * Sends every case of the request-smuggling corpus ({@code src/test/resources/smuggling}) on its own connection to
 * one proxy in front of a recording origin, and checks the case's outcome: the statuses the client gets, whether
 * the connection is closed, and exactly which requests, with which bodies, reach the origin.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SmugglingCorpusIT {
    private static final List<SmugglingCase> CASES = SmugglingCase.loadAll();
    private static Http1StrictIT.Fixture fixture;

    @BeforeAll
    static void start() {
        fixture = Http1StrictIT.Fixture.start();
        fixture.origin.setDispatcher(SmugglingCorpusIT::answer);
    }

    @AfterAll
    static void stop() {
        if (fixture != null) {
            fixture.close();
        }
    }

    /**
     * The origin's answer: a body naming the request, so a response can be told from another, and an empty body
     * for HEAD so that a client reading pipelined responses never mistakes a HEAD length for body bytes.
     */
    static MockResponse answer(RecordedRequest request) {
        if (request.method().equals("HEAD")) {
            return MockResponse.builder().body("").build();
        }
        return MockResponse.ok(request.method() + " " + request.target() + " " + request.bodySize() + "\n");
    }

    @Test
    void corpusHasAtLeast150CasesCoveringEveryFamily() {
        Map<String, Long> byFamily = CASES.stream()
                .collect(Collectors.groupingBy(SmugglingCase::family, TreeMap::new, Collectors.counting()));
        assertThat(CASES).hasSizeGreaterThanOrEqualTo(150);
        assertThat(byFamily.keySet()).containsAll(Set.of("cl-te", "te-cl", "te-te", "content-length", "obs-fold",
                "bare-cr-lf", "ctl", "chunk-size", "chunk-ext", "trailer", "http10", "absolute-form", "host",
                "long-line", "method", "version", "pipeline", "expect", "hop-by-hop"));
        assertThat(CASES.stream().filter(SmugglingCase::accepted).count()).as("cases that must be forwarded")
                .isGreaterThanOrEqualTo(30);
    }

    @TestFactory
    Stream<DynamicTest> everyCaseHasItsExpectedOutcome() {
        return CASES.stream().map(c -> dynamicTest(c.id(), () -> check(c)));
    }

    private static void check(SmugglingCase c) throws IOException {
        String what = c.id() + " (" + c.description() + ") sending " + SmugglingCase.printable(c.bytes(), 300);
        int before = fixture.origin.requestCount();
        int unservedBefore = fixture.origin.unservedRequests().size();
        try (RawClient client = fixture.connect()) {
            client.send(c.bytes());
            List<Integer> statuses = new ArrayList<>();
            while (statuses.size() < c.statuses().size()) {
                RawClient.Response r = client.readResponse();
                if (r.status() < 200) {
                    continue; // 100 Continue
                }
                statuses.add(r.status());
                if (r.status() >= 400) {
                    assertThat(r.header("Connection")).as("Connection on the %d of %s", r.status(), what).hasValue("close");
                    break;
                }
            }
            assertThat(statuses).as("statuses for %s", what).isEqualTo(c.statuses());
            if (c.close()) {
                assertThat(client.isClosedByPeer()).as("connection closed after %s", what).isTrue();
            } else {
                assertThat(client.isClosedByPeer(Duration.ofMillis(30))).as("connection kept after %s", what).isFalse();
            }
        }
        List<RecordedRequest> seen = originRequestsSince(before, c.origin().size());
        List<UnservedRequest> unserved = fixture.origin.unservedRequests();
        assertThat(unserved.subList(unservedBefore, unserved.size())).as("malformed requests at the origin for %s", what)
                .allMatch(UnservedRequest::incomplete);
        assertThat(seen).as("requests at the origin for %s", what).hasSize(c.origin().size());
        for (int i = 0; i < seen.size(); i++) {
            RecordedRequest got = seen.get(i);
            SmugglingCase.OriginRequest want = c.origin().get(i);
            assertThat(got.method() + " " + got.target()).as("request %d of %s", i + 1, what)
                    .isEqualTo(want.method() + " " + want.target());
            assertThat(new String(got.body(), StandardCharsets.ISO_8859_1)).as("body of request %d of %s", i + 1, what)
                    .isEqualTo(want.body());
            assertThat(got.headerValues("Transfer-Encoding").size() + got.headerValues("Content-Length").size())
                    .as("framing headers of request %d of %s", i + 1, what).isLessThanOrEqualTo(1);
            if (want.host() != null) {
                assertThat(got.headerValues("Host")).as("Host of request %d of %s", i + 1, what).containsExactly(want.host());
            }
        }
    }

    /**
     * The requests the origin recorded after the first {@code before}: waits until {@code expected} arrived, then a
     * little longer so that a smuggled extra request would be seen too.
     */
    private static List<RecordedRequest> originRequestsSince(int before, int expected) {
        RecordingProxy.eventually(() -> fixture.origin.requestCount() >= before + expected);
        RecordingProxy.sleep(20);
        List<RecordedRequest> all = fixture.origin.requests();
        return all.subList(before, all.size());
    }
}
