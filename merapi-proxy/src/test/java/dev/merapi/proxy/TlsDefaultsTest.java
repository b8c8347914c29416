package dev.merapi.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.merapi.core.tls.CertificateStore;
import dev.merapi.core.tls.ServerTls;
import dev.merapi.core.tls.TlsCertificate;
import dev.merapi.core.tls.TicketKeys;
import dev.merapi.core.tls.TlsConfigException;
import dev.merapi.testkit.TestPki;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The TLS defaults and the checks made before anything listens: each test fails if a default is weakened.
 * No sockets; {@link TlsListenerIT} proves the same rules against real clients.
 */
class TlsDefaultsTest {
    @TempDir
    Path dir;
    private TestPki pki;
    private CertificateStore store;

    @BeforeEach
    void issue() {
        pki = TestPki.create(dir, "Defaults CA");
        TestPki.Issued localhost = pki.certificate("localhost").dns("localhost").issue();
        store = CertificateStore.of(localhost.chainPem(), localhost.keyPem());
    }

    @Test
    void theDefaultIsMozillaIntermediateTls12And13WithTheSixEcdheAeadSuitesAndNoDhe() {
        ServerTls tls = ServerTls.of(store);

        assertThat(tls.preset()).isEqualTo(ServerTls.Preset.INTERMEDIATE);
        assertThat(tls.effectiveProtocols()).containsExactly("TLSv1.3", "TLSv1.2");
        assertThat(tls.effectiveCipherSuites()).containsExactly("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                "TLS_CHACHA20_POLY1305_SHA256",
                "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");
        assertThat(tls.effectiveCipherSuites()).noneMatch(s -> s.contains("DHE_RSA") && !s.contains("ECDHE"));
        assertThat(tls.legacy()).isFalse();
    }

    @Test
    void theModernPresetIsTls13Only() {
        ServerTls tls = ServerTls.builder(store).preset(ServerTls.Preset.MODERN).build();

        assertThat(tls.effectiveProtocols()).containsExactly("TLSv1.3");
        assertThat(tls.effectiveCipherSuites()).allMatch(s -> s.startsWith("TLS_AES_") || s.startsWith("TLS_CHACHA20_"));
    }

    @Test
    void theOtherDefaultsAreATenSecondHandshakeTimeoutNoClientCertificateTicketsOnAndAlpnH2ThenHttp11() {
        ServerTls tls = ServerTls.of(store);

        assertThat(tls.handshakeTimeout()).isEqualTo(Duration.ofSeconds(10));
        assertThat(tls.clientAuth()).isEqualTo(ServerTls.ClientAuth.NONE);
        assertThat(tls.sessionTickets()).isTrue();
        assertThat(tls.alpn()).isEqualTo(ServerTls.Alpn.HTTP2_AND_HTTP1);
        assertThat(tls.alpn().offered()).containsExactly("h2", "http/1.1");
        assertThat(tls.effectiveGroups()).containsExactly("X25519MLKEM768", "X25519", "P-256", "P-384");
    }

    @Test
    void ticketKeysAreMadeInMemoryAndRotatedEveryTwelveHoursByDefaultWithOneSecondAtLeast() {
        ServerTls tls = ServerTls.of(store);
        assertThat(tls.ticketKeys()).isEqualTo(TicketKeys.DEFAULT);
        assertThat(tls.ticketKeys().file()).isEmpty();
        assertThat(tls.ticketKeys().interval()).isEqualTo(Duration.ofHours(12));
        assertThat(TicketKeys.fromFile(Path.of("ticket.keys")).interval()).isEqualTo(Duration.ofSeconds(10));
        assertThatThrownBy(() -> TicketKeys.rotating(Duration.ofMillis(999))).isInstanceOf(TlsConfigException.class)
                .hasMessageContaining("rotation period must be at least 1 s");
        assertThatThrownBy(() -> TicketKeys.fromFile(Path.of("ticket.keys"), Duration.ZERO))
                .isInstanceOf(TlsConfigException.class).hasMessageContaining("check interval must be at least 1 s");
    }

    @Test
    void askingForTls11OrTls10WithoutTheLegacySwitchIsAStartupError() {
        assertThatThrownBy(() -> ServerTls.builder(store).protocols(List.of("TLSv1.2", "TLSv1.1")).build())
                .isInstanceOf(TlsConfigException.class).hasMessageContaining("TLSv1.1 is below TLS 1.2")
                .hasMessageContaining("legacy(true)");
        assertThatThrownBy(() -> ServerTls.builder(store).protocols(List.of("TLSv1")).build())
                .isInstanceOf(TlsConfigException.class);
        assertThatThrownBy(() -> ServerTls.builder(store).protocols(List.of("SSLv3")).build())
                .isInstanceOf(TlsConfigException.class);
    }

    @Test
    void askingForANonAeadOrNonEcdheSuiteWithoutTheLegacySwitchIsAStartupError() {
        for (String suite : List.of("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "TLS_RSA_WITH_AES_128_GCM_SHA256",
                "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", "TLS_RSA_WITH_RC4_128_SHA")) {
            assertThatThrownBy(() -> ServerTls.builder(store).cipherSuites(List.of(suite)).build()).as(suite)
                    .isInstanceOf(TlsConfigException.class).hasMessageContaining(suite)
                    .hasMessageContaining("not an AEAD suite with forward secrecy");
        }
    }

