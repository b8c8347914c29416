package dev.merapi.core.internal.tls;

import dev.merapi.core.listeners.ConnectionStage;
import dev.merapi.core.listeners.ListenerConfig;
import dev.merapi.core.tls.CertificateStore;
import dev.merapi.core.tls.ServerTls;
import dev.merapi.core.tls.TlsCertificate;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.handler.ssl.SniHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.AsyncMapping;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import java.util.Locale;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The TLS stage of a listener: for each accepted connection it adds an {@link SniHandler} (which reads the
 * ClientHello, picks the certificate by SNI or through the {@link dev.merapi.core.tls.CertificateSelector}, and
 * replaces itself with an {@link SslHandler}) and a {@link TlsHandshakeHandler} that enforces the handshake timeout,
 * records a failed handshake as a security event, and calls the next stage once the handshake succeeded.
 *
 * <p>Made once per TLS listener when the server binds it; shared by every connection of that listener; closed (which
 * stops its ticket-key rotation) when the listener's socket closes. Its
 * {@link #install} runs on the listener's event loop and only adds two handlers.
 */
public final class TlsStage implements ConnectionStage, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(TlsStage.class);

    private final ServerTls tls;
    private final TlsContexts contexts;
    private final long timeoutNanos;
    private final AsyncMapping<String, SslContext> mapping;

    private TlsStage(ServerTls tls, TlsContexts contexts) {
        this.tls = tls;
        this.contexts = contexts;
        this.timeoutNanos = tls.handshakeTimeout().toNanos();
        this.mapping = tls.selector().isEmpty() ? this::fromStore : this::fromSelector;
    }

    /**
     * The stage of a listener; builds its TLS contexts now and logs which provider, preset and certificates it serves.
     *
     * @throws dev.merapi.core.tls.TlsConfigException if the TLS library refuses a setting
     */
    public static TlsStage of(ServerTls tls, ListenerConfig listener) {
        TlsContexts contexts = new TlsContexts(tls);
        if (tls.legacy()) {
            log.warn("listener {}: TLS legacy mode is on: protocols {} and suites {} may include ones below TLS 1.2 or "
                    + "without AEAD and forward secrecy", ListenerConfig.describe(listener.address()), tls.effectiveProtocols(),
                    tls.effectiveCipherSuites());
        }
        log.info("listener {}: TLS with {}, preset {}, protocols {}, groups {}, ALPN {}, client certificates {}, "
                + "handshake timeout {} ms, session tickets {}, certificates [{}]",
                ListenerConfig.describe(listener.address()), contexts.providerName(), tls.preset().name().toLowerCase(Locale.ROOT),
                tls.effectiveProtocols(), contexts.groups().isEmpty() ? "(JDK defaults)" : contexts.groups(), tls.alpn().offered(),
                tls.clientAuth().name().toLowerCase(Locale.ROOT), tls.handshakeTimeout().toMillis(),
                contexts.ticketKeysDescription(), describe(tls.certificates()));
        return new TlsStage(tls, contexts);
    }

    private static String describe(CertificateStore store) {
        return store.certificates().stream()
                .map(c -> c.leaf().getSubjectX500Principal().getName() + " " + c.names() + " until " + c.notAfter()
                        + (c.ocspResponse().isPresent() ? " with an OCSP response" : ""))
                .collect(Collectors.joining("; "));
    }

    /** The settings. */
    public ServerTls tls() {
        return tls;
    }

    /** Stops the listener's ticket-key rotation; called when its listening socket closes. */
    @Override
    public void close() {
        contexts.close();
    }

    /** The TLS library in use, for logs and tests. */
    public String providerName() {
        return contexts.providerName();
    }

    @Override
    public boolean install(Channel channel, Next next) {
        channel.pipeline().addLast("tls-sni", new SniHandler(mapping, 0) {
            @Override
            protected SslHandler newSslHandler(SslContext context, ByteBufAllocator allocator) {
                SslHandler h = super.newSslHandler(context, allocator);
                contexts.prepare(h.engine(), context);
                h.setHandshakeTimeoutMillis(0); // the TlsHandshakeHandler times the whole handshake, ClientHello included
                return h;
            }
        });
        channel.pipeline().addLast("tls-handshake", new TlsHandshakeHandler(next, timeoutNanos));
        return true;
    }

    private Future<SslContext> fromStore(String serverName, Promise<SslContext> promise) {
        try {
            return promise.setSuccess(contexts.forCertificate(tls.certificates().select(serverName)));
        } catch (RuntimeException e) {
            return promise.setFailure(new TlsHandshakeHandler.SelectionFailure(e));
        }
    }

    private Future<SslContext> fromSelector(String serverName, Promise<SslContext> promise) {
        try {
            tls.selector().orElseThrow()
                    .select(CertificateStore.normalizeServerName(serverName), tls.certificates())
                    .whenComplete((TlsCertificate c, Throwable e) -> {
                        if (e != null || c == null) {
                            promise.tryFailure(new TlsHandshakeHandler.SelectionFailure(
                                    e != null ? e : new IllegalStateException("the certificate selector gave no certificate")));
                            return;
                        }
                        try {
                            promise.trySuccess(contexts.forCertificate(c));
                        } catch (RuntimeException ex) {
                            promise.tryFailure(new TlsHandshakeHandler.SelectionFailure(ex));
                        }
                    });
        } catch (RuntimeException e) {
            promise.tryFailure(new TlsHandshakeHandler.SelectionFailure(e));
        }
        return promise;
    }
}
