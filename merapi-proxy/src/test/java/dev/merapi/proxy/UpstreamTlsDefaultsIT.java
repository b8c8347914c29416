package dev.merapi.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.core.upstreams.UpstreamTls;
import dev.merapi.testkit.ExternalServer;
import dev.merapi.testkit.RawClient;
import dev.merapi.testkit.TestPki;
import dev.merapi.testkit.TestServer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Upstream TLS defaults against a real nginx that offers only what Merapi must refuse: TLS 1.1, or TLS 1.2 with CBC
 * suites only. openssl's client first proves that nginx really speaks them, so that the 502 is Merapi's refusal.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class UpstreamTlsDefaultsIT {
    private static final Path OPENSSL = Path.of("/usr/bin/openssl");

    @TempDir
    static Path dir;
    private static TestPki pki;
    private static ExternalServer nginx;
    private static int cbcPort;

    private LogCapture log;

    @BeforeAll
    static void startNginx() throws Exception {
        assumeTrue(Files.isExecutable(ExternalProxy.NGINX), "nginx is not installed (apt-get install nginx-light)");
        assumeTrue(Files.isExecutable(OPENSSL), "openssl is not installed");
        pki = TestPki.create(dir.resolve("pki"), "Defaults CA");
        TestPki.Issued cert = pki.certificate("legacy").dns("legacy.test").issue();
        cbcPort = ExternalServer.freePort();
        nginx = ExternalServer.nginx(ExternalProxy.NGINX, dir.resolve("nginx"), port -> """
                    server { listen 127.0.0.1:%1$d ssl; ssl_certificate %2$s; ssl_certificate_key %3$s;
                        ssl_protocols TLSv1.1; ssl_ciphers DEFAULT:@SECLEVEL=0; return 200 "legacy\\n"; }
                    server { listen 127.0.0.1:%4$d ssl; ssl_certificate %2$s; ssl_certificate_key %3$s;
                        ssl_protocols TLSv1.2; ssl_ciphers ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA; return 200 "cbc\\n"; }
                """.formatted(port, cert.chainPem(), cert.keyPem(), cbcPort));
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

    /** What openssl's client negotiates with {@code port}: the "Protocol" and "Cipher" lines. */
    private static String opensslNegotiates(int port, String... flags) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of(OPENSSL.toString(), "s_client", "-connect", "127.0.0.1:" + port,
                "-servername", "legacy.test", "-CAfile", pki.caPem().toString()));
        cmd.addAll(List.of(flags));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(20, TimeUnit.SECONDS)).isTrue();
        return out;
    }

    private void assertRefused(int port) throws Exception {
        UpstreamTls tls = UpstreamTls.builder().trustedCa(pki.caPem()).build();
        RecordingProxy proxy = new RecordingProxy(HttpPeer.of("127.0.0.1:" + port, true, "legacy.test").withTls(tls));
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy, ProxyOptions.builder().maxRetries(3).build());
        try (TestServer server = RecordingProxy.serve(engine); RawClient c = RawClient.connect(server.port())) {
            c.send("GET / HTTP/1.1\r\nHost: legacy.test\r\n\r\n");

            assertThat(c.readResponse().status()).isEqualTo(502);
            proxy.awaitLogged(1);
            assertThat(proxy.peerCalls.get()).as("attempts").isEqualTo(1);
            assertThat(log.lines()).singleElement().asString().contains("error=TLS_HANDSHAKE_FAILURE", "failed: ");
        }
    }

    @Test
    void anUpstreamThatSpeaksOnlyTls11IsRefused() throws Exception {
        assertThat(opensslNegotiates(nginx.port(), "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0")).contains("Protocol  : TLSv1.1");
        assertRefused(nginx.port());
    }

    @Test
    void anUpstreamThatOffersOnlyCbcSuitesIsRefused() throws Exception {
        assertThat(opensslNegotiates(cbcPort, "-tls1_2")).contains("Protocol  : TLSv1.2").containsPattern("Cipher +: ECDHE-ECDSA-AES128-SHA");
        assertRefused(cbcPort);
    }
}
