package dev.merapi.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.error.ProxyError;
import dev.merapi.error.Retry;
import dev.merapi.http.RequestHeader;
import dev.merapi.http.ResponseHeader;
import dev.merapi.testkit.MockOrigin;
import dev.merapi.testkit.MockResponse;
import dev.merapi.testkit.OriginFault;
import dev.merapi.testkit.RawClient;
import dev.merapi.testkit.TestServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A phase that writes a response has answered the request, whatever it returns: the request never goes (further)
 * upstream, {@code logging} sees the status the client got, and the client connection stays in step. Each phase
 * that can answer is tested over real sockets, answering and then returning its "go on" value.
 */
class AnsweringPhasesIT {
    @RegisterExtension
    final ProxyFixture fixture = new ProxyFixture();

    private static final String POST = "POST /pay HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello";

    /** Answers a POST with 403 in {@code phase}, then returns what lets the request go on; records the logged statuses. */
    static final class AnsweringProxy extends RecordingProxy {
        final String phase;
        final List<Integer> loggedStatuses = new CopyOnWriteArrayList<>();

        AnsweringProxy(HttpPeer peer, String phase) {
            super(peer);
            this.phase = phase;
        }

        private void answerIn(String here, Session session) {
            if (here.equals(phase) && "POST".equals(session.requestHeader().method())) {
                session.respond(403, "text/plain", "denied in " + here + "\n");
            }
        }

        @Override
        public CompletionStage<Void> earlyRequestFilter(Session session, Ctx ctx) {
            answerIn("earlyRequestFilter", session);
            return Stages.DONE;
        }

        @Override
        public CompletionStage<FilterResult> requestFilter(Session session, Ctx ctx) {
            answerIn("requestFilter", session);
            return FilterResult.CONTINUE_STAGE; // the mistake: answered, yet CONTINUE
        }

        @Override
        public void requestBodyFilter(Session session, BodyChunk chunk, boolean endOfStream, Ctx ctx) {
            answerIn("requestBodyFilter", session);
        }

        @Override
        public CompletionStage<HttpPeer> upstreamPeer(Session session, Ctx ctx) {
            answerIn("upstreamPeer", session);
            return super.upstreamPeer(session, ctx);
        }

        @Override
        public CompletionStage<Void> connectedToUpstream(Session session, HttpPeer peer, boolean reused, Ctx ctx) {
            answerIn("connectedToUpstream", session);
            return Stages.DONE;
        }

        @Override
        public CompletionStage<Void> upstreamRequestFilter(Session session, RequestHeader upstreamRequest, Ctx ctx) {
            answerIn("upstreamRequestFilter", session);
            return Stages.DONE;
        }

        @Override
        public ProxyError failToConnect(Session session, HttpPeer peer, ProxyError e, Ctx ctx) {
            answerIn("failToConnect", session);
            return super.failToConnect(session, peer, e, ctx).withRetry(Retry.YES);
        }

        @Override
        public ProxyError errorWhileProxy(Session session, HttpPeer peer, ProxyError e, boolean reusedConnection, Ctx ctx) {
            answerIn("errorWhileProxy", session);
            super.errorWhileProxy(session, peer, e, reusedConnection, ctx);
            return e.withRetry(Retry.YES);
        }

        @Override
        public void upstreamResponseFilter(Session session, ResponseHeader upstreamResponse, Ctx ctx) {
            answerIn("upstreamResponseFilter", session);
        }

        @Override
        public CompletionStage<Void> responseFilter(Session session, ResponseHeader upstreamResponse, Ctx ctx) {
            answerIn("responseFilter", session);
            return Stages.DONE;
        }

        @Override
        public void logging(Session session, Optional<ProxyError> error, Ctx ctx) {
            loggedStatuses.add(session.responseStatus());
            super.logging(session, error, ctx);
        }
    }

