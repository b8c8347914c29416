package dev.merapi.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.core.services.ListeningService;
import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.testkit.MockOrigin;
import dev.merapi.testkit.MockResponse;
import dev.merapi.testkit.RawClient;
import dev.merapi.testkit.TestServer;
import dev.merapi.core.upstreams.PeerOptions;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
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
        // a plain-text origin that reads and never answers: what it reads is what Merapi sent it
        try (ServerSocket origin = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            List<Integer> firstBytes = new CopyOnWriteArrayList<>();
            Thread.ofVirtual().start(() -> {
                List<Socket> held = new ArrayList<>();
                try {
                    while (true) {
                        Socket s = origin.accept();
                        held.add(s);
                        firstBytes.add(s.getInputStream().read()); // and never a byte back
                    }
                } catch (IOException closed) {
                    held.forEach(UpstreamPeersIT::closeQuietly);
                }
            });
            // a short connect timeout bounds the handshake
            HttpProxy<Void> engine = proxyTo(HttpPeer.of((InetSocketAddress) origin.getLocalSocketAddress(), true, "origin.example")
                    .withOptions(PeerOptions.builder().connectTimeout(Duration.ofMillis(500)).build()));
            try (TestServer proxy = TestServer.start(ListeningService.http("t", engine))
                    .checkClosedOnStop(engine.connector()::openConnections);
                    RawClient c = RawClient.connect(proxy.address(), Duration.ofSeconds(60))) {
                c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
                assertThat(c.readResponse().status()).as("the handshake timed out").isEqualTo(504);
            }
            // every connection began with a TLS handshake record (0x16), never with the request's "GET"
            assertThat(firstBytes).isNotEmpty().containsOnly(0x16);
        }
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // the test is over
        }
    }
}
