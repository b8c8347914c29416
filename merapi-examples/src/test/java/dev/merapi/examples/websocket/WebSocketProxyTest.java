package dev.merapi.examples.websocket;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.merapi.core.services.ListeningService;
import dev.merapi.proxy.HttpProxy;
import dev.merapi.testkit.TestServer;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Runs the WebSocket example between real peers: the JDK's WebSocket client and an echo server on Debian's
 * python3-websockets.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class WebSocketProxyTest {
    private static final String ALLOWED = "https://app.example";
    private static final String ECHO_SERVER = """
            import asyncio, sys, websockets
            async def echo(ws, path=None):
                async for message in ws:
                    await ws.send(message)
            async def main():
                async with websockets.serve(echo, "127.0.0.1", 0) as server:
                    print(server.sockets[0].getsockname()[1], flush=True)
                    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
            asyncio.run(main())
            """;

    private Process origin;
    private int originPort;
    private HttpClient client;

    @BeforeEach
    void start() throws Exception {
        origin = new ProcessBuilder("/usr/bin/python3", "-c", ECHO_SERVER).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String port = new BufferedReader(new InputStreamReader(origin.getInputStream(), StandardCharsets.US_ASCII)).readLine();
        assertThat(port).as("the echo server's port").isNotNull();
        originPort = Integer.parseInt(port.strip());
        client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
    }

    @AfterEach
    void stop() throws Exception {
        client.shutdownNow();
        origin.getOutputStream().close(); // the echo server stops when its stdin closes
        if (!origin.waitFor(10, TimeUnit.SECONDS)) {
            origin.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }

    private TestServer serve(WebSocketProxy example) {
        HttpProxy<Void> proxy = HttpProxy.of(example, WebSocketProxy.options());
        return TestServer.start(ListeningService.http("websocket", proxy)).checkClosedOnStop(proxy.connector()::openConnections);
    }

    @Test
    void aPageOfAnAllowedOriginEchoesThroughTheProxy() throws Exception {
        WebSocketProxy example = new WebSocketProxy("127.0.0.1:" + originPort, Set.of(ALLOWED));
        try (TestServer server = serve(example)) {
            CompletableFuture<String> reply = new CompletableFuture<>();
            WebSocket ws = client.newWebSocketBuilder().header("Origin", ALLOWED)
                    .buildAsync(URI.create("ws://127.0.0.1:" + server.port() + "/ws/chat"), new WebSocket.Listener() {
                        @Override
                        public CompletionStage<?> onText(WebSocket w, CharSequence data, boolean last) {
                            reply.complete(data.toString());
                            return null;
                        }
                    }).get(20, TimeUnit.SECONDS);
            ws.sendText("hello", true).get(20, TimeUnit.SECONDS);
            assertThat(reply.get(20, TimeUnit.SECONDS)).isEqualTo("hello");
            ws.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(20, TimeUnit.SECONDS);
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (example.tunnels() == 0 && System.nanoTime() < end) {
                Thread.sleep(20);
            }
            assertThat(example.tunnels()).as("logging ran once the tunnel ended").isEqualTo(1);
        }
    }

    @Test
    void aPageOfAnotherOriginIsRefused403() throws Exception {
        WebSocketProxy example = new WebSocketProxy("127.0.0.1:" + originPort, Set.of(ALLOWED));
        try (TestServer server = serve(example)) {
            CompletableFuture<WebSocket> attempt = client.newWebSocketBuilder().header("Origin", "https://evil.example")
                    .buildAsync(URI.create("ws://127.0.0.1:" + server.port() + "/ws/chat"), new WebSocket.Listener() { });
            assertThatThrownBy(() -> attempt.get(20, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                    .cause().isInstanceOfSatisfying(WebSocketHandshakeException.class,
                            e -> assertThat(e.getResponse().statusCode()).isEqualTo(403));
        }
    }

    @Test
    void aPlainRequestForTheWebSocketPathGets426() throws Exception {
        WebSocketProxy example = new WebSocketProxy("127.0.0.1:" + originPort, Set.of(ALLOWED));
        try (TestServer server = serve(example)) {
            HttpResponse<String> r = client.send(HttpRequest.newBuilder(server.uri("/ws/chat")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(426);
            assertThat(r.headers().firstValue("Upgrade")).hasValue("websocket");
        }
    }
}