    private static int unusedPort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** Sends the POST, expects the phase's 403, then a second request on the same connection reaches the origin. */
    private static void answeredThenInStep(TestServer server, AnsweringProxy proxy) throws IOException {
        try (RawClient client = RawClient.connect(server.port())) {
            client.send(POST);
            RawClient.Response r = client.readResponse();
            assertThat(r.status()).isEqualTo(403);
            assertThat(r.bodyText()).isEqualTo("denied in " + proxy.phase + "\n");
            proxy.awaitLogged(1);
            assertThat(proxy.loggedStatuses).containsExactly(403);
            if (!client.isClosedByPeer(java.time.Duration.ofMillis(200))) {
                client.send("GET /next HTTP/1.1\r\nHost: t\r\n\r\n");
                assertThat(client.readResponse().status()).isNotEqualTo(403);
                proxy.awaitLogged(2);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"earlyRequestFilter", "requestFilter", "requestBodyFilter", "upstreamPeer",
        "connectedToUpstream", "upstreamRequestFilter"})
    void aPhaseThatAnswersBeforeTheRequestLeavesKeepsItFromTheOrigin(String phase) throws Exception {
        MockOrigin origin = fixture.origin();
        AnsweringProxy proxy = new AnsweringProxy(HttpPeer.of("127.0.0.1:" + origin.port()), phase);
        TestServer server = fixture.serve(HttpProxy.of(proxy));
        answeredThenInStep(server, proxy);
        assertThat(origin.requests()).as("requests the origin served").allSatisfy(
                r -> assertThat(r.method()).isEqualTo("GET"));
        assertThat(origin.unservedRequests()).as("the origin never saw a byte of the POST").isEmpty();
        assertThat(proxy.loggedErrors().getFirst()).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"failToConnect"})
    void failToConnectThatAnswersEndsTheRequestWithoutARetry(String phase) throws Exception {
        AnsweringProxy proxy = new AnsweringProxy(HttpPeer.of("127.0.0.1:" + unusedPort()), phase);
        TestServer server = fixture.serve(HttpProxy.of(proxy));
        try (RawClient client = RawClient.connect(server.port())) {
            client.send(POST);
            RawClient.Response r = client.readResponse();
            assertThat(r.status()).isEqualTo(403);
            proxy.awaitLogged(1);
            assertThat(proxy.loggedStatuses).containsExactly(403);
            assertThat(proxy.peerCalls).as("marked retryable, but answered: no second attempt").hasValue(1);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"errorWhileProxy"})
    void errorWhileProxyThatAnswersEndsTheRequestWithoutARetry(String phase) throws Exception {
        MockOrigin origin = fixture.origin();
        origin.enqueue(MockResponse.builder().fault(new OriginFault.CloseAfterRequest()).build());
        AnsweringProxy proxy = new AnsweringProxy(HttpPeer.of("127.0.0.1:" + origin.port()), phase);
        TestServer server = fixture.serve(HttpProxy.of(proxy));
        try (RawClient client = RawClient.connect(server.port())) {
            client.send(POST);
            assertThat(client.readResponse().status()).isEqualTo(403);
            proxy.awaitLogged(1);
            assertThat(proxy.loggedStatuses).containsExactly(403);
            assertThat(proxy.peerCalls).hasValue(1);
        }
        assertThat(origin.requestCount()).isEqualTo(1);
    }

    @ParameterizedTest
    @ValueSource(strings = {"upstreamResponseFilter", "responseFilter"})
    void aResponsePhaseThatAnswersReplacesTheOriginResponse(String phase) throws Exception {
        MockOrigin origin = fixture.origin();
        origin.enqueue(MockResponse.builder().status(404).body("origin says no").build());
        AnsweringProxy proxy = new AnsweringProxy(HttpPeer.of("127.0.0.1:" + origin.port()), phase);
        TestServer server = fixture.serve(HttpProxy.of(proxy));
        answeredThenInStep(server, proxy);
        assertThat(proxy.loggedErrors().getFirst()).isEmpty();
    }

    @org.junit.jupiter.api.Test
    void limitRequestBodyAnswers413OnceAChunkedBodyPassesTheCap() throws Exception {
        MockOrigin origin = fixture.origin();
        RecordingProxy proxy = new RecordingProxy(HttpPeer.of("127.0.0.1:" + origin.port())) {
            @Override
            public CompletionStage<FilterResult> requestFilter(Session session, Ctx ctx) {
                session.limitRequestBody(100);
                return FilterResult.CONTINUE_STAGE;
            }
        };
        TestServer server = fixture.serve(HttpProxy.of(proxy));
        try (RawClient client = RawClient.connect(server.port())) {
            client.send("POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n" + "x".repeat(64) + "\r\n");
            client.send("40\r\n" + "y".repeat(64) + "\r\n0\r\n\r\n");

            assertThat(client.readResponse().status()).isEqualTo(413);
            proxy.awaitLogged(1);
            if (!client.isClosedByPeer(java.time.Duration.ofMillis(500))) {
                // the rest of the body was drained: the connection is in step for the next request
                client.send("GET /next HTTP/1.1\r\nHost: t\r\n\r\n");
                assertThat(client.readResponse().status()).isEqualTo(200);
            }
        }
        assertThat(origin.requests()).as("no POST with its whole body reached the origin")
                .allSatisfy(r -> assertThat(r.method()).isEqualTo("GET"));
    }
}
