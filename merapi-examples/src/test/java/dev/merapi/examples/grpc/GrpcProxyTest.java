package dev.merapi.examples.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.merapi.core.services.ListeningService;
import dev.merapi.proxy.HttpProxy;
import dev.merapi.testkit.RawClient;
import dev.merapi.testkit.TestServer;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Runs the gRPC example between a real grpc-java client and server (raw-bytes messages, no generated code). */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class GrpcProxyTest {
    private static final MethodDescriptor.Marshaller<String> TEXT = new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(String value) {
            return new ByteArrayInputStream(value.getBytes(StandardCharsets.UTF_8));
        }

        @Override
        public String parse(InputStream stream) {
            try {
                return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    };
    private static final MethodDescriptor<String, String> GREET = MethodDescriptor.<String, String>newBuilder()
            .setType(MethodDescriptor.MethodType.UNARY).setFullMethodName("example.Greeter/Greet")
            .setRequestMarshaller(TEXT).setResponseMarshaller(TEXT).build();

    private Server origin;
    private GrpcProxy example;
    private TestServer merapi;
    private ManagedChannel channel;

    @BeforeEach
    void start() throws IOException {
        origin = NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
                .addService(ServerServiceDefinition.builder("example.Greeter")
                        .addMethod(GREET, ServerCalls.asyncUnaryCall((name, out) -> {
                            if (name.isEmpty()) {
                                out.onError(Status.INVALID_ARGUMENT.withDescription("a name is needed").asRuntimeException());
                                return;
                            }
                            out.onNext("hello " + name);
                            out.onCompleted();
                        })).build())
                .build().start();
        example = new GrpcProxy("127.0.0.1:" + origin.getPort());
        HttpProxy<Void> proxy = HttpProxy.of(example);
        merapi = TestServer.start(ListeningService.http("grpc", proxy)).checkClosedOnStop(proxy.connector()::openConnections);
        channel = NettyChannelBuilder.forAddress("127.0.0.1", merapi.port()).usePlaintext().build();
    }

    @AfterEach
    void stop() throws InterruptedException {
        channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
        merapi.close();
        origin.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
    }

    @Test
    void callsPassThroughAndAreCountedByStatus() {
        assertThat(ClientCalls.blockingUnaryCall(channel, GREET, CallOptions.DEFAULT, "merapi")).isEqualTo("hello merapi");
        assertThatThrownBy(() -> ClientCalls.blockingUnaryCall(channel, GREET, CallOptions.DEFAULT, ""))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                    assertThat(e.getStatus().getDescription()).isEqualTo("a name is needed");
                });

        assertThat(example.calls("0")).isEqualTo(1);
        assertThat(example.calls("3")).as("INVALID_ARGUMENT, from a trailers-only answer").isEqualTo(1);
    }

    @Test
    void aRequestThatIsNotGrpcGets415() throws IOException {
        try (RawClient c = RawClient.connect(merapi.port())) {
            c.send("GET /example.Greeter/Greet HTTP/1.1\r\nHost: t\r\n\r\n");
            RawClient.Response r = c.readResponse();

            assertThat(r.status()).isEqualTo(415);
            assertThat(r.bodyText()).contains("gRPC only");
        }
        assertThat(example.callsByStatus()).isEmpty();
    }
}
