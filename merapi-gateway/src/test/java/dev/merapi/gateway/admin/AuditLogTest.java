package dev.merapi.gateway.admin;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The audit log's hash chain: written, continued after a reopen, and broken by an edited, removed or inserted line. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AuditLogTest {
    private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-12-03T12:00:00Z"), ZoneOffset.UTC);
    @TempDir
    Path dir;

    private Path writeFour() throws Exception {
        Path file = dir.resolve("audit.log");
        try (AuditLog log = AuditLog.open(file, CLOCK)) {
            for (int i = 1; i <= 4; i++) {
                assertThat(log.reserve()).isTrue();
                log.write(Map.of("identity", "ada", "path", "/api/v1/reload", "n", i)).get(10, TimeUnit.SECONDS);
            }
        }
        return file;
    }

    @Test
    void eachRecordCarriesTheHashOfTheLineBeforeIt() throws Exception {
        Path file = writeFour();

        List<String> lines = Files.readAllLines(file);
        AuditLog.Verification v = AuditLog.verify(file);

        assertThat(lines).hasSize(4);
        assertThat(lines.getFirst()).startsWith("{\"time\":\"2026-12-03T12:00:00Z\",").endsWith(",\"prev\":\"" + AuditLog.GENESIS + "\"}");
        assertThat(lines.get(1)).endsWith(",\"prev\":\"" + AuditLog.sha256(lines.getFirst()) + "\"}");
        assertThat(v.ok()).isTrue();
        assertThat(v.records()).isEqualTo(4);
        assertThat(v.head()).isEqualTo(AuditLog.sha256(lines.getLast()));
    }

    @Test
    void reopeningContinuesTheChain() throws Exception {
        Path file = writeFour();
        try (AuditLog log = AuditLog.open(file, CLOCK)) {
            assertThat(log.head()).isEqualTo(AuditLog.verify(file).head());
            log.reserve();
            log.write(Map.of("n", 5)).get(10, TimeUnit.SECONDS);
        }

        assertThat(AuditLog.verify(file).ok()).isTrue();
        assertThat(AuditLog.verify(file).records()).isEqualTo(5);
    }

    @Test
    void anEditedLineBreaksTheChainAtTheLineAfterIt() throws Exception {
        Path file = writeFour();
        List<String> lines = new ArrayList<>(Files.readAllLines(file));
        lines.set(1, lines.get(1).replace("\"identity\":\"ada\"", "\"identity\":\"eve\""));
        Files.write(file, lines, StandardCharsets.UTF_8);

        AuditLog.Verification v = AuditLog.verify(file);

        assertThat(v.ok()).isFalse();
        assertThat(v.badLine()).contains(3);
        assertThat(v.message()).startsWith("line 3: ").contains("line 2");
    }

    @Test
    void aRemovedLineBreaksTheChainWhereItWas() throws Exception {
        Path file = writeFour();
        List<String> lines = new ArrayList<>(Files.readAllLines(file));
        lines.remove(1);
        Files.write(file, lines, StandardCharsets.UTF_8);

        assertThat(AuditLog.verify(file).badLine()).contains(2);
    }

    @Test
    void aRemovedFirstLineIsSeenAtTheNewFirstLine() throws Exception {
        Path file = writeFour();
        List<String> lines = new ArrayList<>(Files.readAllLines(file));
        lines.removeFirst();
        Files.write(file, lines, StandardCharsets.UTF_8);

        assertThat(AuditLog.verify(file).badLine()).contains(1);
    }

    @Test
    void aFullQueueRefusesAPlace() throws Exception {
        Path file = dir.resolve("audit.log");
        try (AuditLog log = AuditLog.open(file, CLOCK)) {
            int taken = 0;
            while (log.reserve()) {
                taken++;
            }
            assertThat(taken).isEqualTo(AuditLog.CAPACITY);
            log.writeIfRoom(Map.of("outcome", "denied"));
            assertThat(log.dropped()).isEqualTo(1);
        }
    }

    @Test
    void stringsCannotBreakALine() {
        String line = Json.write(Map.of("path", "/a\n{\"prev\":\"x\"}\u2028<script>"));

        assertThat(line).doesNotContain("\n").doesNotContain("\u2028")
                .isEqualTo("{\"path\":\"/a\\n{\\\"prev\\\":\\\"x\\\"}\\u2028<script>\"}");
    }
}
