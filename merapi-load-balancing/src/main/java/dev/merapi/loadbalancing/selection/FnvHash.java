package dev.merapi.loadbalancing.selection;

import dev.merapi.loadbalancing.Backend;
import java.util.List;

/**
 * FNV-1a of the key, modulo a list in which each backend appears {@code weight} times (Pingora's weighted
 * FNV). The same key goes to the same backend while the set is unchanged; a change moves most keys. When a
 * candidate is unavailable, the hash is mixed again for the next one, so each key has its own fallback order.
 */
final class FnvHash implements Selector {
    static final SelectionAlgorithm ALGORITHM = new Named("hash", true, FnvHash::new);

    private final int[] weighted;
    private final int size;

    FnvHash(List<Backend> backends) {
        int[] w = Weights.reduced(Weights.of(backends));
        int total = 0;
        for (int x : w) {
            total += x;
        }
        weighted = new int[total];
        int k = 0;
        for (int i = 0; i < w.length; i++) {
            for (int j = 0; j < w[i]; j++) {
                weighted[k++] = i;
            }
        }
        size = backends.size();
    }

    @Override
    public Candidates candidates(byte[] key, BackendLoad load) {
        long first = Weights.fnv1a(key);
        return new Distinct(size) {
            private long h = first;
            private boolean started;

            @Override
            int propose() {
                if (started) {
                    h = Weights.mix(h + 1);
                }
                started = true;
                return weighted[(int) Long.remainderUnsigned(h, weighted.length)];
            }
        };
    }
}
