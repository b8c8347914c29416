package dev.merapi.error;

import java.time.Duration;
import java.util.Objects;

/**
 * Range checks of configured values, shared by every configuration type and builder of Merapi: each check returns
 * the value when it is allowed and otherwise throws an {@link IllegalArgumentException} whose message names the
 * setting, the allowed range and the value given, such as {@code backlog must be at least 1: 0}. Static and
 * thread-safe.
 */
public final class Bounds {
    private Bounds() {
    }

    /**
     * {@code d} if it lies within {@code [min, max]}.
     *
     * @throws IllegalArgumentException naming {@code what} otherwise
     * @throws NullPointerException naming {@code what} if {@code d} is null
     */
    public static Duration duration(String what, Duration d, Duration min, Duration max) {
        Objects.requireNonNull(d, what);
        if (d.compareTo(min) < 0 || d.compareTo(max) > 0) {
            throw new IllegalArgumentException(what + " must be between " + min + " and " + max + ": " + d);
        }
        return d;
    }

    /**
     * {@code d} if it is longer than zero: a timeout or period, which Merapi never lets be infinite or zero.
     *
     * @throws IllegalArgumentException naming {@code what} otherwise
     * @throws NullPointerException naming {@code what} if {@code d} is null
     */
    public static Duration positive(String what, Duration d) {
        Objects.requireNonNull(d, what);
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(what + " must be positive (there is no infinite timeout): " + d);
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

    /**
     * {@code n} if it is at least {@code min}, with no upper bound.
     *
     * @throws IllegalArgumentException naming {@code what} otherwise
     */
    public static int atLeast(String what, int n, int min) {
        if (n < min) {
            throw new IllegalArgumentException(what + " must be at least " + min + ": " + n);
        }
        return n;
    }
}
