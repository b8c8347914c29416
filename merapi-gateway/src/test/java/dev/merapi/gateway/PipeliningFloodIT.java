package dev.merapi.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.testkit.MockOrigin;
import dev.merapi.testkit.MockResponse;
import dev.merapi.testkit.RawClient;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code merapi proxy --threads 2} as a real process under clients that send more than it can answer: 40 connections
 * flooding pipelined requests keep its memory within budget while other clients are served, and the connection caps of
 * its flags close connections over them at once. Everything on 127.0.0.1, bounded in count and time.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class PipeliningFloodIT {
    private static final byte[] GET = "GET /flood HTTP/1.1\r\nHost: flood\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    /**
     * How much more than under ordinary traffic from as many clients the proxy's RSS may grow during the flood: the
     * soak's allowance for noise. Before the unprocessed-bytes bound, the flood took the process from about 115 MiB
     * past 360 MiB and out of direct memory within seconds.
     */
    private static final long ALLOWANCE_KIB = 48 * 1024;
    /** And an absolute ceiling, for a process whose heap may take up to 256 MiB (see {@link GatewayProcess}). */
    private static final long CEILING_KIB = 256 * 1024;

    private MockOrigin origin;

    @BeforeEach
    void startOrigin() {
        origin = MockOrigin.start();
        origin.setDispatcher(r -> MockResponse.ok("ok\n"));
    }

    @AfterEach
    void stopOrigin() {
        origin.close();
    }

    @Test
    void fortyPipeliningClientsForTwentySecondsKeepTheProxyWithinItsMemoryBudget() throws Exception {
        int port = GatewayProcess.freePort();
        try (GatewayProcess proxy = GatewayProcess.start("proxy", "--listen", "127.0.0.1:" + port,
                "--upstream", "127.0.0.1:" + origin.port(), "--threads", "2")) {
            proxy.awaitLine("proxy:", Duration.ofSeconds(60));
            InetSocketAddress at = new InetSocketAddress("127.0.0.1", port);
            long idleRss = proxy.rssKib();
            long ordinaryRss = ordinaryTraffic(proxy, at, 40, Duration.ofSeconds(10));

            AtomicBoolean flooding = new AtomicBoolean(true);
            AtomicLong answered = new AtomicLong();
            List<Socket> sockets = new ArrayList<>();
            List<Thread> threads = new ArrayList<>();
            byte[] batch = new byte[GET.length * 256];
            for (int i = 0; i < 256; i++) {
                System.arraycopy(GET, 0, batch, i * GET.length, GET.length);
            }
            long maxRss = 0;
            int probes = 0;
            List<String> probeFailures = new ArrayList<>();
            try {
                for (int i = 0; i < 40; i++) {
                    Socket s = new Socket();
                    sockets.add(s);
                    s.connect(at, 5000);
                    threads.add(Thread.ofPlatform().name("flood-writer-" + i).start(() -> {
                        try {
                            OutputStream out = s.getOutputStream();
                            while (flooding.get()) {
                                out.write(batch);
                            }
                        } catch (IOException e) {
                            // closed at the end of the flood
                        }
                    }));
                    threads.add(Thread.ofPlatform().name("flood-reader-" + i).start(() -> {
                        byte[] buf = new byte[64 * 1024];
                        try {
                            InputStream in = s.getInputStream();
                            int n;
                            while ((n = in.read(buf)) >= 0) {
                                answered.addAndGet(n);
                            }
                        } catch (IOException e) {
                            // closed at the end of the flood
                        }
                    }));
                }
                // meanwhile: every half second one ordinary request on a new connection, and one RSS sample
                long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                while (System.nanoTime() - end < 0) {
                    probes++;
                    try (RawClient c = RawClient.connect(at, Duration.ofSeconds(15))) {
                        c.send("GET /probe HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n");
                        RawClient.Response r = c.readResponse();
                        if (r.status() != 200 || !r.bodyText().equals("ok\n")) {
                            probeFailures.add("probe " + probes + ": status " + r.status());
                        }
                    } catch (IOException e) {
                        probeFailures.add("probe " + probes + ": " + e);
                    }
                    maxRss = Math.max(maxRss, proxy.rssKib());
                    Thread.sleep(500);
                }
            } finally {
                flooding.set(false);
                for (Socket s : sockets) {
                    s.close();
                }
                for (Thread t : threads) {
                    t.join(Duration.ofSeconds(10));
                }
            }

            System.out.printf("pipelining flood: RSS idle %d KiB, largest under ordinary traffic %d KiB, largest in the flood %d KiB;"
                    + " %d probes; %d MiB of responses to the flood%n", idleRss, ordinaryRss, maxRss, probes, answered.get() >> 20);
            assertThat(answered.get()).as("bytes of responses the flooding clients got").isGreaterThan(0);
            assertThat(probeFailures).as("ordinary requests during the flood, of %d", probes).isEmpty();
            assertThat(probes).isGreaterThanOrEqualTo(5);
            assertThat(maxRss).as("largest RSS in KiB during the flood (ordinary traffic: %d KiB)", ordinaryRss)
                    .isLessThan(ordinaryRss + ALLOWANCE_KIB).isLessThan(CEILING_KIB);
            assertThat(proxy.output()).doesNotContain("OutOfMemoryError", "LEAK:", "unexpected error");
            // still serving once the flood is gone
            try (RawClient c = RawClient.connect(port)) {
                c.send("GET /after HTTP/1.1\r\nHost: after\r\n\r\n");
                assertThat(c.readResponse().status()).isEqualTo(200);
            }
            proxy.terminate();
            assertThat(proxy.awaitExit(Duration.ofSeconds(60))).isZero();
        }
    }

    @Test
    void connectionCapFlagsCloseConnectionsOverThemAtOnce() throws Exception {
        int port = GatewayProcess.freePort();
        // the test kit's logback-test.xml, on the child's class path too, keeps the security events quiet unless asked
        try (GatewayProcess proxy = GatewayProcess.startWith(List.of("-Dmerapi.test.security.log=WARN"), "proxy",
                "--listen", "127.0.0.1:" + port, "--upstream", "127.0.0.1:" + origin.port(), "--threads", "1", "--max-connections", "4",
                "--max-connections-per-ip", "2")) {
            proxy.awaitLine("proxy:", Duration.ofSeconds(60));
            InetSocketAddress at = new InetSocketAddress("127.0.0.1", port);
            List<Socket> held = new ArrayList<>();
            try {
                held.add(connect(at, "127.0.0.1"));
                held.add(connect(at, "127.0.0.1"));
                try (Socket third = connect(at, "127.0.0.1")) {
                    assertThat(closedAtOnce(third)).as("a third connection from one address").isTrue();
                }
                proxy.awaitLine("security-event rule=max-connections-per-ip", Duration.ofSeconds(10));
                held.add(connect(at, "127.0.0.2"));
                held.add(connect(at, "127.0.0.2"));
                try (Socket fifth = connect(at, "127.0.0.3")) {
                    assertThat(closedAtOnce(fifth)).as("a fifth connection on the listener").isTrue();
                }
                proxy.awaitLine("security-event rule=max-connections ", Duration.ofSeconds(10));
                // the held ones are served
                for (Socket s : held) {
                    s.setSoTimeout(10_000);
                    s.getOutputStream().write("GET /held HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
                            .getBytes(StandardCharsets.US_ASCII));
                    assertThat(new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1))
                            .startsWith("HTTP/1.1 200 ");
                }
            } finally {
                for (Socket s : held) {
                    s.close();
                }
            }
            proxy.terminate();
            assertThat(proxy.awaitExit(Duration.ofSeconds(60))).isZero();
        }
    }

    /**
     * {@code clients} keep-alive connections, each sending one request after the other, for {@code time}.
     *
     * @return the largest RSS of the proxy meanwhile, in KiB
     */
    private static long ordinaryTraffic(GatewayProcess proxy, InetSocketAddress at, int clients, Duration time) throws Exception {
        long end = System.nanoTime() + time.toNanos();
        List<Thread> threads = new ArrayList<>();
        AtomicLong failures = new AtomicLong();
        for (int i = 0; i < clients; i++) {
            threads.add(Thread.ofPlatform().name("ordinary-" + i).start(() -> {
                try (RawClient c = RawClient.connect(at, Duration.ofSeconds(15))) {
                    while (System.nanoTime() - end < 0) {
                        c.send("GET /ordinary HTTP/1.1\r\nHost: ordinary\r\n\r\n");
                        if (c.readResponse().status() != 200) {
                            failures.incrementAndGet();
                        }
                    }
                } catch (IOException e) {
                    failures.incrementAndGet();
                }
            }));
        }
        long max = 0;
        while (System.nanoTime() - end < 0) {
            max = Math.max(max, proxy.rssKib());
            Thread.sleep(250);
        }
        for (Thread t : threads) {
            t.join(Duration.ofSeconds(20));
        }
        assertThat(failures.get()).as("failed ordinary requests").isZero();
        return max;
    }

    private static Socket connect(InetSocketAddress to, String from) throws IOException {
        Socket s = new Socket();
        s.bind(new InetSocketAddress(from, 0));
        s.connect(to, 5000);
        return s;
    }

    /** Whether the proxy closes {@code s} within 5 seconds though it sent nothing (its first-byte timeout is 30 s). */
    private static boolean closedAtOnce(Socket s) throws IOException {
        s.setSoTimeout(5000);
        try {
            return s.getInputStream().read() < 0;
        } catch (java.net.SocketTimeoutException stillOpen) {
            return false;
        } catch (IOException reset) {
            return true;
        }
    }
}
