package dev.merapi.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.core.protocols.http1.Http1Options;
import dev.merapi.core.security.SecurityEvents;
import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.error.ErrorType;
import dev.merapi.testkit.MockOrigin;
import dev.merapi.testkit.MockResponse;
import dev.merapi.testkit.RawClient;
import dev.merapi.testkit.RecordedRequest;
import dev.merapi.testkit.TestServer;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What the proxy owes the hops of a request, over real sockets: {@code Via} both ways (RFC 9110 §7.6.3), loops
 * detected by it and answered 508, and {@code Max-Forwards} on TRACE and OPTIONS (RFC 9110 §7.6.2).
 */
class HopsIT {
    @RegisterExtension
    final ProxyFixture fixture = new ProxyFixture();

    /** TRACE is refused with 405 by default; these listeners let it through, so Max-Forwards can be seen. */
    private static final Http1Options TRACE_ALLOWED = Http1Options.builder().allowTrace(true).build();

    private static RecordingProxy proxyTo(MockOrigin origin) {
        return new RecordingProxy(HttpPeer.of("127.0.0.1:" + origin.port()));
    }

    private static RawClient.Response exchange(TestServer server, String raw) throws Exception {
        try (RawClient client = RawClient.connect(server.port())) {
            client.send(raw);
            return client.readResponse();
        }
    }

