package dev.merapi.core.connectors;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.function.LongSupplier;

/**
 * The peers that prefer HTTP/2 but chose HTTP/1.1 by ALPN, remembered for a while so that they are spoken to in
 * HTTP/1.1 without asking again. Bounded twice: an entry expires {@code ttl} after it was recorded, so an origin that
 * gains h2 is offered it again, and at most {@code capacity} keys are kept, the least recently used one forgotten
 * first, so a gateway in front of many origins does not grow without end. Forgetting costs only one more ALPN offer of
 * h2 to that origin.
 *
 * <p>Thread-safe: every event loop of a {@link Connector} asks it, on each new connection to an h2-preferred TLS
 * peer (not on each request), so one lock held for a map lookup is cheap enough. Keys are compared by
 * {@code equals}; nothing is released.
 *
 * @param <K> the key, a peer's reuse key
 */
final class FallbackMemory<K> {
    /** How many peers are remembered, unless configured otherwise; about 100 bytes each. */
    static final int DEFAULT_CAPACITY = 4096;
    /** How long a peer is remembered, unless configured otherwise. */
    static final Duration DEFAULT_TTL = Duration.ofMinutes(10);

    private final int capacity;
    private final long ttlNanos;
    private final LongSupplier clock;
    /** Key → the nanoTime it expires at, in access order; guarded by itself. */
    private final LinkedHashMap<K, Long> expiries;

    /**
     * @param capacity the most keys kept, at least 1
     * @param ttl how long a key is kept after {@link #remember}, positive
     * @param clock a nanosecond clock, {@link System#nanoTime} outside tests
     */
    FallbackMemory(int capacity, Duration ttl, LongSupplier clock) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be at least 1: " + capacity);
        }
        if (ttl.isNegative() || ttl.isZero()) {
            throw new IllegalArgumentException("ttl must be positive: " + ttl);
        }
        this.capacity = capacity;
        this.ttlNanos = ttl.toNanos();
        this.clock = Objects.requireNonNull(clock, "clock");
        this.expiries = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<K, Long> eldest) {
                return size() > FallbackMemory.this.capacity;
            }
        };
    }

    /** A memory with the default bounds, on the system clock. */
    static <K> FallbackMemory<K> withDefaults() {
        return new FallbackMemory<>(DEFAULT_CAPACITY, DEFAULT_TTL, System::nanoTime);
    }

    /**
     * Records that {@code key} chose HTTP/1.1, for the next {@code ttl}.
     *
     * @return whether it was not remembered before (a new or expired entry), which is when the fallback is logged
     */
    boolean remember(K key) {
        long now = clock.getAsLong();
        synchronized (expiries) {
            Long old = expiries.put(key, now + ttlNanos);
            return old == null || now - old >= 0;
        }
    }

    /** Whether {@code key} chose HTTP/1.1 less than {@code ttl} ago and has not been pushed out since. */
    boolean contains(K key) {
        long now = clock.getAsLong();
        synchronized (expiries) {
            Long expiry = expiries.get(key);
            if (expiry == null) {
                return false;
            }
            if (now - expiry >= 0) {
                expiries.remove(key);
                return false;
            }
            return true;
        }
    }

    /** How many keys are held, expired ones not looked up since included (they are dropped when looked up); at most the capacity. */
    int entries() {
        synchronized (expiries) {
            return expiries.size();
        }
    }
}
