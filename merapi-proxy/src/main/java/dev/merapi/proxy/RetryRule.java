package dev.merapi.proxy;

import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.error.ErrorType;
import dev.merapi.error.ProxyError;
import dev.merapi.error.Retry;

/**
 * The one place that decides whether a failed upstream attempt may be made again (DESIGN.md §4). A retry must never
 * make the origin act twice on a request it may already have acted on:
 * <ul>
 *   <li>A request that no byte of reached the origin (a failed connect, a connection that failed before the head
 *       was written) is safe to retry, whatever its method.</li>
 *   <li>Once some of it was written, the origin may have acted on it and then closed or reset the connection before
 *       answering. Only an idempotent request (RFC 9110 §9.2.2) may then be sent again: GET, HEAD, OPTIONS, TRACE
 *       and DELETE without a body, and PUT. Content on the others has no defined meaning (RFC 9110 §9.3), so Merapi
 *       cannot know the origin ignores it. Anything else needs an opt-in: the peer's
 *       {@link dev.merapi.core.upstreams.PeerOptions#retryNonIdempotent()}, or {@code errorWhileProxy} returning
 *       {@link Retry#YES} for this request. An HTTP/2 stream the origin refused unprocessed
 *       ({@link dev.merapi.error.ErrorType.Kind#STREAM_REFUSED}) counts as not reached.</li>
 *   <li>Then the bounds: the error's {@link Retry} for this connection, {@link ProxyOptions#maxRetries()}, and a
 *       request body that still fits the replay buffer. A failure on a pooled connection sends the next attempt to
 *       a new connection, so one request burns at most one pooled connection.</li>
 * </ul>
 * Stateless; called on the request's event loop.
 */
final class RetryRule {
    private RetryRule() {
    }

    /**
     * The error as the error phases see it: a request that may have reached the origin and is not idempotent is
     * marked {@link Retry#NO}, unless {@code peer} opts in.
     *
     * @param method the request method
     * @param hasBody whether the request has a body (content), even an empty chunked one
     * @param written whether any byte of the request was handed to the upstream connection
     */
    static ProxyError beforeErrorPhase(ProxyError e, String method, boolean hasBody, boolean written, HttpPeer peer) {
        if (!written || e.retry() == Retry.NO || e.type() == ErrorType.Kind.STREAM_REFUSED || idempotent(method, hasBody)
                || peer.options().retryNonIdempotent()) {
            return e;
        }
        return e.withRetry(Retry.NO);
    }

    /**
     * Whether a request may be sent again, as far as its method and content go (RFC 9110 §9.2.2).
     *
     * @param method the request method, case-sensitive as methods are
     * @param hasBody whether the request has content
     */
    static boolean idempotent(String method, boolean hasBody) {
        return switch (method) {
            case "PUT" -> true;
            case "GET", "HEAD", "OPTIONS", "TRACE", "DELETE" -> !hasBody;
            default -> false;
        };
    }

    /**
     * Whether the attempt that failed with {@code decided} (after the error phases) is made again.
     *
     * @param reused whether the failed attempt ran on a pooled connection
     * @param attempts how many attempts were made so far, the failed one included
     * @param bodyReplayable whether everything read of the request body so far is held for replay (true without a body)
     */
    static boolean mayRetry(ProxyError decided, boolean reused, int attempts, int maxRetries, boolean bodyReplayable) {
        return decided.retry().allows(reused) && attempts <= maxRetries && bodyReplayable;
    }
}
