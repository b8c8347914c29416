package dev.merapi.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.merapi.core.listeners.ListenerConfig;
import dev.merapi.core.services.ListeningService;
import dev.merapi.core.tls.CertificateStore;
import dev.merapi.core.tls.ServerTls;
import dev.merapi.core.tls.TlsCertificate;
import dev.merapi.core.tls.TlsConfigException;
import dev.merapi.testkit.TestPki;
import dev.merapi.testkit.TestServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.x509.CRLReason;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateHolder;
import org.bouncycastle.cert.ocsp.BasicOCSPResp;
import org.bouncycastle.cert.ocsp.BasicOCSPRespBuilder;
import org.bouncycastle.cert.ocsp.CertificateID;
import org.bouncycastle.cert.ocsp.CertificateStatus;
import org.bouncycastle.cert.ocsp.OCSPRespBuilder;
import org.bouncycastle.cert.ocsp.RevokedStatus;
import org.bouncycastle.cert.ocsp.jcajce.JcaBasicOCSPRespBuilder;
import org.bouncycastle.operator.DigestCalculatorProvider;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * OCSP stapling seen by {@code openssl s_client -status}: a DER OCSP response in {@code <certificate file>.ocsp} is
 * stapled to the handshakes that present that certificate, and read again with the certificate. The responses are
 * signed by a responder certificate of the test CA with BouncyCastle.
 */
class TlsOcspStaplingIT {
    @TempDir
    Path dir;
    private TestPki pki;
    private TestPki.Issued localhost;
    private TestPki.Issued responder;
    private Path cert;
    private Path key;
    private final List<AutoCloseable> opened = new ArrayList<>();

    @BeforeEach
    void issue() throws Exception {
        pki = TestPki.create(dir, "Merapi Test CA");
        localhost = pki.certificate("localhost").dns("localhost").ip("127.0.0.1").issue();
        responder = pki.certificate("ocsp responder").issue();
        cert = dir.resolve("site.pem");
        key = dir.resolve("site.key");
        Files.copy(localhost.chainPem(), cert);
        Files.copy(localhost.keyPem(), key);
    }

    @AfterEach
    void closeAll() throws Exception {
        for (int i = opened.size() - 1; i >= 0; i--) {
            opened.get(i).close();
        }
    }

    private TestServer serve(CertificateStore store) {
        ListeningService service = ListeningService.http("ocsp", HttpProxy.of(new TlsListenerIT.TlsEcho()))
                .addListener(ListenerConfig.tcp("127.0.0.1:0").toBuilder().tls(ServerTls.of(store)).build());
        TestServer server = TestServer.start(service);
        opened.add(server);
        return server;
    }

    private String status(TestServer server) throws Exception {
        TlsListenerIT.Run r = TlsListenerIT.run(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + server.port(),
                "-CAfile", pki.caPem().toString(), "-servername", "localhost", "-status"), "Q\n");
        assertThat(r.output()).contains("Verify return code: 0 (ok)");
        return r.output();
    }

    /** A successful OCSP response for {@code subject} with {@code status}, signed by the test responder. */
    private byte[] ocspResponse(X509Certificate subject, CertificateStatus status) throws Exception {
        DigestCalculatorProvider digests = new JcaDigestCalculatorProviderBuilder().build();
        CertificateID id = new CertificateID(digests.get(CertificateID.HASH_SHA1),
                new JcaX509CertificateHolder(pki.caCertificate()), subject.getSerialNumber());
        BasicOCSPRespBuilder b = new JcaBasicOCSPRespBuilder(responder.certificate().getPublicKey(),
                digests.get(CertificateID.HASH_SHA1));
        Date now = new Date();
        b.addResponse(id, status, now, new Date(now.getTime() + 3_600_000L), null);
        String algorithm = "RSA".equals(responder.key().getAlgorithm()) ? "SHA256withRSA" : "SHA256withECDSA";
        BasicOCSPResp basic = b.build(new JcaContentSignerBuilder(algorithm).build(responder.key()),
                new X509CertificateHolder[] {new JcaX509CertificateHolder(responder.certificate())}, now);
        return new OCSPRespBuilder().build(OCSPRespBuilder.SUCCESSFUL, basic).getEncoded();
    }

    @Test
    void anOcspResponseBesideTheCertificateIsStapled() throws Exception {
        Files.write(TlsCertificate.ocspFile(cert), ocspResponse(localhost.certificate(), CertificateStatus.GOOD));
        assertThat(TlsCertificate.ocspFile(cert)).hasFileName("site.pem.ocsp");
        TestServer server = serve(CertificateStore.of(cert, key));
        assertThat(status(server)).contains("OCSP Response Status: successful").contains("Cert Status: good")
                .contains("Subject: CN=ocsp responder");
    }

    @Test
    void withoutAnOcspFileNothingIsStapled() throws Exception {
        TestServer server = serve(CertificateStore.of(cert, key));
        assertThat(status(server)).contains("OCSP response: no response sent");
    }

    @Test
    void theOcspResponseIsReadAgainWithTheCertificate() throws Exception {
        Path ocsp = TlsCertificate.ocspFile(cert);
        Files.write(ocsp, ocspResponse(localhost.certificate(), CertificateStatus.GOOD));
        CertificateStore store = CertificateStore.of(cert, key);
        TestServer server = serve(store);
        assertThat(status(server)).contains("Cert Status: good");

        Files.write(ocsp, ocspResponse(localhost.certificate(), new RevokedStatus(new Date(), CRLReason.superseded)));
        store.reload();
        assertThat(status(server)).contains("Cert Status: revoked");

        Files.delete(ocsp);
        store.reload();
        assertThat(status(server)).contains("OCSP response: no response sent");
    }

    @Test
    void anOcspFileThatIsNotDerIsRefusedNamingTheFileAndTheOldResponseStays() throws Exception {
        Path ocsp = TlsCertificate.ocspFile(cert);
        Files.write(ocsp, ocspResponse(localhost.certificate(), CertificateStatus.GOOD));
        CertificateStore store = CertificateStore.of(cert, key);
        TestServer server = serve(store);

        Files.writeString(ocsp, "not an OCSP response");
        assertThatThrownBy(store::reload).isInstanceOf(TlsConfigException.class)
                .hasMessageContaining("the OCSP response file " + ocsp + " is not a DER-encoded OCSP response");
        assertThat(status(server)).contains("Cert Status: good");
        assertThatThrownBy(() -> TlsCertificate.of(List.of(localhost.certificate()), localhost.key())
                .withOcspResponse(new byte[] {1, 2, 3})).isInstanceOf(TlsConfigException.class);
    }
}
