package dev.merapi.loadbalancing.internal;

import java.time.Duration;
import java.util.Objects;

/** Checks of configured durations, shared by the builders; static. */
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
}
