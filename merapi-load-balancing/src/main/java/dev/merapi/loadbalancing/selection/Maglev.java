package dev.merapi.loadbalancing.selection;

import dev.merapi.loadbalancing.Backend;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * Maglev consistent hashing (Eisenbud et al., NSDI 2016), weighted as Envoy does it. Each backend has a
 * permutation of the table, {@code (offset + j × skip) mod M} from two hashes of its name; the backends take turns
 * to claim their next free slot, a backend of weight {@code w} taking a turn in {@code w / max weight} of the
 * rounds, until the table is full. A key goes to {@code table[hash(key) mod M]}; when that backend cannot be used
 * the following slots are tried. Lookup is one array read; a change of one backend moves about {@code 1/n} of
 * the keys (a little more than ketama, in exchange for an even spread).
 */
final class Maglev implements Selector {
    static final int DEFAULT_TABLE_SIZE = 65_537;
    static final SelectionAlgorithm DEFAULT = new Algorithm(DEFAULT_TABLE_SIZE);

    private final int[] table;
    private final int size;

    Maglev(List<Backend> backends, int tableSize) {
        int n = backends.size();
        long[] offset = new long[n];
        long[] skip = new long[n];
        long[] nextIndex = new long[n];
        long[] target = new long[n];
        int[] weights = Weights.of(backends);
        int maxWeight = Arrays.stream(weights).max().orElse(1);
        for (int i = 0; i < n; i++) {
            long h = Weights.fnv1a(backends.get(i).name().getBytes(StandardCharsets.UTF_8));
            offset[i] = Long.remainderUnsigned(Weights.mix(h), tableSize);
            skip[i] = Long.remainderUnsigned(Weights.mix(h ^ 0x9e3779b97f4a7c15L), tableSize - 1) + 1;
        }
        // the turns go in name order, so that two balancers given the same set in another order build the same table
        int[] order = java.util.stream.IntStream.range(0, n).boxed()
                .sorted(java.util.Comparator.comparing(i -> backends.get(i).name())).mapToInt(Integer::intValue).toArray();
        int[] t = new int[tableSize];
        Arrays.fill(t, -1);
        int filled = 0;
        for (long round = 1; filled < tableSize; round++) {
            for (int k = 0; k < n && filled < tableSize; k++) {
                int i = order[k];
                if (round * weights[i] < target[i]) {
                    continue;
                }
                target[i] += maxWeight;
                int c = (int) ((offset[i] + nextIndex[i] * skip[i]) % tableSize);
                while (t[c] >= 0) {
                    nextIndex[i]++;
                    c = (int) ((offset[i] + nextIndex[i] * skip[i]) % tableSize);
                }
                t[c] = i;
                nextIndex[i]++;
                filled++;
            }
        }
        this.table = t;
        this.size = n;
    }

    /** The lookup table, for tests. */
    int[] tableForTest() {
        return table.clone();
    }

    @Override
    public Candidates candidates(byte[] key, BackendLoad load) {
        int start = (int) Long.remainderUnsigned(Weights.mix(Weights.fnv1a(key)), table.length);
        return new Distinct(size) {
            private int step;

            @Override
            int propose() {
                if (step >= table.length) {
                    return NONE;
                }
                return table[(start + step++) % table.length];
            }
        };
    }

    /** Maglev with a given table size. */
    record Algorithm(int tableSize) implements SelectionAlgorithm {
        Algorithm {
            if (tableSize < 2 || !java.math.BigInteger.valueOf(tableSize).isProbablePrime(30)) {
                throw new IllegalArgumentException("the maglev table size must be a prime: " + tableSize);
            }
        }

        @Override
        public String name() {
            return "maglev";
        }

        @Override
        public boolean usesKey() {
            return true;
        }

        @Override
        public Selector build(List<Backend> backends) {
            if (backends.isEmpty()) {
                throw new IllegalArgumentException("no backends");
            }
            if (backends.size() > tableSize) {
                throw new IllegalArgumentException("a maglev table of " + tableSize + " entries cannot hold "
                        + backends.size() + " backends");
            }
            return new Maglev(List.copyOf(backends), tableSize);
        }
    }
}
