package dev.merapi.core.internal.tls;

import dev.merapi.core.listeners.ConnectionStage;
import dev.merapi.core.security.SecurityEvents;
import dev.merapi.core.tls.ClientIdentity;
import dev.merapi.core.tls.TlsCertificate;
import dev.merapi.core.tls.TlsInfo;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.ssl.NotSslRecordException;
import io.netty.handler.ssl.SniCompletionEvent;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.Serial;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.jspecify.annotations.Nullable;

/**
 * Watches one connection's TLS handshake: closes it when the handshake takes longer than the timeout (counted from
 * the moment the connection is active, so a client that sends nothing is dropped), records a failed or abandoned
 * handshake as a security event, and once the handshake succeeds stores the {@link TlsInfo}, removes itself and lets
 * the connection on to the next stage.
 *
 * <p>Security-event rules: {@code tls-handshake-timeout}, {@code tls-not-tls} (bytes that are not a TLS record),
 * {@code tls-protocol-version}, {@code tls-no-shared-cipher}, {@code tls-client-certificate} (missing or not
 * verified), {@code tls-certificate-selection}, {@code tls-handshake-incomplete} (the client closed half-way) and
 * {@code tls-handshake-failed} (any other alert). No secret reaches the log.
 *
 * <p>One per connection; every method runs on the connection's event loop.
 */
final class TlsHandshakeHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(TlsHandshakeHandler.class);
    static final String TIMEOUT = "tls-handshake-timeout";
    static final String NOT_TLS = "tls-not-tls";
    static final String PROTOCOL = "tls-protocol-version";
    static final String CIPHER = "tls-no-shared-cipher";
    static final String CLIENT_CERTIFICATE = "tls-client-certificate";
    static final String SELECTION = "tls-certificate-selection";
    static final String INCOMPLETE = "tls-handshake-incomplete";
    static final String FAILED = "tls-handshake-failed";

    private final ConnectionStage.Next next;
    private final long timeoutNanos;
    private @Nullable ScheduledFuture<?> timer;
    private @Nullable String serverName;
    private long startMillis;
    private boolean finished; // succeeded, or failed and recorded
    private boolean succeeded;

    TlsHandshakeHandler(ConnectionStage.Next next, long timeoutNanos) {
        this.next = next;
        this.timeoutNanos = timeoutNanos;
    }

    /** A certificate selection that failed; carried to the handshake's failure as its cause. Stackless. */
    static final class SelectionFailure extends RuntimeException {
        @Serial
        private static final long serialVersionUID = 1L;

        SelectionFailure(Throwable cause) {
            super("certificate selection failed: " + cause.getClass().getSimpleName(), cause, false, false);
        }
    }

    @Override
    public boolean isSharable() {
        return false;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        if (ctx.channel().isActive()) {
            start(ctx);
        }
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        start(ctx);
        ctx.fireChannelActive();
    }

    private void start(ChannelHandlerContext ctx) {
        if (timer == null) {
            startMillis = System.currentTimeMillis();
            timer = ctx.executor().schedule(() -> fail(ctx, TIMEOUT, null), timeoutNanos, TimeUnit.NANOSECONDS);
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof SniCompletionEvent sni) {
            serverName = sni.hostname();
            if (!sni.isSuccess()) {
                fail(ctx, classify(sni.cause()), sni.cause());
            }
            return;
        }
        if (evt instanceof SslHandshakeCompletionEvent done) {
            if (done.isSuccess()) {
                succeed(ctx);
            } else {
                fail(ctx, classify(done.cause()), done.cause());
            }
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (succeeded) {
            ctx.fireExceptionCaught(cause);
        } else {
            fail(ctx, classify(cause), cause); // once per connection; later errors of a failed handshake add nothing
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (!finished) {
            fail(ctx, INCOMPLETE, null);
        }
        ctx.fireChannelInactive();
    }

    private void succeed(ChannelHandlerContext ctx) {
        if (finished) {
            return;
        }
        finished = true;
        succeeded = true;
        cancelTimer();
        SslHandler ssl = ctx.pipeline().get(SslHandler.class);
        if (ssl != null) {
            ctx.channel().attr(TlsAttributes.INFO).set(info(ssl));
        }
        ctx.pipeline().remove(this);
        if (!next.install(ctx.channel())) {
            ctx.close();
        }
    }

    private void fail(ChannelHandlerContext ctx, String rule, @Nullable Throwable cause) {
        if (finished) {
            return;
        }
        finished = true;
        cancelTimer();
        if (log.isDebugEnabled()) {
            log.debug("TLS handshake from {} failed ({}): {}", ctx.channel().remoteAddress(), rule,
                    cause == null ? "-" : cause.toString());
        }
        SecurityEvents.record(rule, ctx.channel().remoteAddress(), ctx.channel().localAddress(), 0);
        ctx.close();
    }

    private void cancelTimer() {
        if (timer != null) {
            timer.cancel(false);
        }
    }

    private TlsInfo info(SslHandler ssl) {
        SSLSession session = ssl.engine().getSession();
        Optional<ClientIdentity> client = Optional.empty();
        try {
            Certificate[] peer = session.getPeerCertificates();
            if (peer.length > 0 && peer[0] instanceof X509Certificate leaf) {
                client = Optional.of(new ClientIdentity(leaf.getSubjectX500Principal().getName(),
                        TlsCertificate.subjectAltNames(leaf), TlsCertificate.fingerprint(leaf)));
            }
        } catch (SSLPeerUnverifiedException e) {
            client = Optional.empty(); // no client certificate: mTLS off, or optional and not sent
        }
        // a resumed session keeps the creation time of the handshake that made it (whole seconds in BoringSSL)
        boolean resumed = session.getCreationTime() < (startMillis / 1000) * 1000;
        return new TlsInfo(session.getProtocol(), session.getCipherSuite(),
                Optional.ofNullable(serverName).map(n -> n.toLowerCase(Locale.ROOT)),
                Optional.ofNullable(ssl.applicationProtocol()), resumed, client);
    }

    /** The security-event rule of a handshake failure, from its cause's type and the TLS library's alert text. */
    static String classify(Throwable cause) {
        Throwable t = cause;
        while (t instanceof DecoderException && t.getCause() != null) {
            t = t.getCause();
        }
        if (t == null) {
            return FAILED;
        }
        if (t instanceof NotSslRecordException) {
            return NOT_TLS;
        }
        if (t instanceof SelectionFailure || (t.getCause() instanceof SelectionFailure)) {
            return SELECTION;
        }
        String m = String.valueOf(t.getMessage()).toUpperCase(Locale.ROOT);
        if (m.contains("CERTIFICATE") || m.contains("PEER_DID_NOT_RETURN") || m.contains("CERT_") || m.contains("PKIX")) {
            return CLIENT_CERTIFICATE;
        }
        if (m.contains("PROTOCOL_VERSION") || m.contains("UNSUPPORTED_PROTOCOL") || m.contains("VERSION")) {
            return PROTOCOL;
        }
        if (m.contains("NO_SHARED_CIPHER") || m.contains("NO SHARED CIPHER") || m.contains("NO_CIPHER")
                || m.contains("NO APPROPRIATE CIPHER") || m.contains("HANDSHAKE_FAILURE_ON_CLIENT_HELLO")) {
            return CIPHER;
        }
        if (m.contains("CLOSED") || m.contains("EOF")) {
            return INCOMPLETE;
        }
        return FAILED;
    }
}
