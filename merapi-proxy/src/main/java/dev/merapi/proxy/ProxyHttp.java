package dev.merapi.proxy;

import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.error.ProxyError;
import dev.merapi.error.Retry;
import dev.merapi.http.HeaderNames;
import dev.merapi.http.Headers;
import dev.merapi.http.RequestHeader;
import dev.merapi.http.ResponseHeader;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletionStage;

/**
 * The hooks of a programmable proxy: each one runs at a fixed point of one proxied request. Implement
 * {@link #newCtx()} and {@link #upstreamPeer}; every other phase has a safe default. docs/phases.md has the
 * chart of the order they run in.
 *
 * <p>Threading: every phase runs on the event loop of the downstream connection and must not block. A phase
 * that may do I/O returns a {@link CompletionStage}; when there is nothing to wait for, return the shared completed
 * constants ({@link Stages#DONE}, {@link FilterResult#CONTINUE_STAGE}) or {@link Stages#completed}: a stage that is
 * already complete continues the request at once, on the same stack, without allocating. Use
 * {@link Session#offload} for blocking work. Stages may complete on any thread; the proxy resumes on the loop.
 *
 * <p>Answering: any phase that runs before the response head is sent may answer the request itself with
 * {@link Session#respond} (or {@link Session#writeResponseHeader}). A started response decides, whatever the phase
 * returns: the request then never goes (further) upstream, an upstream connection already made is closed, no retry
 * follows, and {@link #logging} sees the status the client got. A response the phase left unfinished is cut.
 *
 * <p>Per-request state lives in the context {@code C}, made by {@link #newCtx()} and handed to every phase.
 * It belongs to one request and one loop, so it needs no synchronization.
 *
 * <p>Parameters: every phase takes the {@link Session} first and the context last, with what the phase is about in
 * between (the peer, the error, the head, the body piece).
 *
 * @param <C> the per-request context type
 */
public interface ProxyHttp<C> {

    /**
     * Creates the context of a new request, before any other phase. Should not throw: if it does, the request ends
     * with a {@code FILTER_FAILED} error, and {@link #failToProxy}, {@link #requestSummary} and {@link #logging} are
     * then the only phases that run, each with a {@code null} context.
     *
     * @return a new context; never shared between requests
     */
    C newCtx();

    /**
     * The first phase, for work that must happen before anything else (for example, deciding a request ID).
     *
     * @implSpec returns {@link Stages#DONE}
     * @return a stage that completes when the phase is done; a failure ends the request through {@link #failToProxy}
     */
    default CompletionStage<Void> earlyRequestFilter(Session session, C ctx) {
        return Stages.DONE;
    }

    /**
     * Validates, rate-limits, rewrites or answers the request. To answer it, write a response with
     * {@link Session#respond} and return {@link FilterResult#RESPONDED_STAGE}. The written response is what counts:
     * a filter that answers and returns {@code CONTINUE} has still answered, and the request does not go upstream.
     *
     * @implSpec returns {@link FilterResult#CONTINUE_STAGE}
     * @return {@code CONTINUE} to go on to the upstream if no response was started, {@code RESPONDED} if a response
     *     was written here, which ends the request (then {@link #logging} runs); {@code RESPONDED} without a
     *     response is a bug in the filter and answers 500
     */
    default CompletionStage<FilterResult> requestFilter(Session session, C ctx) {
        return FilterResult.CONTINUE_STAGE;
    }

    /**
     * Sees or changes each piece of the request body on its way upstream. Synchronous, once per piece.
     * Overriding it sends the body upstream with chunked framing, since its length may change, and holds the
     * request head back until the first piece has passed this filter: answering on the first piece keeps the
     * whole request from the origin; answering later cuts the upstream request short.
     *
     * @param chunk the piece; its content is borrowed for this call only (see {@link BodyChunk})
     * @param endOfStream whether this is the last piece
     * @implSpec does nothing
     */
    default void requestBodyFilter(Session session, BodyChunk chunk, boolean endOfStream, C ctx) {
    }

    /**
     * Chooses the upstream peer. Called again after a failure that {@link #failToConnect} or
     * {@link #errorWhileProxy} marked retryable, so it can pick another peer.
     *
     * @return a stage of the peer; a failure ends the request with 502 (or its own status)
     */
    CompletionStage<HttpPeer> upstreamPeer(Session session, C ctx);

    /**
     * Runs once the upstream connection is ready, new or from the pool, before the request is sent.
     *
     * @param reused whether the connection came from the pool
     * @implSpec returns {@link Stages#DONE}
     */
    default CompletionStage<Void> connectedToUpstream(Session session, HttpPeer peer, boolean reused, C ctx) {
        return Stages.DONE;
    }

    /**
     * Changes the request that goes upstream: add or remove headers, rewrite the target. {@code upstreamRequest}
     * is a copy of the downstream request made for this attempt, with hop-by-hop headers already removed.
     *
     * @implSpec returns {@link Stages#DONE}
     */
    default CompletionStage<Void> upstreamRequestFilter(Session session, RequestHeader upstreamRequest, C ctx) {
        return Stages.DONE;
    }

    /**
     * Sees or changes the upstream response head as soon as it arrives, before {@link #responseFilter}.
     * Synchronous. Meant for changes that a cache (later) should store.
     *
     * @implSpec does nothing
     */
    default void upstreamResponseFilter(Session session, ResponseHeader upstreamResponse, C ctx) {
    }

