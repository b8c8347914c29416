package dev.merapi.gateway.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The {@code access-log} section: its defaults, the buffered file output and the errors of its keys. */
class AccessLogSectionTest {
    private static final String HEAD = """
            listeners: [{name: main, address: "127.0.0.1:0"}]
            upstreams: [{name: app, backends: ["127.0.0.1:1"]}]
            routes: [{name: all, upstream: app}]
            """;

    private static GatewayConfig.AccessLog accessLog(String section) {
        return ConfigLoader.of().parse(HEAD + section, "gw.yaml", Path.of(".")).accessLog();
    }

    private static List<String> errors(String section) {
        ConfigException e = catchThrowableOfType(ConfigException.class,
                () -> ConfigLoader.of().parse(HEAD + section, "gw.yaml", Path.of(".")));
        assertThat(e).as("expected the configuration to be refused").isNotNull();
        return e.errors().stream().map(ConfigError::toString).toList();
    }

    @Test
    void withoutTheSectionThereIsNoAccessLogAndWithItEachLineGoesToStandardOutputAtOnce() {
        assertThat(accessLog("").enabled()).isFalse();

        GatewayConfig.AccessLog on = accessLog("access-log: {}\n");
        assertThat(on.enabled()).isTrue();
        assertThat(on.output()).isEqualTo("stdout");
        assertThat(on.buffered()).isFalse();
        assertThat(on.headers()).containsExactly("User-Agent", "Referer");
    }

    @Test
    void aFileOutputTakesABufferAndAFlushInterval() {
        GatewayConfig.AccessLog log = accessLog("access-log: {output: /var/log/merapi/access.log, buffer: 64KiB, flush-interval: 1s}\n");

        assertThat(log.buffered()).isTrue();
        assertThat(log.buffer()).isEqualTo(64 * 1024);
        assertThat(log.flushInterval()).isEqualTo(Duration.ofSeconds(1));
        assertThat(accessLog("access-log: {output: a.log, buffer: 8KiB}\n").flushInterval())
                .as("the default flush interval").isEqualTo(Duration.ofSeconds(1));
    }

    @Test
    void aBufferOnStandardOutputAFlushIntervalWithoutABufferAndOutOfRangeValuesAreErrors() {
        assertThat(errors("access-log: {buffer: 64KiB}\n")).containsExactly(
                "gw.yaml:4:22: access-log.buffer: a buffer needs a file 'output': standard output gets each line as it is written");
        assertThat(errors("access-log: {output: a.log, flush-interval: 1s}\n")).containsExactly(
                "gw.yaml:4:45: access-log.flush-interval: 'flush-interval' needs a 'buffer'");
        assertThat(errors("access-log: {output: a.log, buffer: 100}\n")).singleElement().asString()
                .startsWith("gw.yaml:4:37: access-log.buffer: ");
        assertThat(errors("access-log: {output: a.log, buffer: 64KiB, flush-interval: 2m}\n")).singleElement().asString()
                .startsWith("gw.yaml:4:60: access-log.flush-interval: ");
        assertThat(errors("access-log: {output: a.log, buffer: lots}\n")).singleElement().asString()
                .contains("access-log.buffer: expected a size such as 1MiB");
    }
}
