package dev.merapi.proxy;

import dev.merapi.core.protocols.ServerSession;
import dev.merapi.core.protocols.ErrorResponses;
import dev.merapi.core.tls.TlsInfo;
import dev.merapi.core.tunnels.TunnelStats;
import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.http.HeaderNames;
import dev.merapi.http.RequestHeader;
import dev.merapi.http.ResponseHeader;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.EventLoop;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import org.jspecify.annotations.Nullable;

/**
 * One proxied request as the phases see it: the downstream request, ways to answer it, and what happened
 * so far (the peer, the status written, byte counts).
 *
 * <p>Threading: use it only on its {@link #eventLoop()}, which is where every phase runs.
 */
public final class Session {
    private static final Executor OFFLOAD = Executors.newThreadPerTaskExecutor(
            Thread.ofVirtual().name("merapi-offload-", 0).factory());

    private final ServerSession downstream;
    private final long startNanos = System.nanoTime();
    private final Instant startTime = Instant.now(); // one small object per request; the wall clock read once
    private @Nullable ResponseHeader responseHeader;
    private @Nullable HttpPeer peer;
    private int retries;
    private long requestBodyBytes;
    private long maxRequestBody = Long.MAX_VALUE;
    private long responseBodyBytes;
    private boolean upstreamReused;
    private boolean upgrade;
    private @Nullable TunnelStats tunnel;

    Session(ServerSession downstream) {
        this.downstream = downstream;
    }

    /**
     * Whether the request asks to switch protocols ({@code Connection: upgrade}, {@code Upgrade: websocket} and the
     * like) and the proxy will pass that on: a genuine upgrade request (HTTP/1.1, GET, no body, one {@code Upgrade}
     * header, or an HTTP/2 extended CONNECT of RFC 8441, which arrives as one), to a protocol {@link TunnelOptions}
     * allows. Then {@code Connection: upgrade} and {@code Upgrade} go
     * upstream, and if the origin answers {@code 101} the connection becomes a tunnel once {@code responseFilter} has
     * run; {@code logging} runs when the tunnel ends, with {@link #tunnelStats()}.
     */
    public boolean isUpgrade() {
        return upgrade;
    }

    /**
     * Forwards this upgrade request as a plain request, without {@code Upgrade}: the origin cannot switch protocols,
     * and its answer is relayed as any response is. Call it from {@code requestFilter} or earlier; a filter that
     * rather refuses outright answers the request itself (426 or 403, say).
     */
    public void refuseUpgrade() {
        upgrade = false;
    }

    /**
     * What the tunnel carried, once it ended: set before {@code logging} for a request that became a tunnel (a
     * WebSocket or other upgrade after the origin's 101, or a CONNECT); empty for every other request. Its bytes are
     * also counted in {@link #requestBodyBytes()} (client to upstream) and {@link #responseBodyBytes()} (upstream to
     * client), so an access log of those counts covers tunnels too.
     */
    public Optional<TunnelStats> tunnelStats() {
        return Optional.ofNullable(tunnel);
    }

    /** The downstream request; phases may change it in place. */
    public RequestHeader requestHeader() {
        return downstream.request();
    }

    /**
     * Whether the request may be sent again after an origin may have acted on it (RFC 9110 §9.2.2), by the rule the
     * engine's own retries follow: PUT, and GET, HEAD, OPTIONS, TRACE and DELETE without a body. A phase that marks an
     * error {@link dev.merapi.error.Retry#YES} opts the request into a retry, so it should ask this first.
     */
    public boolean isRequestIdempotent() {
        return RetryRule.idempotent(downstream.request().method(), downstream.hasRequestBody());
    }

    /** The protocol session underneath (HTTP/1.1 today, HTTP/2 later). */
    public ServerSession downstream() {
        return downstream;
    }

    /** The client's address. */
    public SocketAddress clientAddress() {
        return downstream.clientAddress();
    }

    /** The local address the request arrived on. */
    public SocketAddress serverAddress() {
        return downstream.serverAddress();
    }

    /**
     * What the downstream connection's TLS handshake established: version, cipher suite, SNI, ALPN, resumption and the
     * verified client certificate (mTLS); empty on a plain connection. The same in every phase of the request.
     */
    public Optional<TlsInfo> tls() {
        return downstream.tls();
    }

    /** The event loop every phase of this request runs on. */
    public EventLoop eventLoop() {
        return downstream.eventLoop();
    }

    /** Whether the client is still connected. */
    public boolean isDownstreamOpen() {
        return downstream.isOpen();
    }

    /** Whether a response head has been written to the client. */
    public boolean isResponseStarted() {
        return downstream.isResponseStarted();
    }

    /** The response head written to the client, if any. */
    public Optional<ResponseHeader> responseHeader() {
        return Optional.ofNullable(responseHeader);
    }

    /** The status written to the client, or 0 if none was. */
    public int responseStatus() {
        return responseHeader == null ? 0 : responseHeader.status();
    }

    /** The upstream peer of the latest attempt, if one was chosen. */
    public Optional<HttpPeer> upstreamPeer() {
        return Optional.ofNullable(peer);
    }

    /** Whether the latest upstream connection came from the pool. */
    public boolean isUpstreamReused() {
        return upstreamReused;
    }

    /** How many times the request was retried. */
    public int retries() {
        return retries;
    }

