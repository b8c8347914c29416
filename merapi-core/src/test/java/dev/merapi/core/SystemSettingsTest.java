package dev.merapi.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.merapi.core.listeners.Transport;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SystemSettingsTest {

    private static SystemSettings read(Map<String, String> properties) {
        return SystemSettings.read(properties);
    }

    @Test
    void unsetPropertiesGiveTheDefaults() {
        SystemSettings s = read(Map.of());

        assertThat(s.transport()).isEqualTo(Transport.auto());
        assertThat(s.splice()).isTrue();
        assertThat(s.securityEventsBurst()).isEqualTo(SystemSettings.DEFAULT_SECURITY_EVENTS_BURST).isEqualTo(50);
        assertThat(s.securityEventsPerSecond()).isEqualTo(SystemSettings.DEFAULT_SECURITY_EVENTS_PER_SECOND).isEqualTo(10.0);
    }

    @Test
    void aBlankPropertyCountsAsNotSet() {
        SystemSettings s = read(Map.of(SystemSettings.TRANSPORT, "", SystemSettings.SPLICE, " ",
                SystemSettings.SECURITY_EVENTS_BURST, "", SystemSettings.SECURITY_EVENTS_PER_SECOND, ""));

        assertThat(s).isEqualTo(read(Map.of()));
    }

    @Test
    void everyPropertyIsReadAndTrimmed() {
        SystemSettings s = read(Map.of(SystemSettings.TRANSPORT, " NIO ", SystemSettings.SPLICE, "False",
                SystemSettings.SECURITY_EVENTS_BURST, "5", SystemSettings.SECURITY_EVENTS_PER_SECOND, "2.5"));

        assertThat(s).isEqualTo(new SystemSettings(Transport.NIO, false, 5, 2.5));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', textBlock = """
            merapi.transport                  | carrier-pigeon | merapi.transport must be epoll, io_uring or nio: 'carrier-pigeon'
            merapi.splice                     | yes            | merapi.splice must be true or false: 'yes'
            merapi.security.events.burst      | lots           | merapi.security.events.burst must be a whole number: 'lots'
            merapi.security.events.burst      | 0              | merapi.security.events.burst must be 1 to 1000000: 0
            merapi.security.events.burst      | 1000001        | merapi.security.events.burst must be 1 to 1000000: 1000001
            merapi.security.events.per-second | fast           | merapi.security.events.per-second must be a number: 'fast'
            merapi.security.events.per-second | 0              | merapi.security.events.per-second must be more than 0 and at most 1000000.0: 0.0
            merapi.security.events.per-second | NaN            | merapi.security.events.per-second must be more than 0 and at most 1000000.0: NaN
            merapi.security.events.per-second | -1             | merapi.security.events.per-second must be more than 0 and at most 1000000.0: -1.0
            """)
    void aBadValueIsAnErrorNamingTheProperty(String property, String value, String message) {
        assertThatThrownBy(() -> read(Map.of(property, value)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage(message);
    }

    @Test
    void aTransportThisMachineCannotRunIsAnErrorNamingTheProperty() {
        Optional<Transport> unavailable = Arrays.stream(Transport.values()).filter(t -> !t.isAvailable()).findFirst();
        assumeTrue(unavailable.isPresent(), "every transport is available here");
        String name = unavailable.get().name().toLowerCase(java.util.Locale.ROOT);

        assertThatThrownBy(() -> read(Map.of(SystemSettings.TRANSPORT, name)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("merapi.transport=" + name + ": this transport is not available here");
    }

    @Test
    void theSettingsOfThisJvmAreReadOnceAndKept() {
        assertThat(SystemSettings.current()).isSameAs(SystemSettings.current());
        Map<String, String> set = new java.util.HashMap<>();
        SystemSettings.PROPERTIES.forEach(p -> {
            if (System.getProperty(p) != null) {
                set.put(p, System.getProperty(p));
            }
        });
        assertThat(SystemSettings.current()).isEqualTo(SystemSettings.read(set));
    }
}