    /**
     * Changes the response head before it goes to the client: add, remove or change headers or the status.
     *
     * @implSpec returns {@link Stages#DONE}
     */
    default CompletionStage<Void> responseFilter(Session session, ResponseHeader upstreamResponse, C ctx) {
        return Stages.DONE;
    }

    /**
     * Sees or changes each piece of the upstream response body as it arrives. Synchronous, once per piece.
     * Overriding a response body filter drops the upstream Content-Length, since the length may change.
     *
     * @implSpec returns {@link Duration#ZERO}
     * @return a delay before the next piece is read from upstream (for throttling); zero for none
     */
    default Duration upstreamResponseBodyFilter(Session session, BodyChunk chunk, boolean endOfStream, C ctx) {
        return Duration.ZERO;
    }

    /**
     * Sees or changes each piece of the response body on its way to the client. Synchronous, once per piece.
     *
     * @implSpec returns {@link Duration#ZERO}
     * @return a delay before the next piece is sent (for throttling); zero for none
     */
    default Duration responseBodyFilter(Session session, BodyChunk chunk, boolean endOfStream, C ctx) {
        return Duration.ZERO;
    }

    /**
     * Sees or changes the response trailers (gRPC's {@code grpc-status}, say) on their way to the client. Runs once,
     * after the last {@link #responseBodyFilter}, and only when the origin ended its response with trailers.
     * Synchronous, on the session's event loop; must not block. The trailers reach a client whose protocol carries them
     * (HTTP/2, or HTTP/1.1 with a chunked response); for others they are dropped.
     *
     * @implSpec does nothing
     */
    default void responseTrailerFilter(Session session, Headers trailers, C ctx) {
    }

    /**
     * Decides what a failure to connect means. Return {@code e.withRetry(Retry.YES)} to try again through
     * {@link #upstreamPeer}; connect failures come marked retryable, since nothing was sent. Must not throw.
     *
     * @implSpec returns {@code e} unchanged
     * @return the error, with the retry decision the proxy will follow
     */
    default ProxyError failToConnect(Session session, HttpPeer peer, ProxyError e, C ctx) {
        return e;
    }

    /**
     * Decides what an error while proxying (after the connection was made) means. Must not throw. A request that is
     * not idempotent (POST, PATCH, or a GET, HEAD, OPTIONS, TRACE or DELETE with a body) and may have reached the
     * origin comes marked {@link Retry#NO}, unless its peer sets
     * {@link dev.merapi.core.upstreams.PeerOptions#retryNonIdempotent()}: the origin may have acted on it. Returning
     * {@link Retry#YES} for such a request opts it in to a retry (docs/phases.md, Retries).
     *
     * @param reusedConnection whether the upstream connection came from the pool
     * @implSpec resolves {@link Retry#REUSED_ONLY} for this connection: an error before the first response byte
     *     on a pooled connection is retryable (the origin may have closed it while idle); anything else is not
     * @return the error, with the retry decision the proxy will follow
     */
    default ProxyError errorWhileProxy(Session session, HttpPeer peer, ProxyError e, boolean reusedConnection, C ctx) {
        if (e.retry() == Retry.REUSED_ONLY) {
            return e.withRetry(reusedConnection ? Retry.YES : Retry.NO);
        }
        return e;
    }

    /**
     * Turns the final error of a request into a response, when the response has not started and the
     * client is still there.
     *
     * @implSpec writes a short generated page for {@link ProxyError#responseStatus()} (502 upstream, 504 for
     *     upstream timeouts, 400 downstream, 500 internal, or the error's own status) and returns that status;
     *     returns 0 without writing if the client is gone
     * @return the status written, or 0 if none was; if it throws or fails before writing anything (for example, a
     *     header its page sets is refused), Merapi writes its own 500 page instead
     */
    default CompletionStage<Integer> failToProxy(Session session, ProxyError e, C ctx) {
        if (!session.isDownstreamOpen() || session.isResponseStarted()) {
            return Stages.completed(0);
        }
        int status = e.responseStatus();
        session.respondError(status);
        return Stages.completed(status);
    }

    /**
     * The last phase: runs exactly once per request that reached the proxy, whether it succeeded, was
     * answered by a filter, or failed. For access logs and metrics. Must not block; exceptions are logged.
     *
     * @param error the error that ended the request, if any
     * @param ctx the request's context; {@code null} only when {@link #newCtx()} threw (then {@code error} holds
     *     that {@code FILTER_FAILED} error)
     * @implSpec does nothing
     */
    default void logging(Session session, Optional<ProxyError> error, C ctx) {
    }

    /**
     * A one-line description of the request for error logs.
     *
     * @implSpec the method, the path and the Host header, and on a TLS connection its {@link dev.merapi.core.tls.TlsInfo#summary()}
     *     (version, suite, SNI, ALPN, the client certificate's subject)
     */
    default String requestSummary(Session session, C ctx) {
        RequestHeader r = session.requestHeader();
        return r.method() + ' ' + r.path() + r.host().map(host -> ", Host: " + host).orElse("")
                + session.tls().map(t -> ", TLS: " + t.summary()).orElse("");
    }
}
