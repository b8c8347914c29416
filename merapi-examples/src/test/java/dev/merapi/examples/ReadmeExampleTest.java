package dev.merapi.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The program quoted in README.md is the one in this module, which LoadBalancerProxyTest and FailoverIT run. */
class ReadmeExampleTest {

    @Test
    void readmeQuotesTheLoadBalancerExampleVerbatim() throws IOException {
        String source = Files.readString(Path.of("src/main/java/dev/merapi/examples/loadbalancer/LoadBalancerProxy.java"));
        String readme = Files.readString(Path.of("../README.md"));
        String program = source.substring(source.indexOf("public final class LoadBalancerProxy")).strip();
        assertThat(readme).contains(program);
        assertThat(program.lines().count()).as("a program short enough to read in the README").isLessThanOrEqualTo(80);
    }
}
