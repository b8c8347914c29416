package dev.merapi.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.merapi.testkit.ExternalServer;
import dev.merapi.testkit.TestDnsServer;
import dev.merapi.testkit.TestPki;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * TLS from the gateway's YAML, over real sockets: curl talks HTTPS to a gateway listener whose certificates come from
 * its {@code tls} section, and the gateway speaks verified TLS to a real nginx through an upstream group's {@code tls}
 * section (its {@code ca}, its {@code sni}), health checks included. nginx's {@code /tls} answers with the SNI and
 * client certificate it saw.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class GatewayTlsIT {
    private static final Path NGINX = Path.of("/usr/sbin/nginx");
    private static final Path CURL = Path.of("/usr/bin/curl");

    @TempDir
    static Path dir;
    private static TestPki pki;
    private static TestPki.Issued client;
    private static ExternalServer nginx;
    private Gateway gateway;

    @BeforeAll
    static void startNginx() throws Exception {
        assumeTrue(Files.isExecutable(NGINX), "nginx is not installed (apt-get install nginx-light)");
        assumeTrue(Files.isExecutable(CURL), "curl is not installed (apt-get install curl)");
        pki = TestPki.create(dir.resolve("pki"), "Gateway CA");
        copy(pki.certificate("gw").dns("localhost", "gw.test").issue(), "gw");
        copy(pki.certificate("alt").dns("alt.test").issue(), "alt");
        client = pki.certificate("gw-client").clientAuth().issue();
        TestPki.Issued origin = pki.certificate("origin").dns("origin.test").issue();
        TestPki.Issued upstreamClient = pki.certificate("upstream-client").clientAuth().issue();
        nginx = ExternalServer.nginx(NGINX, dir.resolve("nginx"), port -> """
                    server { listen 127.0.0.1:%1$d ssl; server_name origin.test;
                        ssl_certificate %2$s; ssl_certificate_key %3$s;
                        ssl_client_certificate %4$s; ssl_verify_client optional;
                        location = /health { return 200 "ok\\n"; }
                        location / { default_type text/plain; return 200 "sni=$ssl_server_name client=$ssl_client_s_dn\\n"; } }
                """.formatted(port, origin.chainPem(), origin.keyPem(), pki.caPem()));
        copy(upstreamClient, "upstream-client");
    }

    /** Copies a certificate (chain first) and its key to {@code dir/NAME.crt} and {@code dir/NAME.key}. */
    private static void copy(TestPki.Issued issued, String name) throws IOException {
        Files.copy(issued.chainPem(), dir.resolve(name + ".crt"));
        Files.copy(issued.keyPem(), dir.resolve(name + ".key"));
    }

    @AfterAll
    static void stopNginx() {
        if (nginx != null) {
            nginx.close();
        }
    }

    @AfterEach
    void stop() {
        if (gateway != null) {
            gateway.shutdownFast();
        }
    }

    /** A config with one HTTPS listener ({@code listenerTls} under its tls) and two groups on nginx, one verified against the CA. */
    private static String config(String listenerTls) {
        return """
                listeners:
                  - name: main
                    address: "127.0.0.1:0"
                    tls:
                %s
                upstreams:
                  - name: origin
                    backends: ["127.0.0.1:%d"]
                    health-check: {path: /health, interval: 1s}
                    tls:
                      ca: CA_FILE
                      sni: origin.test
                      client-cert: upstream-client.crt
                      client-key: upstream-client.key
                  - name: untrusted
                    backends: ["127.0.0.1:%2$d"]
                    retries: 0
                    tls: {sni: origin.test}
                routes:
                  - {name: untrusted, match: {path-prefix: /untrusted}, upstream: untrusted}
                  - {name: all, upstream: origin}
                admin: {enabled: false}
                """.formatted(listenerTls.indent(6).stripTrailing(), nginx.port()).replace("CA_FILE",
                dir.relativize(pki.caPem()).toString());
    }

    private static final String TWO_CERTIFICATES = """
            certificates:
              - {cert: gw.crt, key: gw.key}
              - {cert: alt.crt, key: alt.key}
            """;

    /** curl with these arguments, trusting the test CA; returns "status body", or "000 error" when no response came. */
    private static String curl(String... args) throws IOException, InterruptedException {
        return Cli.curl(pki.caPem(), args);
    }

    private int port() {
        return TestGateways.port(gateway, 0);
    }

    @Test
    void anHttpsListenerPicksItsCertificateBySniAndProxiesToAVerifiedTlsUpstream() throws Exception {
        gateway = TestGateways.start(dir, config(TWO_CERTIFICATES));

        // curl verifies the certificate against the name it asked for: each answer proves which one was served
        assertThat(curl("https://localhost:" + port() + "/tls")).isEqualTo("200 sni=origin.test client=CN=upstream-client");
        assertThat(curl("--resolve", "alt.test:" + port() + ":127.0.0.1", "https://alt.test:" + port() + "/tls"))
                .startsWith("200 sni=origin.test");
        // an unknown name gets the first certificate, which does not hold it
        assertThat(curl("--resolve", "other.test:" + port() + ":127.0.0.1", "https://other.test:" + port() + "/tls"))
                .startsWith("000 ").contains("other.test");
        assertThat(curl("http://127.0.0.1:" + port() + "/tls")).doesNotStartWith("200");
    }

    @Test
    void anUpstreamGroupWhoseTlsDoesNotTrustTheOriginsCaAnswers502() throws Exception {
        gateway = TestGateways.start(dir, config(TWO_CERTIFICATES));

        assertThat(curl("https://localhost:" + port() + "/untrusted")).startsWith("502 ");
        assertThat(curl("https://localhost:" + port() + "/tls")).startsWith("200 sni=origin.test");
    }

    @Test
    void aReloadWithOtherListenerTlsSettingsRebindsTheListenerWithThem() throws Exception {
        gateway = TestGateways.start(dir, config(TWO_CERTIFICATES));
        assertThat(curl("--tls-max", "1.2", "https://localhost:" + port() + "/tls")).startsWith("200 ");

        Files.writeString(dir.resolve("gw.yaml"), config(TWO_CERTIFICATES + """
                preset: modern
                client-auth: required
                client-ca: %s
                """.formatted(dir.relativize(pki.caPem()))));
        assertThat(gateway.reload()).isTrue();

        String url = "https://localhost:" + port() + "/tls";
        assertThat(curl("--cert", client.chainPem().toString(), "--key", client.keyPem().toString(), "--tls-max", "1.2", url))
                .startsWith("000 ");
        assertThat(curl(url)).doesNotStartWith("200");
        assertThat(curl("--cert", client.chainPem().toString(), "--key", client.keyPem().toString(), url)).startsWith("200 sni=origin.test");
    }

    @Test
    void aReloadWithAnUnusableCertificateKeepsTheRunningListener() throws Exception {
        gateway = TestGateways.start(dir, config(TWO_CERTIFICATES));
        int before = port();

        Files.writeString(dir.resolve("gw.yaml"), config("certificates: [{cert: gw.crt, key: alt.key}]\n"));
        assertThat(gateway.reload()).isFalse();

        assertThat(port()).isEqualTo(before);
        assertThat(curl("https://localhost:" + before + "/tls")).startsWith("200 sni=origin.test");
    }

    @Test
    void certificateFilesRewrittenInPlaceAreServedWithoutAReload() throws Exception {
        Files.copy(dir.resolve("gw.crt"), dir.resolve("renewing.crt"), StandardCopyOption.REPLACE_EXISTING);
        Files.copy(dir.resolve("gw.key"), dir.resolve("renewing.key"), StandardCopyOption.REPLACE_EXISTING);
        gateway = TestGateways.start(dir, config("certificates: [{cert: renewing.crt, key: renewing.key}]\n"));
        String renewed = "https://renewed.test:" + port() + "/tls";
        String resolve = "renewed.test:" + port() + ":127.0.0.1";
        assertThat(curl("--resolve", resolve, renewed)).startsWith("000 ");

        TestPki.Issued next = pki.certificate("renewed").dns("localhost", "renewed.test").issue();
        Files.copy(next.chainPem(), dir.resolve("renewing.crt"), StandardCopyOption.REPLACE_EXISTING);
        Files.copy(next.keyPem(), dir.resolve("renewing.key"), StandardCopyOption.REPLACE_EXISTING);

        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        String answer = curl("--resolve", resolve, renewed);
        while (!answer.startsWith("200 ") && System.nanoTime() - deadline < 0) {
            Thread.sleep(500);
            answer = curl("--resolve", resolve, renewed);
        }
        assertThat(answer).as("the new certificate is served once the file check sees it").startsWith("200 sni=origin.test");
        assertThat(gateway.reloadsOk()).isZero();
    }

    @Test
    void aDnsGroupSpeaksTlsToEachAddressWithItsDnsNameAsSniAndHealthChecksIt() throws Exception {
        try (TestDnsServer dns = TestDnsServer.start()) {
            dns.a("origin.test", 1, "127.0.0.1");
            gateway = TestGateways.start(dir, """
                    listeners: [{name: main, address: "127.0.0.1:0"}]
                    upstreams:
                      - name: app
                        dns: {name: origin.test, port: %d, name-servers: ["127.0.0.1:%d"], timeout: 1s}
                        health-check: {path: /health, interval: 1s}
                        tls: {ca: %s}
                    routes: [{name: all, upstream: app}]
                    admin: {enabled: false}
                    """.formatted(nginx.port(), dns.address().getPort(), pki.caPem()));

            assertThat(curl("http://127.0.0.1:" + port() + "/tls")).isEqualTo("200 sni=origin.test client=");
        }
    }
}
