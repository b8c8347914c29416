package dev.merapi.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.core.protocols.http1.Http1Options;
import dev.merapi.testkit.MockResponse;
import dev.merapi.testkit.RawClient;
import io.netty.buffer.PooledByteBufAllocator;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Clients that send more than they let the proxy answer: a flood of pipelined requests, and pipelined requests from a
 * client that reads no response. Whatever a client sends, the proxy holds a bounded number of its bytes (the
 * unprocessed-bytes bound on the way in, the channel's writability on the way out) and still answers every request it
 * read, in order. Over real sockets against a running proxy in front of a {@link dev.merapi.testkit.MockOrigin}.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ClientFloodIT {
    private static final byte[] GET = "GET /p HTTP/1.1\r\nHost: a\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] STATUS_LINE = "HTTP/1.1 200 OK\r\n".getBytes(StandardCharsets.US_ASCII);

    @Test
    void aPipeliningFloodIsReadOnlyAsFastAsItIsAnsweredWithBoundedMemory() throws Exception {
        // no request cap, so that the connection lasts the whole flood
        try (Http1StrictIT.Fixture f = new Http1StrictIT.Fixture(Http1Options.builder().maxRequestsPerConnection(Integer.MAX_VALUE).build())) {
            f.origin.setDispatcher(r -> MockResponse.ok("ok"));
            long baseline = usedDirectMemory();
            long maxUsed = baseline;
            long answered;
            AtomicLong written = new AtomicLong();
            Thread writer;
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", f.proxy.port()), 5000);
                s.setSoTimeout(30_000);
                byte[] batch = repeat(GET, 256);
                // the flood: pipelined GETs as fast as the socket takes them, while the answers are read, for 3 seconds
                writer = Thread.ofPlatform().name("flood-writer").start(() -> {
                    try {
                        OutputStream out = s.getOutputStream();
                        while (true) {
                            out.write(batch);
                            written.addAndGet(256);
                        }
                    } catch (IOException e) {
                        // the socket is closed below
                    }
                });
                ResponseCounter responses = new ResponseCounter(s.getInputStream());
                long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
                while (System.nanoTime() - end < 0) {
                    responses.readSome();
                    maxUsed = Math.max(maxUsed, usedDirectMemory());
                }
                answered = responses.count;
            } // closed with requests still unanswered (and the writer blocked): the proxy drops them
            writer.join(Duration.ofSeconds(10));
            assertThat(answered).as("requests answered during the flood").isGreaterThan(100);
            assertThat(written.get()).as("requests written").isGreaterThan(answered);
            // the bound is 64 KiB of unprocessed bytes plus one read; the pooled allocator grows in 4 MiB chunks per arena
            assertThat(maxUsed - baseline).as("direct memory taken during the flood").isLessThan(32L << 20);
            try (RawClient c = RawClient.connect(f.proxy.port())) {
                c.send("GET /after HTTP/1.1\r\nHost: a\r\n\r\n");
                assertThat(c.readResponse().status()).as("served after the flood").isEqualTo(200);
            }
            assertThat(f.proxy.awaitNoOpenConnections(Duration.ofSeconds(10))).isTrue();
        }
    }

    @Test
    void aClientThatReadsNoResponseIsNoLongerServedOnceTheyBackUpAndIsServedInOrderWhenItReads() throws Exception {
        int total = 4000;
        try (Http1StrictIT.Fixture f = new Http1StrictIT.Fixture(Http1Options.DEFAULT);
                Socket s = new Socket()) {
            byte[] body = new byte[8192];
            f.origin.setDispatcher(r -> MockResponse.builder().body(body).build());
            s.setReceiveBufferSize(16 * 1024); // before connecting: no window scaling up to megabytes
            s.connect(new InetSocketAddress("127.0.0.1", f.proxy.port()), 5000);
            s.setSoTimeout(30_000);
            // 4000 pipelined requests whose 8 KiB answers (32 MiB) are more than the socket buffers on both sides hold
            Thread writer = Thread.ofPlatform().name("pipelining-writer").start(() -> {
                try {
                    s.getOutputStream().write(repeat(GET, total));
                } catch (IOException e) {
                    // the assertions below fail if the proxy cut the connection
                }
            });
            // the client reads nothing: the origin's count climbs while the socket buffers fill, then stops
            int served = f.origin.requestCount();
            long stableSince = System.nanoTime();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (System.nanoTime() - stableSince < TimeUnit.SECONDS.toNanos(2) && System.nanoTime() - deadline < 0) {
                Thread.sleep(100);
                int now = f.origin.requestCount();
                if (now != served) {
                    served = now;
                    stableSince = System.nanoTime();
                }
            }
            // each answer is one write: without the bound the proxy answers all 4000 into memory
            assertThat(served).as("requests served to a client that reads nothing").isLessThan(total / 2);

            ResponseCounter responses = new ResponseCounter(s.getInputStream());
            long readDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (responses.count < total && System.nanoTime() - readDeadline < 0) {
                responses.readSome();
            }
            writer.join(Duration.ofSeconds(10));
            assertThat(responses.count).as("every response once the client reads").isEqualTo(total);
            assertThat(f.origin.requestCount()).isEqualTo(total);
        }
    }

    private static long usedDirectMemory() {
        return PooledByteBufAllocator.DEFAULT.metric().usedDirectMemory();
    }

    private static byte[] repeat(byte[] one, int times) {
        byte[] all = new byte[one.length * times];
        for (int i = 0; i < times; i++) {
            System.arraycopy(one, 0, all, i * one.length, one.length);
        }
        return all;
    }

    /** Counts status lines in what it reads; the bodies never contain one. */
    private static final class ResponseCounter {
        private final InputStream in;
        private final byte[] buf = new byte[64 * 1024];
        private int matched;
        long count;

        ResponseCounter(InputStream in) {
            this.in = in;
        }

        void readSome() throws IOException {
            int n = in.read(buf);
            if (n < 0) {
                throw new IOException("the proxy closed the connection after " + count + " responses");
            }
            for (int i = 0; i < n; i++) {
                if (buf[i] == STATUS_LINE[matched]) {
                    if (++matched == STATUS_LINE.length) {
                        count++;
                        matched = 0;
                    }
                } else {
                    matched = buf[i] == STATUS_LINE[0] ? 1 : 0;
                }
            }
        }
    }
}