    @Test
    void theLegacySwitchAllowsOldProtocolsAndSuites() {
        ServerTls tls = ServerTls.builder(store).legacy(true).protocols(List.of("TLSv1.1"))
                .cipherSuites(List.of("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA")).build();

        assertThat(tls.effectiveProtocols()).containsExactly("TLSv1.1");
    }

    @Test
    void clientCertificatesNeedACaBundleAndAlpnOffersH2WhenAskedTo() {
        assertThatThrownBy(() -> new ServerTls(store, ServerTls.Preset.INTERMEDIATE, List.of(), List.of(), List.of(), false,
                ServerTls.Alpn.HTTP1, ServerTls.ClientAuth.REQUIRED, Optional.empty(), Duration.ofSeconds(10), true,
                TicketKeys.DEFAULT, Optional.empty())).isInstanceOf(TlsConfigException.class).hasMessageContaining("CA bundle");
        assertThat(ServerTls.builder(store).alpn(ServerTls.Alpn.HTTP2).build().alpn().offered()).containsExactly("h2");
        assertThat(ServerTls.builder(store).alpn(ServerTls.Alpn.HTTP1).build().alpn().offered()).containsExactly("http/1.1");
        assertThat(ServerTls.builder(store).alpn(ServerTls.Alpn.HTTP2_AND_HTTP1).build().alpn().offered())
                .containsExactly("h2", "http/1.1");
    }

    @Test
    void expiredAndNotYetValidCertificatesAreRefused() {
        TestPki.Issued expired = pki.certificate("old").dns("localhost")
                .validFor(Instant.now().minus(Duration.ofDays(10)), Duration.ofDays(1)).issue();
        TestPki.Issued future = pki.certificate("future").dns("localhost")
                .validFor(Instant.now().plus(Duration.ofDays(10)), Duration.ofDays(10)).issue();

        assertThatThrownBy(() -> TlsCertificate.load(expired.chainPem(), expired.keyPem()))
                .isInstanceOf(TlsConfigException.class).hasMessageContaining("expired");
        assertThatThrownBy(() -> TlsCertificate.load(future.chainPem(), future.keyPem()))
                .isInstanceOf(TlsConfigException.class).hasMessageContaining("not valid before");
    }

    @Test
    void rsaAndEcdsaKeysLoadAsPkcs8AndAsTraditionalPem() throws Exception {
        for (TestPki.CertificateSpec spec : List.of(pki.certificate("ec8").dns("a.test"),
                pki.certificate("ec1").dns("a.test").traditionalKey(), pki.certificate("rsa8").dns("a.test").rsa(),
                pki.certificate("rsa1").dns("a.test").rsa().traditionalKey())) {
            TestPki.Issued issued = spec.issue();
            TlsCertificate c = TlsCertificate.load(issued.chainPem(), issued.keyPem());
            assertThat(c.names()).containsExactly("a.test");
            assertThat(c.sha256()).isEqualTo(issued.sha256());
        }
        String pkcs1 = Files.readString(pki.certificate("check").rsa().traditionalKey().issue().keyPem());
        assertThat(pkcs1).contains("BEGIN RSA PRIVATE KEY");
    }

    @Test
    void aMismatchedKeyIsRefusedWithoutQuotingTheKey() throws Exception {
        TestPki.Issued a = pki.certificate("a").dns("a.test").issue();
        TestPki.Issued b = pki.certificate("b").dns("b.test").issue();
        String keyBody = Files.readString(b.keyPem()).lines().filter(l -> !l.startsWith("-----")).findFirst().orElseThrow();

        assertThatThrownBy(() -> TlsCertificate.load(a.chainPem(), b.keyPem())).isInstanceOf(TlsConfigException.class)
                .hasMessageContaining("does not match").hasMessageNotContaining(keyBody.substring(0, 20));
        assertThat(TlsCertificate.load(b.chainPem(), b.keyPem()).toString()).doesNotContain(keyBody.substring(0, 20));
    }

    @Test
    void sniSelectionPrefersTheExactNameThenOneLevelOfWildcardThenTheDefault() {
        TestPki.Issued exact = pki.certificate("exact").dns("api.example.com").issue();
        TestPki.Issued wild = pki.certificate("wild").dns("*.example.com").issue();
        CertificateStore s = CertificateStore.builder().add(store.defaultCertificate()).add(exact.chainPem(), exact.keyPem())
                .add(wild.chainPem(), wild.keyPem()).build();
        String def = s.defaultCertificate().leaf().getSubjectX500Principal().getName();

        assertThat(cn(s.select("api.example.com"))).isEqualTo("CN=exact");
        assertThat(cn(s.select("API.Example.COM."))).isEqualTo("CN=exact");
        assertThat(cn(s.select("www.example.com"))).isEqualTo("CN=wild");
        assertThat(cn(s.select("a.b.example.com"))).isEqualTo(def);
        assertThat(cn(s.select("example.com"))).isEqualTo(def);
        for (String odd : new String[] {null, "", ".", "..example.com", "a..b", "bad name", "x\u0000.example.com",
                "*.example.com", "é.example.com", "a".repeat(300)}) {
            assertThat(cn(s.select(odd))).as(String.valueOf(odd)).isEqualTo(def);
        }
    }

    private static String cn(TlsCertificate c) {
        return c.leaf().getSubjectX500Principal().getName();
    }
}
