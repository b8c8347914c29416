package dev.merapi.core.internal.tls;

import dev.merapi.core.tls.ServerTls;
import dev.merapi.core.tls.TlsCertificate;
import dev.merapi.core.tls.TlsConfigException;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.IdentityCipherSuiteFilter;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.OpenSslContextOption;
import io.netty.handler.ssl.OpenSslServerContext;
import io.netty.handler.ssl.OpenSslSessionTicketKey;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.ReferenceCountedOpenSslEngine;
import io.netty.handler.ssl.SslProvider;
import io.netty.internal.tcnative.SSL;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Netty {@link SslContext}s of one TLS listener, one per certificate, built from its {@link ServerTls}: with
 * BoringSSL (netty-tcnative) when the native library loads, else with the JDK's TLS.
 *
 * <p>Thread-safe. {@link #forCertificate} is called on event loops: a hit is a map read; the contexts are rebuilt
 * (a few milliseconds) at the first handshake after the certificates were reloaded.
 */
public final class TlsContexts {
    private static final Logger log = LoggerFactory.getLogger(TlsContexts.class);
    /** Most contexts kept for certificates a selector made that the store does not hold. */
    private static final int MAX_EXTRA = 256;
    private static final SecureRandom RANDOM = new SecureRandom();

    private final ServerTls tls;
    private final SslProvider provider;
    private final List<String> groups;
    private final OpenSslSessionTicketKey ticketKey;
    private volatile Built built;
    private final ConcurrentHashMap<TlsCertificate, SslContext> extra = new ConcurrentHashMap<>();

    /** The contexts of one generation of the store's certificates. */
    private record Built(long generation, Map<TlsCertificate, SslContext> contexts) {
    }

    /**
     * Builds the contexts of every certificate of {@code tls} now, so that bad settings stop the start.
     *
     * @throws TlsConfigException if a setting is refused by the TLS library (an unknown suite or group, an unreadable
     *     client CA bundle)
     */
    public TlsContexts(ServerTls tls) {
        this.tls = tls;
        this.provider = OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK;
        this.groups = provider == SslProvider.OPENSSL ? supportedGroups(tls) : List.of();
        byte[] k = new byte[48];
        RANDOM.nextBytes(k);
        this.ticketKey = new OpenSslSessionTicketKey(java.util.Arrays.copyOfRange(k, 0, 16),
                java.util.Arrays.copyOfRange(k, 16, 32), java.util.Arrays.copyOfRange(k, 32, 48));
        this.built = build(tls.certificates().generation(), tls.certificates().certificates());
    }

    /** Which TLS library serves: {@code BoringSSL (netty-tcnative)} or the JDK's. */
    public String providerName() {
        return provider == SslProvider.OPENSSL ? "BoringSSL (netty-tcnative)" : "JDK (netty-tcnative did not load)";
    }

    /** Whether the native library is in use. */
    public boolean isNative() {
        return provider == SslProvider.OPENSSL;
    }

    /** The key-exchange groups set on the contexts, most preferred first; empty when the JDK's defaults apply. */
    public List<String> groups() {
        return groups;
    }

    /** The context serving {@code certificate}; builds one for a certificate the store does not hold. */
    public SslContext forCertificate(TlsCertificate certificate) {
        Built b = built;
        long generation = tls.certificates().generation();
        if (b.generation != generation) {
            b = rebuild(generation);
        }
        SslContext c = b.contexts.get(certificate);
        if (c != null) {
            return c;
        }
        if (extra.size() >= MAX_EXTRA) {
            extra.clear();
        }
        return extra.computeIfAbsent(certificate, this::context);
    }

    /**
     * Readies the engine of one connection before its handshake: with session tickets off, tells BoringSSL not to issue
     * or accept any (per connection: tcnative 2.0.84's context-wide option call crashes the JVM).
     */
    public void prepare(SSLEngine engine) {
        if (!tls.sessionTickets() && engine instanceof ReferenceCountedOpenSslEngine openssl) {
            synchronized (openssl) { // the engine's own lock, which its native calls take
                SSL.setOptions(openssl.sslPointer(), SSL.SSL_OP_NO_TICKET);
            }
        }
    }

    private synchronized Built rebuild(long generation) {
        Built b = built;
        if (b.generation != generation) {
            b = build(generation, tls.certificates().certificates());
            built = b;
        }
        return b;
    }

    private Built build(long generation, List<TlsCertificate> certificates) {
        Map<TlsCertificate, SslContext> out = new IdentityHashMap<>();
        for (TlsCertificate c : certificates) {
            out.put(c, context(c));
        }
        return new Built(generation, out);
    }

    private SslContext context(TlsCertificate certificate) {
        return context(certificate, groups);
    }

    private SslContext context(TlsCertificate certificate, List<String> groupList) {
        try {
            SslContextBuilder b = SslContextBuilder.forServer(certificate.privateKey(),
                            certificate.chain().toArray(X509Certificate[]::new))
                    .sslProvider(provider)
                    .protocols(tls.effectiveProtocols())
                    .ciphers(tls.effectiveCipherSuites(), IdentityCipherSuiteFilter.INSTANCE)
                    .applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                            ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                            ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, tls.alpn().offered()));
            switch (tls.clientAuth()) {
                case NONE -> b.clientAuth(ClientAuth.NONE);
                case OPTIONAL -> b.clientAuth(ClientAuth.OPTIONAL);
                case REQUIRED -> b.clientAuth(ClientAuth.REQUIRE);
            }
            if (tls.clientCa().isPresent()) {
                b.trustManager(tls.clientCa().get().toFile());
            }
            if (provider == SslProvider.OPENSSL && !groupList.isEmpty()) {
                b.option(OpenSslContextOption.GROUPS, groupList.toArray(String[]::new));
            }
            SslContext context = b.build();
            if (context instanceof OpenSslServerContext openssl) {
                if (tls.sessionTickets()) {
                    openssl.sessionContext().setTicketKeys(ticketKey);
                } else {
                    openssl.sessionContext().setSessionCacheEnabled(false); // and no tickets: see #prepare
                }
            } else if (!tls.sessionTickets()) {
                context.sessionContext().setSessionCacheSize(1);
                context.sessionContext().setSessionTimeout(1);
            }
            return context;
        } catch (SSLException | RuntimeException e) {
            if (e instanceof TlsConfigException t) {
                throw t;
            }
            throw new TlsConfigException("TLS settings refused by " + providerName() + " for " + certificate + ": "
                    + e.getMessage(), e);
        }
    }

    /**
     * The groups to set: the explicit list as given (a group the library lacks is an error then), or the default
     * list without the groups this BoringSSL build does not know.
     */
    private static List<String> supportedGroups(ServerTls tls) {
        if (!tls.groups().isEmpty()) {
            return tls.groups();
        }
        List<String> out = new ArrayList<>();
        for (String g : ServerTls.DEFAULT_GROUPS) {
            if (groupSupported(g)) {
                out.add(g);
            }
        }
        return List.copyOf(out);
    }

    private static final Map<String, Boolean> GROUP_SUPPORT = new ConcurrentHashMap<>();

    private static boolean groupSupported(String group) {
        return GROUP_SUPPORT.computeIfAbsent(group, g -> {
            try {
                SslContext probe = SslContextBuilder.forClient().sslProvider(SslProvider.OPENSSL)
                        .option(OpenSslContextOption.GROUPS, new String[] {g}).build();
                io.netty.util.ReferenceCountUtil.release(probe);
                return true;
            } catch (SSLException | RuntimeException e) {
                log.debug("key-exchange group {} is not supported by this BoringSSL build: {}", g, e.getMessage());
                return false;
            }
        });
    }
}
