package dev.merapi.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.merapi.testkit.ExternalServer;
import dev.merapi.testkit.TestPki;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code merapi proxy --upstream https://…} as a user runs it (a child JVM), in front of a real nginx serving TLS with
 * certificates from a throw-away CA, driven by curl. nginx picks its certificate by the SNI Merapi sends, and
 * {@code /tls} answers with the SNI and client certificate it saw.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ProxyCommandTlsIT {
    private static final Path NGINX = Path.of("/usr/sbin/nginx");
    private static final Path CURL = Path.of("/usr/bin/curl");

    @TempDir
    static Path dir;
    private static TestPki pki;
    private static TestPki.Issued client;
    private static ExternalServer nginx;

    @BeforeAll
    static void startNginx() throws Exception {
        assumeTrue(Files.isExecutable(NGINX), "nginx is not installed (apt-get install nginx-light)");
        assumeTrue(Files.isExecutable(CURL), "curl is not installed (apt-get install curl)");
        pki = TestPki.create(dir.resolve("pki"), "Command CA");
        TestPki.Issued good = pki.certificate("good").dns("localhost", "good.test").issue();
        TestPki.Issued wrong = pki.certificate("wrong").dns("wrong.test").issue();
        TestPki.Issued mtls = pki.certificate("mtls").dns("mtls.test").issue();
        client = pki.certificate("command-client").clientAuth().issue();
        String location = """
                location = /tls { default_type text/plain;
                    return 200 "sni=$ssl_server_name client=$ssl_client_s_dn\\n"; }
                """;
        nginx = ExternalServer.nginx(NGINX, dir.resolve("nginx"), port -> """
                    server { listen 127.0.0.1:%1$d ssl default_server; server_name localhost good.test;
                        ssl_certificate %2$s; ssl_certificate_key %3$s; %8$s }
                    server { listen 127.0.0.1:%1$d ssl; server_name other.test;
                        ssl_certificate %4$s; ssl_certificate_key %5$s; %8$s }
                    server { listen 127.0.0.1:%1$d ssl; server_name mtls.test;
                        ssl_certificate %6$s; ssl_certificate_key %7$s;
                        ssl_client_certificate %9$s; ssl_verify_client optional; %8$s }
                """.formatted(port, good.chainPem(), good.keyPem(), wrong.chainPem(), wrong.keyPem(), mtls.chainPem(), mtls.keyPem(),
                location, pki.caPem()));
    }

    @AfterAll
    static void stopNginx() {
        if (nginx != null) {
            nginx.close();
        }
    }

    /** Runs {@code merapi proxy} with these upstream flags, then curl against it; returns curl's "status body". */
    private static String proxyThenCurl(List<String> upstreamFlags, List<String> expectedOutput) throws Exception {
        int port = GatewayProcess.freePort();
        List<String> args = new ArrayList<>(List.of("proxy", "--listen", "127.0.0.1:" + port, "--threads", "1"));
        args.addAll(upstreamFlags);
        try (GatewayProcess gateway = GatewayProcess.start(args.toArray(String[]::new))) {
            for (String line : expectedOutput) {
                gateway.awaitLine(line, Duration.ofSeconds(30));
            }
            gateway.awaitLine("proxy: http://", Duration.ofSeconds(30));
            return curl("http://127.0.0.1:" + port + "/tls");
        }
    }

    private static String curl(String url) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(CURL.toString(), "-sS", "--max-time", "30", "-w", "\\n%{http_code}", "-o", "-", url)
                .redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(40, TimeUnit.SECONDS)).isTrue();
        // -w prints after the body: move the status first
        int at = out.lastIndexOf('\n');
        return out.substring(at + 1).strip() + " " + out.substring(0, Math.max(0, at)).strip();
    }

    @Test
    void anHttpsUpstreamIsVerifiedAgainstTheGivenCaWithItsHostAsSni() throws Exception {
        String r = proxyThenCurl(List.of("--upstream", "https://localhost:" + nginx.port(), "--upstream-ca", pki.caPem().toString()),
                List.of());

        assertThat(r).startsWith("200 ").contains("sni=localhost");
    }

    @Test
    void upstreamSniSetsTheNameSentAndVerified() throws Exception {
        String r = proxyThenCurl(List.of("--upstream", "https://127.0.0.1:" + nginx.port(), "--upstream-sni", "good.test",
                "--upstream-ca", pki.caPem().toString()), List.of());

        assertThat(r).startsWith("200 ").contains("sni=good.test");
    }

    @Test
    void aCertificateForAnotherNameIs502() throws Exception {
        String r = proxyThenCurl(List.of("--upstream", "https://127.0.0.1:" + nginx.port(), "--upstream-sni", "other.test",
                "--upstream-ca", pki.caPem().toString()), List.of());

        assertThat(r).startsWith("502 ");
    }

    @Test
    void withoutUpstreamCaTheJdkTrustStoreRefusesAPrivateCa() throws Exception {
        String r = proxyThenCurl(List.of("--upstream", "https://localhost:" + nginx.port()), List.of());

        assertThat(r).startsWith("502 ");
    }

    @Test
    void upstreamInsecureLetsAWrongHostCertificateThroughAndSaysSoAtStart() throws Exception {
        String r = proxyThenCurl(List.of("--upstream", "https://127.0.0.1:" + nginx.port(), "--upstream-sni", "other.test",
                "--upstream-insecure"), List.of("WARNING: --upstream-insecure"));

        assertThat(r).startsWith("200 ").contains("sni=other.test");
    }

    @Test
    void upstreamClientCertificateIsShownToAnUpstreamThatAsks() throws Exception {
        String r = proxyThenCurl(List.of("--upstream", "https://127.0.0.1:" + nginx.port(), "--upstream-sni", "mtls.test",
                "--upstream-ca", pki.caPem().toString(), "--upstream-client-cert", client.chainPem().toString(),
                "--upstream-client-key", client.keyPem().toString()), List.of());

        assertThat(r).startsWith("200 ").contains("sni=mtls.test", "client=CN=command-client");
    }

    @Test
    void theTlsFlagsApplyToEveryBalancedUpstreamAndTheirHealthChecks() throws Exception {
        int port = GatewayProcess.freePort();
        try (GatewayProcess gateway = GatewayProcess.start("proxy", "--listen", "127.0.0.1:" + port, "--threads", "1",
                "--upstream", "https://localhost:" + nginx.port(), "--upstream", "https://127.0.0.1:" + nginx.port() + ",weight=2",
                "--upstream-sni", "good.test", "--upstream-ca", pki.caPem().toString(), "--health-check", "/tls")) {
            String started = gateway.awaitLine("proxy: http://", Duration.ofSeconds(30));
            assertThat(started).contains("https://localhost:" + nginx.port(), "https://127.0.0.1:" + nginx.port() + ",weight=2");
            for (int i = 0; i < 3; i++) {
                assertThat(curl("http://127.0.0.1:" + port + "/tls")).startsWith("200 ").contains("sni=good.test");
            }
        }
    }
}
