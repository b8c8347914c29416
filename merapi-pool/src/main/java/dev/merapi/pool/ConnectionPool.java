package dev.merapi.pool;

import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.jspecify.annotations.Nullable;

/**
 * Idle upstream connections of one event loop, keyed by the peer's reuse hash.
 *
 * <p>Each key keeps a LIFO "hot queue" so that the most recently used connection, the one least likely to
 * have been closed by the origin, is handed out first. All idle connections also sit on one LRU list that
 * caps their number: the oldest is closed when the cap is reached. Entries past their idle deadline are
 * closed by {@link #evictExpired()} and skipped by {@link #acquire}.
 *
 * <p>Not thread-safe, by design: one pool belongs to one event loop, and the connections in it were made
 * on that loop, so no locks are needed (see DESIGN.md §3).
 *
 * @param <K> the reuse key, such as a peer's reuse hash
 * @param <C> the connection type
 */
public final class ConnectionPool<K, C> {
    private final int maxIdle;
    private final Consumer<? super C> closer;
    private final LongSupplier clock;
    private final Map<K, Entry<K, C>> heads = new HashMap<>();
    private final Map<C, Entry<K, C>> byConnection = new IdentityHashMap<>();
    private @Nullable Entry<K, C> oldest;
    private @Nullable Entry<K, C> newest;
    private long hits;
    private long misses;
    private long evictions;

    /**
     * @param maxIdle the most idle connections kept (over all keys); the oldest is closed beyond it
     * @param closer closes a connection that leaves the pool for good
     * @param clock a nanosecond clock, {@link System#nanoTime} outside tests
     */
    public ConnectionPool(int maxIdle, Consumer<? super C> closer, LongSupplier clock) {
        if (maxIdle < 0) {
            throw new IllegalArgumentException("maxIdle must not be negative: " + maxIdle);
        }
        this.maxIdle = maxIdle;
        this.closer = Objects.requireNonNull(closer, "closer");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** A pool on the system clock. */
    public ConnectionPool(int maxIdle, Consumer<? super C> closer) {
        this(maxIdle, closer, System::nanoTime);
    }

    /**
     * Takes the most recently released live connection for {@code key}, closing any expired ones on the way.
     *
     * @return a connection, now owned by the caller, or empty if there is none
     */
    public Optional<C> acquire(K key) {
        long now = clock.getAsLong();
        Entry<K, C> e;
        while ((e = heads.get(key)) != null) {
            unlink(e);
            if (now - e.expiresAt < 0) {
                hits++;
                return Optional.of(e.connection);
            }
            evictions++;
            closer.accept(e.connection);
        }
        misses++;
        return Optional.empty();
    }

    /**
     * Puts an idle connection back.
     *
     * @param idleTimeoutNanos how long it may stay idle before it is closed
     */
    public void release(K key, C connection, long idleTimeoutNanos) {
        Objects.requireNonNull(connection, "connection");
        if (maxIdle == 0 || idleTimeoutNanos <= 0 || byConnection.containsKey(connection)) {
            if (!byConnection.containsKey(connection)) {
                closer.accept(connection);
            }
            return;
        }
        if (byConnection.size() >= maxIdle) {
            Entry<K, C> victim = Objects.requireNonNull(oldest, "a full pool has an oldest entry");
            unlink(victim);
            evictions++;
            closer.accept(victim.connection);
        }
        Entry<K, C> e = new Entry<>(key, connection, clock.getAsLong() + idleTimeoutNanos);
        Entry<K, C> head = heads.put(key, e);
        if (head != null) {
            e.keyNext = head;
            head.keyPrev = e;
        }
        e.lruPrev = newest;
        if (newest != null) {
            newest.lruNext = e;
        } else {
            oldest = e;
        }
        newest = e;
        byConnection.put(connection, e);
    }

    /**
     * Forgets a connection that closed while idle (the origin closed it, or it sent unexpected bytes).
     * The caller closes it.
     *
     * @return whether it was in the pool
     */
    public boolean remove(C connection) {
        Entry<K, C> e = byConnection.get(connection);
        if (e == null) {
            return false;
        }
        unlink(e);
        return true;
    }

    /** Closes every idle connection whose deadline has passed; call it periodically on the pool's loop. */
    public int evictExpired() {
        long now = clock.getAsLong();
        int closed = 0;
        Entry<K, C> e = oldest;
        while (e != null) {
            Entry<K, C> next = e.lruNext;
            if (now - e.expiresAt >= 0) {
                unlink(e);
                evictions++;
                closed++;
                closer.accept(e.connection);
            }
            e = next;
        }
        return closed;
    }

    /** Closes every idle connection, for shutdown. */
    public void closeAll() {
        while (oldest != null) {
            Entry<K, C> e = oldest;
            unlink(e);
            closer.accept(e.connection);
        }
    }

    /** How many idle connections the pool holds. */
    public int idleCount() {
        return byConnection.size();
    }

    /** How many {@link #acquire} calls found a connection. */
    public long hits() {
        return hits;
    }

    /** How many {@link #acquire} calls found none. */
    public long misses() {
        return misses;
    }

    /** How many connections were closed for being expired or over the cap. */
    public long evictions() {
        return evictions;
    }

    private void unlink(Entry<K, C> e) {
        byConnection.remove(e.connection);
        // key list
        if (e.keyPrev != null) {
            e.keyPrev.keyNext = e.keyNext;
        } else if (e.keyNext != null) {
            heads.put(e.key, e.keyNext);
        } else {
            heads.remove(e.key);
        }
        if (e.keyNext != null) {
            e.keyNext.keyPrev = e.keyPrev;
        }
        // LRU list
        if (e.lruPrev != null) {
            e.lruPrev.lruNext = e.lruNext;
        } else {
            oldest = e.lruNext;
        }
        if (e.lruNext != null) {
            e.lruNext.lruPrev = e.lruPrev;
        } else {
            newest = e.lruPrev;
        }
        e.keyPrev = e.keyNext = e.lruPrev = e.lruNext = null;
    }

    private static final class Entry<K, C> {
        final K key;
        final C connection;
        final long expiresAt;
        @Nullable Entry<K, C> keyPrev;
        @Nullable Entry<K, C> keyNext;
        @Nullable Entry<K, C> lruPrev;
        @Nullable Entry<K, C> lruNext;

        Entry(K key, C connection, long expiresAt) {
            this.key = key;
            this.connection = connection;
            this.expiresAt = expiresAt;
        }
    }
}
