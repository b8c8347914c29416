package dev.merapi.testkit;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import dev.merapi.testkit.RawConnection.Response;

/** Drives a real {@link MockOrigin} over loopback sockets, with raw bytes and with {@link HttpClient}. */
@Timeout(value = 30, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class MockOriginTest {

    private static final Duration AWAIT = Duration.ofSeconds(5);

    private MockOrigin origin;
    private HttpClient client;

    @BeforeEach
    void startOrigin() {
        origin = MockOrigin.start();
        client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(AWAIT).build();
    }

    @AfterEach
    void stopOrigin() {
        client.shutdownNow();
        origin.close();
    }

    @Test
    void keepAliveServesTwoRequestsOnOneConnection() throws IOException {
        try (RawConnection connection = RawConnection.to(origin)) {
            connection.send("GET /first HTTP/1.1\r\nHost: origin\r\n\r\n");
            Response first = connection.readResponse();
            connection.send("GET /second HTTP/1.1\r\nHost: origin\r\n\r\n");
            Response second = connection.readResponse();

            assertThat(first.head()).isEqualTo(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 23\r\n\r\n");
            assertThat(first.bodyUtf8()).isEqualTo("hello from mock origin\n");
            assertThat(second.status()).isEqualTo(200);
        }
        RecordedRequest first = origin.takeRequest();
        RecordedRequest second = origin.takeRequest();
        assertThat(first.target()).isEqualTo("/first");
        assertThat(second.target()).isEqualTo("/second");
        assertThat(List.of(first.connectionIndex(), second.connectionIndex())).containsExactly(1, 1);
        assertThat(List.of(first.indexOnConnection(), second.indexOnConnection())).containsExactly(1, 2);
        assertThat(origin.connectionCount()).isEqualTo(1);
        assertThat(origin.requestCount()).isEqualTo(2);
    }

    @Test
    void recordedRequestKeepsHeaderCaseOrderAndExactHeadBytes() throws IOException {
        String head = "GET /path?q=1 HTTP/1.1\r\nHost: origin\r\nX-Mixed-Case: one\r\nx-lower:two  \r\n"
                + "X-MIXED-CASE: three\r\n\r\n";
        try (RawConnection connection = RawConnection.to(origin)) {
            connection.send(head);
            connection.readResponse();
        }
        RecordedRequest request = origin.takeRequest();

        assertThat(request.rawHead()).isEqualTo(head);
        assertThat(request.method()).isEqualTo("GET");
        assertThat(request.target()).isEqualTo("/path?q=1");
        assertThat(request.version()).isEqualTo("HTTP/1.1");
        assertThat(request.headers()).containsExactly(Map.entry("Host", "origin"), Map.entry("X-Mixed-Case", "one"),
                Map.entry("x-lower", "two"), Map.entry("X-MIXED-CASE", "three"));
        assertThat(request.header("x-mixed-case")).contains("one");
        assertThat(request.headerValues("X-Mixed-Case")).containsExactly("one", "three");
        assertThat(request.header("Absent")).isEmpty();
        assertThat(request.bodySize()).isZero();
    }

    @Test
    void chunkedRequestBodyIsDecodedWithExtensionsAndTrailers() throws IOException {
        try (RawConnection connection = RawConnection.to(origin)) {
            connection.send("POST /upload HTTP/1.1\r\nHost: origin\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: abc\r\n\r\n");
            assertThat(connection.readResponse().status()).isEqualTo(200);
        }
        RecordedRequest request = origin.takeRequest();

        assertThat(request.chunked()).isTrue();
        assertThat(request.bodyUtf8()).isEqualTo("hello world");
        assertThat(request.bodySize()).isEqualTo(11);
        assertThat(request.trailers()).containsExactly(Map.entry("X-Checksum", "abc"));
        assertThat(request.trailer("x-checksum")).contains("abc");
    }

    @Test
    void chunkedRequestFromHttpClientIsDecoded() throws Exception {
        byte[] body = "streamed without a length".getBytes(UTF_8);
        HttpRequest request = HttpRequest.newBuilder(origin.uri("/stream"))
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(body)))
                .build();

        HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());

        assertThat(response.statusCode()).isEqualTo(200);
        RecordedRequest recorded = origin.takeRequest();
        assertThat(recorded.chunked()).isTrue();
        assertThat(recorded.header("Transfer-Encoding")).contains("chunked");
        assertThat(recorded.body()).isEqualTo(body);
    }

    @Test
    void contentLengthRequestBodyIsRecorded() throws Exception {
        HttpRequest request = HttpRequest.newBuilder(origin.uri("/form"))
                .POST(HttpRequest.BodyPublishers.ofString("a=1&b=2")).build();

        client.send(request, HttpResponse.BodyHandlers.discarding());

        RecordedRequest recorded = origin.takeRequest();
        assertThat(recorded.method()).isEqualTo("POST");
        assertThat(recorded.chunked()).isFalse();
        assertThat(recorded.bodyUtf8()).isEqualTo("a=1&b=2");
        CRC32 crc = new CRC32();
        crc.update("a=1&b=2".getBytes(UTF_8));
        assertThat(recorded.bodyCrc32()).isEqualTo(crc.getValue());
    }

    @Test
    void bodyLargerThanOneMebibyteIsMeasuredButNotRetained() throws Exception {
        byte[] body = MockResponse.patternBytes(0, 3 * 1024 * 1024 + 7);
        HttpRequest request = HttpRequest.newBuilder(origin.uri("/big"))
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();

        client.send(request, HttpResponse.BodyHandlers.discarding());

        RecordedRequest recorded = origin.takeRequest();
        assertThat(recorded.bodyRetained()).isFalse();
        assertThat(recorded.bodySize()).isEqualTo(body.length);
        assertThat(recorded.bodyCrc32()).isEqualTo(MockResponse.patternCrc(body.length));
        assertThatThrownBy(recorded::body).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void expectContinueGets100ContinueBeforeTheBodyIsSent() throws IOException {
        try (RawConnection connection = RawConnection.to(origin)) {
            connection.send("PUT /item HTTP/1.1\r\nHost: origin\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
            assertThat(connection.readHead()).isEqualTo("HTTP/1.1 100 Continue\r\n\r\n");
            assertThat(origin.requestCount()).isZero();

            connection.send("hello");
            assertThat(connection.readResponse().status()).isEqualTo(200);
        }
        assertThat(origin.takeRequest().bodyUtf8()).isEqualTo("hello");
    }

    @Test
    void expectContinueWorksWithHttpClient() throws Exception {
        HttpRequest request = HttpRequest.newBuilder(origin.uri("/continue")).expectContinue(true)
                .POST(HttpRequest.BodyPublishers.ofString("payload")).build();

        HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());

        assertThat(response.body()).isEqualTo("hello from mock origin\n");
        RecordedRequest recorded = origin.takeRequest();
        assertThat(recorded.header("Expect")).hasValueSatisfying(v -> assertThat(v).isEqualToIgnoringCase("100-continue"));
        assertThat(recorded.bodyUtf8()).isEqualTo("payload");
    }

    @Test
    void pipelinedRequestsAreAnsweredInOrder() throws IOException {
        origin.enqueue(MockResponse.ok("one"));
        origin.enqueue(MockResponse.ok("two"));
        try (RawConnection connection = RawConnection.to(origin)) {
            connection.send("GET /1 HTTP/1.1\r\nHost: origin\r\n\r\nGET /2 HTTP/1.1\r\nHost: origin\r\n\r\n");

            assertThat(connection.readResponse().bodyUtf8()).isEqualTo("one");
            assertThat(connection.readResponse().bodyUtf8()).isEqualTo("two");
        }
        assertThat(origin.requests()).extracting(RecordedRequest::target).containsExactly("/1", "/2");
    }

    @Test
    void connectionCloseRequestIsAnsweredThenClosed() throws IOException {
        try (RawConnection connection = RawConnection.to(origin)) {
            connection.send("GET / HTTP/1.1\r\nHost: origin\r\nConnection: close\r\n\r\n");
            assertThat(connection.readResponse().status()).isEqualTo(200);
            assertThat(connection.read()).isEqualTo(-1);
        }
    }

    @Test
    void http10RequestWithoutKeepAliveIsClosedAfterTheResponse() throws IOException {
        try (RawConnection connection = RawConnection.to(origin)) {
            connection.send("GET / HTTP/1.0\r\n\r\n");
            assertThat(connection.readResponse().status()).isEqualTo(200);
            assertThat(connection.read()).isEqualTo(-1);
        }
        assertThat(origin.takeRequest().version()).isEqualTo("HTTP/1.0");
    }

    @Test
    void http10RequestWithKeepAliveStaysOpen() throws IOException {
        try (RawConnection connection = RawConnection.to(origin)) {
            connection.send("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
            connection.readResponse();
            connection.send("GET /b HTTP/1.0\r\n\r\n");
            connection.readResponse();
            assertThat(connection.read()).isEqualTo(-1);
        }
        assertThat(origin.requests()).extracting(RecordedRequest::indexOnConnection).containsExactly(1, 2);
    }

    @Test
    void chunkedResponseIsFramedOnTheWireWithTrailers() throws IOException {
        origin.enqueue(MockResponse.builder().header("X-Kind", "chunked")
                .chunkedBody("abcdefghij".getBytes(UTF_8), 4).trailer("X-Checksum", "42").build());
        try (RawConnection connection = RawConnection.to(origin)) {
            connection.send("GET / HTTP/1.1\r\nHost: origin\r\nConnection: close\r\n\r\n");

            assertThat(new String(connection.readToEnd(), ISO_8859_1)).isEqualTo(
                    "HTTP/1.1 200 OK\r\nX-Kind: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
                            + "4\r\nabcd\r\n4\r\nefgh\r\n2\r\nij\r\n0\r\nX-Checksum: 42\r\n\r\n");
        }
    }

    @Test
    void chunkedResponseIsReadableByHttpClient() throws Exception {
        byte[] body = MockResponse.patternBytes(0, 100_000);
        origin.enqueue(MockResponse.builder().chunkedBody(body, 8192).build());

        HttpResponse<byte[]> response = client.send(HttpRequest.newBuilder(origin.uri("/")).build(),
                HttpResponse.BodyHandlers.ofByteArray());

        assertThat(response.body()).isEqualTo(body);
    }

    @Test
    void interimResponsesPrecedeTheFinalResponse() throws IOException {
        origin.enqueue(MockResponse.builder().informational(103, 2).status(204).build());
        try (RawConnection connection = RawConnection.to(origin)) {
            connection.send("GET / HTTP/1.1\r\nHost: origin\r\n\r\n");

            assertThat(connection.readHead()).isEqualTo("HTTP/1.1 103 Early Hints\r\n\r\n");
            assertThat(connection.readHead()).isEqualTo("HTTP/1.1 103 Early Hints\r\n\r\n");
            assertThat(connection.readHead()).isEqualTo("HTTP/1.1 204 No Content\r\n\r\n");
        }
    }

    @Test
    void headResponseDeclaresTheLengthButSendsNoBody() throws IOException {
        origin.enqueue(MockResponse.ok("twelve bytes"));
        try (RawConnection connection = RawConnection.to(origin)) {
            connection.send("HEAD / HTTP/1.1\r\nHost: origin\r\n\r\n");
            assertThat(connection.readHead()).contains("Content-Length: 12\r\n");
            connection.send("GET / HTTP/1.1\r\nHost: origin\r\n\r\n");
            assertThat(connection.readResponse().bodyUtf8()).isEqualTo("hello from mock origin\n");
        }
    }

    @Test
    void queuedResponsesComeFirstThenTheDispatcherAnswers() throws Exception {
        origin.enqueue(MockResponse.status(201));
        origin.enqueue(MockResponse.ok("second"));
        origin.setDispatcher(request -> MockResponse.ok("dispatched " + request.target()));

        List<String> answers = new ArrayList<>();
        for (String path : List.of("/1", "/2", "/3")) {
            HttpResponse<String> response = client.send(HttpRequest.newBuilder(origin.uri(path)).build(),
                    HttpResponse.BodyHandlers.ofString());
            answers.add(response.statusCode() + " " + response.body());
        }

        assertThat(answers).containsExactly("201 ", "200 second", "200 dispatched /3");
    }

    @Test
    void failingDispatcherAnswers500() throws Exception {
        origin.setDispatcher(request -> {
            throw new IllegalStateException("boom");
        });

        HttpResponse<String> response = client.send(HttpRequest.newBuilder(origin.uri("/")).build(),
                HttpResponse.BodyHandlers.ofString());

        assertThat(response.statusCode()).isEqualTo(500);
        assertThat(response.body()).contains("boom");
    }

    @Test
    void http10ResponseClosesTheConnection() throws IOException {
        origin.enqueue(MockResponse.builder().http10().body("old").build());
        try (RawConnection connection = RawConnection.to(origin)) {
            connection.send("GET / HTTP/1.1\r\nHost: origin\r\n\r\n");
            Response response = connection.readResponse();
            assertThat(response.head()).startsWith("HTTP/1.0 200 OK\r\n");
            assertThat(connection.read()).isEqualTo(-1);
        }
    }

    @Test
    void throttledBodyArrivesInPacedPieces() throws Exception {
        origin.enqueue(MockResponse.builder().body("0123456789").throttle(2, Duration.ofMillis(50)).build());
        long start = System.nanoTime();

        HttpResponse<String> response = client.send(HttpRequest.newBuilder(origin.uri("/")).build(),
                HttpResponse.BodyHandlers.ofString());

        assertThat(response.body()).isEqualTo("0123456789");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(200));
    }

    @Test
    void streamedBodyOf10MiBMatchesThePatternChecksum() throws Exception {
        long size = 10L * 1024 * 1024;
        origin.enqueue(MockResponse.builder().streamedBody(size).build());

        HttpResponse<InputStream> response = client.send(HttpRequest.newBuilder(origin.uri("/big")).build(),
                HttpResponse.BodyHandlers.ofInputStream());

        assertThat(response.headers().firstValueAsLong("Content-Length")).hasValue(size);
        CRC32 crc = new CRC32();
        long received = 0;
        byte[] first = null;
        try (InputStream body = response.body()) {
            byte[] buffer = new byte[32 * 1024];
            for (int n; (n = body.read(buffer)) >= 0; received += n) {
                if (first == null && n >= 16) {
                    first = Arrays.copyOf(buffer, 16);
                }
                crc.update(buffer, 0, n);
            }
        }
        assertThat(received).isEqualTo(size);
        assertThat(crc.getValue()).isEqualTo(MockResponse.patternCrc(size));
        assertThat(first).isEqualTo(MockResponse.patternBytes(0, 16));
    }

    @Test
    void malformedAndCutShortRequestsAreRecordedAsUnserved() throws Exception {
        try (RawConnection connection = RawConnection.to(origin)) {
            connection.send("GET /ok HTTP/1.1\r\nHost: origin\r\n\r\n");
            assertThat(connection.readResponse().status()).isEqualTo(200);
            connection.send("GET /bad HTTP/1.1\r\nHost: origin\r\n folded\r\n\r\n");
            assertThat(connection.readResponse().status()).isEqualTo(400);
        }
        try (RawConnection connection = RawConnection.to(origin)) {
            connection.send("POST /cut HTTP/1.1\r\nHost: origin\r\nContent-Length: 10\r\n\r\nabc");
        }
        long deadline = System.nanoTime() + AWAIT.toNanos();
        while (origin.unservedRequests().size() < 2 && System.nanoTime() - deadline < 0) {
            Thread.sleep(5);
        }

        assertThat(origin.requestCount()).isEqualTo(1);
        List<UnservedRequest> unserved = origin.unservedRequests();
        assertThat(unserved).hasSize(2);
        assertThat(unserved.get(0)).extracting(UnservedRequest::connectionIndex, UnservedRequest::indexOnConnection,
                UnservedRequest::status).containsExactly(1, 2, 400);
        assertThat(unserved.get(0).incomplete()).isFalse();
        assertThat(unserved.get(1)).extracting(UnservedRequest::connectionIndex, UnservedRequest::indexOnConnection,
                UnservedRequest::status).containsExactly(2, 1, 0);
        assertThat(unserved.get(1).incomplete()).isTrue();
        assertThat(unserved.get(1).reason()).contains("7 body bytes missing");
    }

    @Test
    void closeImmediatelyClosesBeforeReadingAnything() throws IOException {
        origin.enqueue(MockResponse.builder().fault(new OriginFault.CloseImmediately()).build());
        try (RawConnection connection = RawConnection.to(origin)) {
            assertThat(connection.read()).isEqualTo(-1);
        }
        assertThat(origin.connectionCount()).isEqualTo(1);
        assertThat(origin.requestCount()).isZero();
    }

    @Test
    void closeAfterRequestReadsTheRequestThenClosesWithoutAnswer() throws IOException {
        origin.enqueue(MockResponse.builder().fault(new OriginFault.CloseAfterRequest()).build());
        try (RawConnection connection = RawConnection.to(origin)) {
            connection.send("POST / HTTP/1.1\r\nHost: origin\r\nContent-Length: 3\r\n\r\nabc");
            assertThat(connection.read()).isEqualTo(-1);
        }
        assertThat(origin.takeRequest().bodyUtf8()).isEqualTo("abc");
    }

    @Test
    void closeAfterHeadersSendsTheHeadThenCloses() throws Exception {
        origin.enqueue(MockResponse.builder().body("0123456789").fault(new OriginFault.CloseAfterHeaders()).build());
        try (RawConnection connection = RawConnection.to(origin)) {
            connection.send("GET / HTTP/1.1\r\nHost: origin\r\n\r\n");

            assertThat(new String(connection.readToEnd(), ISO_8859_1))
                    .isEqualTo("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n");
        }

        origin.enqueue(MockResponse.builder().body("0123456789").fault(new OriginFault.CloseAfterHeaders()).build());
        assertThatThrownBy(() -> client.send(HttpRequest.newBuilder(origin.uri("/")).build(),
                HttpResponse.BodyHandlers.ofString())).isInstanceOf(IOException.class);
    }

    @Test
    void resetAfterRequestResetsTheConnection() throws IOException {
        origin.enqueue(MockResponse.builder().fault(new OriginFault.ResetAfterRequest()).build());
        try (RawConnection connection = RawConnection.to(origin)) {
            connection.send("GET /reset HTTP/1.1\r\nHost: origin\r\n\r\n");

            assertThatThrownBy(connection::read).isInstanceOf(SocketException.class)
                    .hasMessageContaining("reset");
        }
        assertThat(origin.takeRequest().target()).isEqualTo("/reset");
    }

    @Test
    void resetMidBodySendsThatManyBodyBytesThenResets() throws IOException {
        origin.enqueue(MockResponse.builder().body("0123456789abcdef")
                .fault(new OriginFault.ResetMidBody(10)).build());
        try (RawConnection connection = RawConnection.to(origin)) {
            connection.send("GET / HTTP/1.1\r\nHost: origin\r\n\r\n");

            assertThat(connection.readHead()).isEqualTo("HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\n");
            assertThat(new String(connection.readExactly(10), ISO_8859_1)).isEqualTo("0123456789");
            assertThatThrownBy(connection::read).isInstanceOf(SocketException.class);
        }
    }

    @Test
    void closeDelimitedBodyHasNoFramingAndEndsAtClose() throws Exception {
        MockResponse closeDelimited = MockResponse.builder().header("Content-Type", "text/plain")
                .body("until the end").fault(new OriginFault.CloseDelimitedBody()).build();
        origin.enqueue(closeDelimited);
        try (RawConnection connection = RawConnection.to(origin)) {
            connection.send("GET / HTTP/1.1\r\nHost: origin\r\n\r\n");

            assertThat(new String(connection.readToEnd(), ISO_8859_1))
                    .isEqualTo("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end");
        }

        origin.enqueue(closeDelimited);
        HttpResponse<String> response = client.send(HttpRequest.newBuilder(origin.uri("/")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(response.body()).isEqualTo("until the end");
    }

    @Test
    void wrongContentLengthDeclaresTheGivenLengthAndSendsTheRealBody() throws Exception {
        MockResponse lying = MockResponse.builder().body("ten bytes!")
                .fault(new OriginFault.WrongContentLength(100)).build();
        origin.enqueue(lying);
        try (RawConnection connection = RawConnection.to(origin)) {
            connection.send("GET / HTTP/1.1\r\nHost: origin\r\n\r\n");

            assertThat(new String(connection.readToEnd(), ISO_8859_1))
                    .isEqualTo("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nten bytes!");
        }

        origin.enqueue(lying);
        assertThatThrownBy(() -> client.send(HttpRequest.newBuilder(origin.uri("/")).build(),
                HttpResponse.BodyHandlers.ofString())).isInstanceOf(IOException.class);
    }

    @Test
    void stallSendsNothingUntilTheClientGivesUp() throws Exception {
        origin.enqueue(MockResponse.builder().fault(new OriginFault.Stall()).build());
        HttpRequest request = HttpRequest.newBuilder(origin.uri("/stall")).timeout(Duration.ofMillis(300)).build();

        assertThatThrownBy(() -> client.send(request, HttpResponse.BodyHandlers.ofString()))
                .isInstanceOf(HttpTimeoutException.class);
        assertThat(origin.takeRequest().target()).isEqualTo("/stall");
    }

    @Test
    void stallEndsWhenThePeerCloses() throws IOException {
        origin.enqueue(MockResponse.builder().fault(new OriginFault.Stall()).build());
        try (RawConnection connection = RawConnection.to(origin)) {
            connection.readTimeout(Duration.ofMillis(300));
            connection.send("GET / HTTP/1.1\r\nHost: origin\r\n\r\n");
            assertThatThrownBy(connection::read).isInstanceOf(SocketTimeoutException.class);
            assertThat(origin.openConnections()).isEqualTo(1);
        }
        assertThat(origin.awaitNoOpenConnections(AWAIT)).isTrue();
    }

    @Test
    void stallBodySendsPartOfTheBodyThenNothing() throws IOException {
        origin.enqueue(MockResponse.builder().body("0123456789").fault(new OriginFault.StallBody(4)).build());
        try (RawConnection connection = RawConnection.to(origin)) {
            connection.send("GET / HTTP/1.1\r\nHost: origin\r\n\r\n");
            assertThat(connection.readHead()).contains("Content-Length: 10\r\n");
            assertThat(new String(connection.readExactly(4), ISO_8859_1)).isEqualTo("0123");

            connection.readTimeout(Duration.ofMillis(300));
            assertThatThrownBy(connection::read).isInstanceOf(SocketTimeoutException.class);
        }
    }

    @Test
    void rawFaultWritesExactlyTheGivenBytes() throws IOException {
        byte[] bytes = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nhi".getBytes(ISO_8859_1);
        origin.enqueue(MockResponse.builder().fault(new OriginFault.Raw(bytes, false)).build());
        try (RawConnection connection = RawConnection.to(origin)) {
            connection.send("GET / HTTP/1.1\r\nHost: origin\r\n\r\n");
            assertThat(connection.readExactly(bytes.length)).isEqualTo(bytes);

            connection.send("GET / HTTP/1.1\r\nHost: origin\r\n\r\n");
            assertThat(connection.readResponse().status()).isEqualTo(200);
        }
    }

    @Test
    void closeIdleConnectionsClosesOnlyConnectionsWaitingForARequest() throws IOException {
        origin.enqueue(MockResponse.ok("first"));
        origin.enqueue(MockResponse.builder().fault(new OriginFault.Stall()).build());
        try (RawConnection idle = RawConnection.to(origin); RawConnection busy = RawConnection.to(origin)) {
            idle.send("GET /idle HTTP/1.1\r\nHost: origin\r\n\r\n");
            assertThat(idle.readResponse().bodyUtf8()).isEqualTo("first");
            busy.send("GET /busy HTTP/1.1\r\nHost: origin\r\n\r\n");
            origin.takeRequest();
            origin.takeRequest();

            assertThat(origin.closeIdleConnections()).isEqualTo(1);

            assertThat(idle.read()).isEqualTo(-1);
            assertThat(origin.openConnections()).isEqualTo(1);
        }
        assertThat(origin.awaitNoOpenConnections(AWAIT)).isTrue();
    }

    @Test
    void openConnectionsReturnsToZeroAfterClientsClose() throws IOException {
        List<RawConnection> connections = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            RawConnection connection = RawConnection.to(origin);
            connection.send("GET / HTTP/1.1\r\nHost: origin\r\n\r\n");
            connection.readResponse();
            connections.add(connection);
        }
        assertThat(origin.openConnections()).isEqualTo(3);

        for (RawConnection connection : connections) {
            connection.close();
        }

        assertThat(origin.awaitNoOpenConnections(AWAIT)).isTrue();
        assertThat(origin.openConnections()).isZero();
        assertThat(origin.connectionCount()).isEqualTo(3);
    }

    @Test
    void readTimeoutClosesASilentConnection() throws IOException {
        try (MockOrigin impatient = MockOrigin.builder().readTimeout(Duration.ofMillis(200)).start();
                RawConnection connection = RawConnection.to(impatient)) {
            assertThat(connection.read()).isEqualTo(-1);
            assertThat(impatient.awaitNoOpenConnections(AWAIT)).isTrue();
        }
    }

    @Test
    void malformedRequestIsAnswered400AndClosed() throws IOException {
        try (RawConnection connection = RawConnection.to(origin)) {
            connection.send("GET / HTTP/1.1\r\nBad Header: x\r\n\r\n");
            Response response = connection.readResponse();

            assertThat(response.status()).isEqualTo(400);
            assertThat(response.header("Connection")).contains("close");
            assertThat(connection.read()).isEqualTo(-1);
        }
        assertThat(origin.requestCount()).isZero();
    }

    @Test
    void oversizedHeadIsAnswered431() throws IOException {
        try (RawConnection connection = RawConnection.to(origin)) {
            connection.send("GET / HTTP/1.1\r\nX-Big: " + "a".repeat(70 * 1024) + "\r\n\r\n");
            assertThat(connection.readResponse().status()).isEqualTo(431);
        }
    }

    @Test
    void takeRequestFailsWhenNoRequestArrives() {
        assertThatThrownBy(() -> origin.takeRequest(Duration.ofMillis(50))).isInstanceOf(AssertionError.class);
    }

    @Test
    void closeEndsStalledConnectionsAndRejectsNewOnes() throws IOException {
        origin.enqueue(MockResponse.builder().fault(new OriginFault.Stall()).build());
        try (RawConnection connection = RawConnection.to(origin)) {
            connection.send("GET / HTTP/1.1\r\nHost: origin\r\n\r\n");
            origin.takeRequest();

            origin.close();

            assertThat(connection.read()).isEqualTo(-1);
            assertThat(origin.openConnections()).isZero();
        }
        assertThatThrownBy(() -> RawConnection.to(origin)).isInstanceOf(IOException.class);
    }

    @Test
    void unixDomainSocketOriginServesRequests(@TempDir Path directory) throws IOException {
        Path socket = directory.resolve("origin.sock");
        try (MockOrigin unix = MockOrigin.startUnix(socket)) {
            try (RawConnection connection = RawConnection.toUnix(socket)) {
                connection.send("GET /over-unix HTTP/1.1\r\nHost: origin\r\n\r\n");
                assertThat(connection.readResponse().bodyUtf8()).isEqualTo("hello from mock origin\n");
                connection.send("GET /again HTTP/1.1\r\nHost: origin\r\nConnection: close\r\n\r\n");
                assertThat(connection.readResponse().status()).isEqualTo(200);
                assertThat(connection.read()).isEqualTo(-1);
            }
            assertThat(unix.takeRequest().target()).isEqualTo("/over-unix");
            assertThat(unix.takeRequest().indexOnConnection()).isEqualTo(2);
            assertThat(unix.awaitNoOpenConnections(AWAIT)).isTrue();
            assertThatThrownBy(unix::port).isInstanceOf(IllegalStateException.class);
        }
        assertThat(socket).doesNotExist();
    }

    @Test
    void unixDomainSocketOriginClosesASilentConnectionAfterTheReadTimeout(@TempDir Path directory)
            throws IOException {
        Path socket = directory.resolve("impatient.sock");
        try (MockOrigin unix = MockOrigin.builder().readTimeout(Duration.ofMillis(200)).startUnix(socket);
                RawConnection connection = RawConnection.toUnix(socket)) {
            assertThat(connection.read()).isEqualTo(-1);
            assertThat(unix.awaitNoOpenConnections(AWAIT)).isTrue();
        }
    }
}
