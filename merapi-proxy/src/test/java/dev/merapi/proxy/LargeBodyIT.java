package dev.merapi.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.testkit.MockOrigin;
import dev.merapi.testkit.MockResponse;
import dev.merapi.testkit.TestServer;
import io.netty.buffer.PooledByteBufAllocator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Optional;
import java.util.zip.CRC32;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.Test;

/**
 * A gigabyte each way through the proxy with flat memory: backpressure, not buffering (DESIGN.md §3). This checks
 * how much memory stays in use, never how fast the bytes move.
 *
 * <p>The size is {@code -Dmerapi.largeBody.bytes} (default 1 GiB). Memory is measured after a full collection,
 * before the transfer, half-way through it (while the proxy is streaming) and after it: the Java heap in use, and
 * the direct and heap memory Netty's pooled allocator has handed out.
 */
class LargeBodyIT {
    @RegisterExtension
    final ProxyFixture fixture = new ProxyFixture();

    private static final long SIZE = Long.getLong("merapi.largeBody.bytes", 1L << 30);
    private static final long MAX_GROWTH = 64L << 20;
    private static final int BLOCK = 64 * 1024;

    /** Memory in use after a full collection: Java heap, and what Netty's pooled allocator holds. */
    record Memory(long heap, long nettyPooled) {
        static Memory now() {
            for (int i = 0; i < 2; i++) {
                System.gc();
            }
            Runtime rt = Runtime.getRuntime();
            var metric = PooledByteBufAllocator.DEFAULT.metric();
            return new Memory(rt.totalMemory() - rt.freeMemory(), metric.usedDirectMemory() + metric.usedHeapMemory());
        }

        Memory minus(Memory base) {
            return new Memory(heap - base.heap, nettyPooled - base.nettyPooled);
        }

        @Override
        public String toString() {
            return "heap " + (heap >> 10) + " KiB, netty pooled " + (nettyPooled >> 10) + " KiB";
        }
    }

    private static void assertFlat(String what, Memory growth) {
        System.out.println("LargeBodyIT " + what + " growth: " + growth);
        assertThat(growth.heap()).as("%s heap growth", what).isLessThan(MAX_GROWTH);
        assertThat(growth.nettyPooled()).as("%s pooled buffer growth", what).isLessThan(MAX_GROWTH);
    }

    private static HttpPeer peer(MockOrigin origin) {
        return HttpPeer.of("127.0.0.1:" + origin.port());
    }

    @Test
    void aGigabyteUploadStreamsWithFlatMemory() throws Exception {
        byte[] block = MockResponse.patternBytes(0, BLOCK);
        MockOrigin origin = fixture.closeAfter(MockOrigin.builder().maxRetainedBodySize(0).start());
        origin.setDispatcher(req -> MockResponse.ok(req.bodySize() + " " + req.bodyCrc32()));
        RecordingProxy proxy = new RecordingProxy(peer(origin));
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy, ProxyOptions.DEFAULT);
        TestServer server = fixture.serve(engine);
        try (Socket s = new Socket()) {
            s.connect(server.address(), 5000);
            s.setSoTimeout(60_000);
            Memory before = Memory.now();
            Memory during = null;
            long start = System.nanoTime();
            OutputStream out = s.getOutputStream();
            out.write(("PUT /upload HTTP/1.1\r\nHost: t\r\nContent-Length: " + SIZE + "\r\n\r\n")
                    .getBytes(StandardCharsets.ISO_8859_1));
            CRC32 crc = new CRC32();
            for (long sent = 0; sent < SIZE; ) {
                int n = (int) Math.min(BLOCK, SIZE - sent);
                out.write(block, 0, n);
                crc.update(block, 0, n);
                sent += n;
                if (during == null && sent >= SIZE / 2) {
                    during = Memory.now().minus(before);
                }
            }
            out.flush();
            String response = readSmallResponse(s.getInputStream());
            long millis = (System.nanoTime() - start) / 1_000_000;
            assertThat(response).startsWith("HTTP/1.1 200").endsWith("\r\n\r\n" + SIZE + " " + crc.getValue());
            proxy.awaitLogged(1);
            Memory after = Memory.now().minus(before);
            System.out.println("LargeBodyIT upload of " + (SIZE >> 20) + " MiB took " + millis + " ms");
            assertFlat("upload, half-way", during);
            assertFlat("upload, after", after);
        }
        assertThat(proxy.loggedErrors().getFirst()).isEmpty();
        assertThat(origin.takeRequest().bodySize()).isEqualTo(SIZE);
    }

    @Test
    void aGigabyteDownloadStreamsWithFlatMemory() throws Exception {
        long expectedCrc = MockResponse.patternCrc(SIZE);
        MockOrigin origin = fixture.origin();
        origin.enqueue(MockResponse.builder().streamedBody(SIZE).build());
        RecordingProxy proxy = new RecordingProxy(peer(origin));
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy, ProxyOptions.DEFAULT);
        TestServer server = fixture.serve(engine);
        try (Socket s = new Socket()) {
            s.connect(server.address(), 5000);
            s.setSoTimeout(60_000);
            Memory before = Memory.now();
            Memory during = null;
            long start = System.nanoTime();
            s.getOutputStream().write("GET /download HTTP/1.1\r\nHost: t\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
            InputStream in = s.getInputStream();
            String head = readHead(in);
            assertThat(head).startsWith("HTTP/1.1 200").contains("Content-Length: " + SIZE);
            CRC32 crc = new CRC32();
            byte[] buf = new byte[BLOCK];
            long received = 0;
            while (received < SIZE) {
                int n = in.read(buf, 0, (int) Math.min(buf.length, SIZE - received));
                assertThat(n).as("bytes after %d of %d", received, SIZE).isPositive();
                crc.update(buf, 0, n);
                received += n;
                if (during == null && received >= SIZE / 2) {
                    // stop reading for a while: the origin keeps sending, so a proxy that buffered instead of
                    // pushing back would fill up now
                    Thread.sleep(500);
                    during = Memory.now().minus(before);
                }
            }
            long millis = (System.nanoTime() - start) / 1_000_000;
            assertThat(received).isEqualTo(SIZE);
            assertThat(crc.getValue()).isEqualTo(expectedCrc);
            proxy.awaitLogged(1);
            Memory after = Memory.now().minus(before);
            System.out.println("LargeBodyIT download of " + (SIZE >> 20) + " MiB took " + millis + " ms");
            assertFlat("download, half-way", during);
            assertFlat("download, after", after);
        }
        assertThat(proxy.loggedErrors()).hasSize(1).allMatch(Optional::isEmpty);
    }

    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int state = 0;
        while (state < 4) {
            int b = in.read();
            assertThat(b).as("a complete head").isNotNegative();
            head.write(b);
            state = (b == '\r' && (state == 0 || state == 2)) ? state + 1 : (b == '\n' && (state == 1 || state == 3)) ? state + 1 : 0;
        }
        return head.toString(StandardCharsets.ISO_8859_1);
    }

    /** Reads one response with a Content-Length body and returns it as text. */
    private static String readSmallResponse(InputStream in) throws IOException {
        String head = readHead(in);
        int at = head.toLowerCase(Locale.ROOT).indexOf("content-length:");
        assertThat(at).as("Content-Length in %s", head).isNotNegative();
        int len = Integer.parseInt(head.substring(at + 15, head.indexOf("\r\n", at)).trim());
        byte[] body = in.readNBytes(len);
        return head + new String(body, StandardCharsets.ISO_8859_1);
    }
}
