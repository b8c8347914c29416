package dev.merapi.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.core.upstreams.UpstreamTls;
import dev.merapi.error.ErrorType;
import dev.merapi.testkit.ExternalServer;
import dev.merapi.testkit.RawClient;
import dev.merapi.testkit.TestPki;
import dev.merapi.testkit.TestServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Merapi in front of a real nginx serving TLS, with certificates from a throw-away CA: verified connections, the
 * certificate failures a client sees as 502 (not retried, one log line naming the reason), upstream mTLS, pooling
 * per TLS identity, the insecure opt-out, and bodies copied (never spliced) over TLS. nginx picks its server block,
 * and so the certificate it shows, by the SNI Merapi sends; {@code /tls} answers with what nginx saw.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class UpstreamTlsIT {
    private static final int LARGE = 4 * 1024 * 1024;
    private static final Pattern CONNECTION = Pattern.compile("conn=(\\d+)");

    @TempDir
    static Path dir;
    private static TestPki pki;
    private static TestPki rogue;
    private static TestPki.Issued client;
    private static Path otherCaBundle;
    private static ExternalServer nginx;
    private static String largeSha256;

    private LogCapture log;

    @BeforeAll
    static void startNginx() throws Exception {
        assumeTrue(Files.isExecutable(ExternalProxy.NGINX), "nginx is not installed (apt-get install nginx-light)");
        pki = TestPki.create(dir.resolve("pki"), "Upstream CA");
        rogue = TestPki.create(dir.resolve("rogue"), "Rogue CA");
        TestPki.Issued good = pki.certificate("good").dns("good.test", "alt.test").issue();
        TestPki.Issued expired = pki.certificate("expired").dns("expired.test")
                .validFor(Instant.now().minus(Duration.ofDays(10)), Duration.ofDays(1)).issue();
        TestPki.Issued wrongHost = pki.certificate("wrong").dns("wrong.test").issue();
        TestPki.Issued unknown = rogue.certificate("unknown").dns("unknown.test").issue();
        TestPki.Issued mtls = pki.certificate("mtls").dns("mtls.test").issue();
        client = pki.certificate("merapi-client").clientAuth().issue();
        // the same CA in a bundle of other bytes: equal trust, another identity for the pool
        otherCaBundle = dir.resolve("bundle.pem");
        Files.writeString(otherCaBundle, Files.readString(rogue.caPem()) + Files.readString(pki.caPem()));
        Path www = Files.createDirectories(dir.resolve("www"));
        largeSha256 = writeRandomFile(www.resolve("large.bin"), LARGE);
        String location = """
                        location = /tls { default_type text/plain;
                            return 200 "sni=$ssl_server_name conn=$connection proto=$ssl_protocol alpn=$ssl_alpn_protocol client=$ssl_client_s_dn\\n"; }
                        location / { root %s; }
                """.formatted(www);
        nginx = ExternalServer.nginx(ExternalProxy.NGINX, dir.resolve("nginx"), port -> """
                    keepalive_requests 10000;
                    ssl_protocols TLSv1.2 TLSv1.3;
                    server { listen 127.0.0.1:%1$d ssl default_server; server_name good.test alt.test;
                        ssl_certificate %2$s; ssl_certificate_key %3$s; %12$s }
                    server { listen 127.0.0.1:%1$d ssl; server_name expired.test;
                        ssl_certificate %4$s; ssl_certificate_key %5$s; %12$s }
                    server { listen 127.0.0.1:%1$d ssl; server_name other.test;
                        ssl_certificate %6$s; ssl_certificate_key %7$s; %12$s }
                    server { listen 127.0.0.1:%1$d ssl; server_name unknown.test;
                        ssl_certificate %8$s; ssl_certificate_key %9$s; %12$s }
                    server { listen 127.0.0.1:%1$d ssl; server_name mtls.test;
                        ssl_certificate %10$s; ssl_certificate_key %11$s;
                        ssl_client_certificate %13$s; ssl_verify_client on; %12$s }
                """.formatted(port, good.chainPem(), good.keyPem(), expired.chainPem(), expired.keyPem(),
                wrongHost.chainPem(), wrongHost.keyPem(), unknown.chainPem(), unknown.keyPem(), mtls.chainPem(), mtls.keyPem(),
                location, pki.caPem()));
    }

    @AfterAll
    static void stopNginx() {
        if (nginx != null) {
            nginx.close();
        }
    }

    @BeforeEach
    void captureTheUpstreamLogger() {
        log = LogCapture.upstreamFailures();
    }

    @AfterEach
    void release() {
        log.close();
    }

    private static UpstreamTls trustingTestCa() {
        return UpstreamTls.builder().trustedCa(pki.caPem()).build();
    }

    private static HttpPeer peer(String sni, UpstreamTls tls) {
        return HttpPeer.of("127.0.0.1:" + nginx.port(), true, sni).withTls(tls);
    }

    private static List<RawClient.Response> get(TestServer server, int count, String path) throws IOException {
        return get(server, count, path, "client.test");
    }

    private static List<RawClient.Response> get(TestServer server, int count, String path, String host) throws IOException {
        List<RawClient.Response> out = new ArrayList<>();
        try (RawClient c = RawClient.connect(server.port())) {
            for (int i = 0; i < count; i++) {
                c.send("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
                out.add(c.readResponse());
            }
        }
        return out;
    }

    private static String nginxConnection(RawClient.Response r) {
        Matcher m = CONNECTION.matcher(r.bodyText());
        assertThat(m.find()).as(r.bodyText()).isTrue();
        return m.group(1);
    }

    @Test
    void verifiedTlsUpstreamAnswersWithTheSniSentAndTls13() throws Exception {
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(new RecordingProxy(peer("good.test", trustingTestCa())));
        try (TestServer server = RecordingProxy.serve(engine)) {
            RawClient.Response r = get(server, 1, "/tls").getFirst();

            assertThat(r.status()).isEqualTo(200);
            assertThat(r.bodyText()).contains("sni=good.test", "proto=TLSv1.3", "alpn=http/1.1 ");
        }
    }

    @Test
    void withNoAlpnProtocolsTheHandshakeCarriesNoAlpn() throws Exception {
        UpstreamTls tls = UpstreamTls.builder().trustedCa(pki.caPem()).alpn().build();
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(new RecordingProxy(peer("good.test", tls)));
        try (TestServer server = RecordingProxy.serve(engine)) {
            RawClient.Response r = get(server, 1, "/tls").getFirst();

            assertThat(r.status()).isEqualTo(200);
            assertThat(r.bodyText()).contains("sni=good.test", "alpn= ");
        }
        assertThatThrownBy(() -> UpstreamTls.builder().alpn("h2")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("only http/1.1");
    }

    @Test
    void aVerifyNameChecksAnotherNameThanTheSniSent() throws Exception {
        // nginx shows the wrong.test certificate for the SNI other.test: verifying wrong.test accepts it
        UpstreamTls tls = UpstreamTls.builder().trustedCa(pki.caPem()).verifyName("wrong.test").build();
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(new RecordingProxy(peer("other.test", tls)));
        try (TestServer server = RecordingProxy.serve(engine)) {
            RawClient.Response r = get(server, 1, "/tls").getFirst();

            assertThat(r.status()).isEqualTo(200);
            assertThat(r.bodyText()).contains("sni=other.test");
        }
    }

    @Test
    void pooledTlsConnectionsAreReusedForLaterRequests() throws Exception {
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(new RecordingProxy(peer("good.test", trustingTestCa())));
        try (TestServer server = RecordingProxy.serve(engine)) {
            List<RawClient.Response> rs = get(server, 5, "/tls");

            assertThat(rs).allSatisfy(r -> assertThat(r.status()).isEqualTo(200));
            assertThat(rs.stream().map(UpstreamTlsIT::nginxConnection).distinct()).as("nginx's connection numbers").hasSize(1);
            assertThat(engine.connector().newConnections()).isEqualTo(1);
            assertThat(engine.connector().reusedConnections()).isEqualTo(4);
        }
    }

    @Test
    void theJdkTrustStoreIsTheDefaultSoAPrivateCaIsUnknown() throws Exception {
        assertFailsNotRetried(HttpPeer.of("127.0.0.1:" + nginx.port(), true, "good.test"), "unknown CA");
    }

    @Test
    void aCertificateForAnotherHostIs502NotRetriedAndLoggedAsNameMismatch() throws Exception {
        assertFailsNotRetried(peer("other.test", trustingTestCa()), "name mismatch");
    }

    @Test
    void aCertificateFromAnUnknownCaIs502NotRetriedAndLoggedAsUnknownCa() throws Exception {
        assertFailsNotRetried(peer("unknown.test", trustingTestCa()), "unknown CA");
    }

    @Test
    void anExpiredCertificateIs502NotRetriedAndLoggedAsExpired() throws Exception {
        assertFailsNotRetried(peer("expired.test", trustingTestCa()), "certificate expired");
    }

    @Test
    void anIpAddressPeerIsVerifiedAgainstTheCertificatesIpNames() throws Exception {
        // no SNI for an address: nginx shows its default certificate, which names good.test but not 127.0.0.1
        assertFailsNotRetried(peer("", trustingTestCa()), "name mismatch");
    }

    private void assertFailsNotRetried(HttpPeer peer, String reason) throws Exception {
        RecordingProxy proxy = new RecordingProxy(peer);
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy, ProxyOptions.builder().maxRetries(3).build());
        try (TestServer server = RecordingProxy.serve(engine)) {
            RawClient.Response r = get(server, 1, "/tls").getFirst();

            assertThat(r.status()).isEqualTo(502);
            proxy.awaitLogged(1);
            assertThat(proxy.peerCalls.get()).as("attempts").isEqualTo(1);
            assertThat(engine.connector().failedConnections()).isEqualTo(1);
            assertThat(proxy.onlyLoggedError().type()).isEqualTo(ErrorType.Kind.TLS_HANDSHAKE_FAILURE);
            assertThat(log.lines()).singleElement().asString()
                    .startsWith("upstream-failure peer=127.0.0.1:" + nginx.port() + " (tls")
                    .contains("error=TLS_HANDSHAKE_FAILURE retries=0", "failed: " + reason);
        }
    }

    @Test
    void upstreamMtlsSendsTheClientCertificateNginxAsksFor() throws Exception {
        UpstreamTls tls = UpstreamTls.builder().trustedCa(pki.caPem()).clientCertificate(client.chainPem(), client.keyPem()).build();
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(new RecordingProxy(peer("mtls.test", tls)));
        try (TestServer server = RecordingProxy.serve(engine)) {
            RawClient.Response r = get(server, 1, "/tls", "mtls.test").getFirst();

            assertThat(r.status()).isEqualTo(200);
            assertThat(r.bodyText()).contains("sni=mtls.test", "client=CN=merapi-client");
        }
    }

    @Test
    void withoutAClientCertificateNginxRefusesTheMtlsServer() throws Exception {
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(new RecordingProxy(peer("mtls.test", trustingTestCa())));
        try (TestServer server = RecordingProxy.serve(engine)) {
            // nginx checks the client certificate against the server block the Host header names
            RawClient.Response r = get(server, 1, "/tls", "mtls.test").getFirst();

            assertThat(r.status()).as(r.bodyText()).isEqualTo(400);
            assertThat(r.bodyText()).contains("No required SSL certificate was sent");
        }
    }

    @Test
    void peersThatDifferOnlyInSniDoNotShareConnections() throws Exception {
        UpstreamTls tls = trustingTestCa();
        List<HttpPeer> peers = List.of(peer("good.test", tls), peer("alt.test", tls));
        assertAlternatingPeersUseOneConnectionEach(peers);
    }

    @Test
    void peersThatDifferOnlyInTheirCaDoNotShareConnections() throws Exception {
        UpstreamTls other = UpstreamTls.builder().trustedCa(otherCaBundle).build();
        List<HttpPeer> peers = List.of(peer("good.test", trustingTestCa()), peer("good.test", other));
        assertThat(peers.get(0).reuseKey()).isNotEqualTo(peers.get(1).reuseKey());
        assertAlternatingPeersUseOneConnectionEach(peers);
    }

    @Test
    void peersWithEqualTlsSettingsShareConnections() throws Exception {
        List<HttpPeer> peers = List.of(peer("good.test", trustingTestCa()), peer("good.test", trustingTestCa()));
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(new RecordingProxy(alternating(peers)));
        try (TestServer server = RecordingProxy.serve(engine)) {
            assertThat(get(server, 4, "/tls")).allSatisfy(r -> assertThat(r.status()).isEqualTo(200));
            assertThat(engine.connector().newConnections()).isEqualTo(1);
        }
    }

    private static java.util.function.Supplier<HttpPeer> alternating(List<HttpPeer> peers) {
        AtomicInteger next = new AtomicInteger();
        return () -> peers.get(next.getAndIncrement() % peers.size());
    }

    private static void assertAlternatingPeersUseOneConnectionEach(List<HttpPeer> peers) throws Exception {
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(new RecordingProxy(alternating(peers)));
        try (TestServer server = RecordingProxy.serve(engine)) {
            List<RawClient.Response> rs = get(server, 6, "/tls");

            assertThat(rs).allSatisfy(r -> assertThat(r.status()).isEqualTo(200));
            List<String> connections = rs.stream().map(UpstreamTlsIT::nginxConnection).toList();
            assertThat(connections.get(0)).isNotEqualTo(connections.get(1));
            assertThat(connections).containsExactly(connections.get(0), connections.get(1), connections.get(0),
                    connections.get(1), connections.get(0), connections.get(1));
            assertThat(engine.connector().newConnections()).isEqualTo(2);
        }
    }

    @Test
    void anInsecurePeerAcceptsAWrongHostCertificateAndItsSettingsAreLogged() throws Exception {
        UpstreamTls insecure = UpstreamTls.builder().insecure().build();
        assertThat(log.lines()).anySatisfy(l -> assertThat(l).startsWith("upstream-tls-insecure:"));
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(new RecordingProxy(peer("other.test", insecure)));
        try (TestServer server = RecordingProxy.serve(engine)) {
            RawClient.Response r = get(server, 1, "/tls").getFirst();

            assertThat(r.status()).isEqualTo(200);
            assertThat(r.bodyText()).contains("sni=other.test");
        }
    }

    @Test
    void largeBodiesOverTlsAreCopiedIntactAndNeverSpliced() throws Exception {
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(new RecordingProxy(peer("good.test", trustingTestCa())),
                ProxyOptions.builder().splice(true).build());
        try (TestServer server = RecordingProxy.serve(engine)) {
            List<RawClient.Response> rs = get(server, 2, "/large.bin");

            assertThat(rs).allSatisfy(r -> {
                assertThat(r.status()).isEqualTo(200);
                assertThat(sha256(r.body())).isEqualTo(largeSha256);
            });
            assertThat(engine.connector().splicedBodies()).isZero();
            assertThat(engine.connector().newConnections()).isEqualTo(1);
        }
    }

    @Test
    void aClientKeyThatIsNotPemIsRefusedWhenTheSettingsAreBuilt() throws Exception {
        Path bad = Files.writeString(dir.resolve("bad.key"), "not a key\n");
        assertThatThrownBy(() -> UpstreamTls.builder().clientCertificate(client.chainPem(), bad).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("invalid upstream TLS settings");
        assertThatThrownBy(() -> UpstreamTls.builder().trustedCa(dir.resolve("missing.pem")).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cannot read the CA bundle file");
    }

    private static String writeRandomFile(Path file, int size) throws Exception {
        byte[] data = new byte[size];
        new SplittableRandom(7).nextBytes(data);
        Files.write(file, data);
        return sha256(data);
    }

    private static String sha256(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }
}
