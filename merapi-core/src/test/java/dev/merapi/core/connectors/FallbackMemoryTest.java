package dev.merapi.core.connectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The bounded memory of peers that chose HTTP/1.1 over h2, on a fake clock. */
class FallbackMemoryTest {
    private final AtomicLong now = new AtomicLong(1_000);

    private FallbackMemory<String> memory(int capacity) {
        return new FallbackMemory<>(capacity, Duration.ofMinutes(10), now::get);
    }

    @Test
    void aPeerIsRememberedUntilItsEntryExpiresThenOfferedH2Again() {
        FallbackMemory<String> m = memory(8);
        assertThat(m.remember("origin")).as("first fallback is news").isTrue();
        now.addAndGet(Duration.ofMinutes(10).toNanos() - 1);
        assertThat(m.contains("origin")).isTrue();
        now.addAndGet(1);
        assertThat(m.contains("origin")).as("expired after 10 minutes").isFalse();
        assertThat(m.entries()).as("an expired entry looked up is dropped").isZero();
    }

    @Test
    void rememberingAgainRestartsTheExpiryAndIsNotNews() {
        FallbackMemory<String> m = memory(8);
        m.remember("origin");
        now.addAndGet(Duration.ofMinutes(9).toNanos());
        assertThat(m.remember("origin")).isFalse();
        now.addAndGet(Duration.ofMinutes(9).toNanos());
        assertThat(m.contains("origin")).isTrue();
    }

    @Test
    void anExpiredEntryRememberedAgainIsNewsSoTheFallbackIsLoggedAgain() {
        FallbackMemory<String> m = memory(8);
        m.remember("origin");
        now.addAndGet(Duration.ofMinutes(11).toNanos());
        assertThat(m.remember("origin")).isTrue();
    }

    @Test
    void theLeastRecentlyUsedPeerIsForgottenAtCapacity() {
        FallbackMemory<String> m = memory(3);
        m.remember("a");
        m.remember("b");
        m.remember("c");
        assertThat(m.contains("a")).isTrue(); // a is now the most recently used
        m.remember("d");
        assertThat(m.entries()).isEqualTo(3);
        assertThat(m.contains("b")).as("least recently used").isFalse();
        assertThat(m.contains("a")).isTrue();
        assertThat(m.contains("c")).isTrue();
        assertThat(m.contains("d")).isTrue();
    }

    @Test
    void manyPeersNeverHoldMoreThanTheCapacity() {
        FallbackMemory<Integer> m = new FallbackMemory<>(FallbackMemory.DEFAULT_CAPACITY, FallbackMemory.DEFAULT_TTL, now::get);
        for (int i = 0; i < 3 * FallbackMemory.DEFAULT_CAPACITY; i++) {
            m.remember(i);
        }
        assertThat(m.entries()).isEqualTo(FallbackMemory.DEFAULT_CAPACITY);
        assertThat(m.contains(3 * FallbackMemory.DEFAULT_CAPACITY - 1)).isTrue();
        assertThat(m.contains(0)).isFalse();
    }

    @Test
    void boundsAreChecked() {
        assertThatThrownBy(() -> new FallbackMemory<String>(0, Duration.ofMinutes(1), now::get))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("capacity");
        assertThatThrownBy(() -> new FallbackMemory<String>(1, Duration.ZERO, now::get))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ttl");
    }
}
