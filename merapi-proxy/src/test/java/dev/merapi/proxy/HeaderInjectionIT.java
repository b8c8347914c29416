package dev.merapi.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.DynamicContainer.dynamicContainer;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import dev.merapi.core.protocols.http1.Http1Options;
import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.error.ErrorSource;
import dev.merapi.error.ErrorType;
import dev.merapi.error.ProxyError;
import dev.merapi.http.Headers;
import dev.merapi.http.HttpVersion;
import dev.merapi.http.RequestHeader;
import dev.merapi.http.ResponseHeader;
import dev.merapi.testkit.MockResponse;
import dev.merapi.testkit.RawClient;
import dev.merapi.testkit.RecordedRequest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.Timeout;

/**
 * User code that copies untrusted text into a head, over real sockets: every public setter, in every phase that can
 * write a header, in both directions, with each bad input (CR, LF, CRLF, NUL, DEL, another control, characters above
 * U+00FF, names that are not tokens). Each is refused where it is set; the request ends in a 500 that {@code logging}
 * sees; nothing injected reaches the client or the origin, and the client's connection stays in step.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class HeaderInjectionIT {
    /** Which part of a head a bad input goes into. */
    enum Part { VALUE, NAME, TARGET, METHOD, REASON }

    /** Where the text a setter writes would go. */
    enum Direction { TO_CLIENT, TO_ORIGIN }

    /** A bad input; every one carries the word "injected" so that a leak of it can be seen on the wire. */
    record Bad(Part part, String label, String text) {
        @Override
        public String toString() {
            return part.name().toLowerCase(Locale.ROOT) + " with " + label;
        }
    }

    static final List<Bad> BAD = List.of(
            new Bad(Part.VALUE, "CR", "x\rSet-Cookie: injected=1"),
            new Bad(Part.VALUE, "LF", "x\nSet-Cookie: injected=1"),
            new Bad(Part.VALUE, "CRLF", "x\r\nSet-Cookie: injected=1\r\n\r\nGET /injected HTTP/1.1\r\nHost: a"),
            new Bad(Part.VALUE, "NUL", "x\u0000injected"),
            new Bad(Part.VALUE, "DEL", "x\u007finjected"),
            new Bad(Part.VALUE, "another control (0x01)", "x\u0001injected"),
            new Bad(Part.VALUE, "characters above U+00FF whose low bytes are CR LF", "x\u010d\u010aSet-Cookie: injected=1"),
            new Bad(Part.NAME, "CRLF", "X-Injected\r\nSet-Cookie"),
            new Bad(Part.NAME, "LF", "X-Injected\nX-Injected"),
            new Bad(Part.NAME, "NUL", "X-Injected\u0000"),
            new Bad(Part.NAME, "DEL", "X-Injected\u007f"),
            new Bad(Part.NAME, "space", "X Injected"),
            new Bad(Part.NAME, "colon", "X-Injected: 1\r\nX"),
            new Bad(Part.NAME, "obs-text (0xE9)", "X-Inject\u00e9d"),
            new Bad(Part.NAME, "a character above U+00FF", "X-Injected\u010a"),
            new Bad(Part.TARGET, "CRLF", "/x HTTP/1.1\r\nHost: a\r\n\r\nGET /injected"),
            new Bad(Part.TARGET, "space", "/x /injected"),
            new Bad(Part.TARGET, "NUL", "/x\u0000injected"),
            new Bad(Part.TARGET, "DEL", "/x\u007finjected"),
            new Bad(Part.TARGET, "obs-text (0xE9)", "/injected\u00e9"),
            new Bad(Part.TARGET, "characters above U+00FF whose low bytes are CR LF", "/x\u010d\u010aX: injected"),
            new Bad(Part.METHOD, "CRLF", "GET /injected HTTP/1.1\r\nHost: a\r\n\r\nGET"),
            new Bad(Part.METHOD, "space", "GET /injected"),
            new Bad(Part.METHOD, "NUL", "GET\u0000injected"),
            new Bad(Part.METHOD, "obs-text (0xE9)", "INJECT\u00c9D"),
            new Bad(Part.REASON, "CR", "OK\rSet-Cookie: injected=1"),
            new Bad(Part.REASON, "LF", "OK\nSet-Cookie: injected=1"),
            new Bad(Part.REASON, "CRLF", "OK\r\nSet-Cookie: injected=1\r\n\r\ninjected"),
            new Bad(Part.REASON, "NUL", "OK\u0000injected"),
            new Bad(Part.REASON, "DEL", "OK\u007finjected"),
            new Bad(Part.REASON, "a character above U+00FF", "OK \u010ainjected"));

    /** A public setter, called in one phase, with the parts of a head it can take. */
    enum Setter {
        EARLY_REQUEST_FILTER_HEADERS_ADD(Direction.TO_ORIGIN, Part.VALUE, Part.NAME),
        REQUEST_FILTER_HEADERS_SET(Direction.TO_ORIGIN, Part.VALUE, Part.NAME),
        REQUEST_FILTER_SET_TARGET(Direction.TO_ORIGIN, Part.TARGET),
        UPSTREAM_REQUEST_FILTER_HEADERS_ADD(Direction.TO_ORIGIN, Part.VALUE, Part.NAME),
        UPSTREAM_REQUEST_FILTER_HEADERS_SET(Direction.TO_ORIGIN, Part.VALUE, Part.NAME),
        UPSTREAM_REQUEST_FILTER_SET_TARGET(Direction.TO_ORIGIN, Part.TARGET),
        UPSTREAM_REQUEST_FILTER_SET_METHOD(Direction.TO_ORIGIN, Part.METHOD),
        REQUEST_FILTER_RESPOND_CONTENT_TYPE(Direction.TO_CLIENT, Part.VALUE),
        REQUEST_FILTER_RESPOND_HEADERS_ADD(Direction.TO_CLIENT, Part.VALUE, Part.NAME),
        REQUEST_FILTER_RESPOND_REASON(Direction.TO_CLIENT, Part.REASON),
        UPSTREAM_RESPONSE_FILTER_HEADERS_ADD(Direction.TO_CLIENT, Part.VALUE, Part.NAME),
        RESPONSE_FILTER_HEADERS_SET(Direction.TO_CLIENT, Part.VALUE, Part.NAME),
        RESPONSE_FILTER_SET_HEADER(Direction.TO_CLIENT, Part.VALUE, Part.NAME),
        FAIL_TO_PROXY_RESPOND_HEADERS_ADD(Direction.TO_CLIENT, Part.VALUE, Part.NAME);

        final Direction direction;
        final Set<Part> parts;

        Setter(Direction direction, Part first, Part... rest) {
            this.direction = direction;
            this.parts = EnumSet.of(first, rest);
        }

        /** The phase it runs in, as {@code logging} would name it. */
        String phase() {
            String n = name();
            if (n.startsWith("EARLY_REQUEST_FILTER")) {
                return "earlyRequestFilter";
            }
            if (n.startsWith("UPSTREAM_REQUEST_FILTER")) {
                return "upstreamRequestFilter";
            }
            if (n.startsWith("UPSTREAM_RESPONSE_FILTER")) {
                return "upstreamResponseFilter";
            }
            if (n.startsWith("RESPONSE_FILTER")) {
                return "responseFilter";
            }
            return n.startsWith("FAIL_TO_PROXY") ? "failToProxy" : "requestFilter";
        }
    }

    /** One case: a setter and a bad input, reached through its own request target. */
    record Case(int id, Setter setter, Bad bad) {
        String target() {
            return "/case/" + id;
        }

        /** A header field of the bad input: the bad text as the name or as the value. */
        String name() {
            return bad.part() == Part.NAME ? bad.text() : "X-Echo";
        }

        String value() {
            return bad.part() == Part.NAME ? "injected=1" : bad.text();
        }
    }

    /** What {@code logging} saw for one request. */
    record Logged(int status, Optional<ProxyError> error) {
    }

    private static final Map<String, Case> CASES = new ConcurrentHashMap<>();
    private static final Map<String, Logged> LOGGED = new ConcurrentHashMap<>();
    private static final AtomicInteger IDS = new AtomicInteger();
    private static Http1StrictIT.Fixture fixture;

    @BeforeAll
    static void start() {
        fixture = new Http1StrictIT.Fixture(Http1Options.DEFAULT, InjectingProxy::new);
    }

    @AfterAll
    static void stop() {
        if (fixture != null) {
            fixture.close();
        }
    }

    /**
     * A proxy whose phases copy a case's bad input into the head with the case's setter; the case is found by the
     * request target, which every refusal leaves as it was.
     */
    static final class InjectingProxy implements ProxyHttp<Void> {
        private final HttpPeer peer;

        InjectingProxy(HttpPeer peer) {
            this.peer = peer;
        }

        private static Case at(Session session, Setter setter) {
            Case c = CASES.get(session.requestHeader().target());
            return c != null && c.setter() == setter ? c : null;
        }

        @Override
        public Void newCtx() {
            return null;
        }

        @Override
        public CompletionStage<Void> earlyRequestFilter(Session session, Void ctx) {
            Case c = at(session, Setter.EARLY_REQUEST_FILTER_HEADERS_ADD);
            if (c != null) {
                session.requestHeader().headers().add(c.name(), c.value());
            }
            return Stages.DONE;
        }

        @Override
        public CompletionStage<FilterResult> requestFilter(Session session, Void ctx) {
            Case c = CASES.get(session.requestHeader().target());
            if (c == null) {
                return FilterResult.CONTINUE_STAGE;
            }
            switch (c.setter()) {
                case REQUEST_FILTER_HEADERS_SET -> session.requestHeader().headers().set(c.name(), c.value());
                case REQUEST_FILTER_SET_TARGET -> session.requestHeader().setTarget(c.bad().text());
                case REQUEST_FILTER_RESPOND_CONTENT_TYPE -> {
                    session.respond(200, c.value(), "from the filter\n");
                    return FilterResult.RESPONDED_STAGE;
                }
                case REQUEST_FILTER_RESPOND_HEADERS_ADD -> {
                    ResponseHeader h = ResponseHeader.of(200);
                    h.headers().add(c.name(), c.value());
                    session.respond(h, "from the filter\n".getBytes(StandardCharsets.UTF_8));
                    return FilterResult.RESPONDED_STAGE;
                }
                case REQUEST_FILTER_RESPOND_REASON -> {
                    session.respond(ResponseHeader.of(200, c.bad().text(), HttpVersion.HTTP_1_1, new Headers()),
                            "from the filter\n".getBytes(StandardCharsets.UTF_8));
                    return FilterResult.RESPONDED_STAGE;
                }
                case FAIL_TO_PROXY_RESPOND_HEADERS_ADD ->
                    throw ProxyError.explain(new ErrorType.HttpStatus(403), ErrorSource.DOWNSTREAM, "denied, to reach failToProxy");
                default -> {
                }
            }
            return FilterResult.CONTINUE_STAGE;
        }

        @Override
        public CompletionStage<HttpPeer> upstreamPeer(Session session, Void ctx) {
            return Stages.completed(peer);
        }

        @Override
        public CompletionStage<Void> upstreamRequestFilter(Session session, RequestHeader upstreamRequest, Void ctx) {
            Case c = CASES.get(session.requestHeader().target());
            if (c != null) {
                switch (c.setter()) {
                    case UPSTREAM_REQUEST_FILTER_HEADERS_ADD -> upstreamRequest.headers().add(c.name(), c.value());
                    case UPSTREAM_REQUEST_FILTER_HEADERS_SET -> upstreamRequest.headers().set(c.name(), c.value());
                    case UPSTREAM_REQUEST_FILTER_SET_TARGET -> upstreamRequest.setTarget(c.bad().text());
                    case UPSTREAM_REQUEST_FILTER_SET_METHOD -> upstreamRequest.setMethod(c.bad().text());
                    default -> {
                    }
                }
            }
            return Stages.DONE;
        }

        @Override
        public void upstreamResponseFilter(Session session, ResponseHeader upstreamResponse, Void ctx) {
            Case c = at(session, Setter.UPSTREAM_RESPONSE_FILTER_HEADERS_ADD);
            if (c != null) {
                upstreamResponse.headers().add(c.name(), c.value());
            }
        }

        @Override
        public CompletionStage<Void> responseFilter(Session session, ResponseHeader upstreamResponse, Void ctx) {
            Case c = CASES.get(session.requestHeader().target());
            if (c != null && c.setter() == Setter.RESPONSE_FILTER_HEADERS_SET) {
                upstreamResponse.headers().set(c.name(), c.value());
            } else if (c != null && c.setter() == Setter.RESPONSE_FILTER_SET_HEADER) {
                upstreamResponse.setHeader(c.name(), c.value());
            }
            return Stages.DONE;
        }

        @Override
        public CompletionStage<Integer> failToProxy(Session session, ProxyError e, Void ctx) {
            Case c = at(session, Setter.FAIL_TO_PROXY_RESPOND_HEADERS_ADD);
            if (c == null) {
                return ProxyHttp.super.failToProxy(session, e, ctx);
            }
            ResponseHeader h = ResponseHeader.of(403);
            h.headers().add(c.name(), c.value());
            session.respond(h, "custom error page\n".getBytes(StandardCharsets.UTF_8));
            return Stages.completed(403);
        }

        @Override
        public void logging(Session session, Optional<ProxyError> error, Void ctx) {
            LOGGED.put(session.requestHeader().target(), new Logged(session.responseStatus(), error));
        }
    }

    @TestFactory
    Stream<DynamicContainer> everySetterInEveryPhaseRefusesEveryBadInputAndNothingInjectedReachesTheWire() {
        return Stream.of(Setter.values()).map(setter -> dynamicContainer(
                setter.phase() + ": " + setter.name().toLowerCase(Locale.ROOT) + " (" + setter.direction + ")",
                BAD.stream().filter(b -> setter.parts.contains(b.part())).map(bad -> {
                    Case c = new Case(IDS.incrementAndGet(), setter, bad);
                    return dynamicTest(bad.toString(), () -> check(c));
                })));
    }

    private static void check(Case c) throws IOException {
        CASES.put(c.target(), c);
        int originRequestsBefore = fixture.origin.requestCount();
        try (RawClient client = fixture.connect()) {
            client.send("GET " + c.target() + " HTTP/1.1\r\nHost: proxy.test\r\n\r\n");
            RawClient.Response r = client.readResponse();
            String wire = r.head() + "\r\n\r\n" + new String(r.body(), StandardCharsets.ISO_8859_1);
            assertThat(r.status()).as("status; the client got %s", wire).isEqualTo(500);
            assertThat(r.head()).startsWith("HTTP/1.1 500 Internal Server Error\r\n");
            assertThat(r.bodyText()).isEqualTo("500 Internal Server Error\n");
            assertThat(wire.toLowerCase(Locale.ROOT)).as("what the client got").doesNotContain("injected", "set-cookie");

            // the connection is still in step: the next request gets its own response, nothing queued before it
            client.send("GET /plain HTTP/1.1\r\nHost: proxy.test\r\n\r\n");
            RawClient.Response next = client.readResponse();
            assertThat(next.status()).isEqualTo(200);
            assertThat(next.bodyText()).isEqualTo("hello from mock origin\n");
        }

        Logged logged = awaitLogged(c.target());
        assertThat(logged.status()).as("the status logging saw").isEqualTo(500);
        ProxyError error = logged.error().orElseThrow();
        if (c.setter() == Setter.FAIL_TO_PROXY_RESPOND_HEADERS_ADD) {
            assertThat(error.type()).isEqualTo(new ErrorType.HttpStatus(403)); // the error failToProxy was answering
        } else {
            assertThat(error.type()).isEqualTo(ErrorType.Kind.INVALID_HTTP_HEADER);
            assertThat(error.source()).isEqualTo(ErrorSource.INTERNAL);
            assertThat(error.getMessage()).as("safe to log").matches("[\\x20-\\x7e]*").doesNotContainIgnoringCase("injected=1");
        }

        List<RecordedRequest> seen = fixture.origin.requests().subList(originRequestsBefore, fixture.origin.requestCount());
        List<String> targets = seen.stream().map(RecordedRequest::target).toList();
        if (c.setter().direction == Direction.TO_ORIGIN || c.setter().phase().equals("requestFilter")
                || c.setter().phase().equals("failToProxy")) {
            assertThat(targets).as("requests at the origin").containsExactly("/plain");
        } else {
            assertThat(targets).as("requests at the origin").containsExactly(c.target(), "/plain");
        }
        for (RecordedRequest req : seen) {
            assertThat(req.rawHead().toLowerCase(Locale.ROOT)).as("what the origin got").doesNotContain("injected");
        }
        assertThat(fixture.origin.unservedRequests()).as("malformed requests at the origin").isEmpty();
    }

    private static Logged awaitLogged(String target) {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        Logged logged;
        while ((logged = LOGGED.get(target)) == null && System.nanoTime() - deadline < 0) {
            RecordingProxy.sleep(5);
        }
        assertThat(logged).as("logging ran for %s", target).isNotNull();
        return logged;
    }

    @Test
    void obsTextReachesBothPeersAsOneLatin1ByteNeverAQuestionMark() throws IOException {
        Case c = new Case(IDS.incrementAndGet(), Setter.UPSTREAM_REQUEST_FILTER_HEADERS_ADD,
                new Bad(Part.VALUE, "obs-text", "caf\u00e9 \u00ff"));
        CASES.put(c.target(), c);
        Case echo = new Case(IDS.incrementAndGet(), Setter.RESPONSE_FILTER_SET_HEADER, new Bad(Part.VALUE, "obs-text", "caf\u00e9 \u00ff"));
        CASES.put(echo.target(), echo);
        try (RawClient client = fixture.connect()) {
            client.send("GET " + c.target() + " HTTP/1.1\r\nHost: proxy.test\r\n\r\n");
            assertThat(client.readResponse().status()).isEqualTo(200);
            client.send("GET " + echo.target() + " HTTP/1.1\r\nHost: proxy.test\r\n\r\n");
            RawClient.Response r = client.readResponse();
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.head()).contains("\r\nX-Echo: caf\u00e9 \u00ff"); // read as ISO-8859-1: bytes 0xE9 and 0xFF
        }
        RecordedRequest atOrigin = fixture.origin.requests().stream().filter(q -> q.target().equals(c.target())).findFirst().orElseThrow();
        assertThat(atOrigin.rawHead()).contains("\r\nX-Echo: caf\u00e9 \u00ff\r\n");
        assertThat(atOrigin.rawHead()).doesNotContain("?");
        assertThat(awaitLogged(c.target()).error()).isEmpty();
    }

    @Test
    void aValueTheOriginSentWithObsTextIsPassedOnUnchanged() throws IOException {
        String target = "/from-origin/" + IDS.incrementAndGet();
        fixture.origin.enqueue(MockResponse.builder().header("X-Origin", "na\u00efve").body("ok\n").build());
        try (RawClient client = fixture.connect()) {
            client.send("GET " + target + " HTTP/1.1\r\nHost: proxy.test\r\n\r\n");
            RawClient.Response r = client.readResponse();
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.head()).contains("\r\nX-Origin: na\u00efve");
        }
        assertThat(awaitLogged(target).status()).isEqualTo(200);
    }
}
