package dev.merapi.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.core.listeners.Transport;
import dev.merapi.core.server.ServerConfig;
import dev.merapi.testkit.MockResponse;
import dev.merapi.testkit.RawClient;
import dev.merapi.testkit.TestServer;
import java.time.Duration;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The transport is set in one place, the server: a proxy's upstream connections follow the transport of the event
 * loops it runs on, whichever it is, with no setting of their own that could disagree.
 */
class ProxyTransportIT {
    @RegisterExtension
    final ProxyFixture fixture = new ProxyFixture();

    static Stream<Transport> availableTransports() {
        return Arrays.stream(Transport.values()).filter(Transport::isAvailable);
    }

    @ParameterizedTest
    @MethodSource("availableTransports")
    void aProxyConnectsUpstreamOnTheTransportOfItsServer(Transport transport) throws Exception {
        fixture.origin().setDispatcher(req -> MockResponse.ok("via " + req.target()));
        RecordingProxy proxy = new RecordingProxy(fixture.peer());
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy, ProxyOptions.DEFAULT);
        TestServer server = fixture.serve(engine, ServerConfig.builder().threads(1).transport(transport)
                .gracePeriod(Duration.ofSeconds(5)).name("transport-" + transport.name().toLowerCase(java.util.Locale.ROOT))
                .build());

        assertThat(server.server().config().transport()).isEqualTo(transport);
        try (RawClient client = RawClient.connect(server.port())) {
            for (int i = 0; i < 3; i++) {
                client.send("GET /t" + i + " HTTP/1.1\r\nHost: t\r\n\r\n");
                RawClient.Response r = client.readResponse();
                assertThat(r.status()).isEqualTo(200);
                assertThat(r.bodyText()).isEqualTo("via /t" + i);
            }
            proxy.awaitLogged(3);
        }
        assertThat(engine.connector().failedConnections()).isZero();
        assertThat(engine.connector().newConnections()).isEqualTo(1);
        assertThat(engine.connector().reusedConnections()).isEqualTo(2);
    }
}
