package dev.merapi.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** A bad {@code -Dmerapi.*} value stops every command at start, with exit code 2 and a line naming the property. */
class SystemPropertiesIT {

    @ParameterizedTest
    @CsvSource(delimiter = '|', textBlock = """
            -Dmerapi.splice=yes                      | proxy --listen 127.0.0.1:0 --upstream 127.0.0.1:9 | merapi proxy: merapi.splice must be true or false: 'yes'
            -Dmerapi.transport=carrier-pigeon        | run --config does-not-matter.yaml                 | merapi run: merapi.transport must be epoll, io_uring or nio: 'carrier-pigeon'
            -Dmerapi.security.events.burst=0         | --listen 127.0.0.1:0                              | merapi: merapi.security.events.burst must be 1 to 1000000: 0
            """)
    void aBadSystemPropertyStopsTheStartNamingTheProperty(String flag, String args, String message) throws Exception {
        try (GatewayProcess gateway = GatewayProcess.startWith(List.of(flag), args.split(" "))) {
            assertThat(gateway.awaitExit(Duration.ofSeconds(60))).as(gateway.output()).isEqualTo(2);
            assertThat(gateway.output()).contains(message).doesNotContain("Exception");
        }
    }
}