    /** Request body bytes read from the client so far. */
    public long requestBodyBytes() {
        return requestBodyBytes;
    }

    /**
     * Caps this request's body, whatever its framing: once more than {@code maxBytes} have arrived from the client,
     * the request is answered {@code 413 Content Too Large} (or, if a response has started, cut) and the upstream
     * request is abandoned with its connection; the client's connection then drains what is left of the body within
     * the server's bounds, or closes. A {@code Content-Length} can be checked up front in
     * {@code requestFilter}; a chunked body can only be counted, which this does. Call it from a request phase, on
     * the session's event loop.
     *
     * @param maxBytes the most body bytes taken, 0 or more
     */
    public void limitRequestBody(long maxBytes) {
        if (maxBytes < 0) {
            throw new IllegalArgumentException("maxBytes must be 0 or more: " + maxBytes);
        }
        this.maxRequestBody = maxBytes;
    }

    /** The cap {@link #limitRequestBody} set; {@link Long#MAX_VALUE} for none. */
    public long maxRequestBody() {
        return maxRequestBody;
    }

    /** Response body bytes written to the client so far. */
    public long responseBodyBytes() {
        return responseBodyBytes;
    }

    /**
     * When the request head was parsed, by the wall clock: for access logs and for the time a request
     * reached the proxy. Durations come from {@link #elapsedNanos()}, which a clock step cannot skew.
     */
    public Instant startTime() {
        return startTime;
    }

    /** Nanoseconds since the request head was parsed, by the monotonic clock. */
    public long elapsedNanos() {
        return System.nanoTime() - startNanos;
    }

    /**
     * Writes a response head. The framing headers (Content-Length or chunked, Connection) are set for the
     * client's protocol.
     *
     * @param endOfStream whether there is no body
     */
    public void writeResponseHeader(ResponseHeader header, boolean endOfStream) {
        downstream.writeResponseHeader(header, endOfStream); // throws if a head was written already
        responseHeader = header;
    }

    /** Writes a piece of the response body; the session takes ownership of {@code data}. */
    public void writeResponseBody(ByteBuf data, boolean endOfStream) {
        responseBodyBytes += data.readableBytes();
        downstream.writeBody(data, endOfStream);
    }

    /** Counts body bytes that the kernel moved from the upstream to the client (see {@link ProxyOptions#splice()}). */
    void countSplicedBody(long bytes) {
        responseBodyBytes += bytes;
    }

    /**
     * Writes a whole response: {@code header} with a Content-Length for {@code body}, then the body. The head's fields
     * were checked as they were set (see {@link dev.merapi.http.Headers}), so what is written is what was set.
     */
    public void respond(ResponseHeader header, byte[] body) {
        header.headers().set(HeaderNames.CONTENT_LENGTH, Integer.toString(body.length));
        writeResponseHeader(header, body.length == 0);
        if (body.length > 0) {
            writeResponseBody(Unpooled.wrappedBuffer(body), true);
        }
    }

    /**
     * Writes a whole text response with the given status.
     *
     * @param contentType the Content-Type value, such as {@code text/plain; charset=utf-8}
     * @throws dev.merapi.error.ProxyError {@code INVALID_HTTP_HEADER} if {@code contentType} is not a valid field
     *     value (a CR, LF, NUL or other control character, whitespace at either end, a character above U+00FF);
     *     nothing is written then, and a phase that lets it through ends the request with a 500
     */
    public void respond(int status, String contentType, String body) {
        ResponseHeader h = ResponseHeader.of(status);
        h.headers().add(HeaderNames.CONTENT_TYPE, contentType);
        respond(h, body.getBytes(StandardCharsets.UTF_8));
    }

    /** Writes Merapi's short error page for {@code status}. */
    public void respondError(int status) {
        ResponseHeader h = ErrorResponses.header(status);
        writeResponseHeader(h, false);
        ByteBuf body = Unpooled.buffer(8 + ErrorResponses.body(status).length());
        ByteBufUtil.writeAscii(body, ErrorResponses.body(status));
        writeResponseBody(body, true);
    }

    /**
     * Runs blocking code on a virtual thread. The returned stage completes on this session's event loop, so
     * what follows it may touch the session.
     */
    public <T> CompletionStage<T> offload(Callable<T> task) {
        EventLoop loop = eventLoop();
        CompletableFuture<T> result = new CompletableFuture<>();
        OFFLOAD.execute(() -> {
            T value;
            try {
                value = task.call();
            } catch (Throwable t) {
                loop.execute(() -> result.completeExceptionally(t));
                return;
            }
            loop.execute(() -> result.complete(value));
        });
        return result;
    }

    void upgrade(boolean value) {
        upgrade = value;
    }

    void tunnelOpened(ResponseHeader header) {
        responseHeader = header;
    }

    void tunnelEnded(TunnelStats stats) {
        tunnel = stats;
        requestBodyBytes += stats.bytesUpstream();
        responseBodyBytes += stats.bytesDownstream();
    }

    void peer(HttpPeer peer, boolean reused) {
        this.peer = peer;
        this.upstreamReused = reused;
    }

    void retried() {
        retries++;
    }

    void countRequestBody(long n) {
        requestBodyBytes += n;
    }

    @Override
    public String toString() {
        return downstream.toString();
    }
}
