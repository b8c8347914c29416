package dev.merapi.examples.tls;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.core.listeners.ListenerConfig;
import dev.merapi.core.services.ListeningService;
import dev.merapi.proxy.HttpProxy;
import dev.merapi.testkit.MockOrigin;
import dev.merapi.testkit.RecordedRequest;
import dev.merapi.testkit.TestPki;
import dev.merapi.testkit.TestServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The TLS proxy example with real TLS clients: the verified client subject reaches the origin, a forged one never. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TlsProxyTest {
    @TempDir
    Path dir;
    private MockOrigin origin;
    private TestPki pki;
    private TestServer server;

    @BeforeEach
    void start() {
        origin = MockOrigin.start();
        pki = TestPki.create(dir, "Example CA");
        TestPki.Issued cert = pki.certificate("localhost").dns("localhost").ip("127.0.0.1").issue();
        HttpProxy<Void> proxy = HttpProxy.of(new TlsProxy("127.0.0.1:" + origin.port()));
        server = TestServer.start(ListeningService.http("tls", proxy).addListener(ListenerConfig.tcp("127.0.0.1:0")
                .toBuilder().tls(TlsProxy.tls(cert.chainPem(), cert.keyPem(), pki.caPem())).build()))
                .checkClosedOnStop(proxy.connector()::openConnections);
    }

    @AfterEach
    void stop() {
        server.close();
        origin.close();
    }

    private HttpClient client(TestPki.Issued clientCert) throws Exception {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("ca", pki.caCertificate());
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        KeyManagerFactory kmf = null;
        if (clientCert != null) {
            KeyStore keys = KeyStore.getInstance("PKCS12");
            keys.load(null, null);
            keys.setKeyEntry("client", clientCert.key(), new char[0], new Certificate[] {clientCert.certificate()});
            kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(keys, new char[0]);
        }
        SSLContext ssl = SSLContext.getInstance("TLS");
        ssl.init(kmf == null ? null : kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).sslContext(ssl)
                .connectTimeout(Duration.ofSeconds(5)).build();
    }

    private HttpResponse<String> get(HttpClient client, String path, String forgedSubject) throws Exception {
        HttpRequest.Builder r = HttpRequest.newBuilder(URI.create("https://localhost:" + server.port() + path))
                .timeout(Duration.ofSeconds(20));
        if (forgedSubject != null) {
            r.header(TlsProxy.CLIENT_SUBJECT, forgedSubject);
        }
        try (client) {
            return client.send(r.build(), HttpResponse.BodyHandlers.ofString());
        }
    }

    @Test
    void aClientCertificateSubjectReachesTheOriginAndAForgedOneIsDropped() throws Exception {
        TestPki.Issued dave = pki.certificate("dave").clientAuth().issue();

        assertThat(get(client(dave), "/private/report", "CN=admin").statusCode()).isEqualTo(200);
        RecordedRequest seen = origin.takeRequest(Duration.ofSeconds(10));
        assertThat(seen.header(TlsProxy.CLIENT_SUBJECT)).hasValue("CN=dave");
    }

    @Test
    void withoutAClientCertificatePublicPathsPassAndPrivateOnesGet403() throws Exception {
        HttpResponse<String> open = get(client(null), "/public", "CN=admin");
        assertThat(open.statusCode()).isEqualTo(200);
        assertThat(origin.takeRequest(Duration.ofSeconds(10)).header(TlsProxy.CLIENT_SUBJECT)).isEmpty();

        HttpResponse<String> closed = get(client(null), "/private/report", null);
        assertThat(closed.statusCode()).isEqualTo(403);
        assertThat(origin.requests()).hasSize(1);
    }
}
