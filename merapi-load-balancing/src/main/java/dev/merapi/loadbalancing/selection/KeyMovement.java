package dev.merapi.loadbalancing.selection;

import dev.merapi.loadbalancing.Backend;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * How many keys change backend when a set changes: the measure of a consistent hash (ideal: {@code 1/n} for one
 * backend added to or removed from {@code n}). Used by the tests and the benchmarks; static and stateless.
 */
public final class KeyMovement {
    private KeyMovement() {
    }

    /**
     * The share of {@code keys} keys ({@code "key-0"}, {@code "key-1"}…) whose first choice differs between the
     * two sets, all backends available.
     */
    public static double share(SelectionAlgorithm algorithm, List<Backend> before, List<Backend> after, int keys) {
        Selector a = algorithm.build(before);
        Selector b = algorithm.build(after);
        BackendLoad loadA = AllAvailable.of(before);
        BackendLoad loadB = AllAvailable.of(after);
        int moved = 0;
        for (int k = 0; k < keys; k++) {
            byte[] key = ("key-" + k).getBytes(StandardCharsets.UTF_8);
            String from = before.get(a.candidates(key, loadA).next()).name();
            String to = after.get(b.candidates(key, loadB).next()).name();
            if (!from.equals(to)) {
                moved++;
            }
        }
        return (double) moved / keys;
    }

    /** A load view with every backend available and idle. */
    record AllAvailable(List<Backend> backends) implements BackendLoad {
        static AllAvailable of(List<Backend> backends) {
            return new AllAvailable(List.copyOf(backends));
        }

        @Override
        public int size() {
            return backends.size();
        }

        @Override
        public int weight(int i) {
            return backends.get(i).weight();
        }

        @Override
        public int inflight(int i) {
            return 0;
        }

        @Override
        public long latencyNanos(int i) {
            return 0;
        }

        @Override
        public boolean available(int i) {
            return true;
        }
    }
}
