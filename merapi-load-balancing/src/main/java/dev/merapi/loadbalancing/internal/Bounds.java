package dev.merapi.loadbalancing.internal;

import java.time.Duration;
import java.util.Objects;

/** Checks of configured durations and counts, shared by the builders; static. */
public final class Bounds {
    private Bounds() {
    }

    /**
     * {@code d} if it lies within {@code [min, max]}.
     *
     * @throws IllegalArgumentException naming {@code what} otherwise
     */
    public static Duration duration(String what, Duration d, Duration min, Duration max) {
        Objects.requireNonNull(d, what);
        if (d.compareTo(min) < 0 || d.compareTo(max) > 0) {
            throw new IllegalArgumentException(what + " must be between " + min + " and " + max + ": " + d);
        }
        return d;
    }

    /**
     * {@code n} if it lies within {@code [min, max]}.
     *
     * @throws IllegalArgumentException naming {@code what} otherwise
     */
    public static int count(String what, int n, int min, int max) {
        if (n < min || n > max) {
            throw new IllegalArgumentException(what + " must be " + min + " to " + max + ": " + n);
        }
        return n;
    }
}
