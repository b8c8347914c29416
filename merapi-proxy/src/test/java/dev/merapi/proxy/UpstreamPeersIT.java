package dev.merapi.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.core.services.ListeningService;
import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.testkit.MockOrigin;
import dev.merapi.testkit.MockResponse;
import dev.merapi.testkit.RawClient;
import dev.merapi.testkit.TestServer;
import dev.merapi.core.upstreams.PeerOptions;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UpstreamPeersIT {
    @RegisterExtension
    final ProxyFixture fixture = new ProxyFixture();


    private static HttpProxy<Void> proxyTo(HttpPeer peer) {
        return HttpProxy.of(new ProxyHttp<Void>() {
            @Override
            public Void newCtx() {
                return null;
            }

            @Override
            public CompletionStage<HttpPeer> upstreamPeer(Session session, Void ctx) {
                return Stages.completed(peer);
            }
        });
    }

    @Test
    void proxiesToAnOriginOnAUnixDomainSocket(@TempDir Path dir) throws Exception {
        MockOrigin origin = fixture.closeAfter(MockOrigin.startUnix(dir.resolve("origin.sock")));
        origin.enqueue(MockResponse.ok("over a unix socket"));
        HttpProxy<Void> engine = proxyTo(HttpPeer.unix(dir.resolve("origin.sock")));
        try (TestServer proxy = TestServer.start(ListeningService.http("t", engine))
                .checkClosedOnStop(engine.connector()::openConnections);
                RawClient c = RawClient.connect(proxy.port())) {
            c.send("GET /uds HTTP/1.1\r\nHost: a\r\n\r\n");
            RawClient.Response r = c.readResponse();
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.bodyText()).isEqualTo("over a unix socket");
            assertThat(origin.takeRequest().target()).isEqualTo("/uds");
        }
    }

    @Test
    void aTlsPeerIsNeverContactedInPlainText() throws Exception {
        MockOrigin origin = fixture.origin();
        // a short connect timeout bounds the handshake: the plain-text origin waits for the end of a request head
        HttpProxy<Void> engine = proxyTo(HttpPeer.of(origin.address(), true, "origin.example")
                .withOptions(PeerOptions.builder().connectTimeout(Duration.ofMillis(500)).build()));
        try (TestServer proxy = TestServer.start(ListeningService.http("t", engine))
                .checkClosedOnStop(engine.connector()::openConnections);
                RawClient c = RawClient.connect(proxy.address(), Duration.ofSeconds(60))) {
            c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
            assertThat(c.readResponse().status()).as("the handshake timed out").isEqualTo(504);
        }
        // the plain-text origin got TLS ClientHellos, which it cannot parse, and never a request
        assertThat(origin.requestCount()).isZero();
        assertThat(origin.requests()).isEmpty();
    }
}
