package dev.merapi.loadbalancing.selection;

import dev.merapi.loadbalancing.Backend;
import java.util.List;

/** Weighted random: a backend's chance is its weight over the total; a binary search per candidate. */
final class RandomSelection implements Selector {
    static final SelectionAlgorithm ALGORITHM = new Named("random", false, RandomSelection::new);

    private final long[] cumulative;

    RandomSelection(List<Backend> backends) {
        this.cumulative = Weights.cumulative(Weights.of(backends));
    }

    @Override
    public Candidates candidates(byte[] key, BackendLoad load) {
        return new Distinct(cumulative.length) {
            @Override
            int propose() {
                return Weights.pick(cumulative);
            }
        };
    }
}
