package dev.merapi.core.internal.tls;

import dev.merapi.core.tls.ServerTls;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.JdkSslContext;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.SupportedCipherSuiteFilter;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import io.netty.util.NetUtil;
import java.io.ByteArrayInputStream;
import java.security.cert.CertPathBuilderException;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client-side TLS contexts of upstream connections: one Netty {@link SslContext} per distinct settings, built once
 * (when the settings are built, off any event loop) and shared by every connection that uses them; never one per
 * connection. The provider is netty-tcnative BoringSSL ({@link SslProvider#OPENSSL}), or the JDK's when the native
 * library cannot load; one log line says which, the first time a context is built.
 *
 * <p>Static and thread-safe. Not API: {@code dev.merapi.core.upstreams.UpstreamTls} is.
 */
public final class ClientTlsContexts {
    private static final Logger log = LoggerFactory.getLogger(ClientTlsContexts.class);

    /**
     * Upstream connections offer what a listener's default does: Mozilla's Server Side TLS guideline 6.0,
     * "intermediate" (TLS 1.2 and 1.3; the TLS 1.3 suites, then ECDHE with AEAD ciphers only for TLS 1.2).
     */
    private static final ServerTls.Preset PRESET = ServerTls.Preset.INTERMEDIATE;

    private static final ConcurrentHashMap<Object, Entry> CONTEXTS = new ConcurrentHashMap<>();
    private static final AtomicBoolean PROVIDER_LOGGED = new AtomicBoolean();

    private ClientTlsContexts() {
    }

    /**
     * What a context is built from: PEM bytes (copied; {@code null} when absent) and flags. Immutable.
     */
    public static final class Recipe {
        /** The recipe of the default settings: verification against the JDK's trust store, ALPN {@code http/1.1}. */
        public static final Recipe DEFAULT = new Recipe(true, null, null, null, List.of("http/1.1"));

        private final boolean verify;
        private final byte @Nullable [] ca;
        private final byte @Nullable [] chain;
        private final byte @Nullable [] key;
        private final List<String> alpn;

        /**
         * @param verify whether the peer's chain and host name are verified
         * @param ca a PEM bundle of CA certificates to trust instead of the JDK's, or {@code null}
         * @param chain the client certificate chain (PEM), or {@code null}
         * @param key the client certificate's private key (PEM), or {@code null}
         * @param alpn the ALPN protocols offered, none for no ALPN
         */
        public Recipe(boolean verify, byte @Nullable [] ca, byte @Nullable [] chain, byte @Nullable [] key, List<String> alpn) {
            this.verify = verify;
            this.ca = ca == null ? null : ca.clone();
            this.chain = chain == null ? null : chain.clone();
            this.key = key == null ? null : key.clone();
            this.alpn = List.copyOf(alpn);
        }
    }

    private record Entry(Recipe recipe, SslContext netty, SSLContext[] jdk) {
    }

    /**
     * Builds the context of {@code settings} unless equal settings have one already.
     *
     * @param settings the immutable settings object, the cache key
     * @throws IllegalArgumentException if the recipe's PEM data is not what it should be
     */
    public static void register(Object settings, Recipe recipe) {
        CONTEXTS.computeIfAbsent(settings, k -> new Entry(recipe, build(recipe, provider()), new SSLContext[1]));
    }

    /** The Netty context of {@code settings}: the one registered, else (the defaults) one built now from {@link Recipe#DEFAULT}. */
    public static SslContext netty(Object settings) {
        return entry(settings).netty;
    }

    /**
     * The Netty context of {@code settings} offering {@code alpn} instead of the protocols its recipe names (the
     * upstream protocol choice decides the offer); built once per settings and offer.
     */
    public static SslContext netty(Object settings, List<String> alpn) {
        Entry e = entry(settings);
        if (e.recipe.alpn.equals(alpn)) {
            return e.netty;
        }
        Recipe r = e.recipe;
        return CONTEXTS.computeIfAbsent(new AlpnKey(settings, List.copyOf(alpn)), k -> {
            Recipe offer = new Recipe(r.verify, r.ca, r.chain, r.key, alpn);
            return new Entry(offer, build(offer, provider()), new SSLContext[1]);
        }).netty;
    }

    /** The cache key of a context that offers other ALPN protocols than its settings' recipe. */
    private record AlpnKey(Object settings, List<String> alpn) {
    }

    /** A JDK context with the trust and client certificate of {@code settings}, for blocking clients; built once. */
    public static SSLContext jdk(Object settings) {
        Entry e = entry(settings);
        synchronized (e.jdk) {
            if (e.jdk[0] == null) {
                e.jdk[0] = ((JdkSslContext) build(e.recipe, SslProvider.JDK)).context();
            }
            return e.jdk[0];
        }
    }

    private static Entry entry(Object settings) {
        Entry e = CONTEXTS.get(settings);
        return e != null ? e : CONTEXTS.computeIfAbsent(settings, k -> new Entry(Recipe.DEFAULT, build(Recipe.DEFAULT, provider()), new SSLContext[1]));
    }

    /**
     * A handler for one connection: SNI {@code sni} (none when it is empty or an IP address), and with verification
     * on, the certificate must name {@code verifyName} (a DNS name or an IP address).
     *
     * @param handshakeTimeout the longest the handshake may take
     */
    public static SslHandler newHandler(SslContext context, ByteBufAllocator alloc, String sni, String verifyName, int port,
            Duration handshakeTimeout) {
        SslHandler handler = context.newHandler(alloc, verifyName, port);
        SSLEngine engine = handler.engine();
        SSLParameters p = engine.getSSLParameters();
        if (!sni.isEmpty() && !NetUtil.isValidIpV4Address(sni) && !NetUtil.isValidIpV6Address(sni)) {
            p.setServerNames(List.of(new SNIHostName(sni)));
        } else {
            p.setServerNames(List.of());
        }
        engine.setSSLParameters(p);
        handler.setHandshakeTimeoutMillis(Math.max(1, handshakeTimeout.toMillis()));
        return handler;
    }

    /**
     * Why a handshake failed, in a few words for a log line: {@code certificate expired}, {@code certificate not yet
     * valid}, {@code unknown CA}, {@code name mismatch}, or the TLS library's own message (a protocol or suite the
     * peer does not share, an alert it sent).
     */
    public static String reason(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof CertificateExpiredException) {
                return "certificate expired";
            }
            if (t instanceof CertificateNotYetValidException) {
                return "certificate not yet valid";
            }
            if (t instanceof CertPathValidatorException v && v.getReason() == CertPathValidatorException.BasicReason.EXPIRED) {
                return "certificate expired";
            }
            if (t instanceof CertPathValidatorException v && v.getReason() == CertPathValidatorException.BasicReason.NOT_YET_VALID) {
                return "certificate not yet valid";
            }
            if (t instanceof CertPathBuilderException) {
                return "unknown CA";
            }
            String m = String.valueOf(t.getMessage());
            if (m.startsWith("No subject alternative") || m.startsWith("No name matching")) {
                return "name mismatch (" + m + ")";
            }
        }
        Throwable last = failure;
        while (last.getCause() != null && last.getCause() != last) {
            last = last.getCause();
        }
        String m = last.getMessage() == null ? last.getClass().getSimpleName() : last.getMessage();
        return m.length() > 200 ? m.substring(0, 200) : m;
    }

    /** Whether {@code failure} is a TLS failure (as opposed to the connection closing or timing out meanwhile). */
    public static boolean isTlsFailure(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof SSLException) {
                return true;
            }
        }
        return false;
    }

    private static SslProvider provider() {
        boolean native_ = OpenSsl.isAvailable();
        if (PROVIDER_LOGGED.compareAndSet(false, true)) {
            if (native_) {
                log.info("upstream TLS uses {} (netty-tcnative)", OpenSsl.versionString());
            } else {
                log.warn("upstream TLS uses the JDK's provider: netty-tcnative could not load ({})",
                        String.valueOf(OpenSsl.unavailabilityCause()).toLowerCase(Locale.ROOT));
            }
        }
        return native_ ? SslProvider.OPENSSL : SslProvider.JDK;
    }

    private static SslContext build(Recipe r, SslProvider provider) {
        try {
            SslContextBuilder b = SslContextBuilder.forClient().sslProvider(provider)
                    .protocols(PRESET.protocols()).ciphers(PRESET.cipherSuites(), SupportedCipherSuiteFilter.INSTANCE);
            if (!r.verify) {
                b.trustManager(InsecureTrustManagerFactory.INSTANCE).endpointIdentificationAlgorithm(null);
            } else {
                b.endpointIdentificationAlgorithm("HTTPS");
                if (r.ca != null) {
                    b.trustManager(new ByteArrayInputStream(r.ca));
                }
            }
            if (r.chain != null) {
                b.keyManager(new ByteArrayInputStream(r.chain), new ByteArrayInputStream(r.key));
            }
            if (!r.alpn.isEmpty()) {
                b.applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                        ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                        ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, r.alpn));
            }
            return b.build();
        } catch (SSLException | IllegalArgumentException e) {
            throw new IllegalArgumentException("invalid upstream TLS settings: " + rootMessage(e), e);
        }
    }

    private static String rootMessage(Throwable e) {
        String m = String.valueOf(e.getMessage());
        for (Throwable t = e.getCause(); t != null; t = t.getCause()) {
            String tm = t.getMessage();
            if (tm != null) {
                m = tm;
            }
        }
        return m;
    }
}
