package dev.merapi.gateway.admin;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * Failed authentications per client address, and the delay that each new failure from it waits before its 401:
 * {@link #FIRST_DELAY} after the first, doubling with each failure in a row, at most {@link #MAX_DELAY}. A success
 * from the address, or {@link #FORGET_AFTER} without a failure, starts it over. At most {@link #MAX_ADDRESSES}
 * addresses are tracked: past that, the ones forgotten by time go first, then all.
 *
 * <p>Thread-safe: called from the admin listener's event loops.
 */
final class FailedAttempts {
    static final Duration FIRST_DELAY = Duration.ofMillis(250);
    static final Duration MAX_DELAY = Duration.ofSeconds(10);
    static final Duration FORGET_AFTER = Duration.ofMinutes(15);
    static final int MAX_ADDRESSES = 10_000;
    private final ConcurrentHashMap<InetAddress, Streak> streaks = new ConcurrentHashMap<>();
    private final LongSupplier nanoTime;

    private record Streak(int failures, long lastNanos) {
    }

    FailedAttempts(LongSupplier nanoTime) {
        this.nanoTime = nanoTime;
    }

    /** Counts a failure from {@code client} and returns how long its 401 waits. */
    Duration failed(SocketAddress client) {
        long now = nanoTime.getAsLong();
        if (streaks.size() >= MAX_ADDRESSES) {
            streaks.values().removeIf(s -> now - s.lastNanos > FORGET_AFTER.toNanos());
            if (streaks.size() >= MAX_ADDRESSES) {
                streaks.clear();
            }
        }
        Streak s = streaks.merge(address(client), new Streak(1, now),
                (old, one) -> now - old.lastNanos > FORGET_AFTER.toNanos() ? one : new Streak(old.failures + 1, now));
        return delay(s.failures);
    }

    /** Forgets the failures of {@code client} after it authenticated. */
    void succeeded(SocketAddress client) {
        streaks.remove(address(client));
    }

    /** The failures in a row from {@code client} that still count. */
    int failures(SocketAddress client) {
        Streak s = streaks.get(address(client));
        return s == null || nanoTime.getAsLong() - s.lastNanos > FORGET_AFTER.toNanos() ? 0 : s.failures;
    }

    /** The delay of the {@code n}-th failure in a row (from 1). */
    static Duration delay(int n) {
        int shift = Math.min(n - 1, 16);
        Duration d = FIRST_DELAY.multipliedBy(1L << shift);
        return d.compareTo(MAX_DELAY) > 0 ? MAX_DELAY : d;
    }

    private static InetAddress address(SocketAddress a) {
        if (a instanceof InetSocketAddress i && i.getAddress() != null) {
            return i.getAddress();
        }
        return InetAddress.getLoopbackAddress(); // a Unix socket: one local peer
    }
}
