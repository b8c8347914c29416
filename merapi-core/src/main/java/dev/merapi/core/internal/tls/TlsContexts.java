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
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Netty {@link SslContext}s of one TLS listener, one per certificate, built from its {@link ServerTls}: with
 * BoringSSL (netty-tcnative) when the native library loads, else with the JDK's TLS.
 *
 * <p>With session tickets on and BoringSSL, it also owns the listener's ticket keys ({@link TicketKeyRing}): a task
 * on a daemon scheduler shared by all listeners rotates them, or reads their file again when it changed, and sets
 * them on every context; {@link #close()} stops it (the server calls it when the listener's socket closes).
 *
 * <p>Thread-safe. {@link #forCertificate} is called on event loops: a hit is a map read; the contexts are rebuilt
 * (a few milliseconds) at the first handshake after the certificates were reloaded. Ticket keys change off the event
 * loops, under the contexts' own native lock.
 */
public final class TlsContexts implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(TlsContexts.class);
    /** Most contexts kept for certificates a selector made that the store does not hold. */
    private static final int MAX_EXTRA = 256;
    private static final ScheduledExecutorService TICKET_KEYS = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().daemon().name("merapi-tls-ticket-keys").factory());

    private final ServerTls tls;
    private final SslProvider provider;
    private final List<String> groups;
    private final @Nullable TicketKeyRing ring;
    private volatile OpenSslSessionTicketKey[] ticketKeys;
    private final @Nullable ScheduledFuture<?> keyTask;
    private volatile Built built;
    private final ConcurrentHashMap<TlsCertificate, SslContext> extra = new ConcurrentHashMap<>();
    /** The OCSP response each context staples, by context identity; only contexts of certificates that have one. */
    private final Map<SslContext, byte[]> ocsp = java.util.Collections.synchronizedMap(new java.util.WeakHashMap<>());

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
        this.ring = tls.sessionTickets() && provider == SslProvider.OPENSSL ? TicketKeyRing.of(tls.ticketKeys()) : null;
        this.ticketKeys = ring == null ? new OpenSslSessionTicketKey[0] : ring.keys().toArray(OpenSslSessionTicketKey[]::new);
        this.built = build(tls.certificates().generation(), tls.certificates().certificates());
        long every = tls.ticketKeys().interval().toMillis();
        this.keyTask = ring == null ? null : TICKET_KEYS.scheduleWithFixedDelay(this::updateTicketKeys, every, every,
                TimeUnit.MILLISECONDS);
    }

    /** Where the ticket keys come from, for the start log; never the keys. */
    public String ticketKeysDescription() {
        if (!tls.sessionTickets()) {
            return "off";
        }
        return ring == null ? "on, keys managed by the JDK" : "on, keys " + tls.ticketKeys().describe();
    }

    /** Stops rotating or reading the ticket keys; the contexts keep serving with the keys they have. */
    @Override
    public void close() {
        if (keyTask != null) {
            keyTask.cancel(false);
        }
    }

    /** Rotates the made keys or reads the key file again, and sets the new keys on every context. Off the loops. */
    private void updateTicketKeys() {
        TicketKeyRing r = ring;
        if (r == null) {
            return;
        }
        try {
            if (tls.ticketKeys().file().isPresent()) {
                if (!r.refreshFromFile()) {
                    return;
                }
                log.info("session-ticket keys read again from {} after a change", tls.ticketKeys().file().get());
            } else {
                r.rotate();
                log.debug("session-ticket keys rotated");
            }
            setTicketKeys(r.keys().toArray(OpenSslSessionTicketKey[]::new));
        } catch (TlsConfigException e) {
            log.error("session-ticket keys not changed, the previous keys stay in use: {}", e.getMessage());
        } catch (RuntimeException e) {
            log.error("session-ticket keys not changed, the previous keys stay in use", e);
        }
    }

    private synchronized void setTicketKeys(OpenSslSessionTicketKey[] keys) {
        ticketKeys = keys;
        for (SslContext c : built.contexts.values()) {
            applyTicketKeys(c, keys);
        }
        for (SslContext c : extra.values()) {
            applyTicketKeys(c, keys);
        }
    }

    private static void applyTicketKeys(SslContext context, OpenSslSessionTicketKey[] keys) {
        if (context instanceof OpenSslServerContext openssl) {
            openssl.sessionContext().setTicketKeys(keys);
        }
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
        // built with the keys of the moment; one built while the keys change may miss that change until the next
        // one, and then issues tickets with a key that still decrypts: no handshake fails for it
        return extra.computeIfAbsent(certificate, this::context);
    }

    /**
     * Readies the engine of one connection before its handshake: with session tickets off, tells BoringSSL not to issue
     * or accept any (per connection: tcnative 2.0.84's context-wide option call crashes the JVM); when the certificate
     * of {@code context} has an OCSP response, staples it.
     */
    public void prepare(SSLEngine engine, SslContext context) {
        if (!(engine instanceof ReferenceCountedOpenSslEngine openssl)) {
            return;
        }
        if (!tls.sessionTickets()) {
            synchronized (openssl) { // the engine's own lock, which its native calls take
                SSL.setOptions(openssl.sslPointer(), SSL.SSL_OP_NO_TICKET);
            }
        }
        byte[] response = ocsp.get(context);
        if (response != null) {
            openssl.setOcspResponse(response);
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
            Optional<byte[]> response = provider == SslProvider.OPENSSL ? certificate.ocspResponse() : Optional.empty();
            if (response.isPresent()) {
                b.enableOcsp(true);
            }
            SslContext context = b.build();
            response.ifPresent(r -> ocsp.put(context, r));
            if (context instanceof OpenSslServerContext openssl) {
                if (tls.sessionTickets()) {
                    openssl.sessionContext().setTicketKeys(ticketKeys);
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
