package dev.merapi.core.services;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class BackgroundServiceTest {

    @Test
    void everyRunsItsTaskOncePerRunUnderItsNameAndPeriod() throws Exception {
        AtomicInteger runs = new AtomicInteger();
        BackgroundService s = BackgroundService.every("counter", Duration.ofMillis(250), runs::incrementAndGet);

        s.runOnce();
        s.runOnce();

        assertThat(runs).hasValue(2);
        assertThat(s.name()).isEqualTo("counter");
        assertThat(s.period()).isEqualTo(Duration.ofMillis(250));
        assertThat(s).hasToString("counter every PT0.25S");
        s.stop(); // nothing to do, and no failure
    }

    @Test
    void everyPassesTheTasksExceptionToTheServer() {
        BackgroundService s = BackgroundService.every("failing", Duration.ofSeconds(1), () -> {
            throw new IOException("probe failed");
        });

        assertThatThrownBy(s::runOnce).isInstanceOf(IOException.class).hasMessage("probe failed");
    }

    @Test
    void everyRefusesAPeriodThatIsNotPositive() {
        assertThatThrownBy(() -> BackgroundService.every("x", Duration.ZERO, () -> { }))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("must be positive");
        assertThatThrownBy(() -> BackgroundService.every("x", Duration.ofSeconds(-1), () -> { }))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
