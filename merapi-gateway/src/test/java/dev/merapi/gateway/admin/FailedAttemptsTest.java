package dev.merapi.gateway.admin;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The growing delay of failed admin logins, per client address, on a fake clock. */
class FailedAttemptsTest {
    private final AtomicLong now = new AtomicLong();
    private final FailedAttempts attempts = new FailedAttempts(now::get);
    private final InetSocketAddress mallory = new InetSocketAddress("192.0.2.7", 40000);
    private final InetSocketAddress alice = new InetSocketAddress("192.0.2.8", 40000);

    @Test
    void theDelayDoublesWithEachFailureInARowUpToTenSeconds() {
        assertThat(attempts.failed(mallory)).isEqualTo(Duration.ofMillis(250));
        assertThat(attempts.failed(new InetSocketAddress("192.0.2.7", 40001))).as("another port of the same address")
                .isEqualTo(Duration.ofMillis(500));
        assertThat(attempts.failed(mallory)).isEqualTo(Duration.ofMillis(1000));
        for (int i = 0; i < 40; i++) {
            attempts.failed(mallory);
        }
        assertThat(attempts.failed(mallory)).isEqualTo(Duration.ofSeconds(10));
        assertThat(attempts.failed(alice)).as("another address has its own count").isEqualTo(Duration.ofMillis(250));
    }

    @Test
    void aSuccessOrFifteenQuietMinutesStartOver() {
        attempts.failed(mallory);
        attempts.failed(mallory);
        attempts.succeeded(mallory);
        assertThat(attempts.failures(mallory)).isZero();

        attempts.failed(mallory);
        attempts.failed(mallory);
        now.addAndGet(Duration.ofMinutes(16).toNanos());

        assertThat(attempts.failures(mallory)).isZero();
        assertThat(attempts.failed(mallory)).isEqualTo(Duration.ofMillis(250));
    }
}
