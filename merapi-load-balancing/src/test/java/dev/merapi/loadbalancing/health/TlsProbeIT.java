package dev.merapi.loadbalancing.health;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.core.upstreams.UpstreamTls;
import dev.merapi.loadbalancing.Backend;
import dev.merapi.loadbalancing.BackendStatus;
import dev.merapi.loadbalancing.LoadBalancer;
import dev.merapi.loadbalancing.selection.SelectionAlgorithm;
import dev.merapi.testkit.TestPki;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Probe#tls()} and an {@link HttpProbe} over TLS against a small TLS origin on loopback (the JDK's TLS server
 * with a certificate for {@code good.test} from a throw-away CA): the backend's CA and name decide, as they do for
 * proxied requests.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TlsProbeIT {
    @TempDir
    static Path dir;
    private static TestPki pki;
    private static SSLServerSocket server;
    private static Thread acceptor;
    private static final AtomicInteger handshakes = new AtomicInteger();

    @BeforeAll
    static void startTlsOrigin() throws Exception {
        pki = TestPki.create(dir, "Probe CA");
        TestPki.Issued cert = pki.certificate("good").dns("good.test").issue();
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("good", cert.key(), new char[0], new Certificate[] {cert.certificate(), pki.caCertificate()});
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, new char[0]);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), null, null);
        server = (SSLServerSocket) ctx.getServerSocketFactory().createServerSocket(0, 50, InetAddress.getLoopbackAddress());
        acceptor = Thread.ofVirtual().start(() -> {
            while (!server.isClosed()) {
                try {
                    SSLSocket s = (SSLSocket) server.accept();
                    Thread.ofVirtual().start(() -> answer(s));
                } catch (IOException e) {
                    return;
                }
            }
        });
    }

    private static void answer(SSLSocket s) {
        try (s) {
            s.setSoTimeout(5000);
            s.startHandshake();
            handshakes.incrementAndGet();
            InputStream in = s.getInputStream();
            int matched = 0;
            int c;
            while (matched < 4 && (c = in.read()) >= 0) { // up to the end of the request head
                matched = (c == '\r' && matched % 2 == 0) || (c == '\n' && matched % 2 == 1) ? matched + 1 : 0;
            }
            OutputStream out = s.getOutputStream();
            out.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok".getBytes(StandardCharsets.US_ASCII));
            out.flush();
        } catch (IOException e) {
            // a refused handshake: what the failing checks expect
        }
    }

    @AfterAll
    static void stop() throws Exception {
        if (server != null) {
            server.close();
            acceptor.join(5000);
        }
    }

    private static BackendStatus checkOnce(Backend b, Probe probe) throws InterruptedException {
        LoadBalancer lb = LoadBalancer.builder(SelectionAlgorithm.roundRobin()).backends(List.of(b))
                .healthCheck(HealthCheck.builder(probe).timeout(Duration.ofSeconds(5)).rise(1).fall(1).build()).build();
        lb.runHealthChecks();
        return lb.status(b.name()).orElseThrow();
    }

    private static Backend.Builder backend(String sni) {
        return Backend.builder("127.0.0.1:" + server.getLocalPort()).tls(true).sni(sni);
    }

    @Test
    void tlsProbePassesWhenTheBackendsCaVouchesForItsName() throws Exception {
        int before = handshakes.get();
        BackendStatus s = checkOnce(backend("good.test").upstreamTls(UpstreamTls.builder().trustedCa(pki.caPem()).build()).build(), Probe.tls());

        assertThat(s.healthy()).as(s.lastCheck()).isTrue();
        // the probe may finish its side of the handshake before the backend's thread returns from its own
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
        while (handshakes.get() <= before && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(handshakes.get()).isGreaterThan(before);
    }

    @Test
    void tlsProbeFailsACertificateForAnotherName() throws Exception {
        BackendStatus s = checkOnce(backend("other.test").upstreamTls(UpstreamTls.builder().trustedCa(pki.caPem()).build()).build(), Probe.tls());

        assertThat(s.healthy()).isFalse();
        assertThat(s.lastCheck()).contains("other.test");
    }

    @Test
    void tlsProbeTrustsOnlyTheJdkTrustStoreByDefault() throws Exception {
        BackendStatus s = checkOnce(backend("good.test").build(), Probe.tls());

        assertThat(s.healthy()).isFalse();
        assertThat(s.lastCheck()).contains("PKIX");
    }

    @Test
    void tlsProbeOfAnInsecureBackendAcceptsAnyCertificate() throws Exception {
        BackendStatus s = checkOnce(backend("other.test").upstreamTls(UpstreamTls.builder().insecure().build()).build(), Probe.tls());

        assertThat(s.healthy()).as(s.lastCheck()).isTrue();
    }

    @Test
    void httpProbeOfATlsBackendSpeaksHttpOverTls() throws Exception {
        BackendStatus s = checkOnce(backend("good.test").upstreamTls(UpstreamTls.builder().trustedCa(pki.caPem()).build()).build(),
                HttpProbe.of("/healthz"));

        assertThat(s.healthy()).as(s.lastCheck()).isTrue();
    }
}
