package dev.merapi.proxy;

import static dev.merapi.proxy.GrpcBytes.SERVICE;
import static dev.merapi.proxy.GrpcBytes.method;
import static dev.merapi.proxy.GrpcBytes.reversed;
import static dev.merapi.proxy.GrpcBytes.text;
import static dev.merapi.proxy.GrpcBytes.utf8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.testkit.MockOrigin;
import dev.merapi.testkit.MockResponse;
import dev.merapi.testkit.RecordedRequest;
import dev.merapi.testkit.TestServer;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerInterceptor;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCalls;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * gRPC-web bridged to gRPC ({@link ProxyOptions#grpcWeb()}) with a real grpc-java server behind Merapi and a hand-made
 * gRPC-web client in front: the JDK's HTTP/1.1 client posts length-prefixed messages and parses the data frames and
 * the trailer frame of the answer, as a browser's gRPC-web library does. The peer is left at HTTP/1.1, so each bridged
 * call also proves that it went to the origin over h2c.
 */
class GrpcWebIT {
    private static final int MAX_MESSAGE = 16 * 1024 * 1024;

    private final CountDownLatch releaseSecond = new CountDownLatch(1);
    private final AtomicReference<Metadata> lastHeaders = new AtomicReference<>();
    private Server origin;
    private RecordingProxy proxy;
    private TestServer merapi;
    private final HttpClient client = RecordingProxy.http();

    private ServerServiceDefinition service() {
        return ServerServiceDefinition.builder(SERVICE)
                .addMethod(method("Unary", MethodDescriptor.MethodType.UNARY), ServerCalls.asyncUnaryCall((req, out) -> {
                    byte[] reply = req.length > 1024 ? reversed(req) : utf8("echo " + text(req));
                    out.onNext(reply);
                    out.onCompleted();
                }))
                .addMethod(method("Missing", MethodDescriptor.MethodType.UNARY), ServerCalls.asyncUnaryCall((req, out) ->
                        out.onError(Status.NOT_FOUND.withDescription("no such thing: " + text(req)).asRuntimeException())))
                .addMethod(method("Partial", MethodDescriptor.MethodType.SERVER_STREAMING),
                        ServerCalls.asyncServerStreamingCall((req, out) -> {
                            out.onNext(utf8("one"));
                            out.onError(Status.RESOURCE_EXHAUSTED.withDescription("quota used up").asRuntimeException());
                        }))
                .addMethod(method("Stream", MethodDescriptor.MethodType.SERVER_STREAMING),
                        ServerCalls.asyncServerStreamingCall((req, out) -> {
                            int n = Integer.parseInt(text(req));
                            for (int i = 0; i < n; i++) {
                                out.onNext(utf8("part " + i));
                            }
                            out.onCompleted();
                        }))
                .addMethod(method("Slow", MethodDescriptor.MethodType.SERVER_STREAMING),
                        ServerCalls.asyncServerStreamingCall((req, out) -> {
                            out.onNext(utf8("first"));
                            // the second message waits until the client has read the first: nothing buffers the call whole
                            Thread.ofVirtual().start(() -> {
                                try {
                                    if (releaseSecond.await(30, TimeUnit.SECONDS)) {
                                        out.onNext(utf8("second"));
                                    }
                                } catch (InterruptedException e) {
                                    Thread.currentThread().interrupt();
                                }
                                out.onCompleted();
                            });
                        }))
                .build();
    }

    @BeforeEach
    void startOrigin() throws IOException {
        origin = NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
                .maxInboundMessageSize(MAX_MESSAGE)
                .addService(service())
                .intercept(new ServerInterceptor() {
                    @Override
                    public <Q, S> io.grpc.ServerCall.Listener<Q> interceptCall(io.grpc.ServerCall<Q, S> call, Metadata headers,
                            io.grpc.ServerCallHandler<Q, S> next) {
                        lastHeaders.set(headers);
                        return next.startCall(call, headers);
                    }
                })
                .build().start();
    }

    private void startMerapi(boolean bridge) {
        proxy = new RecordingProxy(HttpPeer.of("127.0.0.1:" + origin.getPort())); // HTTP/1.1 as far as the peer says
        merapi = RecordingProxy.serve(HttpProxy.of(proxy, ProxyOptions.builder().grpcWeb(bridge).build()));
    }

    @AfterEach
    void stop() throws InterruptedException {
        releaseSecond.countDown();
        try {
            if (merapi != null) {
                merapi.close(); // fails the test if a downstream or upstream connection is still open
            }
        } finally {
            origin.shutdownNow();
            origin.awaitTermination(10, TimeUnit.SECONDS);
        }
    }

    // ---- a gRPC-web client, by hand

    /** One gRPC-web frame of a response body: its flag byte and payload. */
    record Frame(int flag, byte[] payload) {
        boolean isTrailers() {
            return (flag & 0x80) != 0;
        }

        /** The trailer lines of a trailer frame, by name. */
        Map<String, String> trailers() {
            Map<String, String> fields = new LinkedHashMap<>();
            for (String line : text(payload).split("\r\n")) {
                if (!line.isEmpty()) {
                    int colon = line.indexOf(':');
                    fields.put(line.substring(0, colon), line.substring(colon + 1).strip());
                }
            }
            return fields;
        }
    }

    private static byte[] framed(byte[] message) {
        return ByteBuffer.allocate(5 + message.length).put((byte) 0).putInt(message.length).put(message).array();
    }

    private HttpRequest call(String method, byte[] message, String contentType) {
        return HttpRequest.newBuilder(merapi.uri("/" + SERVICE + "/" + method))
                .timeout(Duration.ofSeconds(30))
                .header("Content-Type", contentType)
                .header("X-Grpc-Web", "1")
                .POST(HttpRequest.BodyPublishers.ofByteArray(framed(message)))
                .build();
    }

    private HttpResponse<byte[]> send(String method, byte[] message) throws Exception {
        return client.send(call(method, message, "application/grpc-web+proto"), HttpResponse.BodyHandlers.ofByteArray());
    }

    private static Optional<Frame> readFrame(DataInputStream in) throws IOException {
        int flag = in.read();
        if (flag < 0) {
            return Optional.empty();
        }
        int length = in.readInt();
        byte[] payload = new byte[length];
        in.readFully(payload);
        return Optional.of(new Frame(flag, payload));
    }

    private static List<Frame> frames(byte[] body) throws IOException {
        List<Frame> frames = new ArrayList<>();
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(body));
        for (Optional<Frame> f = readFrame(in); f.isPresent(); f = readFrame(in)) {
            frames.add(f.get());
        }
        return frames;
    }

    // ---- the bridge

    @Test
    void unaryGrpcWebCallGetsItsMessageAndAnOkTrailerFrame() throws Exception {
        startMerapi(true);

        HttpResponse<byte[]> r = send("Unary", utf8("hello"));

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-type")).as("the origin's type, as gRPC-web").hasValue("application/grpc-web");
        List<Frame> frames = frames(r.body());
        assertThat(frames).hasSize(2);
        assertThat(frames.get(0).flag()).isZero();
        assertThat(text(frames.get(0).payload())).isEqualTo("echo hello");
        assertThat(frames.get(1).isTrailers()).isTrue();
        assertThat(frames.get(1).trailers()).containsEntry("grpc-status", "0");
        assertThat(text(frames.get(1).payload())).as("lower-case names, CRLF lines").matches("([a-z0-9-]+: [^\r\n]*\r\n)+");
        Metadata seen = lastHeaders.get();
        assertThat(seen.get(Metadata.Key.of("content-type", Metadata.ASCII_STRING_MARSHALLER))).isEqualTo("application/grpc+proto");
        proxy.awaitLogged(1);
        assertThat(proxy.loggedErrors()).allMatch(Optional::isEmpty);
    }

    @Test
    void serverStreamingGrpcWebCallDeliversEveryMessageThenTheTrailerFrame() throws Exception {
        startMerapi(true);

        HttpResponse<byte[]> r = send("Stream", utf8("200"));

        List<Frame> frames = frames(r.body());
        assertThat(frames).hasSize(201);
        assertThat(frames.subList(0, 200)).allMatch(f -> f.flag() == 0);
        assertThat(text(frames.get(0).payload())).isEqualTo("part 0");
        assertThat(text(frames.get(199).payload())).isEqualTo("part 199");
        assertThat(frames.get(200).trailers()).containsEntry("grpc-status", "0");
        proxy.awaitLogged(1);
    }

    @Test
    void streamedFramesReachTheGrpcWebClientBeforeTheCallEnds() throws Exception {
        startMerapi(true);

        HttpResponse<InputStream> r = client.send(call("Slow", utf8("go"), "application/grpc-web"),
                HttpResponse.BodyHandlers.ofInputStream());

        assertThat(r.headers().firstValue("content-type")).hasValue("application/grpc-web");
        try (DataInputStream in = new DataInputStream(r.body())) {
            Frame first = readFrame(in).orElseThrow();
            assertThat(text(first.payload())).isEqualTo("first"); // the origin holds the rest until this arrived
            releaseSecond.countDown();
            assertThat(text(readFrame(in).orElseThrow().payload())).isEqualTo("second");
            assertThat(readFrame(in).orElseThrow().trailers()).containsEntry("grpc-status", "0");
            assertThat(readFrame(in)).isEmpty();
        } catch (EOFException e) {
            throw new AssertionError("the gRPC-web body ended early", e);
        }
        proxy.awaitLogged(1);
    }

    @Test
    void nonOkStatusAfterAMessageComesInTheTrailerFrameWithItsMessage() throws Exception {
        startMerapi(true);

        HttpResponse<byte[]> r = send("Partial", utf8("x"));

        assertThat(r.statusCode()).isEqualTo(200);
        List<Frame> frames = frames(r.body());
        assertThat(frames).hasSize(2);
        assertThat(text(frames.get(0).payload())).isEqualTo("one");
        assertThat(frames.get(1).trailers())
                .containsEntry("grpc-status", String.valueOf(Status.Code.RESOURCE_EXHAUSTED.value()))
                .containsEntry("grpc-message", "quota used up");
        proxy.awaitLogged(1);
    }

    @Test
    void trailersOnlyErrorIsCarriedInTheResponseHead() throws Exception {
        startMerapi(true);

        HttpResponse<byte[]> r = send("Missing", utf8("key-42"));

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("grpc-status")).hasValue(String.valueOf(Status.Code.NOT_FOUND.value()));
        assertThat(r.headers().firstValue("grpc-message")).hasValue("no such thing: key-42");
        assertThat(r.headers().firstValue("content-type")).as("the origin's type, as gRPC-web").hasValue("application/grpc-web");
        assertThat(r.body()).as("no frame at all").isEmpty();
        proxy.awaitLogged(1);
    }

    @Test
    void fourMebibyteMessagePassesBothWays() throws Exception {
        startMerapi(true);
        byte[] big = new byte[4 * 1024 * 1024];
        for (int i = 0; i < big.length; i++) {
            big[i] = (byte) (i * 31 + (i >>> 11));
        }

        HttpResponse<byte[]> r = send("Unary", big);

        List<Frame> frames = frames(r.body());
        assertThat(frames).hasSize(2);
        assertThat(frames.get(0).payload()).isEqualTo(reversed(big));
        assertThat(frames.get(1).trailers()).containsEntry("grpc-status", "0");
        proxy.awaitLogged(1);
    }

    @Test
    void grpcWebTextIsRefusedWith415() throws Exception {
        startMerapi(true);

        HttpResponse<byte[]> r = client.send(call("Unary", utf8("hello"), "application/grpc-web-text"),
                HttpResponse.BodyHandlers.ofByteArray());

        assertThat(r.statusCode()).isEqualTo(415);
        assertThat(lastHeaders.get()).as("the origin saw no call").isNull();
        assertThat(proxy.onlyLoggedError().rule()).hasValue("grpc-web-text");
    }

    @Test
    void withoutTheOptInAGrpcWebCallPassesUnchanged() throws Exception {
        // with no bridge the peer stays HTTP/1.1, so an HTTP/1.1 origin stands in to see what arrives
        try (MockOrigin plain = MockOrigin.start()) {
            plain.enqueue(MockResponse.builder().header("Content-Type", "text/plain").body("ok").build());
            proxy = new RecordingProxy(HttpPeer.of("127.0.0.1:" + plain.port()));
            merapi = RecordingProxy.serve(HttpProxy.of(proxy, ProxyOptions.DEFAULT));

            HttpResponse<byte[]> r = send("Unary", utf8("hello"));

            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(text(r.body())).as("no trailer frame added").isEqualTo("ok");
            assertThat(r.headers().firstValue("content-type")).hasValue("text/plain");
            RecordedRequest seen = plain.takeRequest();
            assertThat(seen.header("Content-Type")).hasValue("application/grpc-web+proto");
            assertThat(seen.header("TE")).isEmpty();
            assertThat(seen.body()).isEqualTo(framed(utf8("hello")));
            proxy.awaitLogged(1);
            merapi.close(); // before its origin goes
            merapi = null;
        }
    }
}
