package dev.merapi.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.merapi.core.listeners.ListenerConfig;
import dev.merapi.core.security.SecurityEvents;
import dev.merapi.core.services.BackgroundService;
import dev.merapi.core.services.ListeningService;
import dev.merapi.core.tls.CertificateStore;
import dev.merapi.core.tls.ServerTls;
import dev.merapi.core.tls.TlsConfigException;
import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.testkit.MockOrigin;
import dev.merapi.testkit.MockResponse;
import dev.merapi.testkit.TestPki;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.OpenSslContextOption;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.util.ReferenceCountUtil;
import dev.merapi.testkit.TestServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyStore;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A TLS listener in front of real clients (curl, openssl s_client, the JDK's TLS, raw sockets): certificate choice by
 * SNI, ALPN, the protocol and suite defaults, mTLS, the handshake timeout and broken handshakes, and certificate
 * reload. The proxy answers in {@code requestFilter} with what {@link Session#tls()} says, so each request shows the
 * TLS facts a phase sees.
 */
class TlsListenerIT {
    private static final Duration PROCESS_LIMIT = Duration.ofSeconds(30);

    @TempDir
    Path dir;
    private TestPki pki;
    private TestPki.Issued localhost;
    private final List<AutoCloseable> opened = new ArrayList<>();

    @BeforeEach
    void issue() {
        pki = TestPki.create(dir, "Merapi Test CA");
        localhost = pki.certificate("localhost").dns("localhost").ip("127.0.0.1").issue();
    }

    @AfterEach
    void closeAll() throws Exception {
        for (int i = opened.size() - 1; i >= 0; i--) {
            opened.get(i).close();
        }
    }

    /** Answers every request with the TLS facts of its session: {@code tls=<summary> client=<subject> sans=<names>}. */
    static final class TlsEcho implements ProxyHttp<Void> {
        @Override
        public Void newCtx() {
            return null;
        }

        @Override
        public CompletionStage<HttpPeer> upstreamPeer(Session session, Void ctx) {
            return CompletableFuture.failedStage(new IllegalStateException("answered in requestFilter"));
        }

        @Override
        public CompletionStage<FilterResult> requestFilter(Session session, Void ctx) {
            String body = session.tls().map(t -> "tls=" + t.summary()
                    + " client=" + t.clientIdentity().map(c -> c.subject() + " sans=" + c.subjectAltNames()
                            + " sha256=" + c.sha256()).orElse("none")).orElse("plain") + "\n";
            session.respond(200, "text/plain", body);
            return FilterResult.RESPONDED_STAGE;
        }
    }

    private TestServer serve(ServerTls tls) {
        return serve(tls, List.of());
    }

    private TestServer serve(ServerTls tls, List<BackgroundService> alongside) {
        ListeningService service = ListeningService.http("tls", HttpProxy.of(new TlsEcho()))
                .addListener(ListenerConfig.tcp("127.0.0.1:0").toBuilder().tls(tls).build());
        TestServer server = TestServer.start(service, alongside);
        opened.add(server);
        return server;
    }

    private TestServer serveDefault() {
        return serve(ServerTls.of(CertificateStore.of(localhost.chainPem(), localhost.keyPem())));
    }

    // ---- clients -------------------------------------------------------------------------------------------------

    /** What a process printed (stdout and stderr together) and how it exited. */
    record Run(int exit, String output) {
    }

    static Run run(List<String> command, String stdin) throws IOException, InterruptedException {
        return run(command, stdin, PROCESS_LIMIT);
    }

    /** Runs {@code command} with {@code stdin}, waiting at most {@code limit}; its stdout and stderr together. */
    static Run run(List<String> command, String stdin, Duration limit) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        try (OutputStream in = p.getOutputStream()) {
            in.write(stdin.getBytes(StandardCharsets.UTF_8));
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Thread reader = Thread.ofVirtual().start(() -> {
            try (InputStream s = p.getInputStream()) {
                s.transferTo(out);
            } catch (IOException e) {
                // the process ended
            }
        });
        if (!p.waitFor(limit.toSeconds(), TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(command + " did not finish in " + limit);
        }
        reader.join(5000);
        return new Run(p.exitValue(), out.toString(StandardCharsets.UTF_8));
    }

    private Run curl(TestServer server, String host, String... extra) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "--max-time", "20", "--cacert", pki.caPem().toString(),
                "--resolve", host + ":" + server.port() + ":127.0.0.1"));
        cmd.addAll(List.of(extra));
        cmd.add("https://" + host + ":" + server.port() + "/");
        return run(cmd, "");
    }

    private Run sClient(TestServer server, String... extra) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + server.port(),
                "-CAfile", pki.caPem().toString()));
        cmd.addAll(List.of(extra));
        return run(cmd, "Q\n");
    }

    /** The common name of the certificate the server presented, as s_client prints it ({@code 0 s:CN = name}). */
    private static String servedCn(Run r) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile(" 0 s:CN ?= ?([^,\\s]+)").matcher(r.output());
        assertThat(m.find()).as(r.output()).isTrue();
        return m.group(1);
    }

    /** Whether s_client finished a handshake: it names a cipher rather than {@code (NONE)}. */
    private static boolean handshakeDone(Run r) {
        return r.output().contains(", Cipher is ") && !r.output().contains("Cipher is (NONE)");
    }

    private static long events(String rule) {
        return SecurityEvents.count(rule);
    }

    // ---- the tests -------------------------------------------------------------------------------------------------

    @Test
    void curlGetsAnAnswerOverTls13WithTheTlsFactsOnTheSession() throws Exception {
        TestServer server = serveDefault();
        Run r = curl(server, "localhost");
        assertThat(r.exit()).as(r.output()).isZero();
        assertThat(r.output()).startsWith("tls=TLSv1.3 TLS_").contains("sni=localhost").contains("alpn=h2")
                .contains("client=none");
    }

    @Test
    void tls12WithAnEcdheAeadSuiteIsAccepted() throws Exception {
        TestServer server = serveDefault();
        Run r = curl(server, "localhost", "--tls-max", "1.2");
        assertThat(r.exit()).as(r.output()).isZero();
        assertThat(r.output()).startsWith("tls=TLSv1.2 TLS_ECDHE_ECDSA_WITH_").contains("_GCM_");
    }

    @Test
    void sniPicksTheExactTheWildcardAndTheDefaultCertificate() throws Exception {
        TestPki.Issued api = pki.certificate("api.example.com").dns("api.example.com").issue();
        TestPki.Issued wild = pki.certificate("wildcard").dns("*.example.net").rsa().issue();
        CertificateStore store = CertificateStore.builder().add(localhost.chainPem(), localhost.keyPem())
                .add(api.chainPem(), api.keyPem()).add(wild.chainPem(), wild.keyPem()).build();
        TestServer server = serve(ServerTls.of(store));

        assertThat(servedCn(sClient(server, "-servername", "api.example.com"))).isEqualTo("api.example.com");
        assertThat(servedCn(sClient(server, "-servername", "www.example.net"))).isEqualTo("wildcard");
        assertThat(servedCn(sClient(server, "-servername", "a.b.example.net"))).isEqualTo("localhost");
        assertThat(servedCn(sClient(server, "-servername", "unknown.test"))).isEqualTo("localhost");
        assertThat(servedCn(sClient(server, "-noservername"))).isEqualTo("localhost");
        Run viaCurl = curl(server, "www.example.net");
        assertThat(viaCurl.exit()).as(viaCurl.output()).isZero();
        assertThat(viaCurl.output()).contains("sni=www.example.net");
    }

    @Test
    void http1AlpnNegotiatesHttp11EvenWhenTheClientPrefersH2() throws Exception {
        TestServer server = serve(ServerTls.builder(CertificateStore.of(localhost.chainPem(), localhost.keyPem()))
                .alpn(ServerTls.Alpn.HTTP1).build());
        Run curlH2 = curl(server, "localhost", "-w", " %{http_version}");
        assertThat(curlH2.output()).contains("alpn=http/1.1").endsWith(" 1.1");
        assertThat(sClient(server, "-alpn", "h2,http/1.1").output()).contains("ALPN protocol: http/1.1");
        assertThat(sClient(server, "-alpn", "h2").output()).contains("No ALPN negotiated");
    }

    @Test
    void h2IsServedByDefaultWhenAlpnNegotiatesItAndHttp11OtherwiseOnTheSamePort() throws Exception {
        TestServer server = serveDefault();
        Run h2 = curl(server, "localhost", "--http2", "-w", " %{http_version}");
        assertThat(h2.exit()).as(h2.output()).isZero();
        assertThat(h2.output()).contains("alpn=h2").endsWith(" 2");
        Run h1 = curl(server, "localhost", "--http1.1", "-w", " %{http_version}");
        assertThat(h1.output()).contains("alpn=http/1.1").endsWith(" 1.1");
        assertThat(sClient(server, "-alpn", "h2,http/1.1").output()).contains("ALPN protocol: h2");
    }

    @Test
    void tls11IsRefusedByDefault() throws Exception {
        TestServer server = serveDefault();
        long before = events("tls-protocol-version") + events("tls-handshake-failed");
        Run r = sClient(server, "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0");
        assertThat(handshakeDone(r)).as(r.output()).isFalse();
        assertThat(r.output()).contains("alert protocol version");
        assertThat(events("tls-protocol-version") + events("tls-handshake-failed")).isGreaterThan(before);
    }

    @Test
    void aCbcSuiteIsRefusedByDefault() throws Exception {
        TestServer server = serveDefault();
        Run r = sClient(server, "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384:@SECLEVEL=0");
        assertThat(handshakeDone(r)).as(r.output()).isFalse();
        assertThat(r.output()).contains("alert handshake failure");
    }

    @Test
    void mtlsRequiredRefusesAClientWithoutCertificateAndLetsOneWithItReachThePhases() throws Exception {
        TestPki.Issued alice = pki.certificate("alice").clientAuth().dns("alice.clients.test").issue();
        TestServer server = serve(ServerTls.builder(CertificateStore.of(localhost.chainPem(), localhost.keyPem()))
                .clientAuth(ServerTls.ClientAuth.REQUIRED, pki.caPem()).build());

        long before = events("tls-client-certificate");
        Run without = curl(server, "localhost");
        assertThat(without.exit()).as(without.output()).isNotZero();
        assertThat(events("tls-client-certificate")).isGreaterThan(before);

        Run with = curl(server, "localhost", "--cert", alice.chainPem().toString(), "--key", alice.keyPem().toString());
        assertThat(with.exit()).as(with.output()).isZero();
        assertThat(with.output()).contains("client=CN=alice").contains("alice.clients.test").contains("sha256=" + alice.sha256());
    }

    @Test
    void mtlsOptionalLetsClientsInWithAndWithoutCertificate() throws Exception {
        TestPki.Issued bob = pki.certificate("bob").clientAuth().issue();
        TestServer server = serve(ServerTls.builder(CertificateStore.of(localhost.chainPem(), localhost.keyPem()))
                .clientAuth(ServerTls.ClientAuth.OPTIONAL, pki.caPem()).build());

        Run without = curl(server, "localhost");
        assertThat(without.exit()).as(without.output()).isZero();
        assertThat(without.output()).contains("client=none");
        Run with = curl(server, "localhost", "--cert", bob.chainPem().toString(), "--key", bob.keyPem().toString());
        assertThat(with.exit()).as(with.output()).isZero();
        assertThat(with.output()).contains("client=CN=bob");
    }

    @Test
    void mtlsRefusesAClientCertificateFromAnotherCa() throws Exception {
        TestPki other = TestPki.create(dir.resolve("other"), "Other CA");
        TestPki.Issued mallory = other.certificate("mallory").clientAuth().issue();
        TestServer server = serve(ServerTls.builder(CertificateStore.of(localhost.chainPem(), localhost.keyPem()))
                .clientAuth(ServerTls.ClientAuth.OPTIONAL, pki.caPem()).build());
        Run r = curl(server, "localhost", "--cert", mallory.chainPem().toString(), "--key", mallory.keyPem().toString());
        assertThat(r.exit()).as(r.output()).isNotZero();
    }

    @Test
    void aClientThatSendsNothingIsDroppedAtTheHandshakeTimeout() throws Exception {
        TestServer server = serve(ServerTls.builder(CertificateStore.of(localhost.chainPem(), localhost.keyPem()))
                .handshakeTimeout(Duration.ofMillis(300)).build());
        long before = events("tls-handshake-timeout");
        assertThat(sendAndAwaitClose(server, new byte[0])).isEmpty(); // closed by the server, well before the 20 s limit
        assertThat(events("tls-handshake-timeout")).isEqualTo(before + 1);
    }

    @Test
    void aClientThatStopsHalfWayThroughTheClientHelloIsDroppedAtTheTimeout() throws Exception {
        TestServer server = serve(ServerTls.builder(CertificateStore.of(localhost.chainPem(), localhost.keyPem()))
                .handshakeTimeout(Duration.ofMillis(300)).build());
        long before = events("tls-handshake-timeout");
        // a handshake record announcing 512 bytes, of which only the first few are sent
        assertThat(sendAndAwaitClose(server, new byte[] {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, (byte) 0xfc, 0x03, 0x03}))
                .isEmpty();
        assertThat(events("tls-handshake-timeout")).isEqualTo(before + 1);
    }

    @Test
    void plainHttpInsteadOfAClientHelloIsClosedAndCounted() throws Exception {
        TestServer server = serveDefault();
        long before = events("tls-not-tls");
        byte[] got = sendAndAwaitClose(server, "GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        assertThat(new String(got, StandardCharsets.ISO_8859_1)).doesNotContain("HTTP/1.1 200");
        assertThat(events("tls-not-tls")).isEqualTo(before + 1);
    }

    @Test
    void aClientThatClosesHalfWayIsCountedAsAnIncompleteHandshake() throws Exception {
        TestServer server = serveDefault();
        long before = events("tls-handshake-incomplete");
        try (Socket s = connect(server)) {
            s.getOutputStream().write(new byte[] {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00});
            s.getOutputStream().flush();
        }
        assertThat(server.awaitNoOpenConnections(Duration.ofSeconds(20))).isTrue();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (events("tls-handshake-incomplete") == before && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(events("tls-handshake-incomplete")).isEqualTo(before + 1);
    }

    @Test
    void reloadServesTheNewCertificateWhileAnOpenConnectionCarriesOn() throws Exception {
        Live live = live("live");
        Path cert = live.cert();
        Path key = live.key();
        CertificateStore store = live.store();
        TestServer server = serve(ServerTls.of(store));

        try (SSLSocket held = jdkClient(server)) {
            assertThat(request(held)).contains("HTTP/1.1 200").contains("tls=TLSv1.3");
            TestPki.Issued next = pki.certificate("localhost-next").dns("localhost").ip("127.0.0.1").issue();
            Files.copy(next.chainPem(), cert, StandardCopyOption.REPLACE_EXISTING);
            Files.copy(next.keyPem(), key, StandardCopyOption.REPLACE_EXISTING);
            store.reload();

            assertThat(servedCn(sClient(server, "-servername", "localhost"))).isEqualTo("localhost-next");
            assertThat(request(held)).as("the connection opened before the reload").contains("HTTP/1.1 200");
        }
    }

    @Test
    void aBrokenCertificateIsRefusedOnReloadAndTheOldOneStaysServed() throws Exception {
        Live live = live("live");
        Path cert = live.cert();
        Path key = live.key();
        CertificateStore store = live.store();
        TestServer server = serve(ServerTls.of(store));

        TestPki.Issued other = pki.certificate("mismatch").dns("localhost").issue();
        Files.copy(other.chainPem(), cert, StandardCopyOption.REPLACE_EXISTING); // its key is not in key
        assertThatThrownBy(store::reload).isInstanceOf(TlsConfigException.class).hasMessageContaining("does not match");

        TestPki.Issued expired = pki.certificate("expired").dns("localhost")
                .validFor(Instant.now().minus(Duration.ofDays(10)), Duration.ofDays(1)).issue();
        Files.copy(expired.chainPem(), cert, StandardCopyOption.REPLACE_EXISTING);
        Files.copy(expired.keyPem(), key, StandardCopyOption.REPLACE_EXISTING);
        assertThatThrownBy(store::reload).isInstanceOf(TlsConfigException.class).hasMessageContaining("expired");

        Files.writeString(cert, "not a certificate");
        assertThatThrownBy(store::reload).isInstanceOf(TlsConfigException.class).hasMessageContaining("no certificate");

        assertThat(servedCn(sClient(server, "-servername", "localhost"))).isEqualTo("localhost");
    }

    @Test
    void aChangedFileIsPickedUpByTheFileWatch() throws Exception {
        Live live = live("watched");
        Path cert = live.cert();
        Path key = live.key();
        CertificateStore store = live.store();
        TestServer server = serve(ServerTls.of(store), List.of(BackgroundService.every("tls-certificate-watch", Duration.ofMillis(100), store::reloadIfChanged)));
        TestPki.Issued next = pki.certificate("watched-next").dns("localhost").issue();
        Files.copy(next.keyPem(), key, StandardCopyOption.REPLACE_EXISTING);
        Files.copy(next.chainPem(), cert, StandardCopyOption.REPLACE_EXISTING);
        Files.setLastModifiedTime(cert, java.nio.file.attribute.FileTime.from(Instant.now().plusSeconds(5)));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (store.generation() == 1 && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertThat(servedCn(sClient(server, "-servername", "localhost"))).isEqualTo("watched-next");
    }

    @Test
    void aCertificateSelectorPicksTheCertificateAsynchronously() throws Exception {
        TestPki.Issued picked = pki.certificate("picked").dns("localhost").issue();
        dev.merapi.core.tls.TlsCertificate pickedCert = dev.merapi.core.tls.TlsCertificate.load(picked.chainPem(), picked.keyPem());
        TestServer server = serve(ServerTls.builder(CertificateStore.of(localhost.chainPem(), localhost.keyPem()))
                .selector((name, store) -> CompletableFuture.supplyAsync(
                        () -> name.filter("dynamic.test"::equals).map(n -> pickedCert).orElse(store.select(name.orElse(null)))))
                .build());
        assertThat(servedCn(sClient(server, "-servername", "dynamic.test"))).isEqualTo("picked");
        assertThat(servedCn(sClient(server, "-servername", "localhost"))).isEqualTo("localhost");
    }

    @Test
    void largeResponseBodiesOverTlsAreCopiedNeverSpliced() throws Exception {
        long size = 3L * 256 * 1024;
        try (MockOrigin origin = MockOrigin.start()) {
            origin.setDispatcher(req -> MockResponse.builder().streamedBody(size).build());
            HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(new RecordingProxy(HttpPeer.of("127.0.0.1:" + origin.port())),
                    ProxyOptions.builder().splice(true).build());
            ListeningService service = ListeningService.http("tls", engine).addListener(ListenerConfig.tcp("127.0.0.1:0")
                    .toBuilder().tls(ServerTls.of(CertificateStore.of(localhost.chainPem(), localhost.keyPem()))).build());
            try (TestServer server = TestServer.start(service).checkClosedOnStop(engine.connector()::openConnections);
                    SSLSocket client = jdkClient(server)) {
                for (int i = 0; i < 2; i++) {
                    client.getOutputStream().write("GET /big HTTP/1.1\r\nHost: t\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                    String head = head(client.getInputStream());
                    assertThat(head).startsWith("HTTP/1.1 200").contains("Content-Length: " + size);
                    CRC32 crc = new CRC32();
                    crc.update(client.getInputStream().readNBytes((int) size));
                    assertThat(crc.getValue()).isEqualTo(MockResponse.patternCrc(size));
                }
                assertThat(engine.connector().splicedBodies()).as("encrypted bytes cannot be spliced").isZero();
            }
        }
    }

    @Test
    void theRequestSummaryOfAnUpstreamFailureNamesTheTlsFactsOfTheConnection() throws Exception {
        TestPki.Issued erin = pki.certificate("erin").clientAuth().issue();
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(new RecordingProxy(HttpPeer.of("127.0.0.1:9")));
        ListeningService service = ListeningService.http("tls", engine).addListener(ListenerConfig.tcp("127.0.0.1:0")
                .toBuilder().tls(ServerTls.builder(CertificateStore.of(localhost.chainPem(), localhost.keyPem()))
                        .clientAuth(ServerTls.ClientAuth.OPTIONAL, pki.caPem()).build()).build());
        try (LogCapture upstream = LogCapture.of("merapi.upstream");
                TestServer server = TestServer.start(service).checkClosedOnStop(engine.connector()::openConnections)) {
            Run r = curl(server, "localhost", "--cert", erin.chainPem().toString(), "--key", erin.keyPem().toString(),
                    "-o", "/dev/null", "-w", "%{http_code}");
            assertThat(r.output()).isEqualTo("502");
            assertThat(upstream.lines()).anyMatch(l -> l.contains("TLS: TLSv1.3 ") && l.contains("sni=localhost")
                    && l.contains("CN=erin"));
        }
    }

    @Test
    void sessionTicketsResumeSessionsByDefaultAndTheSessionSaysSo() throws Exception {
        TestServer server = serveDefault();
        Path session = dir.resolve("session.pem");
        Run first = sClient(server, "-tls1_2", "-sess_out", session.toString());
        assertThat(first.output()).contains("New, TLSv1.2");
        Run second = sClient(server, "-tls1_2", "-sess_in", session.toString());
        assertThat(second.output()).contains("Reused, TLSv1.2");

        Thread.sleep(1100); // the session's creation time has whole seconds
        Path fresh = dir.resolve("fresh.pem");
        List<String> cmd = List.of("openssl", "s_client", "-connect", "127.0.0.1:" + server.port(), "-CAfile",
                pki.caPem().toString(), "-tls1_2", "-ign_eof", "-quiet");
        Run full = run(append(cmd, "-sess_out", fresh.toString()), "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        assertThat(full.output()).contains("tls=TLSv1.2").doesNotContain(" resumed");
        Thread.sleep(1100);
        Run resumed = run(append(cmd, "-sess_in", fresh.toString()), "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        assertThat(resumed.output()).contains("tls=TLSv1.2").contains(" resumed");
    }

    private static List<String> append(List<String> a, String... more) {
        List<String> out = new ArrayList<>(a);
        out.addAll(List.of(more));
        return out;
    }

    @Test
    void sessionTicketsTurnedOffMeanEveryHandshakeIsFull() throws Exception {
        TestServer server = serve(ServerTls.builder(CertificateStore.of(localhost.chainPem(), localhost.keyPem()))
                .sessionTickets(false).build());
        Path session = dir.resolve("session.pem");
        Run first = sClient(server, "-tls1_2", "-sess_out", session.toString());
        assertThat(first.output()).contains("New, TLSv1.2").doesNotContain("TLS session ticket:");
        if (Files.exists(session)) { // s_client writes no file for a session that cannot be resumed
            assertThat(sClient(server, "-tls1_2", "-sess_in", session.toString()).output()).doesNotContain("Reused");
        }
        Run tls13 = sClient(server, "-tls1_3", "-sess_out", dir.resolve("s13.pem").toString());
        assertThat(tls13.output()).contains("New, TLSv1.3").doesNotContain("TLS session ticket:");
    }

    @Test
    void theHybridPostQuantumGroupIsNegotiatedWithAClientThatOffersIt() throws Exception {
        TestServer server = serveDefault();
        assertThat(nettyClientWithGroups(server, "X25519MLKEM768")).startsWith("HTTP/1.1 200");
        assertThat(sClient(server, "-groups", "X25519").output()).contains("Server Temp Key: X25519");
        assertThat(sClient(server, "-groups", "P-256").output()).contains("Server Temp Key: ECDH, prime256v1");
        assertThat(sClient(server, "-groups", "P-384").output()).contains("Server Temp Key: ECDH, secp384r1");
        assertThat(handshakeDone(sClient(server, "-groups", "ffdhe2048"))).as("no finite-field DH").isFalse();
    }

    @Test
    void theLegacySwitchLetsTls11InAndWarnsAtStart() throws Exception {
        try (LogCapture log = LogCapture.of("dev.merapi.core.internal.tls.TlsStage")) {
            TestServer server = serve(ServerTls.builder(CertificateStore.of(localhost.chainPem(), localhost.keyPem()))
                    .legacy(true).protocols(List.of("TLSv1.2", "TLSv1.1"))
                    .cipherSuites(List.of("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"))
                    .build());
            assertThat(log.lines()).anyMatch(l -> l.contains("TLS legacy mode is on"));
            Run r = sClient(server, "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0");
            assertThat(r.output()).contains("Protocol  : TLSv1.1");
        }
    }

    @Test
    void aKeyFileReadableByOthersGivesAWarningAndNoKeyMaterialIsLogged() throws Exception {
        try (LogCapture log = LogCapture.of("dev.merapi.core.tls.TlsCertificate")) {
            Files.setPosixFilePermissions(localhost.keyPem(), PosixFilePermissions.fromString("rw-r--r--"));
            CertificateStore.of(localhost.chainPem(), localhost.keyPem());
            assertThat(log.lines()).anyMatch(l -> l.contains("can be read by its group or by others")
                    && l.contains(localhost.keyPem().toString()));
            int before = log.lines().size();
            Files.setPosixFilePermissions(localhost.keyPem(), PosixFilePermissions.fromString("rw-------"));
            CertificateStore.of(localhost.chainPem(), localhost.keyPem());
            assertThat(log.lines()).hasSize(before);
        }
        String keyBody = Files.readString(localhost.keyPem()).lines().filter(l -> !l.startsWith("-----")).findFirst().orElseThrow();
        try (LogCapture all = LogCapture.of("dev.merapi.core")) {
            serveDefault();
            assertThat(String.join("\n", all.lines())).doesNotContain(keyBody);
        }
    }

    /** Certificate files that a test rewrites, starting as a copy of the localhost certificate, and their store. */
    record Live(Path cert, Path key, CertificateStore store) {
    }

    private Live live(String name) throws IOException {
        Path cert = dir.resolve(name + ".pem");
        Path key = dir.resolve(name + ".key");
        Files.copy(localhost.chainPem(), cert);
        Files.copy(localhost.keyPem(), key);
        return new Live(cert, key, CertificateStore.of(cert, key));
    }

    /** Sends {@code bytes} on a new connection and returns what the server sent until it closed the connection. */
    private static byte[] sendAndAwaitClose(TestServer server, byte[] bytes) throws IOException {
        try (Socket s = connect(server)) {
            s.getOutputStream().write(bytes);
            s.getOutputStream().flush();
            return s.getInputStream().readAllBytes();
        }
    }

    private static Socket connect(TestServer server) throws IOException {
        Socket s = new Socket();
        s.connect(new InetSocketAddress("127.0.0.1", server.port()), 5000);
        s.setSoTimeout(20_000);
        return s;
    }

    private SSLSocket jdkClient(TestServer server) throws Exception {
        return jdkClient(server, jdkContext());
    }

    private SSLContext jdkContext() throws Exception {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("ca", pki.caCertificate());
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx;
    }

    private SSLSocket jdkClient(TestServer server, SSLContext ctx) throws Exception {
        SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket();
        s.connect(new InetSocketAddress("127.0.0.1", server.port()), 5000);
        s.setSoTimeout(20_000);
        SSLParameters p = s.getSSLParameters();
        p.setServerNames(List.of(new SNIHostName("localhost")));
        s.setSSLParameters(p);
        s.startHandshake();
        return s;
    }

    /** Reads a response head, up to and with its empty line. */
    private static String head(InputStream in) throws IOException {
        StringBuilder b = new StringBuilder();
        while (!b.toString().endsWith("\r\n\r\n")) {
            int c = in.read();
            if (c < 0) {
                break;
            }
            b.append((char) c);
        }
        return b.toString();
    }

    /**
     * One GET over a Netty client with BoringSSL that offers only {@code group} for the key exchange: it succeeds only
     * if the listener negotiates that group. Returns the response's first line.
     */
    private String nettyClientWithGroups(TestServer server, String group) throws Exception {
        SslContext client = SslContextBuilder.forClient().sslProvider(SslProvider.OPENSSL).trustManager(pki.caPem().toFile())
                .protocols("TLSv1.3").option(OpenSslContextOption.GROUPS, new String[] {group}).build();
        EventLoopGroup loop = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        try {
            CompletableFuture<String> firstLine = new CompletableFuture<>();
            Channel ch = new Bootstrap().group(loop).channel(NioSocketChannel.class).handler(new ChannelInitializer<Channel>() {
                @Override
                protected void initChannel(Channel c) {
                    c.pipeline().addLast(client.newHandler(c.alloc(), "localhost", server.port()));
                    c.pipeline().addLast(new SimpleChannelInboundHandler<ByteBuf>() {
                        @Override
                        protected void channelRead0(ChannelHandlerContext ctx, ByteBuf msg) {
                            String text = msg.toString(StandardCharsets.US_ASCII);
                            firstLine.complete(text.lines().findFirst().orElse(""));
                        }

                        @Override
                        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                            firstLine.completeExceptionally(cause);
                            ctx.close();
                        }
                    });
                }
            }).connect("127.0.0.1", server.port()).sync().channel();
            ch.writeAndFlush(Unpooled.copiedBuffer("GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
                    StandardCharsets.US_ASCII));
            String line = firstLine.get(20, TimeUnit.SECONDS);
            ch.close().sync();
            return line;
        } finally {
            loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
            ReferenceCountUtil.release(client);
        }
    }

    /** One keep-alive GET on {@code s}; the response head and body (the echo is one short line). */
    private static String request(SSLSocket s) throws IOException {
        s.getOutputStream().write("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().flush();
        StringBuilder b = new StringBuilder();
        InputStream in = s.getInputStream();
        while (!b.toString().contains("\r\n\r\n")) {
            int c = in.read();
            if (c < 0) {
                return b.toString();
            }
            b.append((char) c);
        }
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("Content-Length: (\\d+)").matcher(b);
        int length = m.find() ? Integer.parseInt(m.group(1)) : 0;
        b.append(new String(in.readNBytes(length), StandardCharsets.ISO_8859_1));
        return b.toString();
    }

}
