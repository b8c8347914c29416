package dev.merapi.loadbalancing.selection;

import dev.merapi.loadbalancing.Backend;
import java.util.List;

/**
 * Power of two choices over peak-EWMA latency, as Finagle and Linkerd balance: pick two available backends at
 * random (by weight) and take the one of lower cost, {@code latency × (inflight + 1) / weight}. A backend with no
 * latency sample yet costs 0 when idle, so new backends get traffic at once; with requests in flight and no
 * sample it costs a large penalty, so a backend that never answers is avoided. The latency is kept by the load
 * balancer: it jumps up to any slower sample at once (the peak) and decays towards faster ones over 10 s.
 */
final class PeakEwma implements Selector {
    static final SelectionAlgorithm ALGORITHM = new Named("p2c-ewma", false, PeakEwma::new);
    /** The cost of a backend with requests in flight and no latency sample yet: one second per request. */
    static final double PENALTY_NANOS = 1e9;

    private final long[] cumulative;
    private final int size;

    PeakEwma(List<Backend> backends) {
        this.cumulative = Weights.cumulative(Weights.of(backends));
        this.size = backends.size();
    }

    static double cost(BackendLoad load, int i) {
        long latency = load.latencyNanos(i);
        int inflight = load.inflight(i);
        double c = latency == 0 ? (inflight == 0 ? 0 : PENALTY_NANOS * inflight) : (double) latency * (inflight + 1);
        return c / load.weight(i);
    }

    @Override
    public Candidates candidates(byte[] key, BackendLoad load) {
        return new Distinct(size) {
            @Override
            int propose() {
                int a = randomAvailable(load);
                int b = randomAvailable(load);
                if (a == NONE || b == NONE || a == b) {
                    return a == NONE ? b : a;
                }
                return cost(load, b) < cost(load, a) ? b : a;
            }
        };
    }

    /** A weighted-random available backend, or {@link Candidates#NONE} after a few misses (the scan follows). */
    private int randomAvailable(BackendLoad load) {
        for (int tries = 0; tries < 4; tries++) {
            int i = Weights.pick(cumulative);
            if (load.available(i)) {
                return i;
            }
        }
        return Candidates.NONE;
    }
}
