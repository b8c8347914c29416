package dev.merapi.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.testkit.MockOrigin;
import dev.merapi.testkit.TestPki;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code merapi proxy --tls-*} as a user runs it, in a child JVM on loopback, with curl as the client: a TLS listener
 * in front of a plain origin, and client certificates required.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ProxyCommandListenerTlsIT {
    @TempDir
    Path dir;

    /** curl's exit status and what it printed. */
    private static Curl curl(List<String> args) throws IOException, InterruptedException {
        return Curl.run(args);
    }

    @Test
    void tlsCertAndKeyServeHttpsAndH2ByAlpnInFrontOfAPlainOrigin() throws Exception {
        TestPki pki = TestPki.create(dir, "Command CA");
        TestPki.Issued server = pki.certificate("localhost").dns("localhost").issue();
        int port = GatewayProcess.freePort();
        try (MockOrigin origin = MockOrigin.start();
                GatewayProcess gateway = GatewayProcess.start("proxy", "--listen", "127.0.0.1:" + port,
                        "--upstream", "127.0.0.1:" + origin.port(), "--threads", "1",
                        "--tls-cert", server.chainPem().toString(), "--tls-key", server.keyPem().toString())) {
            String announced = gateway.awaitLine("proxy:", Duration.ofSeconds(30));
            assertThat(announced).contains("proxy: https://127.0.0.1:" + port);
            Curl ok = curl(List.of("--cacert", pki.caPem().toString(), "--resolve", "localhost:" + port + ":127.0.0.1",
                    "-o", "/dev/null", "-w", "%{http_code} %{ssl_verify_result} %{http_version}", "https://localhost:" + port + "/"));
            assertThat(ok.exit()).as(ok.output()).isZero();
            assertThat(ok.output()).isEqualTo("200 0 2");
            Curl h1 = curl(List.of("--cacert", pki.caPem().toString(), "--resolve", "localhost:" + port + ":127.0.0.1", "--http1.1",
                    "-o", "/dev/null", "-w", "%{http_code} %{http_version}", "https://localhost:" + port + "/"));
            assertThat(h1.output()).isEqualTo("200 1.1");
            Curl tls11 = curl(List.of("-k", "--tlsv1.1", "--tls-max", "1.1", "https://127.0.0.1:" + port + "/"));
            assertThat(tls11.exit()).as(tls11.output()).isNotZero();
        }
    }

    @Test
    void noH2MakesATlsListenerOfferOnlyHttp11ByAlpn() throws Exception {
        TestPki pki = TestPki.create(dir, "Command CA");
        TestPki.Issued server = pki.certificate("localhost").dns("localhost").issue();
        int port = GatewayProcess.freePort();
        try (MockOrigin origin = MockOrigin.start();
                GatewayProcess gateway = GatewayProcess.start("proxy", "--listen", "127.0.0.1:" + port,
                        "--upstream", "127.0.0.1:" + origin.port(), "--threads", "1", "--no-h2",
                        "--tls-cert", server.chainPem().toString(), "--tls-key", server.keyPem().toString())) {
            gateway.awaitLine("proxy:", Duration.ofSeconds(30));
            Curl offeringH2 = curl(List.of("--cacert", pki.caPem().toString(), "--resolve", "localhost:" + port + ":127.0.0.1",
                    "--http2", "-o", "/dev/null", "-w", "%{http_code} %{http_version}", "https://localhost:" + port + "/"));
            assertThat(offeringH2.exit()).as(offeringH2.output()).isZero();
            assertThat(offeringH2.output()).isEqualTo("200 1.1");
        }
    }

    @Test
    void tlsClientCaRequiresAClientCertificate() throws Exception {
        TestPki pki = TestPki.create(dir, "Command CA");
        TestPki.Issued server = pki.certificate("localhost").dns("localhost").issue();
        TestPki.Issued client = pki.certificate("carol").clientAuth().issue();
        int port = GatewayProcess.freePort();
        try (MockOrigin origin = MockOrigin.start();
                GatewayProcess gateway = GatewayProcess.start("proxy", "--listen", "127.0.0.1:" + port,
                        "--upstream", "127.0.0.1:" + origin.port(), "--threads", "1",
                        "--tls-cert", server.chainPem().toString(), "--tls-key", server.keyPem().toString(),
                        "--tls-client-ca", pki.caPem().toString(), "--tls-client-auth", "required")) {
            gateway.awaitLine("proxy:", Duration.ofSeconds(30));
            List<String> base = List.of("--cacert", pki.caPem().toString(), "--resolve", "localhost:" + port + ":127.0.0.1",
                    "-o", "/dev/null", "-w", "%{http_code}");
            Curl without = curl(concat(base, List.of("https://localhost:" + port + "/")));
            assertThat(without.exit()).as(without.output()).isNotZero();
            Curl with = curl(concat(base, List.of("--cert", client.chainPem().toString(), "--key", client.keyPem().toString(),
                    "https://localhost:" + port + "/")));
            assertThat(with.exit()).as(with.output()).isZero();
            assertThat(with.output()).isEqualTo("200");
        }
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> out = new ArrayList<>(a);
        out.addAll(b);
        return out;
    }
}
