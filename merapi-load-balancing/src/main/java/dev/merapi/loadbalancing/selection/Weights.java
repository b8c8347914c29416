package dev.merapi.loadbalancing.selection;

import dev.merapi.loadbalancing.Backend;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/** Weight arithmetic shared by the algorithms; static and stateless. */
final class Weights {
    /** Smooth round robin is precomputed; its cost is bounded by scaling weights down past this many steps. */
    static final long MAX_SEQUENCE_WORK = 50_000_000L;

    private Weights() {
    }

    static int[] of(List<Backend> backends) {
        int[] w = new int[backends.size()];
        for (int i = 0; i < w.length; i++) {
            w[i] = backends.get(i).weight();
        }
        return w;
    }

    /** The weights divided by their greatest common divisor. */
    static int[] reduced(int[] weights) {
        int g = 0;
        for (int w : weights) {
            g = gcd(g, w);
        }
        int[] r = weights.clone();
        for (int i = 0; i < r.length; i++) {
            r[i] /= g;
        }
        return r;
    }

    private static int gcd(int a, int b) {
        while (b != 0) {
            int t = a % b;
            a = b;
            b = t;
        }
        return a;
    }

    /**
     * nginx's smooth weighted round robin, unrolled into one period: each step adds every weight to its
     * backend's current value, picks the largest (the first on a tie) and takes the total off it.
     */
    static int[] smoothSequence(int[] weights) {
        int[] w = reduced(weights);
        long total = Arrays.stream(w).asLongStream().sum();
        if (total * w.length > MAX_SEQUENCE_WORK) {
            double scale = (double) (MAX_SEQUENCE_WORK / w.length) / total;
            for (int i = 0; i < w.length; i++) {
                w[i] = Math.max(1, (int) Math.round(w[i] * scale));
            }
            w = reduced(w);
            total = Arrays.stream(w).asLongStream().sum();
        }
        int[] sequence = new int[(int) total];
        long[] current = new long[w.length];
        for (int step = 0; step < sequence.length; step++) {
            int best = 0;
            for (int i = 0; i < w.length; i++) {
                current[i] += w[i];
                if (current[i] > current[best]) {
                    best = i;
                }
            }
            current[best] -= total;
            sequence[step] = best;
        }
        return sequence;
    }

    /** Running sums: {@code cumulative[i]} is the total weight of backends 0 to i. */
    static long[] cumulative(int[] weights) {
        long[] c = new long[weights.length];
        long sum = 0;
        for (int i = 0; i < weights.length; i++) {
            sum += weights[i];
            c[i] = sum;
        }
        return c;
    }

    /** A random index, each with a chance proportional to its weight. */
    static int pick(long[] cumulative) {
        long r = ThreadLocalRandom.current().nextLong(cumulative[cumulative.length - 1]);
        int i = Arrays.binarySearch(cumulative, r);
        return i >= 0 ? i + 1 : -i - 1;
    }

    /** FNV-1a, 64 bits. */
    static long fnv1a(byte[] data) {
        long h = 0xcbf29ce484222325L;
        for (byte b : data) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;
        }
        return h;
    }

    /** MurmurHash3's 64-bit finalizer: spreads every input bit over the output. */
    static long mix(long h) {
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        h *= 0xc4ceb9fe1a85ec53L;
        h ^= h >>> 33;
        return h;
    }
}
