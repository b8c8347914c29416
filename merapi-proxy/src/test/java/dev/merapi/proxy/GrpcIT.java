package dev.merapi.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.core.upstreams.PeerOptions;
import dev.merapi.core.upstreams.UpstreamProtocol;
import dev.merapi.testkit.TestServer;
import io.grpc.CallOptions;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * gRPC through Merapi with real grpc-java peers: a grpc-java server on loopback (h2c), Merapi in front of it with an
 * HTTP/2 peer, and a grpc-java client speaking h2c with prior knowledge to Merapi's listener. Messages are raw bytes
 * (a byte-array marshaller), so no generated code is needed. Every call kind, a non-zero {@code grpc-status} with its
 * message, 4 MiB messages both ways, and a client deadline that cancels the upstream stream.
 */
class GrpcIT {
    private static final String SERVICE = "merapi.test.Echo";
    private static final int MAX_MESSAGE = 16 * 1024 * 1024;
    private static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<>() {
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
    private static final MethodDescriptor<byte[], byte[]> UNARY = method("Unary", MethodDescriptor.MethodType.UNARY);
    private static final MethodDescriptor<byte[], byte[]> NOT_FOUND = method("Missing", MethodDescriptor.MethodType.UNARY);
    private static final MethodDescriptor<byte[], byte[]> HANG = method("Hang", MethodDescriptor.MethodType.UNARY);
    private static final MethodDescriptor<byte[], byte[]> SERVER_STREAM =
            method("ServerStream", MethodDescriptor.MethodType.SERVER_STREAMING);
    private static final MethodDescriptor<byte[], byte[]> CLIENT_STREAM =
            method("ClientStream", MethodDescriptor.MethodType.CLIENT_STREAMING);
    private static final MethodDescriptor<byte[], byte[]> BIDI = method("Bidi", MethodDescriptor.MethodType.BIDI_STREAMING);

    /** grpc-java's server handler, which logs once per connection when a request comes without {@code TE: trailers}. */
    private static final Logger SERVER_HANDLER_LOG =
            Logger.getLogger("io.grpc.netty.shaded.io.grpc.netty.NettyServerHandler");

    private final CountDownLatch hangCancelled = new CountDownLatch(1);
    private final AtomicReference<Metadata> lastHeaders = new AtomicReference<>();
    private Server origin;
    private RecordingProxy proxy;
    private HttpProxy<RecordingProxy.Ctx> engine;
    private TestServer merapi;
    private ManagedChannel channel;

    private static MethodDescriptor<byte[], byte[]> method(String name, MethodDescriptor.MethodType type) {
        return MethodDescriptor.<byte[], byte[]>newBuilder().setType(type)
                .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, name))
                .setRequestMarshaller(BYTES).setResponseMarshaller(BYTES).build();
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String text(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    private ServerServiceDefinition service() {
        return ServerServiceDefinition.builder(SERVICE)
                .addMethod(UNARY, ServerCalls.asyncUnaryCall((req, out) -> {
                    byte[] reply = req.length > 1024 ? reversed(req) : utf8("echo " + text(req));
                    out.onNext(reply);
                    out.onCompleted();
                }))
                .addMethod(NOT_FOUND, ServerCalls.asyncUnaryCall((req, out) ->
                        out.onError(Status.NOT_FOUND.withDescription("no such thing: " + text(req)).asRuntimeException())))
                .addMethod(HANG, ServerCalls.asyncUnaryCall((req, out) ->
                        // never answers: only the client's deadline, arriving as RST_STREAM, ends the call
                        Context.current().addListener(c -> hangCancelled.countDown(), Runnable::run)))
                .addMethod(SERVER_STREAM, ServerCalls.asyncServerStreamingCall((req, out) -> {
                    int n = Integer.parseInt(text(req));
                    for (int i = 0; i < n; i++) {
                        out.onNext(utf8("part " + i));
                    }
                    out.onCompleted();
                }))
                .addMethod(CLIENT_STREAM, ServerCalls.asyncClientStreamingCall(out -> new StreamObserver<byte[]>() {
                    private final StringBuilder all = new StringBuilder();

                    @Override
                    public void onNext(byte[] value) {
                        all.append(text(value)).append(',');
                    }

                    @Override
                    public void onError(Throwable t) {
                        // the call is over; nothing to answer
                    }

                    @Override
                    public void onCompleted() {
                        out.onNext(utf8(all.toString()));
                        out.onCompleted();
                    }
                }))
                .addMethod(BIDI, ServerCalls.asyncBidiStreamingCall(out -> new StreamObserver<byte[]>() {
                    @Override
                    public void onNext(byte[] value) {
                        out.onNext(utf8("re " + text(value)));
                    }

                    @Override
                    public void onError(Throwable t) {
                        // the call is over; nothing to answer
                    }

                    @Override
                    public void onCompleted() {
                        out.onCompleted();
                    }
                }))
                .build();
    }

    private static byte[] reversed(byte[] b) {
        byte[] r = new byte[b.length];
        for (int i = 0; i < b.length; i++) {
            r[i] = b[b.length - 1 - i];
        }
        return r;
    }

    private final List<String> teWarnings = new CopyOnWriteArrayList<>();
    private final Handler teWatch = new Handler() {
        @Override
        public void publish(LogRecord r) {
            String message = r.getMessage();
            if (message != null && message.contains("Expected header TE")) {
                teWarnings.add(message);
            }
        }

        @Override
        public void flush() {
            // nothing buffered
        }

        @Override
        public void close() {
            // nothing held
        }
    };

    @BeforeEach
    void start() throws IOException {
        SERVER_HANDLER_LOG.addHandler(teWatch);
        origin = NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
                .maxInboundMessageSize(MAX_MESSAGE)
                .addService(service())
                .intercept(new io.grpc.ServerInterceptor() {
                    @Override
                    public <Q, S> io.grpc.ServerCall.Listener<Q> interceptCall(io.grpc.ServerCall<Q, S> call, Metadata headers,
                            io.grpc.ServerCallHandler<Q, S> next) {
                        lastHeaders.set(headers);
                        return next.startCall(call, headers);
                    }
                })
                .build().start();
        HttpPeer peer = HttpPeer.of("127.0.0.1:" + origin.getPort())
                .withOptions(PeerOptions.builder().protocol(UpstreamProtocol.HTTP2).build());
        proxy = new RecordingProxy(peer);
        engine = HttpProxy.of(proxy);
        merapi = RecordingProxy.serve(engine);
        channel = NettyChannelBuilder.forAddress("127.0.0.1", merapi.port()).usePlaintext()
                .maxInboundMessageSize(MAX_MESSAGE).build();
    }

    @AfterEach
    void stop() throws InterruptedException {
        SERVER_HANDLER_LOG.removeHandler(teWatch);
        try {
            if (channel != null) {
                channel.shutdownNow();
                assertThat(channel.awaitTermination(10, TimeUnit.SECONDS)).as("client channel closed").isTrue();
            }
        } finally {
            try {
                if (merapi != null) {
                    merapi.close(); // fails the test if a downstream or upstream connection is still open
                }
            } finally {
                if (origin != null) {
                    origin.shutdownNow();
                    origin.awaitTermination(10, TimeUnit.SECONDS);
                }
            }
        }
    }

    @Test
    void unaryCallPassesThroughWithItsStatus() {
        byte[] reply = ClientCalls.blockingUnaryCall(channel, UNARY, CallOptions.DEFAULT, utf8("hello"));

        assertThat(text(reply)).isEqualTo("echo hello");
        proxy.awaitLogged(1);
        assertThat(proxy.loggedErrors()).allMatch(Optional::isEmpty);
        assertThat(teWarnings).as("grpc-java warns when TE: trailers does not reach it").isEmpty();
        assertThat(lastHeaders.get().get(Metadata.Key.of("content-type", Metadata.ASCII_STRING_MARSHALLER)))
                .startsWith("application/grpc");
    }

    @Test
    void nonZeroGrpcStatusAndMessageReachTheClientIntact() {
        assertThatThrownBy(() -> ClientCalls.blockingUnaryCall(channel, NOT_FOUND, CallOptions.DEFAULT, utf8("key-42")))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).as(e.getStatus().toString()).isEqualTo(Status.Code.NOT_FOUND);
                    assertThat(e.getStatus().getDescription()).isEqualTo("no such thing: key-42");
                });
        proxy.awaitLogged(1);
    }

    @Test
    void serverStreamingCallDeliversEveryMessageInOrder() {
        Iterator<byte[]> it = ClientCalls.blockingServerStreamingCall(channel, SERVER_STREAM, CallOptions.DEFAULT, utf8("200"));
        List<String> got = new ArrayList<>();
        it.forEachRemaining(b -> got.add(text(b)));

        assertThat(got).hasSize(200).startsWith("part 0", "part 1").endsWith("part 199");
        proxy.awaitLogged(1);
        assertThat(proxy.loggedErrors()).allMatch(Optional::isEmpty);
    }

    @Test
    void clientStreamingCallCollectsEveryMessage() throws Exception {
        CompletableFuture<String> result = new CompletableFuture<>();
        StreamObserver<byte[]> requests = ClientCalls.asyncClientStreamingCall(
                channel.newCall(CLIENT_STREAM, CallOptions.DEFAULT), observer(result, new StringBuilder()));
        for (int i = 0; i < 100; i++) {
            requests.onNext(utf8("m" + i));
        }
        requests.onCompleted();

        String all = result.get(30, TimeUnit.SECONDS);
        assertThat(all.split(",")).hasSize(100).startsWith("m0", "m1").endsWith("m99");
        proxy.awaitLogged(1);
        assertThat(proxy.loggedErrors()).allMatch(Optional::isEmpty);
    }

    @Test
    void bidiStreamingCallAnswersEachMessageWhileTheRequestIsOpen() throws Exception {
        CompletableFuture<String> done = new CompletableFuture<>();
        StringBuilder replies = new StringBuilder();
        StreamObserver<byte[]> requests = ClientCalls.asyncBidiStreamingCall(
                channel.newCall(BIDI, CallOptions.DEFAULT), observer(done, replies));
        for (int i = 0; i < 50; i++) {
            requests.onNext(utf8("b" + i));
        }
        requests.onCompleted();

        String all = done.get(30, TimeUnit.SECONDS);
        assertThat(all.split(",")).hasSize(50).startsWith("re b0").endsWith("re b49");
        proxy.awaitLogged(1);
        assertThat(proxy.loggedErrors()).allMatch(Optional::isEmpty);
    }

    @Test
    void fourMebibyteMessagesPassBothWays() {
        byte[] big = new byte[4 * 1024 * 1024];
        for (int i = 0; i < big.length; i++) {
            big[i] = (byte) (i * 31 + (i >>> 11));
        }

        byte[] reply = ClientCalls.blockingUnaryCall(channel, UNARY, CallOptions.DEFAULT, big);

        assertThat(Arrays.equals(reply, reversed(big))).as("the 4 MiB reply is the request reversed").isTrue();
        proxy.awaitLogged(1);
        assertThat(proxy.loggedErrors()).allMatch(Optional::isEmpty);
    }

    @Test
    void clientDeadlineCancelsTheUpstreamStream() throws Exception {
        assertThatThrownBy(() -> ClientCalls.blockingUnaryCall(channel, HANG,
                CallOptions.DEFAULT.withDeadlineAfter(500, TimeUnit.MILLISECONDS), utf8("wait")))
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED));

        assertThat(hangCancelled.await(10, TimeUnit.SECONDS)).as("the origin saw its stream cancelled").isTrue();
        proxy.awaitLogged(1);
        // the connections stay usable: a call after the cancelled one goes through
        assertThat(text(ClientCalls.blockingUnaryCall(channel, UNARY, CallOptions.DEFAULT, utf8("after")))).isEqualTo("echo after");
    }

    /** Collects the replies, comma-separated, into {@code into}, and completes {@code done} with them at the end. */
    private static StreamObserver<byte[]> observer(CompletableFuture<String> done, StringBuilder into) {
        return new StreamObserver<>() {
            @Override
            public void onNext(byte[] value) {
                into.append(text(value)).append(',');
            }

            @Override
            public void onError(Throwable t) {
                done.completeExceptionally(t);
            }

            @Override
            public void onCompleted() {
                done.complete(into.toString());
            }
        };
    }
}
