package dev.merapi.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.testkit.MockOrigin;
import dev.merapi.testkit.MockResponse;
import dev.merapi.testkit.RawClient;
import dev.merapi.testkit.RecordedRequest;
import dev.merapi.testkit.TestServer;
import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.CRC32;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.Test;

/**
 * A body sent as a million one-byte chunks (6 MB on the wire for 1 MB of data), from a client or from an origin:
 * it arrives byte for byte, and the proxy forwards what each read brought as one chunk, so the chunks counted on
 * the far side's wire are a small fraction of those sent. Without that, each tiny chunk costs a delivery, a chunk
 * header, a write and a flush: seconds of CPU for one body.
 */
class ChunkStormIT {
    @RegisterExtension
    final ProxyFixture fixture = new ProxyFixture();

    private static final int CHUNKS = 1_000_000;
    /** The most chunks the far side may see: one per read of at least 600 wire bytes (100 one-byte chunks). */
    private static final int FEW = CHUNKS / 100;

    private static HttpPeer peer(MockOrigin origin) {
        return HttpPeer.of("127.0.0.1:" + origin.port());
    }

    /** {@code size} bytes of data, each sent as its own one-byte chunk. */
    private static byte[] oneByteChunks(byte[] data) {
        ByteArrayOutputStream wire = new ByteArrayOutputStream(data.length * 6 + 5);
        for (byte b : data) {
            wire.write('1');
            wire.write('\r');
            wire.write('\n');
            wire.write(b);
            wire.write('\r');
            wire.write('\n');
        }
        wire.writeBytes("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        return wire.toByteArray();
    }

    private static long crc(byte[] b) {
        CRC32 c = new CRC32();
        c.update(b);
        return c.getValue();
    }

    @Test
    void aMillionOneByteChunksUploadedReachTheOriginWholeAsFewChunks() throws Exception {
        byte[] data = MockResponse.patternBytes(7, CHUNKS);
        byte[] head = "POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
        MockOrigin origin = fixture.origin();
        origin.setDispatcher(req -> MockResponse.ok(req.bodySize() + " " + req.bodyCrc32()));
        RecordingProxy proxy = new RecordingProxy(peer(origin));
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy, ProxyOptions.DEFAULT);
        TestServer server = fixture.serve(engine);
        try (RawClient client = RawClient.connect(new InetSocketAddress("127.0.0.1", server.port()), Duration.ofSeconds(60))) {
            client.send(head).send(oneByteChunks(data));
            RawClient.Response r = client.readResponse();
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.bodyText()).isEqualTo(data.length + " " + crc(data));
            proxy.awaitLogged(1);
        }
        RecordedRequest up = origin.takeRequest();
        assertThat(up.chunked()).isTrue();
        assertThat(up.bodySize()).isEqualTo(CHUNKS);
        assertThat(up.chunks()).as("chunks the origin received for %d sent", CHUNKS).isBetween(1L, (long) FEW);
        assertThat(proxy.loggedErrors()).allMatch(Optional::isEmpty);
    }

    @Test
    void aMillionOneByteChunksFromTheOriginReachTheClientWholeAsFewChunks() throws Exception {
        byte[] data = MockResponse.patternBytes(11, CHUNKS);
        MockOrigin origin = fixture.origin();
        byte[] small = MockResponse.patternBytes(5, 1000);
        origin.setDispatcher(req -> MockResponse.builder().chunkedBody(req.target().equals("/small") ? small : data, 1)
                .trailer("X-End", "1").build());
        RecordingProxy proxy = new RecordingProxy(peer(origin));
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy, ProxyOptions.DEFAULT);
        TestServer server = fixture.serve(engine);
        try (RawClient client = RawClient.connect(new InetSocketAddress("127.0.0.1", server.port()), Duration.ofSeconds(60))) {
            RawClient.Response r = client.send("GET /down HTTP/1.1\r\nHost: t\r\n\r\n").readResponse();
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.header("Transfer-Encoding")).contains("chunked");
            assertThat(r.body()).hasSize(CHUNKS);
            assertThat(crc(r.body())).isEqualTo(crc(data));
            assertThat(r.chunks()).as("chunks the client received for %d sent", CHUNKS).isBetween(1, FEW);
            // and both connections are still in step
            assertThat(client.send("GET /small HTTP/1.1\r\nHost: t\r\n\r\n").readResponse().body()).isEqualTo(small);
            proxy.awaitLogged(2);
        }
        assertThat(origin.connectionCount()).as("the upstream connection was reused").isEqualTo(1);
        assertThat(proxy.loggedErrors()).allMatch(Optional::isEmpty);
    }

    @Test
    void aBodyFilterSeesWhatOneReadBroughtNotEachTinyChunk() throws Exception {
        byte[] data = MockResponse.patternBytes(3, CHUNKS / 10);
        AtomicInteger calls = new AtomicInteger();
        MockOrigin origin = fixture.origin();
        origin.setDispatcher(req -> MockResponse.builder().chunkedBody(data, 1).build());
        RecordingProxy proxy = new RecordingProxy(peer(origin)) {
            @Override
            public Duration responseBodyFilter(Session session, BodyChunk body, boolean endOfStream, Ctx ctx) {
                calls.incrementAndGet();
                return Duration.ZERO;
            }
        };
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy, ProxyOptions.DEFAULT);
        TestServer server = fixture.serve(engine);
        try (RawClient client = RawClient.connect(new InetSocketAddress("127.0.0.1", server.port()), Duration.ofSeconds(60))) {
            RawClient.Response r = client.send("GET /down HTTP/1.1\r\nHost: t\r\n\r\n").readResponse();
            assertThat(r.body()).isEqualTo(data);
            proxy.awaitLogged(1);
        }
        assertThat(calls.get()).as("filter calls for %d one-byte chunks", data.length).isBetween(1, data.length / 100);
    }
}
