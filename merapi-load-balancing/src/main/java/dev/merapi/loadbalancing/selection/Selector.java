package dev.merapi.loadbalancing.selection;

/**
 * One algorithm built over one immutable list of backends: for a request it yields candidate indexes into that
 * list, best first. The {@link dev.merapi.loadbalancing.LoadBalancer} takes candidates until one is available and
 * accepted, up to its bound on tries.
 *
 * <p>Thread-safety: {@link #candidates} is called from every event loop at once and must not lock; a selector
 * keeps no per-request state outside the {@link Candidates} it returns.
 */
public interface Selector {
    /**
     * The candidates for one request.
     *
     * @param key the request's hash key (ignored by the algorithms that do not hash); borrowed for this call
     * @param load the live in-flight counts, latencies and availability of the backends, by index
     * @return a fresh iterator of indexes; used by one thread
     */
    Candidates candidates(byte[] key, BackendLoad load);

    /** An iterator of backend indexes. */
    @FunctionalInterface
    interface Candidates {
        /** Marks the end of the candidates. */
        int NONE = -1;

        /** The next candidate's index, or {@link #NONE} when there are no more. */
        int next();
    }
}
