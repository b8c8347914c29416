package dev.merapi.loadbalancing.selection;

import dev.merapi.loadbalancing.selection.Selector.Candidates;
import org.jspecify.annotations.Nullable;

/**
 * Candidates that never repeat an index: the algorithm proposes indexes ({@link #propose}), repeats are
 * dropped, and once it has proposed {@code 2 × size} times without a new one, or has run out, the indexes not
 * returned yet follow in order. So every backend is reachable in at most {@code 3 × size} steps.
 *
 * <p>One instance serves one request on one thread. The set of returned indexes is allocated only when a
 * second candidate is asked for: most requests take the first.
 */
abstract class Distinct implements Candidates {
    private final int size;
    private long @Nullable [] returned;
    private int first = NONE;
    private int count;
    private int scan;

    Distinct(int size) {
        this.size = size;
    }

    /** The algorithm's next proposal, or {@link #NONE} when it has no more. */
    abstract int propose();

    @Override
    public final int next() {
        if (count == 0) {
            int i = propose();
            if (i == NONE) {
                return scanNext();
            }
            first = i;
            count = 1;
            return i;
        }
        if (count >= size) {
            return NONE;
        }
        if (returned == null) {
            returned = new long[(size + 63) >>> 6];
            mark(first);
        }
        for (int tries = 2 * size; tries > 0; tries--) {
            int i = propose();
            if (i == NONE) {
                break;
            }
            if (!isReturned(i)) {
                mark(i);
                count++;
                return i;
            }
        }
        return scanNext();
    }

    private int scanNext() {
        if (returned == null) {
            returned = new long[(size + 63) >>> 6];
            if (first != NONE) {
                mark(first);
            }
        }
        while (scan < size) {
            int i = scan++;
            if (!isReturned(i)) {
                mark(i);
                count++;
                return i;
            }
        }
        return NONE;
    }

    private boolean isReturned(int i) {
        return (bits()[i >>> 6] & (1L << i)) != 0;
    }

    private void mark(int i) {
        bits()[i >>> 6] |= 1L << i;
    }

    /** The returned set: made before the second candidate, the first time one is marked or looked up. */
    private long[] bits() {
        long[] r = returned;
        if (r == null) {
            r = new long[(size + 63) >>> 6];
            returned = r;
        }
        return r;
    }
}
