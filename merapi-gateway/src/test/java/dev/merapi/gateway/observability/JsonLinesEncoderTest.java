package dev.merapi.gateway.observability;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.LoggingEvent;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.event.KeyValuePair;

/** {@link JsonLinesEncoder}: one flat object a line, typed values, escaping by the generator; read back by Jackson. */
class JsonLinesEncoderTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final LoggerContext context = new LoggerContext();
    private final JsonLinesEncoder encoder = new JsonLinesEncoder();

    @BeforeEach
    void start() {
        encoder.setContext(context);
        encoder.start();
    }

    private String line(long millis, Object... keysAndValues) {
        LoggingEvent event = new LoggingEvent("test", context.getLogger("t"), Level.INFO, "a message", null, null);
        event.setTimeStamp(millis);
        List<KeyValuePair> pairs = new ArrayList<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            pairs.add(new KeyValuePair((String) keysAndValues[i], keysAndValues[i + 1]));
        }
        event.setKeyValuePairs(pairs);
        return new String(encoder.encode(event), StandardCharsets.UTF_8);
    }

    @Test
    void eachEventIsOneFlatObjectOnALineWithTheTimeFirstAndNothingElse() throws Exception {
        String line = line(Instant.parse("2026-12-03T19:46:06.007Z").toEpochMilli(), "method", "GET", "route", "api");

        assertThat(line).isEqualTo("{\"time\":\"2026-12-03T19:46:06.007Z\",\"method\":\"GET\",\"route\":\"api\"}\n");
        JsonNode o = JSON.readTree(line);
        assertThat(o.properties()).extracting(java.util.Map.Entry::getKey).containsExactly("time", "method", "route");
    }

    @Test
    void theTimeIsRfc3339InUtcWithMillisecondsAcrossSecondsAndDays() {
        long t = Instant.parse("2026-12-31T23:59:59.999Z").toEpochMilli();

        assertThat(timeOf(line(t))).isEqualTo("2026-12-31T23:59:59.999Z");
        assertThat(timeOf(line(t + 1))).isEqualTo("2027-01-01T00:00:00.000Z");
        assertThat(timeOf(line(t + 1 + 61_050))).isEqualTo("2027-01-01T00:01:01.050Z");
        assertThat(timeOf(line(t))).isEqualTo("2026-12-31T23:59:59.999Z"); // back to an earlier second
    }

    private static String timeOf(String line) {
        try {
            return JSON.readTree(line).get("time").asText();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void numbersAndBooleansAreTypedAndAbsentValuesAreLeftOut() throws Exception {
        JsonNode o = JSON.readTree(line(0, "status", 200, "bytes_out", 5_000_000_000L, "duration_ms", 1.25, "retries", (short) 1,
                "code", (byte) 7, "ratio", 0.5f, "exact", new BigDecimal("12.50"), "reused", false, "host", null,
                "nan", Double.NaN, "inf", Float.POSITIVE_INFINITY, "upstream", "127.0.0.1:80"));

        assertThat(o.get("status").isInt()).isTrue();
        assertThat(o.get("status").intValue()).isEqualTo(200);
        assertThat(o.get("bytes_out").isLong()).isTrue();
        assertThat(o.get("bytes_out").longValue()).isEqualTo(5_000_000_000L);
        assertThat(o.get("duration_ms").isDouble()).isTrue();
        assertThat(o.get("duration_ms").doubleValue()).isEqualTo(1.25);
        assertThat(o.get("retries").intValue()).isEqualTo(1);
        assertThat(o.get("code").intValue()).isEqualTo(7);
        assertThat(o.get("ratio").doubleValue()).isEqualTo(0.5);
        assertThat(o.get("exact").decimalValue()).isEqualByComparingTo("12.50");
        assertThat(o.get("reused").isBoolean()).isTrue();
        assertThat(o.get("reused").booleanValue()).isFalse();
        assertThat(o.get("upstream").isTextual()).isTrue();
        assertThat(o.has("host")).as("null is left out").isFalse();
        assertThat(o.has("nan")).as("NaN is left out").isFalse();
        assertThat(o.has("inf")).as("infinity is left out").isFalse();
    }

    @Test
    void quotesBackslashesControlCharactersAndNonAsciiAreEscapedAndTheLineStillParses() throws Exception {
        String path = "/a\"b\\c\u0000d\u0001e\n{\"forged\":1}\rf\tg\u007f/\u00e9\u4e2d\ud83d\ude00";
        String header = "agent \"x\" \\ \u001b[31m\u00ff\u2028 end";
        String line = line(0, "path", path, "header_user_agent", header, "broken", "lone \ud800 surrogate");

        assertThat(line).endsWith("}\n");
        assertThat(line.substring(0, line.length() - 1)).doesNotContain("\n", "\r", "\u0000", "\u0001", "\u001b");
        JsonNode o = JSON.readTree(line);
        assertThat(o.get("path").asText()).isEqualTo(path);
        assertThat(o.get("header_user_agent").asText()).isEqualTo(header);
        assertThat(o.has("forged")).isFalse();
        assertThat(o.get("broken").asText()).startsWith("lone ").endsWith(" surrogate");
        assertThat(o.size()).isEqualTo(4);
    }

    @Test
    void linesFollowEachOtherWithNoSeparatorButTheNewline() throws Exception {
        String two = line(0, "n", 1) + line(0, "n", 2);

        assertThat(two.lines()).hasSize(2);
        assertThat(JSON.readTree(two.lines().toList().get(1)).get("n").intValue()).isEqualTo(2);
        assertThat(two).doesNotStartWith(" ").doesNotContain("\n ");
    }
}
