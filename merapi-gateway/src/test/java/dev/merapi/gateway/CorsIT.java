package dev.merapi.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.testkit.MockOrigin;
import dev.merapi.testkit.MockResponse;
import dev.merapi.testkit.RawClient;
import dev.merapi.testkit.RecordedRequest;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A route's {@code cors}: preflights answered at the gateway, {@code Access-Control-*} on responses; real sockets. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class CorsIT {
    private static final String APP = "https://app.example.com";
    @TempDir
    Path dir;
    private MockOrigin origin;
    private Gateway gateway;
    private int port;

    @BeforeEach
    void start() throws Exception {
        origin = MockOrigin.start();
        origin.setDispatcher(r -> MockResponse.ok("data"));
        gateway = TestGateways.start(dir, """
                listeners: [{name: main, address: "127.0.0.1:0"}]
                upstreams: [{name: app, backends: ["127.0.0.1:%d"]}]
                routes:
                  - name: api
                    match: {path-prefix: /api, methods: [GET, PUT]}
                    upstream: app
                    cors:
                      allow-origins: ["%s"]
                      allow-methods: [GET, PUT]
                      allow-headers: [Content-Type, X-Token]
                      expose-headers: [X-Request-Id]
                      allow-credentials: true
                      max-age: 5m
                  - name: public
                    match: {path-prefix: /public}
                    respond: {body: "hi"}
                    cors: {allow-origins: ["*"]}
                admin: {enabled: false}
                """.formatted(origin.port(), APP));
        port = TestGateways.port(gateway, 0);
    }

    @AfterEach
    void stop() {
        gateway.shutdownFast();
        origin.close();
    }

    private RawClient.Response send(String request) throws Exception {
        try (RawClient c = RawClient.connect(port)) {
            c.send(request);
            return c.readResponse();
        }
    }

    @Test
    void aPreflightFromAnAllowedOriginIsAnsweredAtTheGatewayAndRoutedAsTheRequestItAnnounces() throws Exception {
        RawClient.Response r = send("OPTIONS /api/items HTTP/1.1\r\nHost: t\r\nOrigin: " + APP
                + "\r\nAccess-Control-Request-Method: PUT\r\nAccess-Control-Request-Headers: content-type, x-token\r\n\r\n");

        assertThat(r.status()).isEqualTo(204);
        assertThat(r.header("Access-Control-Allow-Origin")).hasValue(APP);
        assertThat(r.header("Access-Control-Allow-Methods")).hasValue("GET, PUT");
        assertThat(r.header("Access-Control-Allow-Headers")).hasValue("Content-Type, X-Token");
        assertThat(r.header("Access-Control-Allow-Credentials")).hasValue("true");
        assertThat(r.header("Access-Control-Max-Age")).hasValue("300");
        assertThat(r.head()).containsIgnoringCase("Vary: Origin");
        assertThat(origin.requestCount()).as("a preflight never reaches the upstream").isZero();
    }

    @Test
    void aPreflightFromAnotherOriginOrForAnotherMethodOrHeaderIsRefused() throws Exception {
        String base = "OPTIONS /api/items HTTP/1.1\r\nHost: t\r\nOrigin: ";
        RawClient.Response otherOrigin = send(base + "https://evil.example\r\nAccess-Control-Request-Method: PUT\r\n\r\n");
        RawClient.Response otherMethod = send(base + APP + "\r\nAccess-Control-Request-Method: DELETE\r\n\r\n");
        RawClient.Response otherHeader = send(base + APP + "\r\nAccess-Control-Request-Method: PUT\r\n"
                + "Access-Control-Request-Headers: x-admin\r\n\r\n");

        assertThat(otherOrigin.status()).isEqualTo(403);
        assertThat(otherOrigin.header("Access-Control-Allow-Origin")).isEmpty();
        assertThat(otherMethod.status()).as("DELETE matches no route's methods").isEqualTo(404);
        assertThat(otherHeader.status()).isEqualTo(403);
        assertThat(origin.requestCount()).isZero();
    }

    @Test
    void anAllowedOriginGetsAccessControlHeadersOnTheProxiedResponse() throws Exception {
        RawClient.Response r = send("GET /api/items HTTP/1.1\r\nHost: t\r\nOrigin: " + APP + "\r\n\r\n");
        RecordedRequest upstream = origin.takeRequest(Duration.ofSeconds(5));

        assertThat(r.status()).isEqualTo(200);
        assertThat(r.header("Access-Control-Allow-Origin")).hasValue(APP);
        assertThat(r.header("Access-Control-Allow-Credentials")).hasValue("true");
        assertThat(r.header("Access-Control-Expose-Headers")).hasValue("X-Request-Id");
        assertThat(r.head()).containsIgnoringCase("Vary: Origin");
        assertThat(upstream.header("Origin")).as("the upstream still sees the origin").hasValue(APP);
    }

    @Test
    void anotherOriginOrNoOriginGetsNoAccessControlHeaders() throws Exception {
        RawClient.Response other = send("GET /api/items HTTP/1.1\r\nHost: t\r\nOrigin: https://evil.example\r\n\r\n");
        RawClient.Response none = send("GET /api/items HTTP/1.1\r\nHost: t\r\n\r\n");

        assertThat(other.status()).isEqualTo(200);
        assertThat(other.header("Access-Control-Allow-Origin")).isEmpty();
        assertThat(none.header("Access-Control-Allow-Origin")).isEmpty();
    }

    @Test
    void anyOriginWithoutCredentialsIsAnsweredWithAStarOnAFixedResponse() throws Exception {
        RawClient.Response r = send("GET /public HTTP/1.1\r\nHost: t\r\nOrigin: https://anyone.example\r\n\r\n");

        assertThat(r.status()).isEqualTo(200);
        assertThat(r.bodyText()).isEqualTo("hi");
        assertThat(r.header("Access-Control-Allow-Origin")).hasValue("*");
        assertThat(r.header("Access-Control-Allow-Credentials")).isEmpty();
    }
}
