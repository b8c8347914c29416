package dev.merapi.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.merapi.testkit.ExternalServer;
import dev.merapi.testkit.MockOrigin;
import dev.merapi.testkit.RawClient;
import dev.merapi.testkit.RecordedRequest;
import io.grpc.MethodDescriptor;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCalls;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code merapi proxy} as a user runs it, in a child JVM on loopback: loop protection and the flags of the hop and
 * forwarding-header policies, tunnels, HTTP/2 on both sides and the gRPC-web bridge.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class ProxyCommandIT {

    private static long openDescriptors(long pid) throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
            return fds.count();
        }
    }

    @Test
    void aProxyPointedAtItselfAnswers508AndOpensOneConnectionToItself() throws Exception {
        int port = GatewayProcess.freePort();
        try (GatewayProcess gateway = GatewayProcess.start("proxy", "--listen", "127.0.0.1:" + port,
                "--upstream", "127.0.0.1:" + port, "--threads", "2")) {
            gateway.awaitLine("proxy:", Duration.ofSeconds(30));
            long before = openDescriptors(gateway.pid());
            try (RawClient client = RawClient.connect(port)) {
                client.send("GET /loop HTTP/1.1\r\nHost: test\r\n\r\n");
                RawClient.Response r = client.readResponse();
                assertThat(r.status()).isEqualTo(508);
                assertThat(r.header("via")).contains("1.1 merapi");
                Thread.sleep(500); // a loop would keep going after the answer: give it time to show
                // the client's connection, one upstream connection to itself and the accepted end of it
                assertThat(openDescriptors(gateway.pid()) - before).as("descriptors opened by one request").isLessThanOrEqualTo(3);
            }
        }
    }

    @Test
    void connectAllowTunnelsToListedTargetsOnlyAndTheTunnelIdleTimeoutClosesThem() throws Exception {
        int port = GatewayProcess.freePort();
        try (MockOrigin origin = MockOrigin.start();
                GatewayProcess gateway = GatewayProcess.start("proxy", "--listen", "127.0.0.1:" + port,
                        "--upstream", "127.0.0.1:" + origin.port(), "--threads", "1",
                        "--connect-allow", "127.0.0.1:" + origin.port() + ",*:443", "--tunnel-idle-timeout", "3s")) { // room for a loaded machine before the GET
            gateway.awaitLine("proxy:", Duration.ofSeconds(30));
            try (RawClient client = RawClient.connect(port)) {
                client.send("CONNECT 127.0.0.1:" + origin.port() + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
                assertThat(client.readResponse(true).status()).isEqualTo(200); // a 2xx to CONNECT has no body
                client.send("GET /in-the-tunnel HTTP/1.1\r\nHost: origin\r\n\r\n");
                assertThat(client.readResponse().status()).isEqualTo(200);
                assertThat(client.isClosedByPeer(Duration.ofSeconds(30))).as("closed after 3 s idle").isTrue();
            }
            assertThat(origin.takeRequest().target()).isEqualTo("/in-the-tunnel");
            try (RawClient client = RawClient.connect(port)) {
                client.send("CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
                assertThat(client.readResponse().status()).isEqualTo(403);
            }
        }
    }

    @Test
    void upstreamProtocolH2SpeaksH2cToNginxAndSharesOneConnection(@TempDir Path dir) throws Exception {
        Path nginxBinary = Path.of("/usr/sbin/nginx");
        assumeTrue(Files.isExecutable(nginxBinary), "nginx is not installed (apt-get install nginx-light)");
        int port = GatewayProcess.freePort();
        try (ExternalServer nginx = ExternalServer.nginx(nginxBinary, dir.resolve("nginx"), p -> """
                    server { listen 127.0.0.1:%d http2;
                        location / { default_type text/plain; return 200 "proto=$server_protocol conn=$connection\\n"; } }
                """.formatted(p));
                GatewayProcess gateway = GatewayProcess.start("proxy", "--listen", "127.0.0.1:" + port,
                        "--upstream", "127.0.0.1:" + nginx.port(), "--upstream-protocol", "h2", "--threads", "1")) {
            gateway.awaitLine("proxy:", Duration.ofSeconds(30));
            Set<String> connections = new HashSet<>();
            try (RawClient client = RawClient.connect(port)) {
                for (int i = 0; i < 3; i++) {
                    client.send("GET / HTTP/1.1\r\nHost: test\r\n\r\n");
                    RawClient.Response r = client.readResponse();
                    assertThat(r.status()).isEqualTo(200);
                    assertThat(r.bodyText()).startsWith("proto=HTTP/2.0");
                    connections.add(r.bodyText().replaceAll("(?s).*conn=(\\d+).*", "$1"));
                }
            }
            assertThat(connections).as("nginx connection numbers").hasSize(1);
        }
    }

    @Test
    void priorKnowledgeH2IsServedByDefaultAndNoH2TurnsItOff() throws Exception {
        try (MockOrigin origin = MockOrigin.start()) {
            for (boolean off : new boolean[] {false, true}) {
                int port = GatewayProcess.freePort();
                List<String> args = new ArrayList<>(List.of("proxy", "--listen", "127.0.0.1:" + port, "--upstream",
                        "127.0.0.1:" + origin.port(), "--threads", "1"));
                if (off) {
                    args.add("--no-h2");
                }
                try (GatewayProcess gateway = GatewayProcess.start(args.toArray(String[]::new))) {
                    gateway.awaitLine("proxy:", Duration.ofSeconds(30));
                    Process curl = new ProcessBuilder("curl", "-s", "--max-time", "20", "--http2-prior-knowledge", "-o",
                            "/dev/null", "-w", "%{http_version} %{http_code}", "http://127.0.0.1:" + port + "/")
                            .redirectErrorStream(true).start();
                    assertThat(curl.waitFor(30, TimeUnit.SECONDS)).isTrue();
                    String out = new String(curl.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
                    if (off) {
                        assertThat(out).as("--no-h2").doesNotStartWith("2 200");
                    } else {
                        assertThat(out).isEqualTo("2 200");
                    }
                    try (RawClient client = RawClient.connect(port)) {
                        client.send("GET / HTTP/1.1\r\nHost: test\r\n\r\n");
                        assertThat(client.readResponse().status()).isEqualTo(200);
                    }
                }
            }
        }
    }

    @Test
    void viaAndTrustedProxyFlagsReachTheOrigin() throws Exception {
        int port = GatewayProcess.freePort();
        try (MockOrigin origin = MockOrigin.start();
                GatewayProcess gateway = GatewayProcess.start("proxy", "--listen", "127.0.0.1:" + port,
                        "--upstream", "127.0.0.1:" + origin.port(), "--threads", "1", "--via", "edge-1",
                        "--trusted-proxy", "127.0.0.0/8", "--trusted-proxy", "10.0.0.0/8")) {
            gateway.awaitLine("proxy:", Duration.ofSeconds(30));
            try (RawClient client = RawClient.connect(port)) {
                client.send("GET / HTTP/1.1\r\nHost: test\r\nX-Forwarded-For: 198.51.100.4\r\n\r\n");
                RawClient.Response r = client.readResponse();
                assertThat(r.status()).isEqualTo(200);
                assertThat(r.header("via")).contains("1.1 edge-1");
            }
            RecordedRequest got = origin.takeRequest();
            assertThat(got.headerValues("Via")).containsExactly("1.1 edge-1");
            assertThat(got.headerValues("X-Forwarded-For")).containsExactly("198.51.100.4, 127.0.0.1");
        }
    }

    @Test
    void withoutTrustedProxiesAClientsForwardingHeadersAreReplaced() throws Exception {
        int port = GatewayProcess.freePort();
        try (MockOrigin origin = MockOrigin.start();
                GatewayProcess gateway = GatewayProcess.start("proxy", "--listen", "127.0.0.1:" + port,
                        "--upstream", "127.0.0.1:" + origin.port(), "--threads", "1")) {
            gateway.awaitLine("proxy:", Duration.ofSeconds(30));
            try (RawClient client = RawClient.connect(port)) {
                client.send("GET / HTTP/1.1\r\nHost: test\r\nX-Forwarded-For: 198.51.100.4\r\nX-Real-IP: 198.51.100.4\r\n\r\n");
                assertThat(client.readResponse().status()).isEqualTo(200);
            }
            RecordedRequest got = origin.takeRequest();
            assertThat(got.headerValues("X-Forwarded-For")).containsExactly("127.0.0.1");
            assertThat(got.headerValues("X-Real-IP")).containsExactly("127.0.0.1");
            assertThat(got.headerValues("Via")).containsExactly("1.1 merapi");
        }
    }

    @Test
    void grpcWebFlagBridgesABrowserCallToAGrpcServer() throws Exception {
        MethodDescriptor.Marshaller<byte[]> bytes = new MethodDescriptor.Marshaller<>() {
            @Override
            public InputStream stream(byte[] value) {
                return new ByteArrayInputStream(value);
            }

            @Override
            public byte[] parse(InputStream stream) {
                try {
                    return stream.readAllBytes();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        };
        MethodDescriptor<byte[], byte[]> echo = MethodDescriptor.<byte[], byte[]>newBuilder()
                .setType(MethodDescriptor.MethodType.UNARY).setFullMethodName("merapi.test.Echo/Unary")
                .setRequestMarshaller(bytes).setResponseMarshaller(bytes).build();
        io.grpc.Server grpc = NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
                .addService(ServerServiceDefinition.builder("merapi.test.Echo")
                        .addMethod(echo, ServerCalls.asyncUnaryCall((req, out) -> {
                            out.onNext(("echo " + new String(req, StandardCharsets.UTF_8)).getBytes(StandardCharsets.UTF_8));
                            out.onCompleted();
                        })).build())
                .build().start();
        int port = GatewayProcess.freePort();
        try (GatewayProcess gateway = GatewayProcess.start("proxy", "--listen", "127.0.0.1:" + port,
                "--upstream", "127.0.0.1:" + grpc.getPort(), "--grpc-web", "--threads", "1")) {
            gateway.awaitLine("proxy:", Duration.ofSeconds(30));
            byte[] message = "browser".getBytes(StandardCharsets.UTF_8);
            HttpResponse<byte[]> r = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build().send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/merapi.test.Echo/Unary"))
                            .timeout(Duration.ofSeconds(30))
                            .header("Content-Type", "application/grpc-web+proto")
                            .POST(HttpRequest.BodyPublishers.ofByteArray(ByteBuffer.allocate(5 + message.length)
                                    .put((byte) 0).putInt(message.length).put(message).array()))
                            .build(),
                    HttpResponse.BodyHandlers.ofByteArray());

            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.headers().firstValue("content-type")).hasValue("application/grpc-web");
            ByteBuffer body = ByteBuffer.wrap(r.body());
            assertThat(body.get()).as("a message frame").isZero();
            byte[] reply = new byte[body.getInt()];
            body.get(reply);
            assertThat(new String(reply, StandardCharsets.UTF_8)).isEqualTo("echo browser");
            assertThat(body.get() & 0xff).as("the trailer frame").isEqualTo(0x80);
            byte[] trailers = new byte[body.getInt()];
            body.get(trailers);
            assertThat(new String(trailers, StandardCharsets.UTF_8)).contains("grpc-status: 0\r\n");
            assertThat(body.hasRemaining()).isFalse();
        } finally {
            grpc.shutdownNow();
            grpc.awaitTermination(10, TimeUnit.SECONDS);
        }
    }
}
