package dev.merapi.loadbalancing.selection;

import dev.merapi.loadbalancing.Backend;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Smooth weighted round robin, nginx's: one period of the sequence is precomputed when the set is built, and
 * each candidate takes the next step of it from a shared counter (one atomic increment, no lock). A step whose
 * backend is unavailable is skipped by taking the following step, so the others keep their shares.
 */
final class RoundRobin implements Selector {
    static final SelectionAlgorithm ALGORITHM = new Named("round-robin", false, RoundRobin::new);

    private final int[] sequence;
    private final int size;
    private final AtomicLong next = new AtomicLong();

    RoundRobin(List<Backend> backends) {
        this.sequence = Weights.smoothSequence(Weights.of(backends));
        this.size = backends.size();
    }

    /** One period of the sequence, for tests. */
    int[] sequenceForTest() {
        return sequence.clone();
    }

    @Override
    public Candidates candidates(byte[] key, BackendLoad load) {
        return new Distinct(size) {
            @Override
            int propose() {
                return sequence[(int) Long.remainderUnsigned(next.getAndIncrement(), sequence.length)];
            }
        };
    }
}
