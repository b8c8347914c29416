package dev.merapi.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TestPkiTest {
    @TempDir
    Path dir;

    @Test
    void issuedServerCertificateChainsToTheCaAndCarriesItsNames() throws Exception {
        TestPki pki = TestPki.create(dir, "Unit CA");
        TestPki.Issued server = pki.certificate("localhost").dns("localhost", "*.example.test").ip("127.0.0.1").issue();

        validate(server.certificate(), pki.caCertificate());
        assertThat(server.certificate().getSubjectAlternativeNames().stream().map(l -> String.valueOf(l.get(1))))
                .containsExactly("localhost", "*.example.test", "127.0.0.1");
        assertThat(server.certificate().getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.1");
        assertThat(server.sha256()).hasSize(64);
        assertThat(Files.readString(server.chainPem())).contains("BEGIN CERTIFICATE").hasLineCount(
                Files.readString(server.certPem()).lines().toList().size() + Files.readString(pki.caPem()).lines().toList().size());
    }

    @Test
    void pkcs8AndPkcs1KeysLoadIntoNettyServerContexts() throws Exception {
        TestPki pki = TestPki.create(dir, "Unit CA");
        List<TestPki.Issued> all = List.of(
                pki.certificate("ec8").dns("localhost").issue(),
                pki.certificate("ec1").dns("localhost").traditionalKey().issue(),
                pki.certificate("rsa8").dns("localhost").rsa().issue(),
                pki.certificate("rsa1").dns("localhost").rsa().traditionalKey().issue());
        assertThat(Files.readString(all.get(0).keyPem())).startsWith("-----BEGIN PRIVATE KEY-----");
        assertThat(Files.readString(all.get(1).keyPem())).startsWith("-----BEGIN EC PRIVATE KEY-----");
        assertThat(Files.readString(all.get(3).keyPem())).startsWith("-----BEGIN RSA PRIVATE KEY-----");
        for (TestPki.Issued issued : List.of(all.get(0), all.get(2), all.get(3))) {
            var ctx = SslContextBuilder.forServer(issued.chainPem().toFile(), issued.keyPem().toFile())
                    .sslProvider(SslProvider.JDK).build();
            assertThat(ctx.isServer()).isTrue();
        }
    }

    @Test
    void validityWindowMakesExpiredAndClientCertificates() throws Exception {
        TestPki pki = TestPki.create(dir, "Unit CA");
        TestPki.Issued expired = pki.certificate("old").dns("localhost")
                .validFor(Instant.now().minus(Duration.ofDays(10)), Duration.ofDays(1)).issue();
        TestPki.Issued client = pki.certificate("alice").clientAuth().issue();

        assertThatThrownBy(expired.certificate()::checkValidity).isInstanceOf(CertificateExpiredException.class);
        assertThat(client.certificate().getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.2");
        assertThat(client.certificate().getSubjectX500Principal().getName()).isEqualTo("CN=alice");
        validate(client.certificate(), pki.caCertificate());
    }

    @Test
    void anotherCaDoesNotValidateTheFirstOnesCertificates() throws Exception {
        TestPki pki = TestPki.create(dir, "Unit CA");
        TestPki other = TestPki.create(dir, "Other CA");
        TestPki.Issued server = pki.certificate("localhost").dns("localhost").issue();
        assertThatThrownBy(() -> validate(server.certificate(), other.caCertificate()))
                .isInstanceOf(java.security.cert.CertPathValidatorException.class);
    }

    private static void validate(X509Certificate leaf, X509Certificate ca) throws Exception {
        PKIXParameters params = new PKIXParameters(Set.of(new TrustAnchor(ca, null)));
        params.setRevocationEnabled(false);
        CertPathValidator.getInstance("PKIX")
                .validate(CertificateFactory.getInstance("X.509").generateCertPath(List.of(leaf)), params);
    }
}
