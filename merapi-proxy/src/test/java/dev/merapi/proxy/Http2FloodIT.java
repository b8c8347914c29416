package dev.merapi.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.core.protocols.http1.Http1Options;
import dev.merapi.core.protocols.http2.Http2Options;
import dev.merapi.core.security.SecurityEvents;
import dev.merapi.core.services.ListeningService;
import dev.merapi.testkit.MockOrigin;
import dev.merapi.testkit.MockResponse;
import dev.merapi.testkit.TestServer;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * HTTP/2 flood defences and stream-state rules, each proved with a client that misbehaves on purpose over a real
 * socket (frames written by hand by {@code h2-misbehave.py}, python3-h2's HPACK): the connection gets GOAWAY with the
 * right error code (or the stream a reset, or the request 431), the event is counted under its rule, and the proxy
 * keeps serving.
 */
class Http2FloodIT {
    @RegisterExtension
    final ProxyFixture fixture = new ProxyFixture();

    private TestServer serve(Http1Options http1) {
        return serve(http1, Http2Options.DEFAULT);
    }

    private TestServer serve(Http1Options http1, Http2Options http2) {
        MockOrigin origin = fixture.origin();
        origin.setDispatcher(req -> MockResponse.ok("ok"));
        RecordingProxy proxy = new RecordingProxy(fixture.peer());
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy, ProxyOptions.DEFAULT);
        return fixture.closeAfter(TestServer.start(ListeningService.http("t", engine).http1Options(http1)
                .http2Options(http2)).checkClosedOnStop(engine.connector()::openConnections));
    }

    private TestServer serve() {
        return serve(Http1Options.DEFAULT);
    }

    /** Runs a scenario of the script against {@code server}; its output lines. */
    private static List<String> misbehave(TestServer server, String scenario, int count) throws Exception {
        TlsListenerIT.Run r = Http2DownstreamIT.run(List.of("/usr/bin/python3", Http2DownstreamIT.script(),
                Integer.toString(server.port()), scenario, Integer.toString(count)));
        assertThat(r.exit()).as(r.output()).isZero();
        return r.output().lines().toList();
    }

    private static void stillServes(TestServer server) throws Exception {
        assertThat(Http2DownstreamIT.h2Streams(server, List.of("/after"))).containsExactly("response 1 200 ok");
    }

    @Test
    void rapidResetGetsGoAwayEnhanceYourCalmWellUnderAThousandStreams() throws Exception {
        TestServer server = serve();
        long before = SecurityEvents.count("h2-rapid-reset");
        List<String> out = misbehave(server, "rapid-reset", 500);
        assertThat(out).contains("goaway 2147483647 11").contains("closed");
        assertThat(Http2Options.DEFAULT.maxRstFramesPerWindow()).isLessThan(1000);
        assertThat(SecurityEvents.count("h2-rapid-reset")).isGreaterThan(before);
        stillServes(server);
    }

    @Test
    void madeYouResetGetsGoAwayEnhanceYourCalm() throws Exception {
        TestServer server = serve();
        long before = SecurityEvents.count("h2-rapid-reset");
        List<String> out = misbehave(server, "made-you-reset", 500);
        assertThat(out).anyMatch(l -> l.startsWith("goaway ") && l.endsWith(" 11")).contains("closed");
        // each provoked reset is sent with its error code; the one that goes over the bound is the last, then GOAWAY
        assertThat(out.stream().filter(l -> l.startsWith("rst ")).count())
                .as("resets the server sent before it gave up")
                .isLessThanOrEqualTo(Http2Options.DEFAULT.maxRstFramesPerWindow() + 1L);
        assertThat(SecurityEvents.count("h2-rapid-reset")).isGreaterThan(before);
        stillServes(server);
    }

    @Test
    void emptyDataFloodGetsGoAwayEnhanceYourCalm() throws Exception {
        TestServer server = serve();
        long before = SecurityEvents.count("h2-empty-data-flood");
        assertThat(misbehave(server, "empty-data", 100)).anyMatch(l -> l.startsWith("goaway ") && l.endsWith(" 11"))
                .contains("closed");
        assertThat(SecurityEvents.count("h2-empty-data-flood")).isGreaterThan(before);
        stillServes(server);
    }

    @Test
    void continuationFloodGetsGoAwayEnhanceYourCalm() throws Exception {
        TestServer server = serve();
        long before = SecurityEvents.count("h2-continuation-flood");
        assertThat(misbehave(server, "continuation-flood", 100)).anyMatch(l -> l.startsWith("goaway ") && l.endsWith(" 11"))
                .contains("closed");
        assertThat(SecurityEvents.count("h2-continuation-flood")).isGreaterThan(before);
        stillServes(server);
    }

    @Test
    void anOversizedHeaderListGets431AndTheConnectionLives() throws Exception {
        TestServer server = serve();
        // 40 fields of 1000 bytes: over the listener's 32 KiB header limit
        assertThat(misbehave(server, "big-headers", 40)).contains("status 1 431").contains("open");
        stillServes(server);
    }

    @Test
    void streamsOverTheConcurrencyLimitAreRefused() throws Exception {
        TestServer server = serve();
        int limit = Http2Options.DEFAULT.maxConcurrentStreams();
        List<String> out = misbehave(server, "too-many-streams", limit + 5);
        // REFUSED_STREAM (7) for each stream over the limit; the ones within it stay open, waiting for their bodies
        assertThat(out).contains("rst " + (1 + 2 * limit) + " 7");
        assertThat(out).noneMatch(l -> l.equals("rst " + (1 + 2 * (limit - 1)) + " 7"));
    }

    @Test
    void aPingFloodFromAClientThatNeverReadsIsCutOffByTheWriteTimeout() throws Exception {
        TestServer server = serve(Http1Options.builder().writeTimeout(Duration.ofSeconds(2)).build());
        long before = SecurityEvents.count("h2-peer-not-reading") + SecurityEvents.count("h2-control-flood");
        List<String> out = misbehave(server, "ping-flood-no-read", 2_000_000);
        assertThat(out).contains("closed");
        assertThat(SecurityEvents.count("h2-peer-not-reading") + SecurityEvents.count("h2-control-flood")).isGreaterThan(before);
        stillServes(server);
    }

    @Test
    void headersOnAStreamThatEndedNormallyGetGoAwayStreamClosed() throws Exception {
        TestServer server = serve();
        List<String> out = misbehave(server, "closed-stream-headers", 0);
        assertThat(out).contains("status 1 200", "closed").anyMatch(l -> l.matches("goaway \\d+ 5"));
        stillServes(server);
    }

    @Test
    void aNewStreamNumberedBelowOneAlreadyOpenedGetsGoAwayProtocolError() throws Exception {
        TestServer server = serve();
        List<String> out = misbehave(server, "lower-stream-id", 0);
        assertThat(out).contains("closed").doesNotContain("status 3 200").anyMatch(l -> l.matches("goaway \\d+ 1"));
        stillServes(server);
    }

    @Test
    void lateFramesOnAStreamMerapiResetAreIgnoredAndTheConnectionGoesOn() throws Exception {
        TestServer server = serve();
        List<String> out = misbehave(server, "late-frames-after-reset", 0);
        assertThat(out).contains("rst 1 1", "status 3 200", "open").noneMatch(l -> l.startsWith("goaway "));
    }

    @Test
    void aHeaderBlockNeverCompletedGetsGoAwayAfterTheHeaderReadTimeoutWhileAnotherStreamIsOpen() throws Exception {
        // the idle timeout (60 s) does not run while stream 1 is open, and the script reads for 20 s
        TestServer server = serve(Http1Options.builder().headerReadTimeout(Duration.ofSeconds(1)).build());
        long before = SecurityEvents.count("h2-headers-timeout");
        List<String> out = misbehave(server, "headers-never-completed", 0);
        assertThat(out).contains("closed").anyMatch(l -> l.matches("goaway \\d+ 11"));
        assertThat(SecurityEvents.count("h2-headers-timeout")).isGreaterThan(before);
        stillServes(server);
    }

    @Test
    void aClientThatStopsAnsweringKeepalivePingsIsClosedWhileItsStreamIsOpen() throws Exception {
        TestServer server = serve(Http1Options.DEFAULT, Http2Options.builder().keepAliveInterval(Duration.ofSeconds(1))
                .keepAliveTimeout(Duration.ofSeconds(2)).build());
        List<String> out = misbehave(server, "ignore-pings", 0);
        assertThat(out).contains("ping", "closed");
        stillServes(server);
    }

    @Test
    void aClientThatAnswersKeepalivePingsKeepsItsConnection() throws Exception {
        TestServer server = serve(Http1Options.DEFAULT, Http2Options.builder().keepAliveInterval(Duration.ofSeconds(1))
                .keepAliveTimeout(Duration.ofSeconds(2)).build());
        List<String> out = misbehave(server, "answer-pings", 6);
        assertThat(out.stream().filter("ping"::equals).count()).as(String.join("\n", out)).isGreaterThanOrEqualTo(2);
        assertThat(out).contains("open").doesNotContain("closed");
    }
}
