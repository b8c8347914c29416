package dev.merapi.core.connectors;

import dev.merapi.core.internal.tls.ClientTlsContexts;
import dev.merapi.core.listeners.Transport;
import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.core.upstreams.UpstreamProtocol;
import dev.merapi.core.upstreams.UpstreamTls;
import dev.merapi.error.ErrorSource;
import dev.merapi.error.ErrorType;
import dev.merapi.error.ProxyError;
import dev.merapi.error.Retry;
import dev.merapi.http.Http1Limits;
import dev.merapi.pool.ConnectionPool;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.EventLoop;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeTimeoutException;
import io.netty.util.concurrent.FastThreadLocal;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnknownHostException;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes and pools upstream connections. A connection is always made on the event loop of the downstream
 * session that needs it and pooled on that loop, so neither side needs locks (DESIGN.md §3).
 *
 * <p>A TLS peer ({@link HttpPeer#tls()}) gets a connection whose handshake has completed before it is handed out, with
 * the peer's {@link dev.merapi.core.upstreams.UpstreamTls} settings: SNI sent, chain and host name verified unless the
 * peer opted out. A failed handshake is a {@code TLS_HANDSHAKE_FAILURE} naming the reason (certificate expired, unknown
 * CA, name mismatch…), never retried: another attempt would meet the same certificate. The handshake must finish
 * within the peer's connect timeout, else the attempt is a CONNECT_TIMEOUT, retried like a connect. Merapi never downgrades a TLS peer to plain text.
 *
 * <p>{@link #connect} first takes the most recently used idle connection for the peer's reuse key; only
 * when there is none does it open a new one. Host names are resolved on a virtual thread, never on a loop.
 *
 * <p>A peer whose {@link dev.merapi.core.upstreams.PeerOptions#protocol()} asks for HTTP/2 gets a stream on an HTTP/2
 * connection of this loop instead (docs/http2.md, "Upstream HTTP/2"): one that has room under both stream limits and
 * has not received GOAWAY, else one being set up, else a new one, at most {@value #MAX_H2_CONNECTIONS_PER_KEY} per loop
 * and reuse key. An {@link dev.merapi.core.upstreams.UpstreamProtocol#HTTP2_PREFERRED} peer whose origin picks
 * HTTP/1.1 by ALPN is remembered, and is offered only HTTP/1.1 for the next 10 minutes (then h2 again, in case the
 * origin gained it); at most 4,096 such peers are remembered, the least recently used forgotten first. The {@code pooled} flag of
 * {@link #connect(HttpPeer, EventLoop, boolean)} does not apply to HTTP/2: a connection that failed is not available.
 */
public final class Connector {
    private static final Logger log = LoggerFactory.getLogger(Connector.class);
    private final int maxIdlePerLoop;
    private final Http1Limits limits;
    private final Executor resolver = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("merapi-resolve-", 0).factory());
    private final FastThreadLocal<ConnectionPool<HttpPeer.ReuseKey, Http1ClientConnection>> pools = new FastThreadLocal<>();
    private final FastThreadLocal<Http2Pool> h2Pools = new FastThreadLocal<>();
    /** Reuse keys of peers that prefer h2 but chose HTTP/1.1 by ALPN: spoken to in HTTP/1.1 without asking again. */
    private final FallbackMemory<HttpPeer.ReuseKey> h1Only = FallbackMemory.withDefaults();
    private final Set<Channel> open = ConcurrentHashMap.newKeySet();
    private final LongAdder reused = new LongAdder();
    private final LongAdder fresh = new LongAdder();
    private final LongAdder failed = new LongAdder();
    private final LongAdder spliced = new LongAdder();
    private final boolean splice;
    private final int maxSplicePipesPerLoop;
    private final FastThreadLocal<SplicePipes> splicePipes = new FastThreadLocal<>();
    private final AtomicInteger splicePipesHeld = new AtomicInteger();
    private final LongAdder copiedOverPipeCap = new LongAdder();

    /**
     * A connector whose connections use the transport of the event loop each is opened on ({@link Transport#of}), which
     * is the transport of the server the caller runs in: there is no second transport setting that could differ.
     *
     * @param maxIdlePerLoop the most idle connections each event loop keeps
     * @param limits limits for parsing responses
     * @param splice whether response bodies may be spliced ({@link ClientSession#spliceBody}); only on epoll loops.
     *     Connections on epoll then read response heads in pieces of at most {@value #HEAD_READ_BYTES} bytes, so that
     *     a large body stays in the socket for the kernel to move.
     * @param maxSplicePipesPerLoop the most client connections of each event loop that may hold a splice pipe (two
     *     file descriptors, kept until the connection closes); above it a body is copied through the JVM
     * @throws IllegalArgumentException if {@code maxSplicePipesPerLoop} is negative
     */
    public Connector(int maxIdlePerLoop, Http1Limits limits, boolean splice, int maxSplicePipesPerLoop) {
        if (maxSplicePipesPerLoop < 0) {
            throw new IllegalArgumentException("maxSplicePipesPerLoop must not be negative: " + maxSplicePipesPerLoop);
        }
        this.maxIdlePerLoop = maxIdlePerLoop;
        this.limits = limits;
        this.splice = splice && maxSplicePipesPerLoop > 0;
        this.maxSplicePipesPerLoop = maxSplicePipesPerLoop;
    }

    /** How many client connections of one event loop may hold a splice pipe, unless configured otherwise. */
    public static final int DEFAULT_SPLICE_PIPES_PER_LOOP = 256;

    /** The most HTTP/2 connections one event loop opens to one reuse key; above it a request fails (502). */
    public static final int MAX_H2_CONNECTIONS_PER_KEY = 64;

    /** The largest read while a response head is awaited, when bodies may be spliced. */
    public static final int HEAD_READ_BYTES = 4096;

    /**
     * Gets a connection to {@code peer} on {@code loop}: a pooled one if there is one, else a new one.
     * Must be called on {@code loop}; the future completes there.
     *
     * @return a future of the session; it fails with a {@link ProxyError} (CONNECT_REFUSED, CONNECT_TIMEOUT,
     *     CONNECT_ERROR), marked retryable since nothing was sent
     */
    public Future<ClientSession> connect(HttpPeer peer, EventLoop loop) {
        return connect(peer, loop, true);
    }

    /**
     * Gets a connection to {@code peer} on {@code loop}, taking a pooled one only if {@code pooled}. A retry after a
     * pooled connection failed asks for a new one: its siblings in the pool are likely stale too, and each would
     * cost an attempt. Must be called on {@code loop}; the future completes there.
     *
     * @see #connect(HttpPeer, EventLoop)
     */
    public Future<ClientSession> connect(HttpPeer peer, EventLoop loop, boolean pooled) {
        if (speaksH2(peer)) {
            Promise<ClientSession> promise = loop.newPromise();
            dispatchH2(peer, loop, promise);
            return promise;
        }
        ConnectionPool<HttpPeer.ReuseKey, Http1ClientConnection> pool = pool(loop);
        Http1ClientConnection idle;
        while (pooled && (idle = pool.acquire(peer.reuseKey()).orElse(null)) != null) {
            if (idle.isOpen()) {
                reused.increment();
                idle.begin(true);
                return loop.newSucceededFuture(idle);
            }
            idle.close();
        }
        Promise<ClientSession> promise = loop.newPromise();
        resolveThenOpen(peer, loop, pool, null, promise::tryFailure, promise);
        return promise;
    }

    /** Resolves the peer's host name if it has one (on a virtual thread), then opens a connection on {@code loop}. */
    private void resolveThenOpen(HttpPeer peer, EventLoop loop, ConnectionPool<HttpPeer.ReuseKey, Http1ClientConnection> pool,
            @Nullable Http2ClientConnection h2, Consumer<ProxyError> onFailure, @Nullable Promise<ClientSession> promise) {
        SocketAddress address = peer.address();
        if (address instanceof InetSocketAddress inet && inet.isUnresolved()) {
            resolver.execute(() -> {
                try {
                    InetAddress ip = InetAddress.getByName(inet.getHostString());
                    InetSocketAddress resolved = new InetSocketAddress(ip, inet.getPort());
                    loop.execute(() -> open(peer, resolved, loop, pool, h2, onFailure, promise));
                } catch (UnknownHostException e) {
                    failed.increment();
                    ProxyError error = ProxyError.because(ErrorType.Kind.CONNECT_ERROR, ErrorSource.UPSTREAM,
                            "cannot resolve " + inet.getHostString(), e).withRetry(Retry.YES);
                    loop.execute(() -> onFailure.accept(error));
                }
            });
        } else {
            open(peer, address, loop, pool, h2, onFailure, promise);
        }
    }

    /**
     * Opens a connection: HTTP/1.1 for {@code promise} when {@code h2} is null, else the socket (and TLS) of {@code h2},
     * which becomes HTTP/2 unless a peer that prefers h2 chose HTTP/1.1 by ALPN.
     */
    private void open(HttpPeer peer, SocketAddress address, EventLoop loop,
            ConnectionPool<HttpPeer.ReuseKey, Http1ClientConnection> pool, @Nullable Http2ClientConnection h2,
            Consumer<ProxyError> onFailure, @Nullable Promise<ClientSession> promise) {
        boolean domain = Transport.isDomain(address);
        Transport transport = Transport.of(loop);
        Http1ClientConnection conn = new Http1ClientConnection(peer, this, pool, limits);
        SslContext tls = peer.tls() ? tlsContext(peer, h2 != null) : null;
        Bootstrap b = new Bootstrap()
                .group(loop)
                .channel(transport.channel(domain))
                .option(ChannelOption.AUTO_READ, false)
                .option(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, peer.options().connectTimeout().toMillis()))
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        if (tls != null) {
                            int port = address instanceof InetSocketAddress inet ? inet.getPort() : -1;
                            ch.pipeline().addLast("tls", ClientTlsContexts.newHandler(tls, ch.alloc(), peer.tlsServerName(),
                                    peer.tlsVerifyName(), port, peer.options().connectTimeout()));
                        }
                        if (h2 == null) {
                            ch.pipeline().addLast("http1-client", conn);
                        }
                    }
                });
        if (!domain) {
            b.option(ChannelOption.TCP_NODELAY, true).option(ChannelOption.SO_KEEPALIVE, true);
            if (splice && tls == null && h2 == null && transport == Transport.EPOLL) { // a TLS connection's bytes are encrypted: never spliced
                b.option(ChannelOption.RCVBUF_ALLOCATOR, new HeadFirstAllocator(conn));
            }
        }
        ChannelFuture f = b.connect(transport.nativeAddress(address));
        f.addListener((ChannelFutureListener) cf -> {
            if (!cf.isSuccess()) {
                failed.increment();
                onFailure.accept(connectError(peer, cf.cause()));
            } else if (tls == null) {
                ready(cf.channel(), peer, conn, h2, promise);
            } else {
                cf.channel().pipeline().get(SslHandler.class).handshakeFuture().addListener(hf -> {
                    if (hf.isSuccess()) {
                        ready(cf.channel(), peer, conn, h2, promise);
                    } else {
                        failed.increment();
                        cf.channel().close();
                        onFailure.accept(handshakeError(peer, hf.cause()));
                    }
                });
            }
        });
    }

    /** A connection is up (through its TLS handshake): HTTP/1.1 goes to {@code promise}, HTTP/2 is set up. */
    private void ready(Channel ch, HttpPeer peer, Http1ClientConnection conn, @Nullable Http2ClientConnection h2,
            @Nullable Promise<ClientSession> promise) {
        if (h2 == null) {
            connected(conn, Objects.requireNonNull(promise, "promise"));
            return;
        }
        SslHandler ssl = ch.pipeline().get(SslHandler.class);
        String chosen = ssl == null ? "h2" : Objects.requireNonNullElse(ssl.applicationProtocol(), "");
        if ("h2".equals(chosen)) {
            fresh.increment();
            h2.install(ch, limits.maxHeaderBytes());
            return;
        }
        if (peer.options().protocol() == UpstreamProtocol.HTTP2) {
            failed.increment();
            ch.close();
            h2.connectFailed(ProxyError.explain(ErrorType.Kind.TLS_HANDSHAKE_FAILURE, ErrorSource.UPSTREAM,
                    peer + " did not choose h2 by ALPN (" + (chosen.isEmpty() ? "no ALPN" : chosen) + "); its protocol is set to h2"));
            return;
        }
        if (h1Only.remember(peer.reuseKey())) {
            log.info("upstream-h2-fallback: {} chose {} over h2; HTTP/1.1 is spoken to it from now on", peer,
                    chosen.isEmpty() ? "no ALPN protocol" : chosen);
        }
        ch.pipeline().addLast("http1-client", conn);
        opened(ch);
        h2.fellBack(conn);
    }

    /** A new HTTP/1.1 connection goes to {@code promise}, or is closed if nobody waits for it any more. */
    void connected(Http1ClientConnection conn, Promise<ClientSession> promise) {
        fresh.increment();
        conn.begin(false);
        if (!promise.trySuccess(conn)) {
            conn.abort();
        }
    }

    private boolean speaksH2(HttpPeer peer) {
        return switch (peer.options().protocol()) {
            case HTTP1 -> false;
            case HTTP2 -> true;
            case HTTP2_PREFERRED -> peer.tls() && !h1Only.contains(peer.reuseKey());
        };
    }

    /**
     * The TLS context of {@code peer}: its settings, offering by ALPN what its protocol choice allows, and only HTTP/1.1
     * for a connection opened as HTTP/1.1 ({@code h2} false), even if the fallback memory expired since it was chosen.
     */
    private SslContext tlsContext(HttpPeer peer, boolean h2) {
        UpstreamProtocol p = peer.options().protocol();
        if (p == UpstreamProtocol.HTTP1) {
            return ClientTlsContexts.netty(peer.upstreamTls());
        }
        return ClientTlsContexts.netty(peer.upstreamTls(), h2 ? p.alpn() : List.of(UpstreamTls.HTTP_1_1));
    }

    /**
     * Gives {@code promise} a stream on an HTTP/2 connection to {@code peer}: on one that can take it, else by waiting
     * for one being set up, else on a new one, up to {@value #MAX_H2_CONNECTIONS_PER_KEY} per loop and reuse key.
     */
    private void dispatchH2(HttpPeer peer, EventLoop loop, Promise<ClientSession> promise) {
        Http2Pool pool = h2Pool(loop);
        HttpPeer.ReuseKey key = peer.reuseKey();
        Http2ClientConnection c = pool.available(key).orElse(null);
        if (c != null) {
            c.openStream(promise);
            return;
        }
        c = pool.settingUp(key).orElse(null);
        if (c != null) {
            c.enqueue(promise);
            return;
        }
        if (pool.count(key) >= MAX_H2_CONNECTIONS_PER_KEY) {
            promise.tryFailure(ProxyError.explain(ErrorType.Kind.CONNECT_ERROR, ErrorSource.UPSTREAM, "all "
                    + MAX_H2_CONNECTIONS_PER_KEY + " h2 connections to " + peer + " on this event loop are at their stream limit"));
            return;
        }
        Http2ClientConnection fresh = new Http2ClientConnection(peer, this, pool, loop);
        pool.add(key, fresh);
        fresh.enqueue(promise);
        resolveThenOpen(peer, loop, pool(loop), fresh, fresh::connectFailed, null);
    }

    /** Serves {@code promise} again from the start: its HTTP/2 connection could not take it after all. */
    void redispatch(HttpPeer peer, EventLoop loop, Promise<ClientSession> promise) {
        if (speaksH2(peer)) {
            dispatchH2(peer, loop, promise);
        } else {
            connect(peer, loop).addListener(f -> {
                if (f.isSuccess()) {
                    ClientSession s = (ClientSession) f.getNow();
                    if (!promise.trySuccess(s)) {
                        s.abort();
                    }
                } else {
                    promise.tryFailure(f.cause());
                }
            });
        }
    }

    /** Counts a stream opened on an HTTP/2 connection: a reuse unless it was the connection's first. */
    void streamOpened(boolean reusedConnection) {
        if (reusedConnection) {
            reused.increment();
        }
    }

    private Http2Pool h2Pool(EventLoop loop) {
        if (!loop.inEventLoop()) {
            throw new IllegalStateException("connect must be called on the event loop it connects on");
        }
        Http2Pool pool = h2Pools.getIfExists();
        if (pool == null) {
            pool = new Http2Pool();
            h2Pools.set(pool);
        }
        return pool;
    }

    /**
     * A failed handshake: one that did not finish in time is a CONNECT_TIMEOUT (504), retried like a connect; a TLS failure (verification, no shared protocol or suite, an alert) is not retried, since
     * another attempt would meet the same peer; the connection closing or timing out during the handshake is, as a
     * failed connect is, since no byte of the request was sent.
     */
    private static ProxyError handshakeError(HttpPeer peer, Throwable cause) {
        if (cause instanceof SslHandshakeTimeoutException) {
            return ProxyError.because(ErrorType.Kind.CONNECT_TIMEOUT, ErrorSource.UPSTREAM, "TLS handshake with " + peer
                    + " did not finish within the connect timeout", cause).withRetry(Retry.YES);
        }
        if (!ClientTlsContexts.isTlsFailure(cause)) {
            return ProxyError.because(ErrorType.Kind.TLS_HANDSHAKE_FAILURE, ErrorSource.UPSTREAM,
                    "TLS handshake with " + peer + " did not complete: " + ClientTlsContexts.reason(cause), cause).withRetry(Retry.YES);
        }
        return ProxyError.because(ErrorType.Kind.TLS_HANDSHAKE_FAILURE, ErrorSource.UPSTREAM,
                "TLS handshake with " + peer + " failed: " + ClientTlsContexts.reason(cause), cause);
    }

    private static ProxyError connectError(HttpPeer peer, Throwable cause) {
        ErrorType.Kind kind;
        if (cause instanceof ConnectTimeoutException) {
            kind = ErrorType.Kind.CONNECT_TIMEOUT;
        } else if (cause instanceof ConnectException || String.valueOf(cause.getMessage()).contains("refused")) {
            kind = ErrorType.Kind.CONNECT_REFUSED;
        } else {
            kind = ErrorType.Kind.CONNECT_ERROR;
        }
        return ProxyError.because(kind, ErrorSource.UPSTREAM, "cannot connect to " + peer, cause).withRetry(Retry.YES);
    }

    private ConnectionPool<HttpPeer.ReuseKey, Http1ClientConnection> pool(EventLoop loop) {
        if (!loop.inEventLoop()) {
            throw new IllegalStateException("connect must be called on the event loop it connects on");
        }
        ConnectionPool<HttpPeer.ReuseKey, Http1ClientConnection> pool = pools.getIfExists();
        if (pool == null) {
            pool = new ConnectionPool<>(maxIdlePerLoop, Http1ClientConnection::close);
            loop.scheduleAtFixedRate(pool::evictExpired, 1, 1, TimeUnit.SECONDS);
            pools.set(pool);
        }
        return pool;
    }

    void opened(Channel ch) {
        if (open.add(ch)) {
            ch.closeFuture().addListener(f -> open.remove(ch));
        }
    }

    /** How many upstream connections are open now, idle or busy. */
    public int openConnections() {
        int n = 0;
        for (Channel ch : open) {
            if (ch.isOpen()) {
                n++;
            }
        }
        return n;
    }

    /** How many requests were sent on a pooled connection. */
    public long reusedConnections() {
        return reused.sum();
    }

    /** Whether this connector splices response bodies, on the connections of epoll loops. */
    boolean splices() {
        return splice;
    }

    void spliced() {
        spliced.increment();
    }

    /** The splice pipes of {@code loop}, the caller's loop. */
    SplicePipes splicePipes(EventLoop loop) {
        if (!loop.inEventLoop()) {
            throw new IllegalStateException("splice pipes are counted on their own event loop");
        }
        SplicePipes pipes = splicePipes.getIfExists();
        if (pipes == null) {
            pipes = new SplicePipes(maxSplicePipesPerLoop, splicePipesHeld, copiedOverPipeCap);
            splicePipes.set(pipes);
        }
        return pipes;
    }

    /** How many client connections hold a splice pipe now (two file descriptors each), over all event loops. */
    public int splicePipes() {
        return splicePipesHeld.get();
    }

    /** How many response bodies were copied through the JVM because their loop's splice pipes were all taken. */
    public long copiedOverSplicePipeCap() {
        return copiedOverPipeCap.sum();
    }

    /** How many response bodies went from an upstream socket to a client socket by {@code splice}, never through the JVM. */
    public long splicedBodies() {
        return spliced.sum();
    }

    /** How many new connections were opened. */
    public long newConnections() {
        return fresh.sum();
    }

    /** How many connection attempts failed. */
    public long failedConnections() {
        return failed.sum();
    }

    /** The share of requests that reused a pooled connection, 0 to 1 (1 when there were none). */
    public double reuseRatio() {
        long r = reused.sum();
        long total = r + fresh.sum();
        return total == 0 ? 1.0 : (double) r / total;
    }
}