    @Test
    void viaNamesTheProxyOnTheRequestAndOnTheResponse() throws Exception {
        MockOrigin origin = fixture.origin();
        origin.enqueue(MockResponse.builder().header("Via", "1.1 cache-7").body("ok").build());
        RecordingProxy proxy = proxyTo(origin);
        TestServer server = fixture.serve(HttpProxy.of(proxy));
        RawClient.Response r = exchange(server, "GET / HTTP/1.0\r\nHost: t\r\nVia: 1.1 edge-1\r\n\r\n");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.header("via")).as("the origin's element, then ours").hasValue("1.1 cache-7, 1.1 merapi");
        proxy.awaitLogged(1);
        RecordedRequest got = origin.takeRequest();
        assertThat(got.headerValues("Via")).as("received as HTTP/1.0").containsExactly("1.1 edge-1", "1.0 merapi");
    }

    @Test
    void aConfiguredPseudonymIsUsedAndAnEmptyOneTurnsViaOff() throws Exception {
        MockOrigin origin = fixture.origin();
        RecordingProxy proxy = proxyTo(origin);
        ProxyOptions named = ProxyOptions.builder().via("gw-eu-1").build();
        TestServer server = fixture.serve(HttpProxy.of(proxy, named));
        assertThat(exchange(server, "GET / HTTP/1.1\r\nHost: t\r\n\r\n").header("via")).contains("1.1 gw-eu-1");
        assertThat(origin.takeRequest().header("Via")).hasValue("1.1 gw-eu-1");
        // another proxy named merapi is not this one
        assertThat(exchange(server, "GET / HTTP/1.1\r\nHost: t\r\nVia: 1.1 merapi\r\n\r\n").status()).isEqualTo(200);
        origin.takeRequest();
        TestServer viaOff = fixture.serve(HttpProxy.of(proxy, ProxyOptions.builder().via("").build()));
        assertThat(exchange(viaOff, "GET / HTTP/1.1\r\nHost: t\r\n\r\n").header("via")).isEmpty();
        assertThat(origin.takeRequest().header("Via")).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"1.1 merapi", "1.0 fw, 1.1 MERAPI (Merapi/dev)", "HTTP/1.1 merapi:8080, 1.1 merapi"})
    void aRequestThatAlreadyPassedThroughThisProxyIsAnswered508(String via) throws Exception {
        MockOrigin origin = fixture.origin();
        AtomicReference<Integer> status = new AtomicReference<>();
        RecordingProxy proxy = new RecordingProxy(HttpPeer.of("127.0.0.1:" + origin.port())) {
            @Override
            public void logging(Session session, java.util.Optional<dev.merapi.error.ProxyError> error, Ctx ctx) {
                status.set(session.responseStatus());
                super.logging(session, error, ctx);
            }
        };
        long events = SecurityEvents.count("via-loop");
        TestServer server = fixture.serve(HttpProxy.of(proxy));
        RawClient.Response r = exchange(server, "GET / HTTP/1.1\r\nHost: t\r\nVia: " + via + "\r\n\r\n");
        assertThat(r.status()).isEqualTo(508);
        assertThat(r.bodyText()).isEqualTo("508 Loop Detected\n");
        assertThat(proxy.onlyLoggedError().type()).isEqualTo(new ErrorType.HttpStatus(508));
        assertThat(status.get()).isEqualTo(508);
        assertThat(origin.requestCount()).isZero();
        assertThat(proxy.peerCalls).hasValue(0);
        assertThat(SecurityEvents.count("via-loop")).isEqualTo(events + 1);
    }

    @Test
    void aProxyPointedAtItselfAnswers508AfterOneHop() throws Exception {
        AtomicInteger port = new AtomicInteger();
        RecordingProxy proxy = new RecordingProxy(() -> HttpPeer.of("127.0.0.1:" + port.get()));
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy);
        TestServer server = fixture.serve(engine);
        port.set(server.port());
        RawClient.Response r = exchange(server, "GET /loop HTTP/1.1\r\nHost: t\r\n\r\n");
        assertThat(r.status()).as("the second pass answers 508, relayed by the first").isEqualTo(508);
        proxy.awaitLogged(2);
        assertThat(engine.connector().newConnections()).as("connections the proxy opened to itself").isEqualTo(1);
    }

    @ParameterizedTest
    @ValueSource(strings = {"OPTIONS", "TRACE"})
    void maxForwardsZeroIsAnsweredByTheProxyAndNeverForwarded(String method) throws Exception {
        MockOrigin origin = fixture.origin();
        RecordingProxy proxy = proxyTo(origin);
        TestServer server = fixture.serve(HttpProxy.of(proxy), TRACE_ALLOWED);
        RawClient.Response r = exchange(server, method + " /x HTTP/1.1\r\nHost: t\r\nMax-Forwards: 0\r\n"
                + "Authorization: Basic c2VjcmV0\r\nCookie: s=1\r\nX-Probe: 1\r\n\r\n");
        assertThat(r.status()).isEqualTo(200);
        if (method.equals("OPTIONS")) {
            assertThat(r.header("allow")).contains(Hops.ALLOW);
            assertThat(r.body()).isEmpty();
        } else {
            assertThat(r.header("content-type")).contains("message/http");
            assertThat(r.bodyText()).startsWith("TRACE /x HTTP/1.1\r\n").contains("X-Probe: 1\r\n", "Max-Forwards: 0\r\n")
                    .doesNotContain("c2VjcmV0", "Cookie", "Authorization");
        }
        proxy.awaitLogged(1);
        assertThat(origin.requestCount()).isZero();
    }

    @ParameterizedTest
    @ValueSource(strings = {"OPTIONS", "TRACE"})
    void maxForwardsIsLoweredByOneOnItsWayUpstream(String method) throws Exception {
        MockOrigin origin = fixture.origin();
        TestServer server = fixture.serve(HttpProxy.of(proxyTo(origin)), TRACE_ALLOWED);
        assertThat(exchange(server, method + " /x HTTP/1.1\r\nHost: t\r\nMax-Forwards: 5\r\n\r\n").status()).isEqualTo(200);
        assertThat(origin.takeRequest().headerValues("Max-Forwards")).containsExactly("4");
    }

    @Test
    void maxForwardsOnOtherMethodsIsPassedOnUntouched() throws Exception {
        MockOrigin origin = fixture.origin();
        TestServer server = fixture.serve(HttpProxy.of(proxyTo(origin)));
        assertThat(exchange(server, "GET /x HTTP/1.1\r\nHost: t\r\nMax-Forwards: 0\r\n\r\n").status()).isEqualTo(200);
        assertThat(origin.takeRequest().headerValues("Max-Forwards")).containsExactly("0");
    }

    @ParameterizedTest
    @ValueSource(strings = {"-1", "1x", "", "1, 2"})
    void anInvalidMaxForwardsOnOptionsIsAnswered400(String value) throws Exception {
        MockOrigin origin = fixture.origin();
        TestServer server = fixture.serve(HttpProxy.of(proxyTo(origin)));
        assertThat(exchange(server, "OPTIONS /x HTTP/1.1\r\nHost: t\r\nMax-Forwards: " + value + "\r\n\r\n").status())
                .isEqualTo(400);
        assertThat(origin.requestCount()).isZero();
    }
}
