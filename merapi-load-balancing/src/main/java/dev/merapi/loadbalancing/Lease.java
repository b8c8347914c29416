package dev.merapi.loadbalancing;

import dev.merapi.loadbalancing.internal.BackendState;

/**
 * One request's use of a backend, from {@link LoadBalancer#begin}: it counts the request in flight (for
 * least-connections, peak EWMA and draining) until {@link #close()}, and carries what the request saw back to
 * the balancer: a failure before any response, or the response status and how long it took (for passive outlier detection
 * and latency).
 *
 * <p>Threading: a lease belongs to one request and is used on its event loop; it is not thread-safe. Each
 * method may be called at most once; {@link #close()} may be called again and does nothing then.
 */
public final class Lease implements AutoCloseable {
    private final LoadBalancer balancer;
    private final Backend backend;
    private final BackendState state;
    private final long startNanos;
    private boolean reported;
    private boolean closed;

    Lease(LoadBalancer balancer, Backend backend, BackendState state, long startNanos) {
        this.balancer = balancer;
        this.backend = backend;
        this.state = state;
        this.startNanos = startNanos;
    }

    /** The backend. */
    public Backend backend() {
        return backend;
    }

    /**
     * The request failed on the backend before a response came: the connection could not be made, or broke, or
     * timed out. A failure for outlier detection.
     */
    public void failed() {
        if (!reported) {
            reported = true;
            balancer.failed(backend, state, "no response");
        }
    }

    /**
     * The backend answered with {@code status}: the time since {@link LoadBalancer#begin} is a latency sample,
     * and a 5xx status is a failure for outlier detection, anything else a success. Call it when the response
     * head arrives ({@code upstreamResponseFilter}).
     */
    public void responded(int status) {
        if (reported) {
            return;
        }
        reported = true;
        long now = balancer.nanoTime();
        state.sample(now - startNanos, now);
        if (status >= 500) {
            balancer.failed(backend, state, "status " + status);
        } else {
            state.succeeded();
        }
    }

    /** The request is done with the backend; idempotent. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            state.finished();
        }
    }

    @Override
    public String toString() {
        return "lease of " + backend;
    }
}
