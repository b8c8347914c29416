package dev.merapi.pool;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ConnectionPoolTest {
    private final AtomicLong now = new AtomicLong();
    private final List<String> closed = new ArrayList<>();
    private final ConnectionPool<String, String> pool = new ConnectionPool<>(3, closed::add, now::get);

    @Test
    void acquireReturnsMostRecentlyReleasedFirst() {
        pool.release("a", "a1", 100);
        pool.release("a", "a2", 100);
        assertThat(pool.acquire("a")).contains("a2");
        assertThat(pool.acquire("a")).contains("a1");
        assertThat(pool.acquire("a")).isEmpty();
        assertThat(pool.hits()).isEqualTo(2);
        assertThat(pool.misses()).isEqualTo(1);
    }

    @Test
    void keysDoNotShareConnections() {
        pool.release("a", "a1", 100);
        assertThat(pool.acquire("b")).isEmpty();
        assertThat(pool.acquire("a")).contains("a1");
    }

    @Test
    void capClosesTheOldestAcrossKeys() {
        pool.release("a", "a1", 100);
        pool.release("b", "b1", 100);
        pool.release("a", "a2", 100);
        pool.release("c", "c1", 100);
        assertThat(closed).containsExactly("a1");
        assertThat(pool.idleCount()).isEqualTo(3);
        assertThat(pool.acquire("a")).contains("a2");
        assertThat(pool.acquire("a")).isEmpty();
    }

    @Test
    void expiredConnectionsAreClosedNotHandedOut() {
        pool.release("a", "a1", 10);
        pool.release("a", "a2", 50);
        now.set(20);
        assertThat(pool.evictExpired()).isEqualTo(1);
        assertThat(closed).containsExactly("a1");
        now.set(60);
        assertThat(pool.acquire("a")).isEmpty();
        assertThat(closed).containsExactly("a1", "a2");
        assertThat(pool.idleCount()).isZero();
    }

    @Test
    void removeForgetsAConnectionClosedWhileIdle() {
        pool.release("a", "a1", 100);
        pool.release("a", "a2", 100);
        assertThat(pool.remove("a2")).isTrue();
        assertThat(pool.remove("a2")).isFalse();
        assertThat(pool.acquire("a")).contains("a1");
        assertThat(closed).isEmpty();
    }

    @Test
    void zeroCapacityClosesOnRelease() {
        ConnectionPool<String, String> none = new ConnectionPool<>(0, closed::add, now::get);
        none.release("a", "a1", 100);
        assertThat(closed).containsExactly("a1");
        assertThat(none.acquire("a")).isEmpty();
    }

    @Test
    void closeAllEmptiesThePool() {
        pool.release("a", "a1", 100);
        pool.release("b", "b1", 100);
        pool.closeAll();
        assertThat(closed).containsExactlyInAnyOrder("a1", "b1");
        assertThat(pool.idleCount()).isZero();
    }
}
