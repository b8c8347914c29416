package dev.merapi.core.internal.tls;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.core.upstreams.UpstreamTls;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateExpiredException;
import java.time.Duration;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.Test;

/** The defaults of every upstream TLS context: provider, protocols, suites, verification, SNI. */
class ClientTlsContextsTest {
    /** Runs {@code check} on the engine of a new handler for these settings, then releases the engine. */
    private static void withEngine(UpstreamTls tls, String sni, String verifyName, java.util.function.Consumer<SSLEngine> check) {
        SslContext context = ClientTlsContexts.netty(tls);
        SslHandler h = ClientTlsContexts.newHandler(context, UnpooledByteBufAllocator.DEFAULT, sni, verifyName, 443, Duration.ofSeconds(5));
        try {
            check.accept(h.engine());
        } finally {
            ReferenceCountUtil.release(h.engine());
        }
    }

    @Test
    void boringSslIsTheProviderWhenTheNativeLibraryLoads() {
        assertThat(OpenSsl.isAvailable()).as("netty-tcnative loads here").isTrue();
        assertThat(ClientTlsContexts.netty(UpstreamTls.DEFAULT).getClass().getSimpleName()).contains("OpenSsl");
        assertThat(OpenSsl.versionString()).contains("BoringSSL");
    }

    @Test
    void onlyTls12And13AreEnabledByDefault() {
        withEngine(UpstreamTls.DEFAULT, "origin.test", "origin.test", e -> {
            // Netty's OpenSSL engine always lists the SSLv2Hello pseudo-protocol, a hello format BoringSSL never sends
            assertThat(e.getEnabledProtocols()).filteredOn(p -> !p.equals("SSLv2Hello")).containsExactlyInAnyOrder("TLSv1.2", "TLSv1.3");
        });
    }

    @Test
    void onlyEcdheAeadSuitesAreEnabledByDefault() {
        withEngine(UpstreamTls.DEFAULT, "origin.test", "origin.test", e -> {
            assertThat(e.getEnabledCipherSuites()).isNotEmpty().allSatisfy(s -> {
                assertThat(s).matches(x -> x.contains("GCM") || x.contains("CHACHA20_POLY1305"), "an AEAD suite");
                assertThat(s).matches(x -> x.startsWith("TLS_AES") || x.startsWith("TLS_CHACHA20") || x.startsWith("TLS_ECDHE_"),
                        "TLS 1.3 or ECDHE key exchange");
            });
        });
    }

    @Test
    void theHostNameIsVerifiedByDefaultAndTheSniIsSent() {
        withEngine(UpstreamTls.DEFAULT, "sni.test", "verify.test", e -> {
            assertThat(e.getSSLParameters().getEndpointIdentificationAlgorithm()).isEqualTo("HTTPS");
            assertThat(e.getPeerHost()).isEqualTo("verify.test");
            assertThat(e.getSSLParameters().getServerNames()).containsExactly(new SNIHostName("sni.test"));
        });
    }

    @Test
    void noSniIsSentForAnIpAddress() {
        withEngine(UpstreamTls.DEFAULT, "127.0.0.1", "127.0.0.1", e -> {
            assertThat(e.getSSLParameters().getServerNames()).isEmpty();
        });
    }

    @Test
    void anInsecurePeerSkipsHostNameVerification() {
        withEngine(UpstreamTls.builder().insecure().build(), "sni.test", "sni.test", e -> {
            assertThat(e.getSSLParameters().getEndpointIdentificationAlgorithm()).isNullOrEmpty();
        });
    }

    @Test
    void equalSettingsShareOneContext() {
        assertThat(ClientTlsContexts.netty(UpstreamTls.builder().build())).isSameAs(ClientTlsContexts.netty(UpstreamTls.DEFAULT));
        assertThat(ClientTlsContexts.netty(UpstreamTls.builder().insecure().build())).isNotSameAs(ClientTlsContexts.netty(UpstreamTls.DEFAULT));
    }

    @Test
    void failureReasonsAreNamed() {
        assertThat(ClientTlsContexts.reason(new SSLHandshakeException("x", new CertificateExpiredException("NotAfter"))))
                .isEqualTo("certificate expired");
        assertThat(ClientTlsContexts.reason(new SSLHandshakeException("x", new CertPathValidatorException("validity check failed",
                null, null, -1, CertPathValidatorException.BasicReason.EXPIRED)))).isEqualTo("certificate expired");
        assertThat(ClientTlsContexts.reason(new SSLHandshakeException("x",
                new java.security.cert.CertPathBuilderException("unable to find valid certification path")))).isEqualTo("unknown CA");
        assertThat(ClientTlsContexts.reason(new SSLHandshakeException("x",
                new java.security.cert.CertificateException("No name matching a.test found")))).startsWith("name mismatch");
        assertThat(ClientTlsContexts.isTlsFailure(new java.io.IOException("reset"))).isFalse();
    }
}
