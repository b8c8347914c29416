package dev.merapi.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code merapi config example} and {@code merapi check}, run in-process with captured output. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ConfigCommandsTest {

    private static Cli.Run run(String... args) {
        return Cli.run(args);
    }

    @Test
    void checkAcceptsWhatConfigExamplePrints(@TempDir Path dir) throws IOException {
        Cli.Run example = run("config", "example");
        Path file = dir.resolve("merapi.yaml");
        Files.writeString(file, example.out());

        Cli.Run check = run("check", "--config", file.toString());

        assertThat(example.exitCode()).isZero();
        assertThat(example.out()).startsWith("# A Merapi gateway configuration.").contains("listeners:", "upstreams:", "routes:", "admin:");
        assertThat(check.exitCode()).isZero();
        assertThat(check.out()).isEqualTo(file + ": valid (1 listener(s), 2 upstream group(s), 4 route(s))" + System.lineSeparator());
        assertThat(check.err()).isEmpty();
    }

    @Test
    void checkPrintsEveryErrorAsFileLineColumnAndExitsOne(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("bad.yaml");
        Files.writeString(file, """
                listeners:
                  - name: main
                    adress: 127.0.0.1:8080
                routes:
                  - name: all
                    upstream: nowhere
                """);

        Cli.Run check = run("check", "--config", file.toString());

        assertThat(check.exitCode()).isEqualTo(1);
        assertThat(check.err().lines()).containsExactly(
                file + ":2:5: listeners[0]: 'address' is required",
                file + ":3:5: listeners[0].adress: unknown key 'adress'; did you mean 'address'?",
                file + ":6:15: routes[0].upstream: no upstream group is named 'nowhere'; define it under upstreams");
        assertThat(check.out()).isEmpty();
    }

    @Test
    void checkOfAMissingFileExitsOne(@TempDir Path dir) {
        Cli.Run check = run("check", "--config", dir.resolve("none.yaml").toString());

        assertThat(check.exitCode()).isEqualTo(1);
        assertThat(check.err()).contains("none.yaml:0:0: cannot read the file");
    }

    @Test
    void helpListsTheConfigCommands() {
        Cli.Run r = run("--help");

        assertThat(r.out()).containsPattern("(?m)^\\s+run\\s+Runs the gateway described by a YAML configuration file")
                .containsPattern("(?m)^\\s+check\\s+Validates a configuration file")
                .containsPattern("(?m)^\\s+config\\s+Configuration helpers");
    }
}
