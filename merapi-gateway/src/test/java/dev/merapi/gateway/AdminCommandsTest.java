package dev.merapi.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.gateway.admin.AuditLog;
import dev.merapi.gateway.config.ConfigLoader;
import dev.merapi.gateway.config.TokenHash;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code merapi admin token} and {@code merapi audit verify}, run in-process with captured output. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AdminCommandsTest {

    private static Cli.Run run(String... args) {
        return Cli.run(args);
    }

    @Test
    void adminTokenPrintsARandomTokenOnceAndAnEntryWithOnlyItsHash(@TempDir Path dir) throws Exception {
        Cli.Run first = run("admin", "token", "--role", "operator", "--name", "otto");
        Cli.Run second = run("admin", "token", "--role", "viewer");

        Matcher m = Pattern.compile("(?s)token: ([A-Za-z0-9_-]{43})\n.*\n(- \\{name: otto, role: operator, hash: \"([^\"]+)\"})\n")
                .matcher(first.out());
        assertThat(first.exitCode()).isZero();
        assertThat(m.matches()).as(first.out()).isTrue();
        String token = m.group(1);
        assertThat(m.group(2)).doesNotContain(token);
        assertThat(TokenHash.parse(m.group(3)).orElseThrow().matches(token)).isTrue();
        assertThat(second.out()).contains("{name: viewer, role: viewer, hash: \"pbkdf2-sha256$").doesNotContain(token);
        // the printed entry is what the configuration takes
        String yaml = "listeners: [{name: main, address: \"127.0.0.1:0\"}]\nroutes: [{name: all, respond: {status: 200}}]\n"
                + "admin:\n  audit-log: " + dir.resolve("a.log") + "\n  tokens:\n    " + m.group(2) + "\n";
        assertThat(ConfigLoader.of().parse(yaml, "gw.yaml", dir).admin().tokens()).hasSize(1);
        assertThat(run("admin", "token", "--role", "root").exitCode()).isEqualTo(2);
    }

    @Test
    void auditVerifyExitsZeroOnAnIntactChainAndOneNamingTheFirstBadLine(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("audit.log");
        try (AuditLog log = AuditLog.open(file, Clock.systemUTC())) {
            for (int i = 0; i < 3; i++) {
                log.reserve();
                log.write(Map.of("identity", "ada", "n", i)).get(10, TimeUnit.SECONDS);
            }
        }

        Cli.Run ok = run("audit", "verify", file.toString());
        List<String> lines = new ArrayList<>(Files.readAllLines(file));
        lines.set(0, lines.getFirst().replace("\"n\":0", "\"n\":7"));
        Files.write(file, lines);
        Cli.Run edited = run("audit", "verify", file.toString());
        Cli.Run missing = run("audit", "verify", dir.resolve("none.log").toString());

        assertThat(ok.exitCode()).isZero();
        assertThat(ok.out()).startsWith(file + ": 3 record(s), chain intact");
        assertThat(edited.exitCode()).isEqualTo(1);
        assertThat(edited.err()).startsWith(file + ":2: line 2: \"prev\" is not the hash of line 1");
        assertThat(missing.exitCode()).isEqualTo(2);
    }
}
