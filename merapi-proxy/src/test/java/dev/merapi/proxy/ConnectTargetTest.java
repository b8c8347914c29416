package dev.merapi.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ConnectTargetTest {
    @Test
    void allowListEntriesMatchExactHostsAndPortsOrOneWildcard() {
        TunnelOptions t = TunnelOptions.builder().connectAllow(ConnectTarget.listOf("DB.internal:5432, *:443, git.example:*, [::1]:22"))
                .build();
        assertThat(t.connectAllowed("db.internal", 5432)).isTrue();
        assertThat(t.connectAllowed("db.internal", 5433)).isFalse();
        assertThat(t.connectAllowed("anything.example", 443)).isTrue();
        assertThat(t.connectAllowed("git.example", 9418)).isTrue();
        assertThat(t.connectAllowed("::1", 22)).isTrue();
        assertThat(t.connectAllowed("127.0.0.1", 22)).isFalse();
        assertThat(TunnelOptions.DEFAULT.connectAllowed("db.internal", 5432)).as("none by default").isFalse();
    }

    @ParameterizedTest
    @ValueSource(strings = {"*:*", "host", ":443", "host:", "host:0", "host:65536", "ho st:80", "user@host:80", "host:8o"})
    void allowListEntriesThatAreWrongOrOpenEverythingAreRejected(String spec) {
        assertThatThrownBy(() -> ConnectTarget.of(spec)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void requestTargetsAreReadInAuthorityFormOnly() {
        assertThat(ConnectTarget.ofRequestTarget("Example.COM:443")).contains(new ConnectTarget("example.com", 443));
        assertThat(ConnectTarget.ofRequestTarget("[2001:db8::1]:8443")).contains(new ConnectTarget("2001:db8::1", 8443));
        for (String bad : List.of("example.com", "example.com:", ":443", "2001:db8::1:443", "[example.com]:443",
                "http://example.com:443", "example.com:443/", "example.com:0443x", "a b:1", "*:443")) {
            assertThat(ConnectTarget.ofRequestTarget(bad)).as(bad).isEmpty();
        }
    }

    @Test
    void upgradeProtocolsAreComparedWithoutCaseAndH2cIsNeverPassedOn() {
        TunnelOptions ws = TunnelOptions.builder().upgradeProtocols(java.util.Set.of("WebSocket")).build();
        assertThat(ws.upgradeAllowed("websocket")).isTrue();
        assertThat(ws.upgradeAllowed("other")).isFalse();
        assertThat(TunnelOptions.DEFAULT.upgradeAllowed("anything")).isTrue();
        assertThat(TunnelOptions.DEFAULT.upgradeAllowed("H2C")).isFalse();
        assertThat(TunnelOptions.builder().upgrades(false).build().upgradeAllowed("websocket")).isFalse();
    }
}
