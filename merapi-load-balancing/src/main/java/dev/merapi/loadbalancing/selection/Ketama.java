package dev.merapi.loadbalancing.selection;

import dev.merapi.loadbalancing.Backend;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32;

/**
 * Ketama consistent hashing on the ring that nginx's {@code hash $key consistent} builds
 * (ngx_http_upstream_hash_module.c), so that Merapi and nginx send a key to the same backend:
 * <ul>
 * <li>a backend named {@code host:port} gets {@code 160 × weight} points; point {@code j} is
 *     {@code CRC32(host, '\0', port, p)} where {@code p} is point {@code j-1} as 4 little-endian bytes (0 for the
 *     first);</li>
 * <li>the points are sorted, and of equal points only one stays;</li>
 * <li>a key goes to the first point at or after {@code CRC32(key)}, wrapping to the first point;</li>
 * <li>when that backend cannot be used, the next points are tried in ring order, as nginx does.</li>
 * </ul>
 * Adding or removing a backend moves about {@code 1/n} of the keys.
 */
final class Ketama implements Selector {
    static final SelectionAlgorithm ALGORITHM = new Named("ketama", true, Ketama::new);
    static final int POINTS_PER_WEIGHT = 160;

    private final int[] hashes;
    private final int[] owners;
    private final int size;

    Ketama(List<Backend> backends) {
        int total = 0;
        for (Backend b : backends) {
            total += POINTS_PER_WEIGHT * b.weight();
        }
        long[] points = new long[total];
        int n = 0;
        for (int i = 0; i < backends.size(); i++) {
            byte[] base = baseOf(backends.get(i).name());
            int prev = 0;
            for (int j = 0; j < POINTS_PER_WEIGHT * backends.get(i).weight(); j++) {
                CRC32 crc = new CRC32();
                crc.update(base);
                crc.update(new byte[] {(byte) prev, (byte) (prev >>> 8), (byte) (prev >>> 16), (byte) (prev >>> 24)});
                prev = (int) crc.getValue();
                // the hash in the high 32 bits, the owner in the low ones, the sign bit flipped: a signed sort
                // orders by unsigned hash, then owner
                points[n++] = ((crc.getValue() << 32) | i) ^ Long.MIN_VALUE;
            }
        }
        Arrays.sort(points);
        int kept = 0;
        long[] unique = new long[total];
        for (long flipped : points) {
            long p = flipped ^ Long.MIN_VALUE;
            if (kept == 0 || (unique[kept - 1] >>> 32) != (p >>> 32)) {
                unique[kept++] = p;
            }
        }
        hashes = new int[kept];
        owners = new int[kept];
        for (int k = 0; k < kept; k++) {
            hashes[k] = (int) (unique[k] >>> 32);
            owners[k] = (int) unique[k];
        }
        size = backends.size();
    }

    /** {@code host '\0' port}, as nginx splits a server name at its last colon followed by digits only. */
    static byte[] baseOf(String name) {
        byte[] s = name.getBytes(StandardCharsets.UTF_8);
        int colon = -1;
        for (int j = s.length - 1; j >= 0; j--) {
            if (s[j] == ':') {
                colon = j;
                break;
            }
            if (s[j] < '0' || s[j] > '9') {
                break;
            }
        }
        byte[] base;
        if (colon < 0) {
            base = Arrays.copyOf(s, s.length + 1);
        } else {
            base = new byte[s.length];
            System.arraycopy(s, 0, base, 0, colon);
            System.arraycopy(s, colon + 1, base, colon + 1, s.length - colon - 1);
            base[colon] = 0;
        }
        return base;
    }

    /** The index of the first point at or after {@code hash}, as nginx's binary search finds it (may be the end). */
    int pointOf(int hash) {
        int i = 0;
        int j = hashes.length;
        while (i < j) {
            int k = (i + j) >>> 1;
            int c = Integer.compareUnsigned(hash, hashes[k]);
            if (c > 0) {
                i = k + 1;
            } else if (c < 0) {
                j = k;
            } else {
                return k;
            }
        }
        return i;
    }

    /** How many points the ring has, for tests. */
    int pointsForTest() {
        return hashes.length;
    }

    @Override
    public Candidates candidates(byte[] key, BackendLoad load) {
        CRC32 crc = new CRC32();
        crc.update(key);
        int start = pointOf((int) crc.getValue());
        return new Distinct(size) {
            private int step;

            @Override
            int propose() {
                if (step >= hashes.length) {
                    return NONE;
                }
                return owners[(start + step++) % hashes.length];
            }
        };
    }
}
