package dev.merapi.loadbalancing.selection;

import dev.merapi.loadbalancing.Backend;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import org.jspecify.annotations.Nullable;

/**
 * Least connections, weighted as nginx's {@code least_conn}: the available backend with the fewest requests in
 * flight per unit of weight ({@code a.inflight × b.weight < b.inflight × a.weight}). Each candidate is one scan of
 * the set from a random start, so ties are broken at random and no backend is favoured by its position. Counts
 * are read without a lock, so two requests at the same instant may both see the same least-loaded backend.
 */
final class LeastConnections implements Selector {
    static final SelectionAlgorithm ALGORITHM = new Named("least-conn", false, LeastConnections::new);

    private final int size;

    LeastConnections(List<Backend> backends) {
        this.size = backends.size();
    }

    @Override
    public Candidates candidates(byte[] key, BackendLoad load) {
        return new Distinct(size) {
            private long @Nullable [] proposed;

            @Override
            int propose() {
                int start = ThreadLocalRandom.current().nextInt(size);
                int best = NONE;
                long bestInflight = 0;
                long bestWeight = 1;
                for (int k = 0; k < size; k++) {
                    int i = (start + k) % size;
                    if (!load.available(i) || (proposed != null && (proposed[i >>> 6] & (1L << i)) != 0)) {
                        continue;
                    }
                    long inflight = load.inflight(i);
                    long weight = load.weight(i);
                    if (best == NONE || inflight * bestWeight < bestInflight * weight) {
                        best = i;
                        bestInflight = inflight;
                        bestWeight = weight;
                    }
                }
                if (best != NONE) {
                    if (proposed == null) {
                        proposed = new long[(size + 63) >>> 6];
                    }
                    proposed[best >>> 6] |= 1L << best;
                }
                return best;
            }
        };
    }
}
